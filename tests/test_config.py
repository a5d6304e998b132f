"""The scale knob: small by default, full on request, presets selected by scale."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch

from helpers.config import Runtime, current_scale, runtime, select


@dataclass(frozen=True)
class Sizes:
    n: int


PRESETS = {"small": Sizes(10), "full": Sizes(1000)}


def test_default_is_small():
    assert current_scale({}) == "small"
    rt = runtime(environ={})
    assert rt == Runtime("small", torch.device("cpu"), torch.float64)
    assert not rt.is_full


def test_full_scale_picks_device_and_dtype():
    rt = runtime(environ={"BOOK_SCALE": " FULL "})
    assert rt.is_full and rt.dtype == torch.float32
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert rt.device.type == expected
    assert runtime("full", full_dtype=torch.float64).dtype == torch.float64


def test_select():
    assert select(PRESETS, "small") == Sizes(10)
    assert select(PRESETS, runtime("full")) == Sizes(1000)


def test_runtime_is_frozen():
    with pytest.raises(AttributeError):
        runtime("small").scale = "full"


def test_bad_inputs():
    with pytest.raises(ValueError, match="BOOK_SCALE"):
        current_scale({"BOOK_SCALE": "huge"})
    with pytest.raises(ValueError, match="scale must be one of"):
        runtime("medium")
    with pytest.raises(TypeError, match="full_dtype"):
        runtime("full", full_dtype=torch.int64)
    with pytest.raises(ValueError, match="keys"):
        select({"small": 1}, "small")
    with pytest.raises(ValueError, match="keys"):
        select([1, 2], "small")
    with pytest.raises(ValueError, match="scale must be one of"):
        select(PRESETS, "tiny")
    with pytest.raises(TypeError):
        Runtime("small")
