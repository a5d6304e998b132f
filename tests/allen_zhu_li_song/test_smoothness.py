"""Theorem 4's remainder along the gradient: direct evaluation, and the closed form of a network
that is linear in its trained weights."""

from __future__ import annotations

import pytest
import torch

from helpers.allen_zhu_li_song import (
    DeepReLUNet,
    fake_gradient,
    forward,
    gradient_step_remainder,
    paper_inputs,
)
from helpers.rng import make_generator

D = torch.float64


def test_remainder_matches_a_direct_step(setup):
    net, X, Y = setup
    r = gradient_step_remainder(net, X, Y, [1e-3, 1e-2])
    s = forward(net, X)
    G = fake_gradient(net, s, s.output - Y)
    for k, eta in enumerate((1e-3, 1e-2)):
        moved = DeepReLUNet(5, 24, 3, 2, generator=make_generator(0))
        moved.load_state_dict(net.state_dict())
        with torch.no_grad():
            for W, g in zip(moved.Ws, G):
                W.sub_(eta * g)
            F1 = 0.5 * float((moved(X) - Y).pow(2).sum())
        assert r.loss_after[k] == pytest.approx(F1, rel=1e-12)
        assert r.remainder[k] == pytest.approx(F1 - r.loss + eta * r.grad_sq, abs=1e-12)
        assert r.spectral[k] == pytest.approx(
            max(float(torch.linalg.matrix_norm(eta * g, ord=2)) for g in G), rel=1e-12)
    assert r.grad_sq == pytest.approx(sum(float(g.pow(2).sum()) for g in G), rel=1e-12)


def test_one_trained_layer_is_exactly_gauss_newton(gen):
    # depth 1: y = B relu(W_1 h_0) is linear in W_1 while no sign flips, so for a tiny step the
    # remainder is exactly (eta^2 / 2) ||J grad F||^2
    net = DeepReLUNet(5, 64, 1, 1, generator=gen)
    X = paper_inputs(4, 5, 0.3, generator=gen)
    Y = torch.ones(4, 1, dtype=D)
    r = gradient_step_remainder(net, X, Y, [1e-6])
    assert r.remainder[0] == pytest.approx(0.5 * 1e-12 * r.gauss_newton, rel=1e-5)


def test_remainder_is_second_order(setup):
    net, X, Y = setup
    r = gradient_step_remainder(net, X, Y, [1e-5, 1e-4])
    ratio = r.remainder / r.lr**2
    assert ratio[0] == pytest.approx(ratio[1], rel=0.05)


def test_gradient_step_remainder_bad(setup):
    net, X, Y = setup
    with pytest.raises(ValueError, match="lrs must hold"):
        gradient_step_remainder(net, X, Y, [])
    with pytest.raises(ValueError, match=r"lrs\[0\] must be"):
        gradient_step_remainder(net, X, Y, [0.0])
    with pytest.raises(ValueError, match="Y must have shape"):
        gradient_step_remainder(net, X, Y[:, :1], [0.1])
