"""Tests for the L1 approximation programmes of Lemmas A.5 and B.5: closed forms, optimality
against random competitors, invariances, bad inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from helpers.li_liang import best_affine_l1, best_convex_l1

ALPHA = np.linspace(-1, 1, 201)


def _l1(values):
    w = np.full(ALPHA.size, ALPHA[1] - ALPHA[0])
    w[[0, -1]] /= 2
    return float(np.sum(w * np.abs(values)))


@pytest.mark.parametrize("rho", [0.3, 1.0, 2.5])
def test_best_affine_relu_closed_form(rho):
    """Exercise of the chapter: the best line for rho relu on [-1, 1] is rho/2 x + rho/4,
    error rho tau^2 / 4."""
    s, t, value = best_affine_l1(rho * np.maximum(ALPHA, 0.0), ALPHA)
    assert math.isclose(value, rho / 4, rel_tol=1e-3)
    assert math.isclose(s, rho / 2, rel_tol=1e-3) and math.isclose(t, rho / 4, rel_tol=1e-3)


def test_best_affine_is_optimal_and_invariant():
    rng = np.random.default_rng(0)
    phi = np.maximum(ALPHA, 0.0) + 0.7 * np.maximum(ALPHA - 0.3, 0.0)
    s, t, value = best_affine_l1(phi, ALPHA)
    assert math.isclose(value, _l1(phi - s * ALPHA - t), rel_tol=1e-9)
    for _ in range(100):
        ds, dt = rng.normal(0, 0.3, 2)
        assert _l1(phi - (s + ds) * ALPHA - (t + dt)) >= value - 1e-12
    # adding a line to phi changes nothing in the value
    assert math.isclose(best_affine_l1(phi + 3 * ALPHA - 2, ALPHA)[2], value, rel_tol=1e-7)
    assert best_affine_l1(2 * ALPHA + 1, ALPHA)[2] < 1e-12


def test_best_convex_limits_and_monotonicity():
    relu = np.maximum(ALPHA, 0.0)
    # budget 0: only lines, same as the affine programme
    assert math.isclose(best_convex_l1(relu, ALPHA, budget=0.0),
                        best_affine_l1(relu, ALPHA)[2], rel_tol=1e-6)
    values = [best_convex_l1(relu, ALPHA, budget=b) for b in (0.0, 0.25, 0.5, 0.75, 1.0)]
    assert all(b <= a + 1e-12 for a, b in zip(values, values[1:]))        # more budget, closer
    assert values[-1] < 1e-9                                              # relu itself fits
    # any convex phi with slope increase <= budget is matched exactly
    phi = 0.3 * np.maximum(ALPHA + 0.5, 0.0) + 0.2 * np.maximum(ALPHA - 0.1, 0.0) - ALPHA
    assert best_convex_l1(phi, ALPHA, budget=0.5) < 1e-9


def test_convex_bad_inputs():
    with pytest.raises(ValueError, match="phi must have the shape of alpha"):
        best_affine_l1(np.zeros(5), ALPHA)
    with pytest.raises(ValueError, match="strictly increasing"):
        best_affine_l1(np.zeros(3), np.array([0.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match="at least 3 points"):
        best_convex_l1(np.zeros(2), np.array([0.0, 1.0]), budget=1.0)
    with pytest.raises(ValueError, match="budget must be >= 0.0"):
        best_convex_l1(np.zeros(ALPHA.size), ALPHA, budget=-1.0)
    with pytest.raises(ValueError, match="only finite"):
        best_convex_l1(np.full(ALPHA.size, np.inf), ALPHA, budget=1.0)


def test_kinked_convex_is_convex_with_its_kink():
    from helpers.li_liang import kinked_convex
    rng = np.random.default_rng(3)
    for _ in range(50):
        kink = rng.uniform(-0.2, 0.2)
        phi = kinked_convex(ALPHA, rng=rng, rho=0.7, kink=kink, max_extra_kinks=2,
                            extra_slope=1.0, intercept=False)
        assert np.all(np.diff(phi, 2) >= -1e-12)                      # grid-convex
        slope = np.diff(phi) / np.diff(ALPHA)
        i = np.searchsorted(ALPHA, kink)
        assert slope[i + 1] - slope[i - 2] >= 0.7 - 1e-9             # jump >= rho across it
    # same generator state, same function; the draws of Lemma A.5's chapter
    a = kinked_convex(ALPHA, rng=np.random.default_rng(1), rho=1.0)
    rng = np.random.default_rng(1)
    b = np.maximum(ALPHA, 0.0)
    for knot in rng.uniform(-1, 1, rng.integers(0, 4)):
        b += rng.uniform(0, 2) * np.maximum(ALPHA - knot, 0.0)
    b += rng.normal() * ALPHA + rng.normal()
    np.testing.assert_array_equal(a, b)


def test_kinked_convex_bad_inputs():
    from helpers.li_liang import kinked_convex
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        kinked_convex(ALPHA, rng=0, rho=1.0)
    with pytest.raises(ValueError, match="rho must be >= 0.0"):
        kinked_convex(ALPHA, rng=np.random.default_rng(0), rho=-1.0)
    with pytest.raises(ValueError, match="max_extra_kinks must be an integer >= 0"):
        kinked_convex(ALPHA, rng=np.random.default_rng(0), rho=1.0, max_extra_kinks=-1)
