r"""The book's check vocabulary: every assert of a result says what kind of check it is and how
strong it was.

A check that cannot fail is not a reproduction. Each function below runs one kind of check,
**raises** :class:`CheckFailed` (an ``AssertionError``) with a message naming the result, the claim
and the measured numbers when the check fails, and otherwise **returns** a :class:`CheckRecord`
of what it measured and how strong the check was:

==================  ==============================================  =======================
function            what passes                                     strength recorded
==================  ==============================================  =======================
:func:`identity`    ``|measured - expected| <= tol`` (entrywise)    error and tolerance
:func:`bound`       ``measured <= bound`` (or ``>=``, entrywise)    slack (bound / measured)
:func:`exponent`    the expected slope lies in the confidence       the interval; whether it
                    interval of a log-log least-squares fit         excludes the alternatives
:func:`trend`       mean(a) - mean(b) >= ``min_se`` standard errors  effect in standard errors
:func:`attained`    ``measured >= fraction * bound``: an upper      "attained only": cannot
                    bound is reached                                detect a violation
:func:`counterexample`  the claim **fails** by a margin (errata)    the violation factor
==================  ==============================================  =======================

and :func:`falsification` runs any of them on a deliberately false version of the claim and
requires it to fail: the power of a check, shown rather than asserted.

**Could it fail?** Each record carries ``could_fail``: whether a false claim of the same form
would have been caught. A bound met with slack above :data:`LOOSE` (a factor 10: an error in
the claim's constant by an order of magnitude would pass) is reported as *consistent, loose*;
an exponent whose interval does not exclude the nearest alternative the paper's argument also
allows is *not resolved*; a lower-bound-attained check never detects a violation of the upper
bound. :func:`identity`, :func:`trend` and :func:`counterexample` could fail by design (the author
must not feed them quantities equal by construction: that is a tautology, not a check).

**Outside the hypotheses.** Every check takes ``outside=`` -- a short text naming the hypothesis
of the theorem that the experiment violates and by how much (e.g. ``"step size 0.12, the
theorem needs <= 6.4e-5"``). Such a record passes or fails as usual but is never counted as a
reproduction of the theorem.

**Records in the book.** A record displays itself as a one-line summary (and a small HTML
table in the rendered book); its full content rides along in the output's metadata under
:data:`METADATA_KEY`, from which ``scripts/make_index.py`` builds the status pages and the page
of all checks. Show several records with :func:`report`. Numbers are rounded to
``digits`` significant digits (3 by default): choose what the experiment resolves.

Examples
--------
>>> from helpers import checks
>>> r = checks.bound(0.02, 0.5, result="gc-conv-thm-3-1", claim="E F(w_T) - F* <= bound")
>>> r.passed, r.could_fail, r.strength
(True, False, 'consistent, loose (x25)')
>>> checks.exponent([10, 100, 1000], [1.0, 0.316, 0.1], expected=-0.5, alternatives=(-1.0,),
...                 result="x", claim="y ~ x^-1/2").strength
'resolved: slope -0.5 in [-0.5, -0.5], excludes -1'
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

__all__ = [
    "LOOSE",
    "METADATA_KEY",
    "CheckFailed",
    "CheckRecord",
    "Report",
    "identity",
    "bound",
    "exponent",
    "trend",
    "attained",
    "counterexample",
    "falsification",
    "report",
    "records_in",
]

#: A bound met with slack above this factor is "consistent, loose": an error of an order of
#: magnitude in the claim's constant would pass unnoticed.
LOOSE = 10.0
#: Key of the record in a displayed output's metadata (read by ``scripts/make_index.py``).
METADATA_KEY = "nntheory_check"

_KINDS = ("identity", "bound", "exponent", "trend", "attained", "counterexample",
          "falsification")


class CheckFailed(AssertionError):
    """A check of a labelled result failed; the message names the result and the numbers.

    Examples
    --------
    >>> from helpers.checks import CheckFailed, bound
    >>> try:
    ...     bound(2.0, 1.0, result="x", claim="f <= 1")
    ... except CheckFailed as err:
    ...     print(str(err).split(":")[0])
    x
    """


@dataclass(frozen=True)
class CheckRecord:
    """What one check measured.

    Attributes
    ----------
    result : str
        Label of the result checked (``gc-conv-thm-3-1``) or of the figure.
    claim : str
        The claim in a few words.
    kind : str
        One of ``identity``, ``bound``, ``exponent``, ``trend``, ``attained``,
        ``counterexample``.
    passed : bool
        Always True for a returned record (a failed check raises).
    could_fail : bool
        Whether a false claim of the same form would have been caught (see the module docstring).
    strength : str
        Human-readable strength, e.g. ``"holds, tight (x1.8)"``.
    numbers : dict
        The measured numbers, rounded to the requested significant digits.
    outside : str or None
        The violated hypothesis, when the experiment runs outside the theorem's hypotheses.
    """

    result: str
    claim: str
    kind: str
    passed: bool
    could_fail: bool
    strength: str
    numbers: dict = field(default_factory=dict)
    outside: str | None = None

    def summary(self) -> str:
        """One line: ``ok <result> [<kind>] <claim>: <strength>``."""
        where = f"; outside the hypotheses: {self.outside}" if self.outside else ""
        return f"ok {self.result} [{self.kind}] {self.claim}: {self.strength}{where}"

    def to_dict(self) -> dict:
        """The record as plain data, strict JSON: a non-finite number (an infinite slack, a
        counterexample's ``nan``) becomes the string ``"inf"``, ``"-inf"`` or ``"nan"``, so the
        notebook's output metadata stays valid JSON and the kernel never warns."""
        return _json_safe(asdict(self))

    def _repr_mimebundle_(self, include=None, exclude=None):
        return Report((self,))._repr_mimebundle_(include, exclude)

    def __repr__(self) -> str:
        return self.summary()


@dataclass(frozen=True)
class Report:
    """Several records displayed together (one line each; a table in the rendered book)."""

    records: tuple[CheckRecord, ...]

    def __repr__(self) -> str:
        return "\n".join(r.summary() for r in self.records)

    def _repr_html_(self) -> str:
        rows = []
        for r in self.records:
            badge = "strong" if r.could_fail and not r.outside else "weak"
            where = f"<br><em>outside the hypotheses: {html.escape(r.outside)}</em>" \
                if r.outside else ""
            rows.append(
                f'<tr class="check-{badge}"><td><code>{html.escape(r.result)}</code></td>'
                f"<td>{html.escape(r.kind)}</td><td>{html.escape(r.claim)}</td>"
                f"<td>{html.escape(r.strength)}{where}</td></tr>")
        return ('<table class="nntheory-checks"><thead><tr><th>result</th><th>check</th>'
                "<th>claim</th><th>outcome</th></tr></thead><tbody>" + "".join(rows)
                + "</tbody></table>")

    def _repr_mimebundle_(self, include=None, exclude=None):
        data = {"text/plain": repr(self), "text/html": self._repr_html_()}
        return data, {METADATA_KEY: [r.to_dict() for r in self.records]}


def report(*records: CheckRecord) -> Report:
    """Display several records at once (the last expression of a cell).

    Examples
    --------
    >>> from helpers import checks
    >>> a = checks.identity(1.0, 1.0 + 1e-15, tol=1e-12, result="x", claim="equal")
    >>> b = checks.trend([3.0, 3.1, 2.9], [1.0, 1.2, 0.8], result="x", claim="a > b")
    >>> print(checks.report(a, b))
    ok x [identity] equal: holds to 1e-12 (error 1e-15)
    ok x [trend] a > b: resolved (15.5 standard errors)
    """
    if not records or not all(isinstance(r, CheckRecord) for r in records):
        raise TypeError("report takes one or more CheckRecord objects (returned by the checks)")
    return Report(tuple(records))


# --------------------------------------------------------------------------- helpers

def _array(x: object, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a number or an array of numbers, got "
                        f"{type(x).__name__}") from err
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if np.isnan(arr).any():
        raise ValueError(f"{name} must not contain NaN")
    return arr


def _json_safe(value: object) -> object:
    """``value`` with every non-finite float replaced by its name (recursively)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def _round(x: float, digits: int) -> float:
    """``x`` rounded to ``digits`` significant digits (ints and non-finite values unchanged)."""
    if not math.isfinite(x) or x == 0:
        return float(x)
    return float(f"{x:.{digits}g}")


def _fmt(x: float, digits: int) -> str:
    return f"{_round(x, digits):.{digits}g}"


def _text(value: object, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise TypeError(f"{name} must be a non-empty string, got {value!r}")
    return value.strip()


def _common(result: object, claim: object, outside: object, digits: object) -> tuple:
    result, claim = _text(result, "result"), _text(claim, "claim")
    if outside is not None:
        outside = _text(outside, "outside")
    if not isinstance(digits, int) or isinstance(digits, bool) or not 1 <= digits <= 6:
        raise ValueError(f"digits must be an integer in [1, 6], got {digits!r}")
    return result, claim, outside, digits


def _fail(result: str, claim: str, message: str) -> None:
    raise CheckFailed(f"{result}: {claim}: {message}")


# --------------------------------------------------------------------------- the checks

def identity(measured: object, expected: object, *, tol: float, result: str, claim: str,
             relative: bool = False, outside: str | None = None, digits: int = 3
             ) -> CheckRecord:
    r"""An identity to a tolerance: :math:`\max|m - e| \le \mathrm{tol}` (entrywise).

    Use it for exact statements (closed forms, identities of the proofs, agreement with an
    independent oracle). With ``relative=True`` the error is :math:`\max|m-e|/\max|e|`.

    Parameters
    ----------
    measured, expected : float or array-like
        Broadcastable.
    tol : float
        Tolerance (> 0); justify it by the rounding or the sample size.
    result, claim : str
        The result's label and the claim in a few words.
    relative : bool, default False
    outside : str, optional
        The violated hypothesis, if any.
    digits : int, default 3
        Significant digits kept in the record.

    Returns
    -------
    CheckRecord

    Raises
    ------
    CheckFailed
        If the error exceeds ``tol``.

    Examples
    --------
    >>> from helpers.checks import identity
    >>> identity([1.0, 2.0], [1.0, 2.0 + 1e-13], tol=1e-10, result="x", claim="equal").strength
    'holds to 1e-10 (error 1e-13)'
    """
    result, claim, outside, digits = _common(result, claim, outside, digits)
    m, e = _array(measured, "measured"), _array(expected, "expected")
    if not (isinstance(tol, int | float) and not isinstance(tol, bool) and tol > 0):
        raise ValueError(f"tol must be a positive number, got {tol!r}")
    if not isinstance(relative, bool):
        raise TypeError(f"relative must be a bool, got {relative!r}")
    err = float(np.max(np.abs(m - e)))
    if relative:
        scale = float(np.max(np.abs(e)))
        err = err / scale if scale > 0 else math.inf
    if not err <= tol:
        _fail(result, claim, f"error {_fmt(err, digits)} exceeds the tolerance {tol:g}")
    shown = "0" if err == 0 else f"{err:.0e}"
    return CheckRecord(result, claim, "identity", True, True,
                       f"holds to {tol:g} (error {shown})",
                       {"error": _round(err, 1), "tol": float(tol)}, outside)


def bound(measured: object, limit: object, *, result: str, claim: str, upper: bool = True,
          outside: str | None = None, digits: int = 3) -> CheckRecord:
    r"""An inequality with its measured slack: ``measured <= limit`` (``upper``) or ``>=``.

    The slack is :math:`\min_k \mathrm{limit}_k/\mathrm{measured}_k` for an upper bound and
    :math:`\min_k \mathrm{measured}_k/\mathrm{limit}_k` for a lower bound (the tightest point):
    1 means the bound is attained, :data:`LOOSE` or more means the check is *consistent, loose*
    and could not have detected an error of an order of magnitude in the claim.

    Parameters
    ----------
    measured, limit : float or array-like
        Broadcastable; for a ratio-type slack both must be positive where it is taken.
    result, claim : str
    upper : bool, default True
        ``measured <= limit`` (True) or ``measured >= limit`` (False).
    outside : str, optional
    digits : int, default 3

    Returns
    -------
    CheckRecord
        ``could_fail`` is True when the slack is at most :data:`LOOSE`.

    Raises
    ------
    CheckFailed
        If the inequality fails anywhere.

    Examples
    --------
    >>> from helpers.checks import bound
    >>> bound([0.4, 0.7], 1.0, result="x", claim="f <= 1").strength
    'holds, tight (x1.43)'
    >>> bound(5.0, 1.0, upper=False, result="x", claim="f >= 1").strength
    'holds, tight (x5)'
    """
    result, claim, outside, digits = _common(result, claim, outside, digits)
    m, b = np.broadcast_arrays(_array(measured, "measured"), _array(limit, "limit"))
    if not isinstance(upper, bool):
        raise TypeError(f"upper must be a bool, got {upper!r}")
    ok = (m <= b) if upper else (m >= b)
    sign = "<=" if upper else ">="
    if not ok.all():
        k = int(np.argmin(np.where(ok, np.inf, (b - m) if upper else (m - b))))
        _fail(result, claim, f"measured {_fmt(float(m.flat[k]), digits)} {sign} "
              f"{_fmt(float(b.flat[k]), digits)} fails ({int((~ok).sum())} of {ok.size} points)")
    num, den = (b, m) if upper else (m, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where((num > 0) & (den > 0), num / den, np.inf)
    slack = float(np.min(ratios))
    could_fail = slack <= LOOSE
    word = "tight" if could_fail else "loose"
    shown = "inf" if math.isinf(slack) else _fmt(slack, digits)
    strength = (f"holds, tight (x{shown})" if could_fail
                else f"consistent, {word} (x{shown})")
    return CheckRecord(result, claim, "bound", True, could_fail, strength,
                       {"slack": _round(slack, digits),
                        "max measured": _round(float(np.max(m)), digits),
                        "min measured": _round(float(np.min(m)), digits)}, outside)


def _fit(x: np.ndarray, y: np.ndarray, level: float) -> tuple[float, float, float]:
    """Least-squares slope of log y on log x with its two-sided confidence interval."""
    from scipy import stats

    lx, ly = np.log(x), np.log(y)
    n = lx.size
    A = np.column_stack([np.ones(n), lx])
    coef, *_ = np.linalg.lstsq(A, ly, rcond=None)
    slope = float(coef[1])
    if n <= 2:
        return slope, slope, slope
    resid = ly - A @ coef
    s2 = float(resid @ resid) / (n - 2)
    sxx = float(((lx - lx.mean()) ** 2).sum())
    half = float(stats.t.ppf(0.5 + level / 2, n - 2)) * math.sqrt(s2 / sxx)
    return slope, slope - half, slope + half


def exponent(x: object, y: object, *, expected: float, result: str, claim: str,
             alternatives: Sequence[float] = (), tol: float = 0.0, level: float = 0.95,
             outside: str | None = None, digits: int = 2) -> CheckRecord:
    r"""A scaling exponent: the slope of :math:`\log y` against :math:`\log x` contains
    ``expected``.

    The slope is fitted by least squares over all points (pass every seed's value with its
    ``x`` repeated to let the spread of the seeds into the interval); the two-sided
    ``level`` interval uses the residual standard error (Student :math:`t`, :math:`n-2`
    degrees of freedom). The check passes when ``expected`` lies in the interval widened by
    ``tol`` on each side (``tol`` for a known finite-size bias; justify it). It is *resolved*
    when the interval also excludes every value in ``alternatives`` -- the exponents that the
    paper's argument would also allow (e.g. the other regime's rate): only then could a
    false claim have been caught.

    Parameters
    ----------
    x, y : array-like
        Positive, same length, at least 3 points with 2 distinct ``x``.
    expected : float
        The claimed exponent.
    result, claim : str
    alternatives : sequence of float
        Competing exponents; the nearest one decides ``could_fail``.
    tol : float, default 0
        Extra allowance around the interval.
    level : float, default 0.95
    outside : str, optional
    digits : int, default 2

    Returns
    -------
    CheckRecord

    Raises
    ------
    CheckFailed
        If ``expected`` is outside the widened interval.

    Examples
    --------
    >>> import numpy as np
    >>> from helpers.checks import exponent
    >>> x = np.array([1.0, 2, 4, 8, 16])
    >>> y = x ** -1.0 * np.array([1.0, 1.02, 0.98, 1.01, 0.99])
    >>> r = exponent(x, y, expected=-1.0, alternatives=(-0.5,), result="x", claim="y ~ 1/x")
    >>> r.could_fail, r.numbers["slope"]
    (True, -1.0)
    """
    result, claim, outside, digits = _common(result, claim, outside, digits)
    x, y = _array(x, "x").ravel(), _array(y, "y").ravel()
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same length, got {x.size} and {y.size}")
    if x.size < 3 or np.unique(x).size < 2:
        raise ValueError(f"x must have at least 3 points and 2 distinct values, got {x.tolist()}")
    if (x <= 0).any() or (y <= 0).any():
        raise ValueError("x and y must be positive (a log-log fit)")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    if tol < 0:
        raise ValueError(f"tol must be >= 0, got {tol!r}")
    alternatives = tuple(float(a) for a in alternatives)
    slope, lo, hi = _fit(x, y, level)
    if not lo - tol <= expected <= hi + tol:
        _fail(result, claim, f"slope {_fmt(slope, digits)} with {level:.0%} interval "
              f"[{_fmt(lo, digits)}, {_fmt(hi, digits)}] (+- {tol:g}) excludes the claimed "
              f"exponent {expected:g}")
    excluded = [a for a in alternatives if not lo - tol <= a <= hi + tol]
    resolved = bool(alternatives) and len(excluded) == len(alternatives)
    interval = f"slope {_fmt(slope, digits)} in [{_fmt(lo, digits)}, {_fmt(hi, digits)}]"
    if resolved:
        strength = f"resolved: {interval}, excludes {', '.join(f'{a:g}' for a in excluded)}"
    elif alternatives:
        kept = [a for a in alternatives if a not in excluded]
        strength = f"not resolved: {interval} also contains {', '.join(f'{a:g}' for a in kept)}"
    else:
        strength = f"consistent: {interval} (no alternative exponent given)"
    return CheckRecord(result, claim, "exponent", True, resolved, strength,
                       {"slope": _round(slope, digits), "low": _round(lo, digits),
                        "high": _round(hi, digits), "expected": float(expected),
                        "alternatives": list(alternatives)}, outside)


def trend(a: object, b: object, *, result: str, claim: str, min_se: float = 2.0,
          outside: str | None = None, digits: int = 2) -> CheckRecord:
    r"""A trend against the seed spread: :math:`(\bar a-\bar b)/\sqrt{s_a^2/n_a+s_b^2/n_b}
    \ge` ``min_se``.

    ``a`` holds the samples (seeds, draws) that the claim says are larger. With two or more
    samples on each side the standard error is Welch's; with one sample on a side that side
    contributes no variance (give enough samples to make the check meaningful).

    Parameters
    ----------
    a, b : array-like
        Samples; at least two in total on one side.
    result, claim : str
    min_se : float, default 2
        Required effect in standard errors (2: a zero effect passes about one time in 40).
    outside : str, optional
    digits : int, default 2

    Returns
    -------
    CheckRecord

    Raises
    ------
    CheckFailed
        If the effect is smaller than ``min_se`` standard errors.

    Examples
    --------
    >>> from helpers.checks import trend
    >>> trend([2.2, 2.3, 2.25], [1.5, 1.2, 1.7], result="x", claim="deeper is slower").strength
    'resolved (5.3 standard errors)'
    """
    result, claim, outside, digits = _common(result, claim, outside, digits)
    a, b = _array(a, "a").ravel(), _array(b, "b").ravel()
    if max(a.size, b.size) < 2:
        raise ValueError("a and b must hold at least two samples on one side")
    if not min_se > 0:
        raise ValueError(f"min_se must be > 0, got {min_se!r}")
    var = (a.var(ddof=1) / a.size if a.size > 1 else 0.0) + \
          (b.var(ddof=1) / b.size if b.size > 1 else 0.0)
    diff = float(a.mean() - b.mean())
    effect = diff / math.sqrt(var) if var > 0 else math.copysign(math.inf, diff)
    if not effect >= min_se:
        _fail(result, claim, f"mean difference {_fmt(diff, digits)} is {effect:.1f} standard "
              f"errors, fewer than the required {min_se:g}")
    return CheckRecord(result, claim, "trend", True, True,
                       f"resolved ({effect:.1f} standard errors)",
                       {"difference": _round(diff, digits), "standard errors": round(effect, 1),
                        "samples": [int(a.size), int(b.size)]}, outside)


def attained(measured: object, limit: object, *, result: str, claim: str,
             fraction: float = 1.0, outside: str | None = None, digits: int = 3
             ) -> CheckRecord:
    r"""An upper bound is attained: ``max(measured) >= fraction * limit``.

    Shows that a bound is of the right order (a construction reaches it); it can never detect
    a violation of the bound, so ``could_fail`` is False and the status of the upper bound
    itself is not "reproduced" by it.

    Parameters
    ----------
    measured, limit : float or array-like
    result, claim : str
    fraction : float, default 1
        Fraction of the bound that must be reached (> 0).
    outside : str, optional
    digits : int, default 3

    Returns
    -------
    CheckRecord

    Raises
    ------
    CheckFailed
        If no entry reaches ``fraction * limit``.

    Examples
    --------
    >>> from helpers.checks import attained
    >>> attained([0.5, 0.9], 1.0, fraction=0.5, result="x", claim="order m w^2/3").strength
    'attained only (0.9 of the bound; cannot detect a violation)'
    """
    result, claim, outside, digits = _common(result, claim, outside, digits)
    m, b = np.broadcast_arrays(_array(measured, "measured"), _array(limit, "limit"))
    if not fraction > 0:
        raise ValueError(f"fraction must be > 0, got {fraction!r}")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = float(np.max(np.where(b > 0, m / b, -np.inf)))
    if not ratio >= fraction:
        _fail(result, claim, f"the best measured value reaches {_fmt(ratio, digits)} of the "
              f"bound, less than {fraction:g}")
    return CheckRecord(result, claim, "attained", True, False,
                       f"attained only ({_fmt(ratio, digits)} of the bound; cannot detect a "
                       "violation)", {"ratio": _round(ratio, digits)}, outside)


def counterexample(measured: object, claimed: object, *, result: str, claim: str,
                   upper: bool = True, margin: float = 1.0, outside: str | None = None,
                   digits: int = 3) -> CheckRecord:
    r"""An erratum's counterexample: the claim ``measured <= claimed`` (``upper``) **fails**.

    Passes when some entry violates the claim by more than the factor ``margin``:
    ``measured > margin * claimed`` for an upper bound, ``measured < claimed / margin`` for a
    lower bound (``margin = 1``: any violation; a larger margin keeps rounding out of it).

    Parameters
    ----------
    measured, claimed : float or array-like
    result, claim : str
        ``claim`` is the statement that fails, as printed in the paper.
    upper : bool, default True
    margin : float, default 1
    outside : str, optional
    digits : int, default 3

    Returns
    -------
    CheckRecord

    Raises
    ------
    CheckFailed
        If the claim holds everywhere (no counterexample).

    Examples
    --------
    >>> from helpers.checks import counterexample
    >>> counterexample(1.0, 5 / 6, result="x", claim="accuracy <= 5/6").strength
    'fails as printed (violated by x1.2)'
    """
    result, claim, outside, digits = _common(result, claim, outside, digits)
    m, c = np.broadcast_arrays(_array(measured, "measured"), _array(claimed, "claimed"))
    if not margin >= 1:
        raise ValueError(f"margin must be >= 1, got {margin!r}")
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = m / c
    worst = float(np.nanmax(factor)) if upper else float(np.nanmin(factor))
    violated = worst > margin if upper else worst < 1 / margin
    if not violated:
        _fail(result, claim, f"no counterexample: the claim holds at every point (measured / "
              f"claimed reaches {_fmt(worst, digits)})")
    return CheckRecord(result, claim, "counterexample", True, True,
                       f"fails as printed (violated by x{_fmt(worst, digits)})",
                       {"factor": _round(worst, digits)}, outside)


def falsification(check: Callable[..., CheckRecord], *args: object, result: str, claim: str,
                  perturbation: str, **kwargs: object) -> CheckRecord:
    r"""Power, shown: run ``check`` on a deliberately **false** claim and require it to fail.

    For example the claimed exponent replaced by the nearest alternative, a constant divided by
    the slack one wants to exclude, or data that violate a hypothesis: if the check of the
    perturbed claim still passes, the original check could not have told the claim from its
    perturbation, and this raises.

    Parameters
    ----------
    check : callable
        One of the checks of this module (:func:`bound`, :func:`exponent`, ...).
    *args, **kwargs
        Its arguments, with the claim perturbed; ``result`` and ``claim`` are passed on.
    result, claim : str
        The result's label and the (true) claim whose check is being tested.
    perturbation : str
        What was made false, in a few words (e.g. ``"exponent -1 instead of -1/2"``).

    Returns
    -------
    CheckRecord
        Kind ``falsification``, with ``could_fail=True``.

    Raises
    ------
    CheckFailed
        If the perturbed check passes (the check has no power against that perturbation).

    Examples
    --------
    >>> from helpers import checks
    >>> x, y = [1.0, 2.0, 4.0, 8.0], [1.0, 0.71, 0.5, 0.35]          # y ~ x^-1/2
    >>> checks.falsification(checks.exponent, x, y, expected=-1.0, result="x",
    ...                      claim="y ~ x^-1/2", perturbation="exponent -1").strength
    'caught: exponent -1'
    """
    result, claim = _text(result, "result"), _text(claim, "claim")
    perturbation = _text(perturbation, "perturbation")
    if not callable(check):
        raise TypeError(f"check must be one of the checks of helpers.checks, got {check!r}")
    try:
        check(*args, result=result, claim=f"{claim} [falsified: {perturbation}]", **kwargs)
    except CheckFailed:
        return CheckRecord(result, claim, "falsification", True, True,
                           f"caught: {perturbation}", {}, None)
    _fail(result, claim, f"the check also passes with the claim made false ({perturbation}):"
          " it cannot tell the claim from its perturbation")
    raise AssertionError("unreachable")    # pragma: no cover


def records_in(outputs: Iterable[Mapping]) -> list[CheckRecord]:
    """The check records stored in a notebook cell's outputs (used by the index generator).

    Examples
    --------
    >>> from helpers import checks
    >>> data, meta = checks.report(checks.identity(1, 1, tol=1, result="x",
    ...                                            claim="c"))._repr_mimebundle_()
    >>> [r.result for r in checks.records_in([{"metadata": meta}])]
    ['x']
    """
    found = []
    for out in outputs:
        for rec in (out.get("metadata") or {}).get(METADATA_KEY, []):
            found.append(CheckRecord(**rec))
    return found

