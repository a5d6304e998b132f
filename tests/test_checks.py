"""The check vocabulary: each check passes, fails and measures its strength as documented."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from scipy import stats

from helpers import checks
from helpers.checks import CheckFailed

KW = {"result": "r", "claim": "c"}


# --------------------------------------------------------------------------- identity

def test_identity_passes_and_fails_at_the_tolerance():
    rec = checks.identity([1.0, 2.0], [1.0, 2.0 + 4e-11], tol=1e-10, **KW)
    assert rec.passed and rec.could_fail and rec.kind == "identity"
    assert rec.numbers["error"] == pytest.approx(4e-11, rel=0.2)
    with pytest.raises(CheckFailed, match=r"r: c: error 4e-11 exceeds the tolerance 1e-11"):
        checks.identity([1.0, 2.0], [1.0, 2.0 + 4e-11], tol=1e-11, **KW)
    rel = checks.identity(1000.0 + 1e-8, 1000.0, tol=1e-10, relative=True, **KW)
    assert rel.numbers["error"] < 1e-10
    exact = checks.identity(torch.ones(3), np.ones(3), tol=1e-12, **KW)
    assert exact.strength.endswith("(error 0)")


def test_identity_bad_inputs():
    with pytest.raises(ValueError, match="tol must be a positive number"):
        checks.identity(1, 1, tol=0, **KW)
    with pytest.raises(TypeError, match="result must be a non-empty string"):
        checks.identity(1, 1, tol=1, result="", claim="c")
    with pytest.raises(ValueError, match="measured must not contain NaN"):
        checks.identity(float("nan"), 1, tol=1, **KW)
    with pytest.raises(TypeError, match="relative must be a bool"):
        checks.identity(1, 1, tol=1, relative=1, **KW)
    with pytest.raises(ValueError, match="digits must be an integer"):
        checks.identity(1, 1, tol=1, digits=9, **KW)


# --------------------------------------------------------------------------- bound

@pytest.mark.parametrize("measured,limit,upper,slack", [
    ([0.1, 0.5], [1.0, 1.0], True, 2.0),          # tightest point decides
    ([2.0, 3.0], 1.0, False, 2.0),
    (0.002, 1.0, True, 500.0),
])
def test_bound_slack_is_the_tightest_ratio(measured, limit, upper, slack):
    rec = checks.bound(measured, limit, upper=upper, **KW)
    assert rec.numbers["slack"] == pytest.approx(slack)
    assert rec.could_fail == (slack <= checks.LOOSE)
    assert rec.strength.startswith("holds, tight" if slack <= checks.LOOSE
                                   else "consistent, loose")


def test_bound_loose_threshold_and_failure():
    assert checks.bound(1.0, checks.LOOSE, **KW).could_fail
    assert not checks.bound(1.0, checks.LOOSE * 1.01, **KW).could_fail
    with pytest.raises(CheckFailed, match=r"measured 1.5 <= 1 fails \(1 of 3 points\)"):
        checks.bound([0.5, 1.5, 0.9], 1.0, **KW)
    with pytest.raises(CheckFailed, match=">= "):
        checks.bound(0.5, 1.0, upper=False, **KW)


def test_bound_zero_measured_has_infinite_slack():
    rec = checks.bound(0.0, 1.0, **KW)
    assert math.isinf(rec.numbers["slack"]) and not rec.could_fail


def test_bound_bad_inputs():
    with pytest.raises(TypeError, match="upper must be a bool"):
        checks.bound(1, 2, upper="yes", **KW)
    with pytest.raises(ValueError, match="limit must not be empty"):
        checks.bound(1, [], **KW)
    with pytest.raises(TypeError, match="measured must be a number or an array"):
        checks.bound({"a": 1}, 2, **KW)


# --------------------------------------------------------------------------- exponent

def test_exponent_interval_matches_scipy(gen):
    x = np.repeat([10.0, 20, 40, 80, 160], 3)
    noise = np.exp(0.05 * torch.randn(x.size, generator=gen, dtype=torch.float64).numpy())
    y = 3 * x ** -0.5 * noise
    rec = checks.exponent(x, y, expected=-0.5, alternatives=(-1.0, 0.0), digits=4, **KW)
    fit = stats.linregress(np.log(x), np.log(y))
    half = stats.t.ppf(0.975, x.size - 2) * fit.stderr
    assert rec.numbers["slope"] == pytest.approx(fit.slope, abs=1e-4)
    assert rec.numbers["low"] == pytest.approx(fit.slope - half, abs=1e-4)
    assert rec.numbers["high"] == pytest.approx(fit.slope + half, abs=1e-4)
    assert rec.could_fail and rec.strength.startswith("resolved")


def test_exponent_fails_on_a_false_claim_and_reports_unresolved_alternatives(gen):
    x = np.array([1.0, 2, 4, 8])
    y = x ** -1.0 * np.array([1.0, 1.3, 0.8, 1.2])          # noisy: wide interval
    with pytest.raises(CheckFailed, match="excludes the claimed exponent 0.5"):
        checks.exponent(x, y, expected=0.5, **KW)
    rec = checks.exponent(x, y, expected=-1.0, alternatives=(-0.9,), **KW)
    assert not rec.could_fail and rec.strength.startswith("not resolved")
    rec = checks.exponent(x, y, expected=-1.0, **KW)
    assert not rec.could_fail and "no alternative" in rec.strength


def test_exponent_tol_widens_the_interval():
    x = np.array([1.0, 2, 4, 8, 16, 32])
    y = x ** -0.45
    with pytest.raises(CheckFailed):
        checks.exponent(x, y, expected=-0.5, **KW)
    assert checks.exponent(x, y, expected=-0.5, tol=0.06, **KW).passed


def test_exponent_bad_inputs():
    with pytest.raises(ValueError, match="at least 3 points and 2 distinct"):
        checks.exponent([1, 1, 1], [1, 2, 3], expected=1, **KW)
    with pytest.raises(ValueError, match="same length"):
        checks.exponent([1, 2, 3], [1, 2], expected=1, **KW)
    with pytest.raises(ValueError, match="positive"):
        checks.exponent([1, 2, 3], [1, -2, 3], expected=1, **KW)
    with pytest.raises(ValueError, match="level must be in"):
        checks.exponent([1, 2, 3], [1, 2, 3], expected=1, level=1.5, **KW)
    with pytest.raises(ValueError, match="tol must be >= 0"):
        checks.exponent([1, 2, 3], [1, 2, 3], expected=1, tol=-1, **KW)


# --------------------------------------------------------------------------- trend

def test_trend_is_welch_standard_errors():
    a, b = np.array([3.0, 3.4, 2.9, 3.3]), np.array([1.0, 1.6, 1.1])
    se = math.sqrt(a.var(ddof=1) / 4 + b.var(ddof=1) / 3)
    rec = checks.trend(a, b, **KW)
    assert rec.numbers["standard errors"] == round((a.mean() - b.mean()) / se, 1)
    assert rec.numbers["samples"] == [4, 3]


def test_trend_fails_when_within_the_spread():
    with pytest.raises(CheckFailed, match="fewer than the required 2"):
        checks.trend([1.0, 2.0, 3.0], [1.5, 2.5, 1.0], **KW)
    with pytest.raises(CheckFailed):
        checks.trend([1.0, 1.1], [2.0, 2.1], **KW)          # wrong direction


def test_trend_bad_inputs():
    with pytest.raises(ValueError, match="at least two samples"):
        checks.trend([1.0], [0.0], **KW)
    with pytest.raises(ValueError, match="min_se must be > 0"):
        checks.trend([1.0, 2.0], [0.0, 0.1], min_se=0, **KW)


# --------------------------------------------------------------------------- attained

def test_attained_can_never_fail_a_claim():
    rec = checks.attained([0.2, 0.8], 1.0, fraction=0.5, **KW)
    assert not rec.could_fail and rec.numbers["ratio"] == 0.8
    with pytest.raises(CheckFailed, match="reaches 0.2 of the bound"):
        checks.attained(0.2, 1.0, fraction=0.5, **KW)


def test_attained_bad_inputs():
    with pytest.raises(ValueError, match="fraction must be > 0"):
        checks.attained(1, 1, fraction=0, **KW)


# --------------------------------------------------------------------------- counterexample

def test_counterexample_needs_a_violation():
    rec = checks.counterexample([0.1, 1.5], 1.0, margin=1.2, **KW)
    assert rec.numbers["factor"] == 1.5 and rec.could_fail
    with pytest.raises(CheckFailed, match="no counterexample"):
        checks.counterexample([0.1, 1.1], 1.0, margin=1.2, **KW)
    assert checks.counterexample(0.1, 1.0, upper=False, **KW).passed


def test_counterexample_bad_inputs():
    with pytest.raises(ValueError, match="margin must be >= 1"):
        checks.counterexample(2, 1, margin=0.5, **KW)


# --------------------------------------------------------------------------- records

def test_outside_hypotheses_is_recorded_and_shown():
    rec = checks.bound(0.1, 1.0, outside="step 0.12, the theorem needs <= 6.4e-5", **KW)
    assert rec.outside.startswith("step 0.12")
    assert "outside the hypotheses" in rec.summary()
    data, meta = checks.report(rec)._repr_mimebundle_()
    assert "outside the hypotheses" in data["text/html"]
    assert meta[checks.METADATA_KEY][0]["outside"] == rec.outside


def test_report_round_trips_through_json_metadata():
    recs = (checks.identity(1, 1, tol=1e-9, **KW), checks.bound(0.5, 1.0, **KW))
    data, meta = checks.report(*recs)._repr_mimebundle_()
    assert data["text/plain"].splitlines() == [r.summary() for r in recs]
    back = checks.records_in([{"metadata": json.loads(json.dumps(meta))}])
    assert back == list(recs)


def test_report_bad_inputs():
    with pytest.raises(TypeError, match="one or more CheckRecord"):
        checks.report()
    with pytest.raises(TypeError, match="one or more CheckRecord"):
        checks.report("ok")


def test_records_in_ignores_outputs_without_records():
    assert checks.records_in([{"metadata": {}}, {"output_type": "stream"}]) == []
    with pytest.raises(TypeError):
        checks.records_in([{"metadata": {checks.METADATA_KEY: [{"result": "x"}]}}])


# --------------------------------------------------------------------------- falsification

def test_falsification_requires_the_false_claim_to_fail():
    x, y = [1.0, 2.0, 4.0, 8.0, 16.0], [1.0, 0.71, 0.5, 0.35, 0.25]
    rec = checks.falsification(checks.exponent, x, y, expected=-1.0, perturbation="exp -1", **KW)
    assert rec.kind == "falsification" and rec.could_fail and rec.strength == "caught: exp -1"
    with pytest.raises(CheckFailed, match="also passes with the claim made false"):
        checks.falsification(checks.bound, 0.001, 1.0 / 50, perturbation="constant / 50", **KW)


def test_falsification_bad_inputs():
    with pytest.raises(TypeError, match="check must be one of the checks"):
        checks.falsification("bound", 1, 2, perturbation="p", **KW)
    with pytest.raises(TypeError, match="perturbation must be a non-empty string"):
        checks.falsification(checks.bound, 1, 2, perturbation="", **KW)


def test_records_are_strict_json_even_with_non_finite_numbers():
    """A record with an infinite slack or a nan is still valid JSON (the kernel would warn on
    stderr otherwise, with a path that differs between machines)."""
    rec = checks.bound(0.0, 1.0, result="x", claim="c")             # slack 1/0 = inf
    data = rec.to_dict()
    json.dumps(data, allow_nan=False)
    assert data["numbers"]["slack"] == "inf"
    nested = checks.CheckRecord("x", "c", "bound", True, False, "s",
                                {"a": [float("nan"), -math.inf, 1.5]})
    assert nested.to_dict()["numbers"] == {"a": ["nan", "-inf", 1.5]}
    json.dumps(checks.report(rec, nested)._repr_mimebundle_()[1], allow_nan=False)
