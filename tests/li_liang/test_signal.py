"""Tests for the error scalar v, the gradient norms, the per-step descent and the steps to an
accuracy: closed forms, brute force, invariants, bad inputs."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch

from helpers import losses
from helpers.li_liang import (
    descent_steps,
    gradient_norms,
    loss_gradient,
    max_weighted_error,
    mixture,
    pseudo_gradient,
    time_to_accuracy,
)
from helpers.models import TwoLayerNet
from helpers.rng import make_generator


def test_max_weighted_error_brute_force(gen):
    n, k, comps = 40, 3, 6
    logits = torch.randn(n, k, generator=gen, dtype=torch.float64)
    component = torch.randint(0, comps, (n,), generator=gen)
    y = component // 2
    o = torch.softmax(logits, 1)
    best = 0.0
    for c in range(comps):
        sel = component == c
        if sel.any():
            p_hat = float(sel.double().mean())
            mean_miss = float((1 - o[sel, y[sel]]).mean())
            best = max(best, p_hat * mean_miss)
    assert math.isclose(max_weighted_error(logits, y, component), best, rel_tol=1e-12)
    assert 0 <= best <= float(torch.bincount(component).max()) / n


def test_max_weighted_error_simplified_case_equals_max_p_v(gen):
    from helpers.li_liang import error_coefficients
    logits = torch.randn(5, 4, generator=gen, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 3, 3])
    v = error_coefficients(logits, y)
    p = torch.full((5,), 0.2, dtype=torch.float64)
    assert math.isclose(max_weighted_error(logits, y, torch.arange(5)),
                        float((p[:, None] * v).max()), rel_tol=1e-12)


def test_gradient_norms_are_the_rows(gen):
    X = torch.randn(10, 4, generator=gen, dtype=torch.float64)
    W0 = torch.randn(6, 4, generator=gen, dtype=torch.float64) / 6 ** 0.5
    W = W0 + 0.2 * torch.randn(6, 4, generator=gen, dtype=torch.float64)
    a = torch.randn(3, 6, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 3, (10,), generator=gen)
    pseudo, true = gradient_norms(W, W0, a, X, y)
    torch.testing.assert_close(pseudo, pseudo_gradient(W, W0, a, X, y).norm(dim=1))
    torch.testing.assert_close(true, loss_gradient(W, a, X, y).norm(dim=1))
    p0, t0 = gradient_norms(W0, W0, a, X, y)
    torch.testing.assert_close(p0, t0)                # no pattern changed: equal


def test_descent_steps_first_order_is_exact_for_tiny_steps():
    g = make_generator(4)
    pool = mixture(200, 8, 2, 2, generator=g, normalize=True)
    stream = mixture(48, 8, 2, 2, generator=g, normalize=True, centers=pool.centers)
    net = TwoLayerNet(8, 100, generator=g, variant="li-liang", d_out=2)
    W0 = net.hidden_weights.detach().clone()
    out = descent_steps(net, stream.X, stream.y, pool.X, pool.y, lr=1e-4, steps=6,
                        batch_size=8, generator=g)
    assert out.step.tolist() == list(range(6))
    ratio = out.actual / out.first_order
    assert bool(((ratio - 1).abs() < 1e-3).all())
    # the first row is the decrease of the pool loss over the first step
    assert not torch.equal(net.hidden_weights.detach(), W0)
    F0 = float(losses.cross_entropy(torch.relu(pool.X @ W0.T) @ net.output_weights.T,
                                    pool.y).mean())
    assert out.actual.iloc[0] < F0


def test_time_to_accuracy_uses_the_first_crossing():
    frame = pd.DataFrame({"step": [4, 0, 2, 0, 2, 4], "m": [10, 10, 10, 20, 20, 20],
                          "test_accuracy": [0.99, 0.2, 0.98, 0.1, 0.97, 0.99],
                          "relative_distance": [0.5, 0.0, 0.4, 0.0, 0.1, 0.2]})
    out = time_to_accuracy(frame, 0.98)
    assert out.loc[10, "step"] == 2 and out.loc[10, "relative_distance"] == 0.4
    assert out.loc[20, "step"] == 4 and out.loc[20, "relative_distance"] == 0.2
    assert math.isinf(time_to_accuracy(frame, 1.0).loc[20, "step"])


def test_signal_bad_inputs(gen):
    logits = torch.zeros(3, 2, dtype=torch.float64)
    with pytest.raises(TypeError, match="component must have an integer dtype"):
        max_weighted_error(logits, torch.tensor([0, 1, 1]), torch.zeros(3))
    with pytest.raises(ValueError, match=r"component must have values in \[0, 2\)"):
        max_weighted_error(logits, torch.tensor([0, 1, 1]), torch.tensor([0, 1, 2]),
                           num_components=2)
    with pytest.raises(ValueError, match="y must have 3 entries"):
        max_weighted_error(logits, torch.tensor([0, 1]), torch.tensor([0, 1, 1]))
    W = torch.ones(2, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match="same shape"):
        gradient_norms(W, W[:1], torch.ones(1, 2, dtype=torch.float64),
                       torch.ones(2, 3, dtype=torch.float64), torch.tensor([0, 0]))
    net = TwoLayerNet(3, 4, generator=gen, variant="li-liang", d_out=2)
    X, y = torch.ones(4, 3, dtype=torch.float64), torch.tensor([0, 1, 0, 1])
    with pytest.raises(TypeError, match="variant='li-liang'"):
        descent_steps(torch.nn.Linear(3, 2), X, y, X, y, lr=0.1, steps=1, batch_size=2,
                      generator=gen)
    with pytest.raises(ValueError, match="X_pool must have 3 columns"):
        descent_steps(net, X, y, X[:, :2], y, lr=0.1, steps=1, batch_size=2, generator=gen)
    with pytest.raises(ValueError, match="batch_size must be an integer <= 4"):
        descent_steps(net, X, y, X, y, lr=0.1, steps=1, batch_size=5, generator=gen)
    with pytest.raises(ValueError, match="missing"):
        time_to_accuracy(pd.DataFrame({"step": [0], "m": [1]}), 0.9)
    with pytest.raises(ValueError, match="level must be <= 1.0"):
        time_to_accuracy(pd.DataFrame({"step": [0], "m": [1], "test_accuracy": [1.0]}), 2.0)
    with pytest.raises(TypeError, match="pandas DataFrame"):
        time_to_accuracy({"step": [0]}, 0.5)


def test_descent_inequality_holds_and_first_order_is_tight_for_small_p(gen):
    from helpers.li_liang import descent_inequality
    W = torch.randn(60, 5, generator=gen, dtype=torch.float64) / 60 ** 0.5
    a = torch.randn(3, 60, generator=gen, dtype=torch.float64)
    x = torch.randn(1, 5, generator=gen, dtype=torch.float64)
    x = x / x.norm()
    out = descent_inequality(W, a, x, torch.tensor([1]), sizes=[1e-4, 1e-2], draws=200,
                             generator=gen)
    assert (out["max (lhs - rhs)"] <= 0).all()
    # second order: the deviation from the first-order term shrinks like p^2 away from kinks
    assert out["max |lhs - first order|"].iloc[0] < 1e-6
    assert out["L^3 m^2 p^2"].iloc[1] / out["L^3 m^2 p^2"].iloc[0] == pytest.approx(1e4)
    with pytest.raises(ValueError, match=r"x must have shape \(1, 5\)"):
        descent_inequality(W, a, x.T, torch.tensor([1]), sizes=[0.1], draws=2, generator=gen)
    with pytest.raises(ValueError, match="sizes entry must be > 0.0"):
        descent_inequality(W, a, x, torch.tensor([1]), sizes=[0.0], draws=2, generator=gen)
