"""Tests for empirical tails: an exact law (uniform on [-1, 1]), the implied constant of a
Gaussian, the min-count rule, and bad inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from helpers.gradient_confusion import concentration_tail


def test_exact_tail_of_an_evenly_spread_sample():
    """M equally spaced points on [-1, 1] have mean 0 and |x| >= t for a fraction 1 - t."""
    M = 100_001
    x = torch.linspace(-1, 1, M, dtype=torch.float64)
    t = torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64)
    tail = concentration_tail(x, t, scale=1.0)
    np.testing.assert_allclose(tail.p_hat, 1 - t.numpy(), atol=2 / M)
    np.testing.assert_allclose(tail.bound, np.minimum(1, 2 * np.exp(-0.5 * t.numpy() ** 2)))


def test_gaussian_implied_constant_is_the_exact_one(gen):
    """For N(0, s^2) the tail is 2 Phibar(t/s): the implied constant at the largest t with
    enough exceedances is -log(Phibar(t/s)) / (t/s)^2, estimated to a few percent."""
    s = 2.0
    z = s * torch.randn(400_000, generator=gen, dtype=torch.float64)
    t = torch.tensor([2.0, 4.0, 6.0], dtype=torch.float64)          # t/s = 1, 2, 3
    tail = concentration_tail(z, t, scale=s, min_count=100)
    exact = min(-math.log(stats.norm.sf(u)) / u**2 for u in (1.0, 2.0, 3.0))
    assert tail.implied_c == pytest.approx(exact, rel=0.03)
    assert (tail.p_hat <= tail.bound + 3 * tail.se).all()


def test_min_count_excludes_rare_thresholds(gen):
    z = torch.randn(1000, generator=gen, dtype=torch.float64)
    tail = concentration_tail(z, torch.tensor([10.0], dtype=torch.float64), scale=1.0)
    assert tail.p_hat[0] == 0 and math.isnan(tail.implied_c)


def test_bad_inputs(gen):
    z = torch.randn(10, generator=gen, dtype=torch.float64)
    with pytest.raises(ValueError, match="thresholds"):
        concentration_tail(z, torch.tensor([0.0], dtype=torch.float64), scale=1.0)
    with pytest.raises(ValueError, match="scale"):
        concentration_tail(z, torch.tensor([1.0], dtype=torch.float64), scale=0.0)
    with pytest.raises(ValueError, match="values"):
        concentration_tail(z[:1], torch.tensor([1.0], dtype=torch.float64), scale=1.0)
