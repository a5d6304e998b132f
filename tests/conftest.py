"""Shared pytest configuration: float64 by default and a fixed, explicit seed."""

from __future__ import annotations

import pytest
import torch

from helpers.rng import make_generator

SEED = 20261123


@pytest.fixture
def gen() -> torch.Generator:
    """A fresh CPU generator, the same in every test."""
    return make_generator(SEED)
