"""Tests for ReLU activation flips (Lemmas C.1-C.3 and 6.9)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from helpers import data
from helpers.oymak_soltanolkotabi import _flips as fl
from helpers.oymak_soltanolkotabi import pattern_singular_values
from helpers.rng import make_generator


@pytest.fixture
def problem(gen):
    X = data.sphere(5, 4, generator=gen)
    W0 = torch.randn(300, 4, generator=gen, dtype=torch.float64)
    v = torch.randn(300, generator=gen, dtype=torch.float64)
    return X, W0, v


def test_sweep_matches_a_direct_computation_and_lemma_c1(problem):
    X, W0, v = problem
    t = fl.relu_perturbation_sweep(X, W0, v, np.geomspace(1e-3, 3.0, 4), draws=3,
                                   generator=make_generator(1))
    assert len(t) == 12 and bool((t["gap"] <= t["C.1 bound"] + 1e-12).all())     # Lemma C.1
    g = make_generator(1)
    U = torch.randn(300, 4, generator=g, dtype=torch.float64)
    W = W0 + 1e-3 * U / torch.linalg.matrix_norm(U, ord=2)
    D = (X @ W.T > 0).double() - (X @ W0.T > 0).double()
    assert t["gap"].iloc[0] == pytest.approx(pattern_singular_values(X, D, v)[1], abs=1e-15)
    assert t["max flips"].iloc[0] == float(D.abs().sum(1).max())
    # more flips at larger radii (monotone on average)
    means = t.groupby("rho")["max flips"].mean().to_numpy()
    assert means[-1] > means[0]


def test_c2_radius_and_lemma_c2(problem):
    X, W0, _ = problem
    t = fl.c2_radius_flips(X, W0, [1, 4, 16], draws=4, generator=make_generator(2))
    order = (X @ W0.T).abs().sort(dim=1).values
    assert t.loc[4, "radius"] == pytest.approx(2 * float(order[:, 3].min()))
    assert bool((t["max flips"] < 2 * t.index.to_numpy()).all())                   # Lemma C.2


def test_order_statistics_quantile(gen):
    X = data.sphere(6, 3, generator=gen)
    s = fl.order_statistics(X, 2000, 200, draws=20, generator=make_generator(3))
    # the 200th smallest of 2000 |N(0,1)| is near the 10% quantile of |g|, 0.1257
    assert float(s.mean()) == pytest.approx(0.1257, abs=0.01)
    assert bool((s >= 200 / (2 * 2000)).all())                                      # Lemma C.3
    assert math.isfinite(float(s.max()))


def test_bad_inputs(problem):
    X, W0, v = problem
    with pytest.raises(ValueError, match="rhos"):
        fl.relu_perturbation_sweep(X, W0, v, [0.0], draws=1, generator=make_generator(0))
    with pytest.raises(TypeError, match="rhos must be a sequence"):
        fl.relu_perturbation_sweep(X, W0, v, "1", draws=1, generator=make_generator(0))
    with pytest.raises(ValueError, match="ms"):
        fl.c2_radius_flips(X, W0, [400], draws=1, generator=make_generator(0))
    with pytest.raises(ValueError, match="m must be"):
        fl.order_statistics(X, 10, 11, draws=1, generator=make_generator(0))
