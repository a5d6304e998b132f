"""Tests for the success probability grouped by parameters per example (Section 4)."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.oymak_soltanolkotabi import phase_panel, success_by_parameter_ratio
from helpers.rng import make_generator


def test_table_regroups_the_panel():
    t = success_by_parameter_ratio(8, [1, 2, 6], [2, 3], activation="softplus", lr=0.5,
                                   steps=600, trials=2, generator=make_generator(4))
    p = phase_panel(8, [1, 2, 6], [2, 3], trials=2, activation="softplus", lr=0.5, steps=600,
                    generator=make_generator(4))
    assert np.array_equal(t.panel.success, p.success)             # the same draws
    assert np.allclose(t.points["md/n"], np.outer([2, 3], [1, 2, 6]).ravel() / 8)
    assert int(t.table["size"].sum()) == 6
    assert (t.table["runs"] == 2 * t.table["size"]).all()
    # kd < n: at most kd-dimensional image, generic labels are never fitted
    assert t.table["mean"].iloc[0] == 0.0
    weights = t.table["size"].to_numpy()
    assert np.average(t.table["mean"], weights=weights) == pytest.approx(p.probability.mean())


def test_bad_inputs():
    with pytest.raises(ValueError, match="edges must be"):
        success_by_parameter_ratio(4, [1], [1], activation="relu", lr=0.1, steps=1, trials=1,
                                   generator=make_generator(0), edges=(0.0, 2.0, 1.0))
    with pytest.raises(TypeError, match="edges must be a sequence"):
        success_by_parameter_ratio(4, [1], [1], activation="relu", lr=0.1, steps=1, trials=1,
                                   generator=make_generator(0), edges=3.0)
