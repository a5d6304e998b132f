"""Tests for rounding_identity: rounding noise is recorded as 0, real errors keep their size,
errors above the tolerance fail, and bad inputs."""

from __future__ import annotations

import pytest
import torch

from helpers import checks
from helpers.gradient_confusion import rounding_identity


def test_noise_below_half_the_resolution_is_recorded_as_zero():
    for noise in (0.0, 1e-16, 4.9e-15):
        r = rounding_identity(torch.tensor([1.0, 2.0 + noise]), [1.0, 2.0], tol=1e-12,
                              result="x", claim="c")
        assert r.kind == "identity" and r.could_fail and r.numbers["error"] == 0.0


def test_real_errors_keep_their_size_and_large_ones_fail():
    r = rounding_identity(1.0 + 3e-11, 1.0, tol=1e-10, result="x", claim="c")
    assert r.numbers["error"] == pytest.approx(3e-11)
    with pytest.raises(checks.CheckFailed, match="exceeds the tolerance"):
        rounding_identity(1.0 + 2e-10, 1.0, tol=1e-10, result="x", claim="c")
    rel = rounding_identity([100.0 + 1e-9], [100.0], tol=1e-10, relative=True, result="x",
                            claim="c")
    assert rel.numbers["error"] == pytest.approx(1e-11)


def test_bad_inputs():
    with pytest.raises(ValueError, match="tol"):
        rounding_identity(1.0, 1.0, tol=0.0, result="x", claim="c")
    with pytest.raises(ValueError, match="broadcast"):
        rounding_identity([1.0, 2.0], [1.0, 2.0, 3.0], tol=1e-3, result="x", claim="c")
    with pytest.raises(TypeError, match="relative"):
        rounding_identity(1.0, 1.0, tol=1e-3, relative=1, result="x", claim="c")
