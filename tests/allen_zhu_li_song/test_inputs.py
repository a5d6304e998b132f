"""Inputs of Section 2: unit norm, bias coordinate 1/sqrt(2), separation (Assumption 2.1)."""

from __future__ import annotations

import math

import pytest
import torch

from helpers.allen_zhu_li_song import input_pairs, paper_inputs
from helpers.data import separation
from helpers.rng import make_generator

D = torch.float64


def test_paper_inputs_normalised_and_separated(gen):
    X = paper_inputs(10, 6, 0.4, generator=gen)
    assert torch.allclose(X.norm(dim=1), torch.ones(10, dtype=D))
    assert torch.allclose(X[:, -1], torch.full((10,), 2 ** -0.5, dtype=D))
    assert separation(X) >= 0.4 - 1e-12


def test_paper_inputs_deterministic():
    a = paper_inputs(5, 4, 0.2, generator=make_generator(3))
    b = paper_inputs(5, 4, 0.2, generator=make_generator(3))
    assert torch.equal(a, b)


def test_paper_inputs_bad():
    with pytest.raises(ValueError, match="d must be"):
        paper_inputs(5, 2, 0.2, generator=make_generator(0))
    with pytest.raises(ValueError, match="delta must be"):
        paper_inputs(5, 4, 1.5, generator=make_generator(0))
    with pytest.raises(TypeError, match="generator"):
        paper_inputs(5, 4, 0.2, generator=0)


def test_input_pairs_exact_distance_unit_norm_and_bias(gen):
    deltas = torch.tensor([0.01, 0.1, 0.5, 1.0, math.sqrt(2)], dtype=D)
    X1, X2 = input_pairs(deltas, 7, generator=gen)
    torch.testing.assert_close((X1 - X2).norm(dim=1), deltas, rtol=1e-12, atol=1e-14)
    for X in (X1, X2):
        torch.testing.assert_close(X.norm(dim=1), torch.ones(5, dtype=D))
        torch.testing.assert_close(X[:, -1], torch.full((5,), 2 ** -0.5, dtype=D))
    # the first inputs are paper_inputs drawn first from the same generator
    torch.testing.assert_close(X1, paper_inputs(5, 7, 0.1, generator=make_generator(
        20261123)), rtol=0, atol=0)


def test_input_pairs_bad(gen):
    with pytest.raises(ValueError, match="distances must hold"):
        input_pairs([0.1], 5, generator=gen)
    with pytest.raises(ValueError, match="distances must hold"):
        input_pairs([0.1, 1.5], 5, generator=gen)
    with pytest.raises(ValueError, match="d must be"):
        input_pairs([0.1, 0.2], 2, generator=gen)
    with pytest.raises(TypeError, match="generator"):
        input_pairs([0.1, 0.2], 5, generator=None)
