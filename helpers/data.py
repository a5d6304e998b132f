"""Synthetic data: sphere points, separated sets, labels.

Li & Liang's structured mixtures live in :mod:`helpers.li_liang`.

What it provides and where each piece comes from:

* :func:`sphere`, :func:`gaussian` -- i.i.d. inputs. Uniform points on the unit sphere are the
  standard random data of Oymak & Soltanolkotabi (2019, Corollary 2.2 and the discussion after
  it, "data points that are uniform on the unit sphere") and satisfy the unit-norm
  normalisation of Allen-Zhu, Li & Song (2019, Assumption 2.1 and the convention
  ``||x_i|| = 1`` used in Section 7.4) and of Li & Liang (2018, assumption (A2)).
* :func:`separation`, :func:`delta_separated` -- the separation of a data set: Allen-Zhu, Li &
  Song's delta-separateness ``||x_i - x_j|| >= delta`` (Assumption 2.1) and Oymak &
  Soltanolkotabi's delta-separable data ``min(||x_i - x_j||, ||x_i + x_j||) >= delta``
  (Assumption 1, Section 2.2, used in Theorem 2.5), and unit-norm data sets that meet a
  prescribed delta.
* :func:`random_labels`, :func:`random_signs`, :func:`one_hot` -- labels: the random labels of
  Oymak & Soltanolkotabi (whose guarantees hold for any labels) and of the random-label
  experiments of Zhang et al. (2017) that Li & Liang discuss (Sections 4 and 6), and one-hot
  targets for the square loss.

Every draw takes an explicit ``torch.Generator``; tensors are created on the generator's device.
"""

from __future__ import annotations

import math

import torch

from ._validate import check_dtype, check_generator, check_int, check_real, check_tensor

__all__ = [
    "sphere",
    "gaussian",
    "separation",
    "delta_separated",
    "random_labels",
    "random_signs",
    "one_hot",
]

def sphere(n: int, d: int, *, generator: torch.Generator,
           dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Draw ``n`` i.i.d. points uniform on the unit sphere ``S^{d-1}``: ``x = g / ||g||``.

    With ``g ~ N(0, I_d)`` the direction ``g / ||g||`` is uniform on the sphere (rotation
    invariance), so ``E[x x^T] = I_d / d`` and, for independent ``x, x'``,
    ``E<x, x'> = 0`` and ``Var <x, x'> = 1/d``.

    Parameters
    ----------
    n : int
        Number of points (>= 1).
    d : int
        Ambient dimension (>= 1).
    generator : torch.Generator
        Source of randomness; the result lives on its device.
    dtype : torch.dtype, default torch.float64

    Returns
    -------
    torch.Tensor
        Shape ``(n, d)``, every row of unit Euclidean norm.

    References
    ----------
    Oymak & Soltanolkotabi (2019), Corollary 2.2 (inputs uniform on the unit sphere);
    Li & Liang (2018), assumption (A2); Allen-Zhu, Li & Song (2019), ``||x_i|| = 1``.

    Examples
    --------
    >>> import torch
    >>> from helpers.rng import make_generator
    >>> from helpers.data import sphere
    >>> X = sphere(4, 3, generator=make_generator(0))
    >>> X.shape, X.dtype
    (torch.Size([4, 3]), torch.float64)
    >>> torch.allclose(X.norm(dim=1), torch.ones(4, dtype=torch.float64))
    True
    """
    n = check_int(n, "n", minimum=1)
    d = check_int(d, "d", minimum=1)
    check_generator(generator)
    dtype = check_dtype(dtype)
    g = torch.randn(n, d, generator=generator, dtype=dtype, device=generator.device)
    return g / g.norm(dim=1, keepdim=True)


def gaussian(n: int, d: int, *, generator: torch.Generator, std: float = 1.0,
             dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Draw an ``(n, d)`` matrix with i.i.d. ``N(0, std^2)`` entries.

    Parameters
    ----------
    n, d : int
        Shape (both >= 1).
    generator : torch.Generator
        Source of randomness; the result lives on its device.
    std : float, default 1.0
        Standard deviation (> 0).
    dtype : torch.dtype, default torch.float64

    Returns
    -------
    torch.Tensor
        Shape ``(n, d)``.

    Examples
    --------
    >>> from helpers.rng import make_generator
    >>> from helpers.data import gaussian
    >>> X = gaussian(1000, 2, generator=make_generator(0), std=3.0)
    >>> X.shape
    torch.Size([1000, 2])
    >>> 2.7 < float(X.std()) < 3.3
    True
    """
    n = check_int(n, "n", minimum=1)
    d = check_int(d, "d", minimum=1)
    check_generator(generator)
    std = check_real(std, "std", minimum=0.0, strict_min=True)
    dtype = check_dtype(dtype)
    return std * torch.randn(n, d, generator=generator, dtype=dtype, device=generator.device)


def _pairwise_sq(X: torch.Tensor, symmetric: bool) -> torch.Tensor:
    """Squared (symmetric) distances from the Gram matrix, clamped at 0, diagonal = +inf."""
    gram = X @ X.T
    sq = gram.diagonal()
    if symmetric:
        # min(||a - b||^2, ||a + b||^2) = |a|^2 + |b|^2 - 2 |<a, b>|
        dist2 = sq[:, None] + sq[None, :] - 2 * gram.abs()
    else:
        dist2 = sq[:, None] + sq[None, :] - 2 * gram
    dist2 = dist2.clamp_min(0)
    dist2.fill_diagonal_(math.inf)
    return dist2


def separation(X: torch.Tensor, *, symmetric: bool = False) -> float:
    """Return ``min_{i != j} ||x_i - x_j||``, or ``min_{i != j} min(||x_i -+ x_j||)`` if symmetric.

    With ``symmetric=False`` this is the largest ``delta`` for which the rows of ``X`` are
    delta-separated in the sense of Allen-Zhu, Li & Song (2019), Assumption 2.1
    (``||x_i - x_j|| >= delta`` for every pair ``i != j``). With ``symmetric=True`` it is the
    largest ``delta`` of Oymak & Soltanolkotabi (2019), Assumption 1 (delta-separable data,
    Section 2.2, used in Theorem 2.5 and Appendix I): ``min(||x_i - x_j||, ||x_i + x_j||) >=
    delta`` for every pair, which also excludes nearly antipodal points (a ReLU feature cannot
    tell ``x`` from ``-x`` apart in the quantity that theorem needs). Both papers state it for
    unit-norm rows; this function does not require unit norm.

    Computed from the Gram matrix, ``||a -+ b||^2 = |a|^2 + |b|^2 -+ 2<a, b>``, clamped at 0
    before the square root (rounding can make it slightly negative for coincident points).

    Parameters
    ----------
    X : torch.Tensor
        Shape ``(n, d)`` with ``n >= 2``, floating, finite.
    symmetric : bool, default False
        Use Oymak & Soltanolkotabi's symmetric separation.

    Returns
    -------
    float

    Examples
    --------
    >>> import torch
    >>> from helpers.data import separation
    >>> X = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-0.6, -0.8]], dtype=torch.float64)
    >>> round(separation(X), 4)  # ||e_2 - (-0.6, -0.8)|| = sqrt(0.36 + 3.24)
    1.4142
    >>> Y = torch.tensor([[1.0, 0.0], [-0.8, 0.6]], dtype=torch.float64)
    >>> round(separation(Y), 4), round(separation(Y, symmetric=True), 4)
    (1.8974, 0.6325)
    """
    check_tensor(X, "X", ndim=2, floating=True)
    if X.shape[0] < 2:
        raise ValueError(f"X must have at least 2 rows to have a separation, got shape "
                         f"{tuple(X.shape)}")
    if not isinstance(symmetric, bool):
        raise TypeError(f"symmetric must be a bool, got {symmetric!r}")
    return float(_pairwise_sq(X, symmetric).min().sqrt())


def delta_separated(n: int, d: int, delta: float, *, generator: torch.Generator,
                    symmetric: bool = False, dtype: torch.dtype = torch.float64,
                    max_rounds: int = 100) -> torch.Tensor:
    """Draw ``n`` unit vectors in ``R^d`` whose :func:`separation` is at least ``delta``.

    Sequential rejection sampling in batches: each round draws ``4 * need`` candidates uniform
    on the sphere, discards those closer than ``delta`` to an accepted point, and accepts every
    remaining candidate that no earlier remaining candidate is too close to (at least one per
    round while candidates survive). The law is that of random sequential addition, *not* the
    uniform law restricted to separated sets; use it where a theorem only needs some separated
    data set (Allen-Zhu, Li & Song 2019, Assumption 2.1; Oymak & Soltanolkotabi 2019,
    Assumption 1 with ``symmetric=True``).

    Two unit vectors are at distance at most 2, and ``min(||a - b||, ||a + b||)^2 =
    2 - 2|<a, b>| <= 2``, so ``delta > 2`` (``delta > sqrt(2)`` when ``symmetric``) is rejected
    at once. For feasible but tight ``delta`` the loop may not succeed; it then raises after
    ``max_rounds`` rounds.

    Parameters
    ----------
    n : int
        Number of points (>= 2).
    d : int
        Dimension (>= 1).
    delta : float
        Required separation (> 0).
    generator : torch.Generator
    symmetric : bool, default False
        Require Oymak & Soltanolkotabi's symmetric separation.
    dtype : torch.dtype, default torch.float64
    max_rounds : int, default 100
        Redraw rounds before giving up.

    Returns
    -------
    torch.Tensor
        Shape ``(n, d)``, unit rows, ``separation(X, symmetric=symmetric) >= delta``.

    Raises
    ------
    ValueError
        If ``delta`` is infeasible or the redraws did not succeed within ``max_rounds``.

    Examples
    --------
    >>> from helpers.rng import make_generator
    >>> from helpers.data import delta_separated, separation
    >>> X = delta_separated(20, 3, 0.5, generator=make_generator(0))
    >>> X.shape, separation(X) >= 0.5
    (torch.Size([20, 3]), True)
    """
    n = check_int(n, "n", minimum=2)
    d = check_int(d, "d", minimum=1)
    delta = check_real(delta, "delta", minimum=0.0, strict_min=True)
    check_generator(generator)
    if not isinstance(symmetric, bool):
        raise TypeError(f"symmetric must be a bool, got {symmetric!r}")
    dtype = check_dtype(dtype)
    max_rounds = check_int(max_rounds, "max_rounds", minimum=1)
    limit = math.sqrt(2.0) if symmetric else 2.0
    if delta > limit:
        what = "min(||x_i - x_j||, ||x_i + x_j||)" if symmetric else "||x_i - x_j||"
        raise ValueError(f"delta must be <= {limit:.4f} because {what} <= {limit:.4f} for unit "
                         f"vectors, got {delta}")
    if d == 1 and (symmetric or n > 2):
        raise ValueError(f"delta-separated points do not exist for d=1 with n={n} and "
                         f"symmetric={symmetric} (the unit sphere in R^1 is {{-1, +1}}); "
                         f"use d >= 2")
    # a relative margin of a few ulps makes separation(X) >= delta hold despite rounding
    target = delta * delta * (1 + 64 * torch.finfo(dtype).eps)
    kept = torch.empty(0, d, dtype=dtype, device=generator.device)
    for _ in range(max_rounds):
        need = n - kept.shape[0]
        if need == 0:
            return kept
        cand = sphere(4 * need, d, generator=generator, dtype=dtype)
        if kept.shape[0]:
            gram = cand @ kept.T
            if symmetric:
                gram = gram.abs()
            sq_c = (cand * cand).sum(dim=1)[:, None]
            sq_k = (kept * kept).sum(dim=1)[None, :]
            cand = cand[((sq_c + sq_k - 2 * gram).clamp_min(0) >= target).all(dim=1)]
        if cand.shape[0]:
            # keep candidate j unless an earlier candidate i < j is too close to it
            close = torch.triu(_pairwise_sq(cand, symmetric) < target, diagonal=1).any(dim=0)
            kept = torch.cat([kept, cand[~close][:need]])
    if kept.shape[0] == n:
        return kept
    raise ValueError(
        f"could not draw n={n} unit vectors in d={d} with separation >= delta={delta} "
        f"(symmetric={symmetric}) within max_rounds={max_rounds}; delta is probably too large "
        f"for this n and d: decrease delta or n, or increase d or max_rounds"
    )


def random_labels(n: int, num_classes: int, *, generator: torch.Generator) -> torch.Tensor:
    """Draw ``n`` i.i.d. labels uniform on ``{0, ..., num_classes - 1}`` (long tensor).

    The random labels of Zhang et al. (2017), which Li & Liang (2018, Sections 4 and 6) use to
    contrast structured with unstructured data and which Oymak & Soltanolkotabi's results cover
    since they hold for arbitrary labels.

    Examples
    --------
    >>> from helpers.rng import make_generator
    >>> from helpers.data import random_labels
    >>> y = random_labels(6, 3, generator=make_generator(0))
    >>> y.dtype, y.shape, bool(((0 <= y) & (y < 3)).all())
    (torch.int64, torch.Size([6]), True)
    """
    n = check_int(n, "n", minimum=1)
    num_classes = check_int(num_classes, "num_classes", minimum=1)
    check_generator(generator)
    return torch.randint(0, num_classes, (n,), generator=generator, device=generator.device)


def random_signs(n: int, *, generator: torch.Generator,
                 dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Draw ``n`` i.i.d. Rademacher signs (``+1`` or ``-1`` with probability 1/2 each).

    Random binary targets ``y in {-1, +1}^n`` for the square loss, e.g. to illustrate that
    Oymak & Soltanolkotabi's convergence guarantees hold whatever the labels.

    Examples
    --------
    >>> from helpers.rng import make_generator
    >>> from helpers.data import random_signs
    >>> s = random_signs(8, generator=make_generator(0))
    >>> sorted(set(s.tolist())) <= [-1.0, 1.0], s.dtype
    (True, torch.float64)
    """
    n = check_int(n, "n", minimum=1)
    check_generator(generator)
    dtype = check_dtype(dtype)
    bits = torch.randint(0, 2, (n,), generator=generator, device=generator.device)
    return (2 * bits - 1).to(dtype)


def one_hot(y: torch.Tensor, num_classes: int, *,
            dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """One-hot encode integer labels: ``Y[i, c] = 1`` if ``y[i] == c`` else 0.

    Parameters
    ----------
    y : torch.Tensor
        Integer labels, shape ``(n,)``, values in ``[0, num_classes)``.
    num_classes : int
    dtype : torch.dtype, default torch.float64

    Returns
    -------
    torch.Tensor
        Shape ``(n, num_classes)`` on ``y``'s device.

    Examples
    --------
    >>> import torch
    >>> from helpers.data import one_hot
    >>> one_hot(torch.tensor([2, 0]), 3)
    tensor([[0., 0., 1.],
            [1., 0., 0.]], dtype=torch.float64)
    """
    check_tensor(y, "y", ndim=1)
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise TypeError(f"y must have an integer dtype, got {y.dtype}")
    num_classes = check_int(num_classes, "num_classes", minimum=1)
    dtype = check_dtype(dtype)
    lo, hi = int(y.min()), int(y.max())
    if lo < 0 or hi >= num_classes:
        raise ValueError(f"y must have values in [0, {num_classes}), got values in [{lo}, {hi}]")
    return torch.nn.functional.one_hot(y.long(), num_classes).to(dtype)
