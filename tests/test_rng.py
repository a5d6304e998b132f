"""Generators are explicit, reproducible and validated."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers.rng import make_generator, numpy_rng, spawn


def test_same_seed_same_stream():
    a = torch.randn(5, generator=make_generator(7))
    b = torch.randn(5, generator=make_generator(7))
    assert torch.equal(a, b)
    assert not torch.equal(a, torch.randn(5, generator=make_generator(8)))


def test_global_state_untouched():
    before = torch.get_rng_state()
    torch.randn(3, generator=make_generator(1))
    assert torch.equal(before, torch.get_rng_state())


def test_numpy_rng():
    assert isinstance(numpy_rng(0), np.random.Generator)
    assert numpy_rng(3).integers(1000) == numpy_rng(3).integers(1000)


def test_spawn_independent_and_reproducible():
    first = [g.initial_seed() for g in spawn(make_generator(0), 3)]
    again = [g.initial_seed() for g in spawn(make_generator(0), 3)]
    assert first == again and len(set(first)) == 3


def test_bad_inputs():
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        make_generator(-1)
    with pytest.raises(TypeError, match="seed must be an integer"):
        make_generator(1.5)
    with pytest.raises(TypeError, match="seed must be an integer"):
        make_generator(True)
    with pytest.raises(ValueError, match="device"):
        make_generator(0, device="banana")
    with pytest.raises(TypeError, match="seed"):
        numpy_rng("0")
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        spawn(np.random.default_rng(0), 2)
    with pytest.raises(ValueError, match="count"):
        spawn(make_generator(0), 0)
