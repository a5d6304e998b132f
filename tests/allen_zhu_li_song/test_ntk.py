"""The NTK model: linearisation and gradient drift against autograd, the closed-form Gram
matrix against the Jacobian, and one kernel step (exact for a linear model)."""

from __future__ import annotations

import math

import pytest
import torch

from helpers.allen_zhu_li_song import (
    DeepReLUNet,
    gradient_drift,
    kernel_step,
    ntk_linearisation,
    paper_inputs,
    random_perturbation,
)
from helpers.gradients import ntk_gram
from helpers.rng import make_generator

D = torch.float64


def test_ntk_linearisation_against_autograd(setup, gen):
    net, X, _ = setup
    P = random_perturbation(net, 0.05, generator=gen)
    r = ntk_linearisation(net, X, P)
    assert torch.allclose(r.initial, net(X))
    # y_ntk = <grad y(W0; x), W'> via reverse mode
    for i in range(X.shape[0]):
        for j in range(2):
            net.zero_grad()
            net(X[i:i + 1])[0, j].backward()
            val = sum(float((W.grad * p).sum()) for W, p in zip(net.Ws, P))
            assert abs(val - float(r.ntk[i, j])) < 1e-10
    assert torch.allclose(r.remainder, r.output - r.initial - r.ntk)


def test_ntk_remainder_is_second_order(setup, gen):
    net, X, _ = setup
    P = random_perturbation(net, 1.0, generator=gen)
    small = ntk_linearisation(net, X, [1e-4 * p for p in P]).remainder.abs().max()
    tiny = ntk_linearisation(net, X, [1e-5 * p for p in P]).remainder.abs().max()
    # ReLU: piecewise linear, so for tiny radii no sign flips and the remainder is round-off
    # or decays at least quadratically
    assert float(tiny) <= 0.02 * float(small) + 1e-13


def test_ntk_linearisation_bad(setup):
    net, X, _ = setup
    with pytest.raises(ValueError, match="L=3 matrices"):
        ntk_linearisation(net, X, [])


def test_gradient_drift_against_autograd(setup, gen):
    net, X, _ = setup
    P = random_perturbation(net, 0.3, generator=gen)
    drift = gradient_drift(net, X, P)
    net2 = DeepReLUNet(5, 24, 3, 2, generator=make_generator(0))
    net2.load_state_dict(net.state_dict())
    with torch.no_grad():
        for W, p in zip(net2.Ws, P):
            W.add_(p)
    for i in range(X.shape[0]):
        for j in range(2):
            g0 = torch.autograd.grad(net(X[i:i + 1])[0, j], list(net.Ws))
            g1 = torch.autograd.grad(net2(X[i:i + 1])[0, j], list(net2.Ws))
            num = math.sqrt(sum(float((a - b).pow(2).sum()) for a, b in zip(g0, g1)))
            den = math.sqrt(sum(float(a.pow(2).sum()) for a in g0))
            assert abs(num / den - float(drift[i, j])) < 1e-8


def test_gradient_drift_bad(setup):
    net, X, _ = setup
    with pytest.raises(TypeError, match="dtype"):
        gradient_drift(net, X, [torch.zeros(24, 24)] * 3)


def test_ntk_gram_against_jacobian(setup, gen):
    net, X, _ = setup
    P = random_perturbation(net, 0.2, generator=gen)
    for j in range(2):
        K = ntk_gram(net, X, output=j, perturbation=P)
        grads = []
        for i in range(X.shape[0]):
            Ws = [(W.detach() + p).requires_grad_(True) for W, p in zip(net.Ws, P)]
            h = torch.relu(X[i:i + 1] @ net.A.T)
            for W in Ws:
                h = torch.relu(h @ W.T)
            g = torch.autograd.grad((h @ net.B.T)[0, j], Ws)
            grads.append(torch.cat([t.reshape(-1) for t in g]))
        J = torch.stack(grads)
        assert torch.allclose(K, J @ J.T)


def test_ntk_gram_per_layer_sums_to_total(setup):
    net, X, _ = setup
    for j in range(2):
        per = ntk_gram(net, X, output=j, per_layer=True)
        assert per.shape == (net.depth, X.shape[0], X.shape[0])
        torch.testing.assert_close(per.sum(0), ntk_gram(net, X, output=j), rtol=1e-13,
                                   atol=1e-13)
    # auto on a 2-output net without `output`: the generic path, all coordinate pairs
    K = ntk_gram(net, X)
    assert K.shape == (X.shape[0], X.shape[0], 2, 2)
    torch.testing.assert_close(K[:, :, 1, 1], ntk_gram(net, X, output=1), rtol=1e-10,
                               atol=1e-10)


def test_ntk_gram_bad(setup):
    net, X, _ = setup
    with pytest.raises(ValueError, match="output must be"):
        ntk_gram(net, X, output=2)


def test_kernel_step_is_exact_for_a_linear_model(gen):
    # f(x) = w^T x is its own kernel model: the minimum-norm step interpolates (rho = 0) and the
    # kernel X X^T does not move
    model = torch.nn.Linear(6, 1, bias=False).double()
    X = torch.randn(4, 6, generator=gen, dtype=D)
    Y = torch.randn(4, 1, generator=gen, dtype=D)
    before = model.weight.detach().clone()
    step = kernel_step(model, X, Y)
    assert step.rho < 1e-12 and step.kernel_change < 1e-14
    eig = torch.linalg.eigvalsh(X @ X.T)
    assert step.kappa == pytest.approx(float(eig[-1] / eig[0]), rel=1e-10)
    assert set(step.to_dict()) == {"kappa", "rho", "kernel change"}
    assert torch.equal(model.weight.detach(), before)               # the model is not moved


def test_kernel_step_rho_falls_with_width():
    # Theorem 5b: the network approaches its kernel model as m grows (one draw per width)
    rhos = []
    for m in (32, 2048):
        gen = make_generator(5)
        net = DeepReLUNet(6, m, 2, 1, generator=gen)
        X = paper_inputs(4, 6, 0.3, generator=gen)
        rhos.append(kernel_step(net, X, torch.ones(4, 1, dtype=D)).rho)
    assert rhos[1] < 0.5 * rhos[0]


def test_kernel_step_bad(setup):
    net, X, _ = setup
    with pytest.raises(ValueError, match="Y must have shape"):
        kernel_step(net, X, torch.zeros(4, 2, dtype=D))
    with pytest.raises(ValueError, match="one output"):
        kernel_step(net, X, torch.zeros(4, 1, dtype=D))
    with pytest.raises(TypeError, match="net must be"):
        kernel_step("net", X, torch.zeros(4, 1, dtype=D))
