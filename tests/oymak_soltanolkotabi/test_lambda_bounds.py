"""Tests for the lower bounds on lambda(X) (Lemma 6.4 and Lemma H.1)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from helpers import data
from helpers.oymak_soltanolkotabi import activation_constants, lambda_lower_bounds


@pytest.mark.parametrize("activation", ["softplus", "relu"])
def test_orthonormal_data_closed_forms(activation):
    c = activation_constants(activation)
    b = lambda_lower_bounds(torch.eye(4, dtype=torch.float64), activation)
    # Sigma = E phi'(g)^2 I; the first bound of (6.4) is (mu~^2 + mu^2) I; X*X = I
    assert b.lam == pytest.approx(c.dphi_second_moment, abs=1e-12)
    assert b.first == pytest.approx(c.mu_tilde**2 + c.mu**2, abs=1e-12)
    assert b.khatri_rao == pytest.approx(c.mu**2, abs=1e-12)
    assert b.first_gap == pytest.approx(c.dphi_second_moment - c.mu_tilde**2 - c.mu**2, abs=1e-12)


def test_quadratic_activation_attains_the_first_bound(gen):
    # phi' = identity: Sigma = G o G, mu~ = 0, mu = 1, so (6.4) holds with equality
    X = data.sphere(8, 5, generator=gen)
    b = lambda_lower_bounds(X, "quadratic")
    assert abs(b.first_gap) < 1e-12
    assert b.lam == pytest.approx(b.khatri_rao, rel=1e-9)


@pytest.mark.parametrize("activation", ["softplus", "relu"])
@pytest.mark.parametrize("n,d", [(12, 6), (30, 6)])          # n <= d(d+1)/2 = 21, and n > 21
def test_bounds_hold_and_khatri_rao_collapses(gen, activation, n, d):
    b = lambda_lower_bounds(data.sphere(n, d, generator=gen), activation)
    assert b.first_gap > -1e-10
    assert b.lam >= b.first - 1e-10 and b.lam >= b.khatri_rao - 1e-10
    assert b.lam >= b.hermite_r3 - 1e-10 and b.hermite_r3 > 0
    if n > d * (d + 1) // 2:
        assert b.khatri_rao < 1e-10 < b.lam


def test_bad_inputs():
    with pytest.raises(ValueError, match="unit-norm rows"):
        lambda_lower_bounds(2 * torch.eye(3, dtype=torch.float64), "relu")
    with pytest.raises(ValueError, match="activation must be one of"):
        lambda_lower_bounds(torch.eye(3, dtype=torch.float64), "tanh")


def test_close_pair_is_linear_in_delta_and_above_the_bound(gen):
    from helpers.oymak_soltanolkotabi import close_pair_eigenvalues, pattern_covariance

    X = data.sphere(6, 6, generator=gen)
    t = close_pair_eigenvalues(X, [1e-4, 1e-3, 1e-2])
    assert (t["lmin E[I I^T]"] >= t["bound delta/(100 n^2)"]).all()            # Theorem I.1
    assert (t["lambda_ReLU(X)"] >= t["bound delta/(100 n^2)"]).all()           # Corollary I.2
    slope = np.polyfit(np.log(t["delta"]), np.log(t["lmin E[I I^T]"]), 1)[0]
    assert slope == pytest.approx(1.0, abs=0.02)
    # two points only: the 2 x 2 pattern covariance has lmin = theta / (2 pi) exactly
    t2 = close_pair_eigenvalues(torch.eye(2, dtype=torch.float64), [0.3])
    assert t2["lmin E[I I^T]"].iloc[0] == pytest.approx(0.3 / (2 * math.pi), rel=1e-12)
    assert float(pattern_covariance(torch.eye(2, dtype=torch.float64))[0, 1]) == 0.25


def test_close_pair_bad_inputs():
    from helpers.oymak_soltanolkotabi import close_pair_eigenvalues

    with pytest.raises(ValueError, match="thetas"):
        close_pair_eigenvalues(torch.eye(2, dtype=torch.float64), [2.0])
    with pytest.raises(ValueError, match="pair must be"):
        close_pair_eigenvalues(torch.eye(2, dtype=torch.float64), [0.1], pair=2)
    with pytest.raises(ValueError, match="parallel"):
        close_pair_eigenvalues(torch.ones(2, 2, dtype=torch.float64) / math.sqrt(2), [0.1])
