"""Tests for the Jacobian at initialisation (Lemmas 6.6, 6.7, 6.12, matrix Chernoff)."""

from __future__ import annotations

import math

import pytest
import torch
from scipy import stats

from helpers import data
from helpers.oymak_soltanolkotabi import _initial_jacobian as ij
from helpers.oymak_soltanolkotabi import (
    jacobian_gram,
    min_eigenvalue,
    nn_covariance,
    oymak_output_weights,
)
from helpers.rng import make_generator


@pytest.mark.parametrize("activation", ["softplus", "relu"])
def test_draws_match_a_direct_computation(gen, activation):
    X = data.sphere(7, 5, generator=gen)
    y = torch.randn(7, generator=gen, dtype=torch.float64)
    t = ij.initial_jacobian_draws(X, y, [6, 50], activation=activation, draws=3,
                                  generator=make_generator(5))
    assert list(t["k"]) == [6, 6, 6, 50, 50, 50]
    assert bool((t["norm/bound"] <= 1 + 1e-12).all())            # Lemma 6.6, deterministic
    g = make_generator(5)
    lam = min_eigenvalue(nn_covariance(X, activation))
    for k in (6, 50):
        v = oymak_output_weights(k, y_norm=float(y.norm()), n=7)
        for j in range(3):
            W0 = torch.randn(k, 5, generator=g, dtype=torch.float64)
            ev = torch.linalg.eigvalsh(jacobian_gram(X, W0, v, activation))
            row = t[(t.k == k) & (t.draw == j)].iloc[0]
            assert row["ratio"] == pytest.approx(float(ev[0]) / (float(v.norm()) ** 2 * lam))
    assert t["k_star"].iloc[0] == pytest.approx(
        20 * math.log(7) * float(torch.linalg.matrix_norm(X, ord=2)) ** 2 / lam)


def test_chernoff_ratios_on_orthonormal_data_are_binomial_minima():
    X = torch.eye(3, dtype=torch.float64)          # A_l = diag(1{w_l > 0}): sum = diag(Bin)
    r = ij.relu_chernoff_ratios(X, 100, trials=4, generator=make_generator(2))
    W = torch.randn(4, 100, 3, generator=make_generator(2), dtype=torch.float64)
    expected = (W > 0).sum(1).min(1).values.double() / 50        # k lambda = 100 / 2
    assert torch.allclose(r, expected, atol=1e-12)


@pytest.mark.parametrize("delta", [0.1, 0.3, 0.5, 0.8])
@pytest.mark.parametrize("k,p", [(200, 0.5), (1000, 0.1)])
def test_chernoff_bound_dominates_exact_binomial_tail(delta, k, p):
    # scalar Bernoulli summands: n = 1, R = 1, mu_min = k p; exact lower tail from scipy
    exact = stats.binom.cdf(math.floor((1 - delta) * k * p), k, p)
    bound = ij.matrix_chernoff_bound(delta, mu_min=k * p, R=1.0, n=1)
    assert exact <= bound
    # and n independent coordinates: P(min <= t) = 1 - (1 - F)^n <= n F <= n * bound
    n = 5
    assert 1 - (1 - exact) ** n <= ij.matrix_chernoff_bound(delta, mu_min=k * p, R=1.0, n=n)


def test_chernoff_bound_closed_form():
    assert ij.matrix_chernoff_bound(0.0, mu_min=3.0, R=1.0, n=4) == 1.0
    expected = 10 * (math.exp(-0.5) / 0.5**0.5) ** 40
    assert ij.matrix_chernoff_bound(0.5, mu_min=80.0, R=2.0, n=10) == pytest.approx(expected)


def test_bad_inputs(gen):
    X = data.sphere(4, 3, generator=gen)
    y = torch.ones(4, dtype=torch.float64)
    with pytest.raises(ValueError, match="activation must be 'relu' or 'softplus'"):
        ij.initial_jacobian_draws(X, y, [4], activation="quadratic", draws=1, generator=gen)
    with pytest.raises(TypeError, match="widths must be"):
        ij.initial_jacobian_draws(X, y, 4, activation="relu", draws=1, generator=gen)
    with pytest.raises(ValueError, match="k must be"):
        ij.relu_chernoff_ratios(X, 0, trials=2, generator=gen)
    with pytest.raises(ValueError, match="delta must be in"):
        ij.matrix_chernoff_bound(1.0, mu_min=1.0, R=1.0, n=2)
    with pytest.raises(ValueError, match="R must be"):
        ij.matrix_chernoff_bound(0.5, mu_min=1.0, R=0.0, n=2)
