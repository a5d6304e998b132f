"""falsification_outside: the record keeps the violated hypothesis; power is still required."""

from __future__ import annotations

import pytest

from helpers import checks
from helpers.allen_zhu_li_song import falsification_outside


def test_record_keeps_outside_and_counts_as_a_falsification():
    r = falsification_outside(checks.exponent, [1.0, 2.0, 4.0, 8.0], [1.0, 0.71, 0.5, 0.35],
                              expected=-1.0, result="x", claim="y ~ x^-1/2",
                              perturbation="exponent -1", outside="width 64")
    assert (r.kind, r.could_fail, r.outside, r.result) == ("falsification", True, "width 64", "x")
    plain = checks.falsification(checks.exponent, [1.0, 2.0, 4.0, 8.0], [1.0, 0.71, 0.5, 0.35],
                                 expected=-1.0, result="x", claim="y ~ x^-1/2",
                                 perturbation="exponent -1")
    assert r.strength == plain.strength and plain.outside is None
    inside = falsification_outside(checks.bound, 2.0, 1.0, result="x", claim="c",
                                   perturbation="p", outside=None)
    assert inside.outside is None


def test_falsification_outside_bad():
    with pytest.raises(checks.CheckFailed, match="cannot tell"):
        falsification_outside(checks.bound, 0.5, 1.0, result="x", claim="f <= 1",
                              perturbation="none", outside="w")
    with pytest.raises(TypeError, match="outside must be"):
        falsification_outside(checks.bound, 2.0, 1.0, result="x", claim="c", perturbation="p",
                              outside="")
