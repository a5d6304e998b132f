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


def test_random_label_fits_equal_separate_trainings():
    """The family model trains every member exactly as a separate train.train run would."""
    import torch

    from helpers import data, losses, models, train
    from helpers.oymak_soltanolkotabi import random_label_fits

    fits = random_label_fits(6, 3, [1, 4], trials=2, steps=50, lr=1.5,
                             generator=make_generator(8))
    g = make_generator(8)
    expected = []
    for m in (1, 4):
        for _ in range(2):
            X = data.sphere(6, 3, generator=g)
            y = torch.randn(6, generator=g, dtype=torch.float64)
            net = models.TwoLayerNet(3, m, generator=g, variant="oymak")
            train.train(net, losses.squared_loss, X, y, lr=1.5, steps=50, record_every=50)
            with torch.no_grad():
                expected.append(float((net(X).reshape(-1) - y).norm() / y.norm()))
    assert fits["relative residual"].to_numpy() == pytest.approx(expected, rel=1e-9)
    assert list(fits["md/n"]) == [0.5, 0.5, 2.0, 2.0]


def test_random_label_fits_bad_inputs():
    from helpers.oymak_soltanolkotabi import random_label_fits

    with pytest.raises(TypeError, match="widths must be"):
        random_label_fits(4, 2, 3, trials=1, steps=1, lr=1.0, generator=make_generator(0))
    with pytest.raises(ValueError, match="lr must be"):
        random_label_fits(4, 2, [1], trials=1, steps=1, lr=0.0, generator=make_generator(0))
