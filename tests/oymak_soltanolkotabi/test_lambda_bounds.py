"""Tests for the lower bounds on lambda(X) (Lemma 6.4 and Lemma H.1)."""

from __future__ import annotations

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
