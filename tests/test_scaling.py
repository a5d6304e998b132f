"""Power-law and linear-rate fits recover known exponents and reject bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from helpers.rng import numpy_rng
from helpers.scaling import fit_linear_rate, fit_power_law


def test_power_law_exact():
    x = np.array([10.0, 100.0, 1000.0])
    fit = fit_power_law(x, 3.0 * x**-0.5)
    assert fit.slope == pytest.approx(-0.5, abs=1e-12)
    assert fit.constant == pytest.approx(3.0, rel=1e-12)
    assert fit.r2 == pytest.approx(1.0)
    assert fit.predict(1e4) == pytest.approx(3.0 * 1e-2)


def test_power_law_noisy_slope_within_stderr():
    rng = numpy_rng(0)
    x = np.geomspace(1, 1e3, 30)
    y = 2.0 * x**1.5 * np.exp(0.05 * rng.standard_normal(30))
    fit = fit_power_law(torch.tensor(x), y)
    assert abs(fit.slope - 1.5) < 4 * fit.slope_stderr
    assert fit.slope_stderr < 0.05


def test_linear_rate_exact_and_noisy():
    t = np.arange(50)
    fit = fit_linear_rate(t, 5.0 * 0.9**t)
    assert fit.rate == pytest.approx(0.9, rel=1e-12)
    assert fit.log_constant == pytest.approx(math.log(5.0))
    noisy = 0.9**t * np.exp(0.01 * numpy_rng(1).standard_normal(50))
    assert abs(fit_linear_rate(t, noisy).rate - 0.9) < 1e-3


@pytest.mark.parametrize(
    "x,y,match",
    [
        ([1, 2], [1, -1], "positive"),
        ([1, 2], [1, float("nan")], "finite"),
        ([1, 1], [1, 2], "two distinct"),
        ([1, 2, 3], [1, 2], "same length"),
        ([[1, 2]], [[1, 2]], "one-dimensional"),
        ("ab", [1, 2], "real numbers|one-dimensional"),
    ],
)
def test_power_law_bad_input(x, y, match):
    with pytest.raises((ValueError, TypeError), match=match):
        fit_power_law(x, y)


def test_linear_rate_bad_input():
    with pytest.raises(ValueError, match="positive"):
        fit_linear_rate([0, 1], [1.0, 0.0])
    with pytest.raises(ValueError, match="same length"):
        fit_linear_rate([0, 1, 2], [1.0, 0.5])
    with pytest.raises(ValueError, match="two distinct"):
        fit_linear_rate([1, 1], [1.0, 0.5])
    with pytest.raises(ValueError, match="finite"):
        fit_linear_rate([0, float("inf")], [1.0, 0.5])
