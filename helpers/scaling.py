"""Fits used by the book's asserts: power-law slopes, linear-convergence rates, hitting times.

Many results in the four papers hide their constants (``poly(n, L, 1/δ)``, ``Õ(·)``), so the
book checks *scalings*: the slope of a log-log fit (e.g. weight movement ∝ m^{-1/2}, Allen-Zhu,
Li & Song, Theorem 1) or the rate of a linear convergence (``loss_t ≈ C ρ^t``, Oymak &
Soltanolkotabi, Theorem 2.1). The implied constant is reported with each fit. The iteration
counts of the convergence theorems (``T`` steps to an ε-error solution) are read off a recorded
curve with :func:`first_crossing`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ._validate import check_real

__all__ = ["PowerLawFit", "RateFit", "fit_power_law", "fit_linear_rate", "first_crossing"]


@dataclass(frozen=True)
class PowerLawFit:
    """Least-squares fit of ``log y = intercept + slope · log x``.

    Attributes
    ----------
    slope, intercept : float
        Fitted exponent and log-constant.
    r2 : float
        Coefficient of determination of the log-log fit.
    slope_stderr : float
        Standard error of the slope (``nan`` with only two points).
    """

    slope: float
    intercept: float
    r2: float
    slope_stderr: float

    @property
    def constant(self) -> float:
        """The implied constant ``C`` in ``y ≈ C x^slope``."""
        return math.exp(self.intercept)

    def predict(self, x) -> np.ndarray:
        """Evaluate ``C x^slope``."""
        return self.constant * np.asarray(x, dtype=float) ** self.slope


@dataclass(frozen=True)
class RateFit:
    """Least-squares fit of ``log v_t = log_constant + t · log(rate)``.

    Attributes
    ----------
    rate : float
        Per-step contraction factor ``ρ`` (``< 1`` for convergence).
    log_constant : float
        Fitted ``log C``.
    r2 : float
        Coefficient of determination of the fit in log space.
    """

    rate: float
    log_constant: float
    r2: float


def _as_vector(values, name: str) -> np.ndarray:
    """``values`` (array-like or tensor) as a non-empty 1-D float array."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a sequence of real numbers, got {type(values).__name__}"
                        ) from err
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    return arr


def _as_positive_vector(values, name: str) -> np.ndarray:
    arr = _as_vector(values, name)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must contain only finite values, got {arr.tolist()}")
    if np.any(arr <= 0):
        raise ValueError(f"{name} must be positive to take logarithms, got min {arr.min():.3g}")
    return arr


def _linear_fit(u: np.ndarray, v: np.ndarray) -> tuple[float, float, float, float]:
    """Ordinary least squares ``v ≈ a + b u``; returns (b, a, r2, stderr of b)."""
    b, a = np.polyfit(u, v, 1)
    resid = v - (a + b * u)
    ss_res = float(resid @ resid)
    ss_tot = float(((v - v.mean()) ** 2).sum())
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else 1.0
    dof = len(u) - 2
    sxx = float(((u - u.mean()) ** 2).sum())
    stderr = math.sqrt(ss_res / dof / sxx) if dof > 0 else float("nan")
    return float(b), float(a), float(r2), stderr


def fit_power_law(x, y) -> PowerLawFit:
    """Fit ``y ≈ C x^slope`` by least squares on ``(log x, log y)``.

    Parameters
    ----------
    x, y : array_like of shape (k,)
        Positive values; at least two distinct ``x``.

    Returns
    -------
    PowerLawFit

    Examples
    --------
    >>> from helpers.scaling import fit_power_law
    >>> fit = fit_power_law([1, 4, 16, 64], [2.0, 1.0, 0.5, 0.25])
    >>> round(fit.slope, 6), round(fit.constant, 6), round(fit.r2, 6)
    (-0.5, 2.0, 1.0)
    """
    x = _as_positive_vector(x, "x")
    y = _as_positive_vector(y, "y")
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    if len(np.unique(x)) < 2:
        raise ValueError(f"x must contain at least two distinct values, got {x.tolist()}")
    slope, intercept, r2, stderr = _linear_fit(np.log(x), np.log(y))
    return PowerLawFit(slope, intercept, r2, stderr)


def fit_linear_rate(t, values) -> RateFit:
    """Fit a linear (geometric) convergence ``values_t ≈ C ρ^t``.

    Parameters
    ----------
    t : array_like of shape (k,)
        Step indices (any real numbers, at least two distinct).
    values : array_like of shape (k,)
        Positive quantities such as training losses or distances to the optimum.

    Returns
    -------
    RateFit
        ``rate`` is ``ρ``; the loss is multiplied by ``ρ`` per step.

    Examples
    --------
    >>> from helpers.scaling import fit_linear_rate
    >>> fit = fit_linear_rate([0, 1, 2, 3], [8.0, 4.0, 2.0, 1.0])
    >>> round(fit.rate, 6), round(fit.r2, 6)
    (0.5, 1.0)
    """
    if isinstance(t, torch.Tensor):
        t = t.detach().cpu().numpy()
    t = np.asarray(t, dtype=float)
    if t.ndim != 1 or not np.all(np.isfinite(t)):
        raise ValueError(f"t must be a one-dimensional array of finite numbers, got {t!r}")
    values = _as_positive_vector(values, "values")
    if t.shape != values.shape:
        raise ValueError(f"t and values must have the same length, got {len(t)} and {len(values)}")
    if len(np.unique(t)) < 2:
        raise ValueError("t must contain at least two distinct steps")
    slope, intercept, r2, _ = _linear_fit(t, np.log(values))
    return RateFit(math.exp(slope), intercept, r2)


def _as_real_vector(values, name: str) -> np.ndarray:
    """``values`` as a non-empty 1-D float array without NaN (infinite entries are kept)."""
    arr = _as_vector(values, name)
    if np.isnan(arr).any():
        raise ValueError(f"{name} must not contain NaN, got NaN at index "
                         f"{int(np.flatnonzero(np.isnan(arr))[0])}")
    return arr


def first_crossing(values, level, *, steps=None, relative: bool = False) -> float:
    r"""First step at which a recorded curve is at or below a level: :math:`\min\{t:v_t\le c\}`.

    The convergence theorems count iterations to an :math:`\varepsilon`-error solution, e.g.
    :math:`T=\Theta(\frac{n^6L^2}{\delta^2}\log\frac1\varepsilon)` steps of GD until
    :math:`F(\vec{\mathbf W}^{(T)})\le\varepsilon` (Allen-Zhu, Li & Song, Theorems 1 and 2).
    This reads :math:`T` off a recorded curve: the threshold is :math:`c=` ``level``, or
    :math:`c=` ``level`` :math:`\cdot v_0` with ``relative=True`` (the target
    :math:`F_T\le\varepsilon F_0`).

    Parameters
    ----------
    values : array_like or torch.Tensor of shape (k,)
        The recorded curve :math:`v_0, \dots, v_{k-1}` (e.g. losses). Infinite entries are
        allowed (a diverging run); NaN is rejected.
    level : float
        The threshold, or the fraction of ``values[0]`` when ``relative`` is true.
    steps : array_like of shape (k,), optional
        The step at which each value was recorded (finite, strictly increasing), for curves
        recorded every few steps. Default: the indices ``0, 1, ..., k - 1``.
    relative : bool, default False
        Compare with ``level * values[0]`` (``values[0]`` must then be finite and positive).

    Returns
    -------
    float
        ``steps[t]`` (or ``t``) for the first index ``t`` with ``values[t] <= threshold``.
        If the level is never reached, ``math.inf``: a run that missed its target then fails
        any ``T < budget`` comparison and makes a mean over runs infinite, instead of counting as
        a crossing at the end of the budget.

    References
    ----------
    Allen-Zhu, Li & Song (2019), Theorems 1, 2, 7 and 8 (iterations to an
    :math:`\varepsilon`-error solution).

    Examples
    --------
    >>> from helpers.scaling import first_crossing
    >>> first_crossing([1.0, 0.5, 0.25, 0.125], 0.3)
    2.0
    >>> first_crossing([8.0, 4.0, 2.0, 1.0], 0.25, relative=True)       # F_t <= F_0 / 4
    2.0
    >>> first_crossing([8.0, 4.0, 2.0, 1.0], 0.25, steps=[0, 10, 20, 30], relative=True)
    20.0
    >>> first_crossing([1.0, 0.9], 0.5)                                  # never reached
    inf
    """
    values = _as_real_vector(values, "values")
    level = check_real(level, "level")
    if not isinstance(relative, bool):
        raise TypeError(f"relative must be a bool, got {type(relative).__name__}")
    if steps is None:
        at = np.arange(len(values), dtype=float)
    else:
        at = _as_real_vector(steps, "steps")
        if at.shape != values.shape:
            raise ValueError(f"steps and values must have the same length, got {len(at)} and "
                             f"{len(values)}")
        if not np.isfinite(at).all():
            raise ValueError(f"steps must contain only finite values, got {at.tolist()}")
        if np.any(np.diff(at) <= 0):
            raise ValueError(f"steps must be strictly increasing, got {at.tolist()}")
    threshold = level
    if relative:
        if not (np.isfinite(values[0]) and values[0] > 0):
            raise ValueError(f"values[0] must be finite and positive when relative=True, got "
                             f"{values[0]}")
        threshold = level * float(values[0])
    hit = np.flatnonzero(values <= threshold)
    return float(at[hit[0]]) if hit.size else math.inf
