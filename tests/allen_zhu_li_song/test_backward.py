"""Masked products (Lemma 7.3), backward maps (Definition 2.5) and the gradient of Fact 2.6,
with autograd as the oracle."""

from __future__ import annotations

import pytest
import torch

from helpers.allen_zhu_li_song import (
    DeepReLUNet,
    back_vectors,
    backward_matrix,
    fake_gradient,
    forward,
    gradient_bounds,
    layer_product,
    masked_product,
    random_perturbation,
)
from helpers.rng import make_generator

D = torch.float64


def test_masked_product_equals_layer_product_and_explicit_diagonals(setup, gen):
    net, X, _ = setup
    s = forward(net, X)
    Ws = [W.detach() for W in net.Ws]
    for i in range(X.shape[0]):
        P = masked_product(Ws, [s.D[1][i], s.D[2][i]])
        torch.testing.assert_close(P, layer_product(s, 1, 3)[i], rtol=0, atol=0)
        explicit = Ws[2] @ torch.diag(s.D[2][i]) @ Ws[1] @ torch.diag(s.D[1][i]) @ Ws[0]
        torch.testing.assert_close(P, explicit)
    M = [torch.randn(24, generator=gen, dtype=D)]
    torch.testing.assert_close(masked_product(Ws[:2], M), Ws[1] @ torch.diag(M[0]) @ Ws[0])
    torch.testing.assert_close(masked_product(Ws[:1], []), Ws[0])


def test_masked_product_bad(setup):
    net, _, _ = setup
    Ws = [W.detach() for W in net.Ws]
    with pytest.raises(ValueError, match="masks must hold"):
        masked_product(Ws, [torch.ones(24, dtype=D)])
    with pytest.raises(ValueError, match=r"masks\[0\] must have length 24"):
        masked_product(Ws[:2], [torch.ones(5, dtype=D)])
    with pytest.raises(TypeError, match="factors must be"):
        masked_product(Ws[0], [])


def test_layer_product_and_backward_matrix(setup):
    net, X, _ = setup
    s = forward(net, X)
    P = layer_product(s, 1, 3)
    assert torch.allclose(torch.einsum("nij,nj->ni", P, s.h[0]), s.g[3])
    P11 = layer_product(s, 2, 2)
    assert torch.allclose(P11, net.Ws[1].detach().expand(4, -1, -1))
    Bk = backward_matrix(net, s, 1)
    assert torch.allclose(torch.einsum("ncm,nm->nc", Bk, s.h[0]), s.output)
    assert torch.allclose(backward_matrix(net, s, net.depth + 1), net.B.expand(4, -1, -1))


def test_layer_product_bad(setup):
    net, X, _ = setup
    s = forward(net, X)
    with pytest.raises(ValueError, match="b must be"):
        layer_product(s, 3, 2)
    with pytest.raises(TypeError, match="ForwardState"):
        layer_product(X, 1, 2)


def test_backward_matrix_bad(setup):
    net, X, _ = setup
    s = forward(net, X)
    with pytest.raises(ValueError, match="a must be"):
        backward_matrix(net, s, 0)
    other = DeepReLUNet(5, 10, 3, 2, generator=make_generator(1))
    with pytest.raises(ValueError, match="does not come from this network"):
        backward_matrix(other, s, 1)


def test_back_vectors_match_matrices(setup, gen):
    net, X, _ = setup
    s = forward(net, X)
    V = torch.randn(4, 2, generator=gen, dtype=D)
    b = back_vectors(net, s, V)
    assert len(b) == net.depth + 1
    for a in range(1, net.depth + 2):
        M = backward_matrix(net, s, a)
        assert torch.allclose(b[a - 1], torch.einsum("ncm,nc->nm", M, V))


def test_back_vectors_bad(setup):
    net, X, _ = setup
    s = forward(net, X)
    with pytest.raises(ValueError, match="V must have shape"):
        back_vectors(net, s, torch.zeros(4, 3, dtype=D))


def test_fake_gradient_is_true_gradient(setup, gen, autograd_grads):
    net, X, Y = setup
    P = random_perturbation(net, 0.3, generator=gen)
    s = forward(net, X, perturbation=P)
    G = fake_gradient(net, s, s.output - Y)
    ref, _ = autograd_grads(net, X, Y, P)
    assert all(torch.allclose(a, b) for a, b in zip(G, ref))


def test_fake_gradient_linear_in_v(setup, gen):
    net, X, _ = setup
    s = forward(net, X)
    V1 = torch.randn(4, 2, generator=gen, dtype=D)
    V2 = torch.randn(4, 2, generator=gen, dtype=D)
    G = fake_gradient(net, s, 2 * V1 - V2)
    G1, G2 = fake_gradient(net, s, V1), fake_gradient(net, s, V2)
    assert all(torch.allclose(g, 2 * a - b) for g, a, b in zip(G, G1, G2))


def test_fake_gradient_bad(setup):
    net, X, _ = setup
    s = forward(net, X)
    with pytest.raises(ValueError, match="V must have shape"):
        fake_gradient(net, s, torch.zeros(3, 2, dtype=D))


def test_gradient_bounds_against_autograd(setup, gen, autograd_grads):
    net, X, Y = setup
    P = random_perturbation(net, 0.1, generator=gen)
    gb = gradient_bounds(net, X, Y, perturbation=P)
    ref, F = autograd_grads(net, X, Y, P)
    assert abs(gb.loss - F) < 1e-10
    layer = torch.stack([g.pow(2).sum() for g in ref])
    assert torch.allclose(gb.layer_grad_sq, layer)
    assert abs(gb.last_layer_grad_sq - float(layer[-1])) < 1e-10
    assert abs(gb.grad_sq - float(layer.sum())) < 1e-10
    # per-example norms against autograd on single examples
    for i in range(X.shape[0]):
        gi, Fi = autograd_grads(net, X[i:i + 1], Y[i:i + 1], P)
        assert torch.allclose(gb.example_layer_grad_sq[i], torch.stack([g.pow(2).sum()
                                                                        for g in gi]))
    assert gb.max_example_loss <= gb.loss


def test_gradient_bounds_bad(setup):
    net, X, Y = setup
    with pytest.raises(ValueError, match="Y must have shape"):
        gradient_bounds(net, X, Y[:, :1])
