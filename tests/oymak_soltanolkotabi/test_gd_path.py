"""Tests for the GD path and the quantities measured along it (Theorems 2.1, 6.10, 6.13)."""

from __future__ import annotations

import pytest
import torch

from helpers import activations, data
from helpers.oymak_soltanolkotabi import _gd_path as gp
from helpers.oymak_soltanolkotabi import (
    jacobian_gram,
    min_eigenvalue,
    oymak_output_weights,
    pattern_singular_values,
    pattern_transpose,
)
from helpers.rng import make_generator


@pytest.fixture
def problem(gen):
    X = data.sphere(5, 4, generator=gen)
    y = torch.randn(5, generator=gen, dtype=torch.float64)
    W0 = torch.randn(40, 4, generator=gen, dtype=torch.float64)
    v = oymak_output_weights(40, y_norm=float(y.norm()), n=5)
    return X, y, W0, v


def _hand_gd(X, y, W0, v, activation, lr, steps):
    """W <- W - eta J^T r, written out (the oracle for the trainer-based path)."""
    act = activations.get(activation)
    W, out = W0.clone(), []
    for _ in range(steps + 1):
        r = act.fn(X @ W.T) @ v - y
        out.append((W.clone(), r))
        W = W - lr * pattern_transpose(X, act.derivative(X @ W.T), v, r)
    return out


@pytest.mark.parametrize("activation", ["softplus", "relu"])
def test_gd_path_is_gradient_descent_on_the_summed_loss(problem, activation):
    X, y, W0, v = problem
    p = gp.gd_path(X, y, W0, v, activation=activation, lr=0.3, steps=30, snapshot_every=10)
    hand = _hand_gd(X, y, W0, v, activation, 0.3, 30)
    assert p.residual == pytest.approx([float(r.norm()) for _, r in hand], rel=1e-9)
    assert p.distance == pytest.approx([float((W - W0).norm()) for W, _ in hand], abs=1e-9)
    steps = [float((hand[t + 1][0] - hand[t][0]).norm()) for t in range(30)]
    assert p.path_length[-1] == pytest.approx(sum(steps), rel=1e-9)
    assert p.path_length[0] == 0.0 and p.snapshot_steps == (0, 10, 20, 30)
    assert torch.allclose(p.snapshots[2], hand[20][0], atol=1e-9)
    assert torch.equal(p.snapshots[0], W0)


def test_path_constants_match_the_jacobians(problem):
    X, y, W0, v = problem
    p = gp.gd_path(X, y, W0, v, activation="softplus", lr=0.3, steps=20, snapshot_every=5)
    c = gp.path_constants(X, v, p, "softplus")
    ev = torch.linalg.eigvalsh(jacobian_gram(X, p.snapshots[3], v, "softplus"))
    assert c.sigma_min[3] == pytest.approx(float(ev[0]) ** 0.5, rel=1e-9)
    assert c.norm[3] == pytest.approx(float(ev[-1]) ** 0.5, rel=1e-12)
    assert c.alpha == c.sigma_min.min() and c.beta == c.norm.max() and c.deviation[0] == 0
    # Lemma 6.8 (M = sup |sigmoid'| = 1/4) bounds the measured Lipschitz ratio
    assert 0 < c.lipschitz <= 0.25 * float(v.abs().max()) * float(
        torch.linalg.matrix_norm(X, ord=2))


def test_relu_diagnostics_identities(problem):
    X, y, W0, v = problem
    tab = gp.relu_gd_diagnostics(X, y, W0, v, lr=0.3, steps=25)
    hand = _hand_gd(X, y, W0, v, "relu", 0.3, 25)
    assert len(tab) == 25 and list(tab["t"]) == list(range(25))
    assert tab["r"].to_numpy() == pytest.approx([float(r.norm()) for _, r in hand[:25]],
                                                rel=1e-9)
    assert (tab["G.2 error"] <= 1e-12).all()                          # (G.2) is exact
    P0 = (X @ W0.T > 0).double()
    P5 = (X @ hand[5][0].T > 0).double()
    assert tab["||J - J0||"].iloc[5] == pytest.approx(
        pattern_singular_values(X, P5 - P0, v)[1], abs=1e-9)
    assert tab["||J||"].iloc[0] == pytest.approx(pattern_singular_values(X, P0, v)[1])


def test_width_sweep_agrees_with_the_trainer(problem):
    X, y, _, _ = problem
    s = gp.gd_width_sweep(X, y, [6, 40], activation="softplus", lr=0.3, steps=20, segment=10,
                          generator=make_generator(9))
    assert tuple(s.residual.shape) == (2, 21) and tuple(s.distance.shape) == (2, 3)
    for b, k in enumerate((6, 40)):
        W0, v = s.W0[b, :k], s.v[b, :k]
        assert torch.equal(s.W0[b, k:], torch.zeros_like(s.W0[b, k:]))
        p = gp.gd_path(X, y, W0, v, activation="softplus", lr=0.3, steps=20, snapshot_every=10)
        assert s.residual[b].numpy() == pytest.approx(p.residual, rel=1e-9)
        assert s.distance[b].numpy() == pytest.approx(p.distance[::10], abs=1e-9)
        assert float(s.path_length[b]) == pytest.approx(p.path_length[-1], rel=1e-9)
    rates = gp.linearised_rates(X, s, "softplus", 0.3)
    lam = min_eigenvalue(jacobian_gram(X, s.W0[1, :40], s.v[1, :40], "softplus"))
    assert rates[1] == pytest.approx(1 - 0.3 * lam)


def test_bad_inputs(problem, gen):
    X, y, W0, v = problem
    with pytest.raises(ValueError, match="W0 must have shape"):
        gp.gd_path(X, y, W0[:, :2], v, activation="relu", lr=0.1, steps=2, snapshot_every=1)
    with pytest.raises(ValueError, match="snapshot_every must be"):
        gp.gd_path(X, y, W0, v, activation="relu", lr=0.1, steps=2, snapshot_every=0)
    p = gp.gd_path(X, y, W0, v, activation="relu", lr=0.1, steps=2, snapshot_every=5)
    with pytest.raises(ValueError, match="at least two snapshots"):
        gp.path_constants(X, v, p, "relu")
    with pytest.raises(TypeError, match="path must be a GDPath"):
        gp.path_constants(X, v, "path", "relu")
    with pytest.raises(ValueError, match="steps must be"):
        gp.relu_gd_diagnostics(X, y, W0, v, lr=0.1, steps=0)
    with pytest.raises(ValueError, match="steps must be a multiple of segment"):
        gp.gd_width_sweep(X, y, [4], activation="relu", lr=0.1, steps=15, segment=10,
                          generator=gen)
    with pytest.raises(TypeError, match="sweep must be a WidthSweep"):
        gp.linearised_rates(X, None, "relu", 0.1)
