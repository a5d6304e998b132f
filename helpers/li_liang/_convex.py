r"""Kinked convex functions are far from lines (Lemma A.5) and from flatter convex functions
(Lemma B.5): the best approximations in :math:`L^1`, computed as linear programmes.

On a grid :math:`\alpha_0<\dots<\alpha_{N-1}` with trapezoid weights :math:`w_i`,

* :func:`best_affine_l1` -- :math:`\min_{s,t}\sum_iw_i|\phi(\alpha_i)-s\alpha_i-t|`, the best
  affine :math:`\ell` of Lemma A.5 (variables :math:`s, t` and the slacks :math:`e_i\ge
  |\phi_i-\ell_i|`);
* :func:`best_convex_l1` -- :math:`\min_\ell\sum_iw_i|\phi(\alpha_i)-\ell_i|` over grid-convex
  :math:`\ell` (non-negative second differences) whose slope increases by at most ``budget``
  between the first and the last grid interval: Lemma B.5's adversary;
* :func:`kinked_convex` -- random convex piecewise-linear test functions with a prescribed kink,
  the inputs of both checks.

Both are solved exactly by HiGHS (:func:`scipy.optimize.linprog`).
"""

from __future__ import annotations

import numpy as np

from .._validate import check_int, check_real, check_rng

__all__ = ["best_affine_l1", "best_convex_l1", "kinked_convex"]


def _grid(phi: object, alpha: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    alpha = np.asarray(alpha, dtype=float)
    phi = np.asarray(phi, dtype=float)
    if alpha.ndim != 1 or alpha.size < 3:
        raise ValueError(f"alpha must be a 1-d grid of at least 3 points, got shape "
                         f"{alpha.shape}")
    if not np.all(np.isfinite(alpha)) or np.any(np.diff(alpha) <= 0):
        raise ValueError("alpha must be finite and strictly increasing")
    if phi.shape != alpha.shape:
        raise ValueError(f"phi must have the shape of alpha {alpha.shape} (its values on the "
                         f"grid), got {phi.shape}")
    if not np.all(np.isfinite(phi)):
        raise ValueError("phi must contain only finite values")
    gaps = np.diff(alpha)
    weight = np.zeros(alpha.size)
    weight[:-1] += gaps / 2
    weight[1:] += gaps / 2                                          # trapezoid rule
    return phi, alpha, weight


def best_affine_l1(phi: np.ndarray, alpha: np.ndarray) -> tuple[float, float, float]:
    r"""Best affine approximation in :math:`L^1`: :math:`\min_{s,t}\int|\phi-s\alpha-t|`.

    Lemma A.5 of Li & Liang: for convex :math:`\phi` whose derivative jumps by :math:`\rho` at
    0, the minimum over :math:`[-\tau,\tau]` is at least :math:`\rho\tau^2/8` (the book's proof;
    :math:`\rho\tau^2/4` for :math:`\phi=\rho\relu`).

    Parameters
    ----------
    phi : array_like, shape (N,)
        Values of :math:`\phi` on the grid.
    alpha : array_like, shape (N,)
        Strictly increasing grid, :math:`N\ge3`; the integral is the trapezoid rule.

    Returns
    -------
    tuple of float
        ``(slope, intercept, value)`` of the optimal :math:`\ell(\alpha)=s\alpha+t`.

    References
    ----------
    Li & Liang (2018), Lemma A.5.

    Examples
    --------
    >>> import numpy as np
    >>> from helpers.li_liang import best_affine_l1
    >>> alpha = np.linspace(-1, 1, 401)
    >>> s, t, value = best_affine_l1(np.maximum(alpha, 0.0), alpha)   # rho relu: rho tau^2/4
    >>> round(s, 3), round(t, 3), round(value, 4)
    (0.5, 0.25, 0.25)
    """
    from scipy import optimize

    phi, alpha, weight = _grid(phi, alpha)
    n = alpha.size
    A = np.zeros((2 * n, n + 2))
    A[:n, 0], A[:n, 1], A[:n, 2:] = -alpha, -1.0, -np.eye(n)       #  phi - l <= e
    A[n:, 0], A[n:, 1], A[n:, 2:] = alpha, 1.0, -np.eye(n)         # -(phi - l) <= e
    res = optimize.linprog(np.r_[0.0, 0.0, weight], A_ub=A, b_ub=np.r_[-phi, phi],
                           bounds=[(None, None)] * 2 + [(0, None)] * n, method="highs")
    return float(res.x[0]), float(res.x[1]), float(res.fun)


def best_convex_l1(phi: np.ndarray, alpha: np.ndarray, *, budget: float) -> float:
    r"""Best convex approximation with a slope budget:
    :math:`\min\{\int|\phi-\ell| : \ell \text{ convex}, \ell'(\alpha_{\max})-\ell'(\alpha_{\min})
    \le\kappa\}`.

    Lemma B.5 of Li & Liang: if the derivative of :math:`\phi` increases by more than the
    budget :math:`\kappa` on :math:`[-\tau/2,\tau/2]`, by :math:`\gamma'` more, the minimum over
    :math:`[-\tau,\tau]` is at least :math:`\tau^2\gamma'/32`. Grid-convexity means non-negative
    second differences; the slopes are those of the first and last grid intervals.

    Parameters
    ----------
    phi : array_like, shape (N,)
        Values of :math:`\phi` on the grid.
    alpha : array_like, shape (N,)
        Strictly increasing grid, :math:`N\ge3`.
    budget : float
        :math:`\kappa\ge0`.

    Returns
    -------
    float
        The minimal trapezoid-rule :math:`L^1` distance.

    References
    ----------
    Li & Liang (2018), Lemma B.5 (stated there without proof).

    Examples
    --------
    >>> import numpy as np
    >>> from helpers.li_liang import best_convex_l1
    >>> alpha = np.linspace(-1, 1, 201)
    >>> relu = np.maximum(alpha, 0.0)
    >>> round(best_convex_l1(relu, alpha, budget=1.0), 6)      # relu itself is admissible
    0.0
    >>> round(best_convex_l1(relu, alpha, budget=0.0), 4)      # only lines: rho tau^2 / 4
    0.25
    """
    from scipy import optimize

    phi, alpha, weight = _grid(phi, alpha)
    budget = check_real(budget, "budget", minimum=0.0)
    n = alpha.size
    eye = np.eye(n)
    rows = [np.hstack([eye, -eye]), np.hstack([-eye, -eye])]        # +-(l - phi) <= e
    bounds_ub = [phi, -phi]
    gaps = np.diff(alpha)
    slope = np.zeros((n - 1, n))                                     # slope_i = (l_{i+1}-l_i)/h_i
    slope[np.arange(n - 1), np.arange(n - 1)] = -1 / gaps
    slope[np.arange(n - 1), np.arange(1, n)] = 1 / gaps
    second = slope[:-1] - slope[1:]                                  # -(slope_{i+1}-slope_i) <= 0
    rows.append(np.hstack([second, np.zeros((n - 2, n))]))
    bounds_ub.append(np.zeros(n - 2))
    rows.append(np.hstack([slope[-1] - slope[0], np.zeros(n)])[None, :])
    bounds_ub.append(np.array([budget]))
    res = optimize.linprog(np.r_[np.zeros(n), weight], A_ub=np.vstack(rows),
                           b_ub=np.concatenate(bounds_ub),
                           bounds=[(None, None)] * n + [(0, None)] * n, method="highs")
    return float(res.fun)


def kinked_convex(alpha: np.ndarray, *, rng: np.random.Generator, rho: float, kink: float = 0.0,
                  max_extra_kinks: int = 3, extra_slope: float = 2.0,
                  intercept: bool = True) -> np.ndarray:
    r"""A random convex piecewise-linear function with a kink of size ``rho`` at ``kink``.

    :math:`\phi(\alpha) = \rho\relu(\alpha-\alpha_0) + \sum_{k}s_k\relu(\alpha-\kappa_k) +
    b\alpha\,(+\,c)`: ``rng`` draws the number of extra kinks (uniform in
    ``0 .. max_extra_kinks``), their positions (uniform on :math:`[-1, 1]`), their slope
    increments :math:`s_k` (uniform on ``[0, extra_slope]``), then :math:`b` and, with
    ``intercept``, :math:`c` (standard normal). Convex, with a derivative jump of at least
    :math:`\rho` at :math:`\alpha_0`: the test functions of Lemmas A.5 and B.5.

    Parameters
    ----------
    alpha : array_like, shape (N,)
        Grid.
    rng : numpy.random.Generator
    rho : float
        Jump of the derivative at ``kink`` (>= 0).
    kink : float, default 0.0
    max_extra_kinks : int, default 3
    extra_slope : float, default 2.0
    intercept : bool, default True

    Returns
    -------
    numpy.ndarray, shape (N,)

    References
    ----------
    Li & Liang (2018), Lemmas A.5 and B.5.

    Examples
    --------
    >>> import numpy as np
    >>> from helpers.li_liang import kinked_convex
    >>> alpha = np.linspace(-1, 1, 5)
    >>> phi = kinked_convex(alpha, rng=np.random.default_rng(0), rho=1.0)
    >>> bool(np.all(np.diff(phi, 2) >= -1e-12)), phi.shape
    (True, (5,))
    """
    alpha = np.asarray(alpha, dtype=float)
    if alpha.ndim != 1 or alpha.size == 0:
        raise ValueError(f"alpha must be a non-empty 1-d grid, got shape {alpha.shape}")
    rng = check_rng(rng)
    rho = check_real(rho, "rho", minimum=0.0)
    kink = check_real(kink, "kink")
    max_extra_kinks = check_int(max_extra_kinks, "max_extra_kinks", minimum=0)
    extra_slope = check_real(extra_slope, "extra_slope", minimum=0.0)
    phi = rho * np.maximum(alpha - kink, 0.0)
    for knot in rng.uniform(-1, 1, rng.integers(0, max_extra_kinks + 1)):
        phi += rng.uniform(0, extra_slope) * np.maximum(alpha - knot, 0.0)
    phi += rng.normal() * alpha
    if intercept:
        phi += rng.normal()
    return phi
