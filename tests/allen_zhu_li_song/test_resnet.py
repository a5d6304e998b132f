"""The residual network of Appendix C: the formula, shared weights with the plain network,
the products of (C.1) as Jacobians (autograd), the closed-form kernel against autograd."""

from __future__ import annotations

import math

import pytest
import torch

from helpers.allen_zhu_li_song import DeepReLUNet, ResidualNet, paper_inputs, residual_product
from helpers.gradients import ntk_gram
from helpers.rng import make_generator

D = torch.float64


def _resnet(gen, tau=0.2, L=4, m=20, c=2):
    net = ResidualNet(5, m, L, c, tau=tau, generator=gen)
    X = paper_inputs(3, 5, 0.3, generator=gen)
    return net, X


def test_resnet_shares_weights_with_plain_net_and_matches_formula():
    plain = DeepReLUNet(5, 20, 4, 2, generator=make_generator(7))
    net = ResidualNet(5, 20, 4, 2, tau=0.3, generator=make_generator(7))
    assert torch.equal(plain.A, net.A) and torch.equal(plain.B, net.B)
    assert all(torch.equal(a, b) for a, b in zip(plain.Ws, net.Ws))
    X = paper_inputs(3, 5, 0.3, generator=make_generator(8))
    h = torch.relu(X @ net.A.T)
    for W in list(net.Ws)[:-1]:
        h = torch.relu(h + 0.3 * h @ W.T)
    y = torch.relu(h @ net.Ws[-1].T) @ net.B.T
    assert torch.allclose(net(X), y, atol=1e-12)
    assert len(net.hidden_states(X)) == 5
    assert [n for n, _ in net.named_parameters()] == [f"Ws.{k}" for k in range(4)]


def test_resnet_tau_zero_is_identity_on_residual_layers(gen):
    net, X = _resnet(gen, tau=0.0)
    hs = net.hidden_states(X)
    for h in hs[1:-1]:
        assert torch.equal(h, hs[0])                    # relu(h) = h for h >= 0
    assert torch.allclose(net(X), torch.relu(hs[0] @ net.Ws[-1].T) @ net.B.T)


def test_resnet_deterministic():
    a = ResidualNet(3, 8, 3, 1, tau=0.1, generator=make_generator(2))
    b = ResidualNet(3, 8, 3, 1, tau=0.1, generator=make_generator(2))
    assert all(torch.equal(u, v) for u, v in zip(a.Ws, b.Ws))


def test_resnet_bad_inputs(gen):
    with pytest.raises(ValueError, match="tau must be"):
        ResidualNet(3, 8, 3, 1, tau=-0.1, generator=gen)
    with pytest.raises(TypeError, match="generator"):
        ResidualNet(3, 8, 3, 1, tau=0.1, generator=1)
    with pytest.raises(TypeError, match="dtype"):
        ResidualNet(3, 8, 3, 1, tau=0.1, generator=gen, dtype=torch.int64)
    net, X = _resnet(gen)
    with pytest.raises(ValueError, match=r"shape \(n, 5\)"):
        net(torch.ones(2, 4, dtype=D))
    with pytest.raises(TypeError, match="dtype"):
        net(X.float())


def test_residual_product_is_jacobian_of_preactivation(gen):
    net, X = _resnet(gen, tau=0.4)
    Ws = [W.detach() for W in net.Ws]
    for a, b in ((3, 1), (2, 2), (3, 2)):
        P = residual_product(net, X, a, b)
        for i in range(X.shape[0]):
            h_prev = net.hidden_states(X[i:i + 1])[b - 1][0].detach()

            def g_a(h, a=a, b=b):
                for ell in range(b, a):
                    h = torch.relu(h + net.tau * Ws[ell - 1] @ h)
                return h + net.tau * Ws[a - 1] @ h

            J = torch.autograd.functional.jacobian(g_a, h_prev)
            assert torch.allclose(P[i], J, atol=1e-12)


def test_residual_product_norm_near_one_for_small_tau(gen):
    net = ResidualNet(5, 128, 9, 1, tau=1 / (8 * 9 * math.log(128)), generator=gen)
    X = paper_inputs(2, 5, 0.3, generator=gen)
    norms = torch.linalg.matrix_norm(residual_product(net, X, 8, 1), ord=2)
    assert (norms < 1.1).all() and (norms > 0.9).all()      # (C.1) up to the constant


def test_residual_product_bad(gen):
    net, X = _resnet(gen)
    with pytest.raises(ValueError, match="b must be"):
        residual_product(net, X, 1, 2)
    with pytest.raises(ValueError, match="a must be"):
        residual_product(net, X, 4, 1)
    with pytest.raises(TypeError, match="ResidualNet"):
        residual_product(DeepReLUNet(5, 8, 2, 1, generator=gen), X, 1, 1)
    one = ResidualNet(5, 8, 1, 1, tau=0.1, generator=gen)
    with pytest.raises(ValueError, match="no residual layers"):
        residual_product(one, X, 1, 1)


def test_residual_ntk_gram_against_autograd(gen):
    net, X = _resnet(gen, tau=0.3)
    for j in range(2):
        per = ntk_gram(net, X, output=j, per_layer=True)
        grads = []
        for i in range(X.shape[0]):
            g = torch.autograd.grad(net(X[i:i + 1])[0, j], list(net.Ws))
            grads.append(g)
        for ell in range(net.depth):
            G = torch.stack([g[ell].flatten() for g in grads])
            assert torch.allclose(per[ell], G @ G.T, atol=1e-12)
        assert torch.allclose(ntk_gram(net, X, output=j), per.sum(0))


def test_residual_ntk_gram_bad(gen):
    net, X = _resnet(gen)
    with pytest.raises(ValueError, match="output must be"):
        ntk_gram(net, X, output=2)
    with pytest.raises(TypeError, match="per_layer"):
        ntk_gram(net, X, per_layer=1)
    with pytest.raises(ValueError, match=r"shape \(n, 5\)"):
        ntk_gram(net, X[:, :4], output=0)


