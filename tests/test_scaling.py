"""Power-law and linear-rate fits recover known exponents, first_crossing reads hitting
times off curves, and all reject bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from helpers.rng import numpy_rng
from helpers.scaling import first_crossing, fit_linear_rate, fit_power_law


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


def test_first_crossing_geometric_closed_form():
    # v_t = rho^t falls to eps at t = ceil(log eps / log rho)
    rho, t = 0.8, np.arange(200)
    for eps in (1e-2, 1e-4, 1e-6):
        expected = math.ceil(math.log(eps) / math.log(rho) - 1e-9)
        assert first_crossing(rho**t, eps) == expected
        assert first_crossing(5.0 * rho**t, eps, relative=True) == expected
    # the level is inclusive: a value equal to it counts
    assert first_crossing([3.0, 2.0, 1.0], 2.0) == 1.0
    assert first_crossing(torch.tensor([3.0, 2.0, 1.0]), 0.5, relative=True) == 2.0


def test_first_crossing_steps_and_never_reached():
    values = np.array([4.0, 2.0, 1.0, 0.5])
    assert first_crossing(values, 1.0, steps=[0, 5, 10, 15]) == 10.0
    assert first_crossing(values, 0.25, steps=np.array([1, 2, 3, 4]), relative=True) == 3.0
    assert first_crossing(values, 4.0) == 0.0
    assert first_crossing(values, 0.1) == math.inf
    assert first_crossing(values, 0.01, steps=[0, 5, 10, 15], relative=True) == math.inf
    # a diverging curve is allowed, and an increasing one never crosses a lower level
    assert first_crossing([1.0, 10.0, float("inf")], 0.5) == math.inf
    assert first_crossing([1.0, float("inf"), 0.1], 0.5) == 2.0


def test_first_crossing_agrees_with_brute_force():
    rng = numpy_rng(3)
    for _ in range(20):
        values = rng.standard_normal(30).cumsum()
        level = float(rng.standard_normal())
        brute = next((float(t) for t, v in enumerate(values) if v <= level), math.inf)
        assert first_crossing(values, level) == brute


@pytest.mark.parametrize(
    "values,level,kwargs,error,match",
    [
        ([], 0.1, {}, ValueError, "values must not be empty"),
        ([[1.0, 2.0]], 0.1, {}, ValueError, "values must be one-dimensional"),
        ([1.0, float("nan")], 0.1, {}, ValueError, "values must not contain NaN"),
        ("ab", 0.1, {}, TypeError, "values must be a sequence of real numbers"),
        ([1.0, 0.5], float("nan"), {}, ValueError, "level must be finite"),
        ([1.0, 0.5], "0.1", {}, TypeError, "level must be a real number"),
        ([1.0, 0.5], 0.1, {"relative": 1}, TypeError, "relative must be a bool"),
        ([0.0, 0.5], 0.1, {"relative": True}, ValueError, r"values\[0\] must be finite and pos"),
        ([1.0, 0.5], 0.1, {"steps": [0, 1, 2]}, ValueError, "same length"),
        ([1.0, 0.5], 0.1, {"steps": [1, 1]}, ValueError, "steps must be strictly increasing"),
        ([1.0, 0.5], 0.1, {"steps": [0, float("inf")]}, ValueError, "steps must contain only fin"),
    ],
)
def test_first_crossing_bad_input(values, level, kwargs, error, match):
    with pytest.raises(error, match=match):
        first_crossing(values, level, **kwargs)
