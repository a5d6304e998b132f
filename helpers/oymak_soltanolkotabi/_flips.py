r"""ReLU activation flips under perturbations of the input layer (Lemmas C.1-C.3 and 6.9).

For the ReLU the Jacobian :math:`\mathcal J(\mathbf W)` changes only through the pattern
:math:`\mathbb 1\{\mathbf X\mathbf W^\top>0\}`. Oymak & Soltanolkotabi control
:math:`\|\mathcal J(\mathbf W)-\mathcal J(\mathbf W_0)\|` by counting the entries that flip
(Appendix C):

* C.1: :math:`\|\mathcal J(\mathbf W)-\mathcal J(\tilde{\mathbf W})\|\le\|\mathbf v\|_\infty
  \|\mathbf X\|\max_i\|\phi'(\mathbf W\mathbf x_i)-\phi'(\tilde{\mathbf W}\mathbf x_i)\|_2`;
* C.2: within the radius :math:`\sqrt m\,\min_i|\mathbf W_0\mathbf x_i|_{m-}` (:math:`|\mathbf
  u|_{m-}` the :math:`m`-th smallest absolute entry) fewer than :math:`2m` entries flip per
  sample;
* C.3: :math:`|\mathbf W_0\mathbf x_i|_{m-}\ge m/(2k)` for all :math:`i` with probability
  :math:`\ge1-ne^{-m/6}`.

:func:`relu_perturbation_sweep` perturbs :math:`\mathbf W_0` in random directions of given
spectral norms and measures the Jacobian distance and the flips; :func:`c2_radius_flips` does the
same at the radius of C.2; :func:`order_statistics` draws the :math:`|\mathbf W_0\mathbf
x_i|_{m-}` of C.3.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd
import torch

from .._validate import check_generator, check_int, check_real, check_tensor
from ._pattern_jacobian import pattern_singular_values

__all__ = ["relu_perturbation_sweep", "c2_radius_flips", "order_statistics"]


def _problem(X: object, W0: object, v: object | None = None) -> tuple:
    X = check_tensor(X, "X", ndim=2, floating=True)
    W0 = check_tensor(W0, "W0", ndim=2, floating=True, shape=(None, X.shape[1]))
    if v is not None:
        v = check_tensor(v, "v", ndim=1, floating=True, shape=(W0.shape[0],))
    return X, W0, v


def _direction(W0: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A Gaussian direction of unit spectral norm."""
    U = torch.randn(W0.shape, generator=generator, dtype=W0.dtype, device=W0.device)
    return U / torch.linalg.matrix_norm(U, ord=2)


def _values(values: object, name: str) -> list[float]:
    """Positive numbers from any iterable (a list, a NumPy array)."""
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{name} must be a sequence of numbers, got {values!r}")
    try:
        out = [float(x) for x in values]
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a sequence of numbers, got {values!r}") from err
    if not out:
        raise ValueError(f"{name} must not be empty")
    return [check_real(x, f"{name}[{i}]", minimum=0.0, strict_min=True)
            for i, x in enumerate(out)]


def relu_perturbation_sweep(X: torch.Tensor, W0: torch.Tensor, v: torch.Tensor,
                            rhos: Sequence[float], *, draws: int,
                            generator: torch.Generator) -> pd.DataFrame:
    r""":math:`\|\mathcal J(\mathbf W)-\mathcal J(\mathbf W_0)\|` and the flips for
    :math:`\mathbf W = \mathbf W_0+\rho\mathbf U`, :math:`\|\mathbf U\| = 1`, ReLU.

    For every :math:`\rho` in ``rhos`` and each of ``draws`` Gaussian directions :math:`\mathbf U`
    (normalised to unit spectral norm), one row with ``rho``, ``gap``
    :math:`=\|\mathcal J(\mathbf W)-\mathcal J(\mathbf W_0)\|` (:func:`pattern_singular_values` of
    the pattern difference), ``max flips`` (the largest number of flipped entries of a row) and
    ``C.1 bound`` :math:`=\|\mathbf v\|_\infty\|\mathbf X\|\sqrt{\text{max flips}}`.

    Parameters
    ----------
    X : torch.Tensor, shape (n, d)
    W0 : torch.Tensor, shape (k, d)
    v : torch.Tensor, shape (k,)
    rhos : sequence of float
        Positive spectral norms of the perturbation.
    draws : int
        Directions per :math:`\rho`.
    generator : torch.Generator
        Draws the directions, :math:`\rho` after :math:`\rho`.

    Returns
    -------
    pandas.DataFrame

    References
    ----------
    Oymak & Soltanolkotabi, Lemma C.1 and Lemma 6.9 (Appendix C).

    Examples
    --------
    >>> import torch
    >>> from helpers.oymak_soltanolkotabi import relu_perturbation_sweep
    >>> from helpers.rng import make_generator
    >>> g = make_generator(0)
    >>> X = torch.eye(2, dtype=torch.float64)
    >>> W0, v = torch.randn(50, 2, generator=g, dtype=torch.float64), torch.ones(50).double()
    >>> t = relu_perturbation_sweep(X, W0, v, [1e-9, 10.0], draws=2, generator=g)
    >>> t["max flips"].tolist()[:2], bool((t["gap"] <= t["C.1 bound"] + 1e-12).all())
    ([0.0, 0.0], True)
    """
    X, W0, v = _problem(X, W0, v)
    rhos = _values(rhos, "rhos")
    draws = check_int(draws, "draws", minimum=1)
    check_generator(generator, device=X.device)
    P0 = (X @ W0.T > 0).to(X.dtype)
    scale = float(v.abs().max()) * float(torch.linalg.matrix_norm(X, ord=2))
    rows = []
    for rho in rhos:
        for _ in range(draws):
            D = (X @ (W0 + rho * _direction(W0, generator)).T > 0).to(X.dtype) - P0
            flips = float(D.abs().sum(1).max())
            rows.append({"rho": rho, "gap": pattern_singular_values(X, D, v)[1],
                         "max flips": flips, "C.1 bound": scale * math.sqrt(flips)})
    return pd.DataFrame(rows)


def c2_radius_flips(X: torch.Tensor, W0: torch.Tensor, ms: Sequence[int], *, draws: int,
                    generator: torch.Generator) -> pd.DataFrame:
    r"""The largest number of flips per sample at the radius of Lemma C.2.

    For each :math:`m` in ``ms``: the radius :math:`\sqrt m\,\min_i|\mathbf W_0\mathbf
    x_i|_{m-}` and, over ``draws`` random directions of unit spectral norm at that radius, the
    largest number of flipped ReLU entries of a row (C.2: fewer than :math:`2m`).

    Parameters
    ----------
    X : torch.Tensor, shape (n, d)
    W0 : torch.Tensor, shape (k, d)
    ms : sequence of int
        Values of :math:`m` (at most :math:`k`).
    draws : int
    generator : torch.Generator

    Returns
    -------
    pandas.DataFrame
        Indexed by ``m``: ``radius`` and ``max flips``.

    References
    ----------
    Oymak & Soltanolkotabi, Lemma C.2 (Appendix C.2).

    Examples
    --------
    >>> import torch
    >>> from helpers.oymak_soltanolkotabi import c2_radius_flips
    >>> from helpers.rng import make_generator
    >>> g = make_generator(0)
    >>> X = torch.nn.functional.normalize(torch.randn(3, 4, generator=g, dtype=torch.float64))
    >>> t = c2_radius_flips(X, torch.randn(200, 4, generator=g, dtype=torch.float64), [2, 8],
    ...                     draws=3, generator=g)
    >>> bool((t["max flips"] < 2 * t.index.to_numpy()).all())
    True
    """
    X, W0, _ = _problem(X, W0)
    if isinstance(ms, (str, bytes)) or not isinstance(ms, Sequence) or not ms:
        raise TypeError(f"ms must be a non-empty sequence of integers, got {ms!r}")
    ms = [check_int(m, f"ms[{i}]", minimum=1, maximum=W0.shape[0]) for i, m in enumerate(ms)]
    draws = check_int(draws, "draws", minimum=1)
    check_generator(generator, device=X.device)
    Z0 = X @ W0.T
    P0 = (Z0 > 0).to(X.dtype)
    order = Z0.abs().sort(dim=1).values
    rows = []
    for m in ms:
        radius = math.sqrt(m) * float(order[:, m - 1].min())
        flips = max(float(((X @ (W0 + radius * _direction(W0, generator)).T > 0).to(X.dtype)
                           - P0).abs().sum(1).max()) for _ in range(draws))
        rows.append({"m": m, "radius": radius, "max flips": flips})
    return pd.DataFrame(rows).set_index("m")


def order_statistics(X: torch.Tensor, k: int, m: int, *, draws: int,
                     generator: torch.Generator) -> torch.Tensor:
    r""":math:`|\mathbf W_0\mathbf x_i|_{m-}`, the :math:`m`-th smallest of
    :math:`|\mathbf w_\ell^\top\mathbf x_i|`, :math:`\ell\le k`, for ``draws`` independent
    :math:`\mathbf W_0` with i.i.d. :math:`\mathcal N(0,1)` entries.

    Parameters
    ----------
    X : torch.Tensor, shape (n, d)
    k : int
        Width.
    m : int
        Order, :math:`1\le m\le k`.
    draws : int
    generator : torch.Generator

    Returns
    -------
    torch.Tensor, shape (draws, n)

    References
    ----------
    Oymak & Soltanolkotabi, Lemma C.3 (:math:`|\mathbf W_0\mathbf x_i|_{m-}\ge m/(2k)` with
    probability :math:`\ge1-ne^{-m/6}`).

    Examples
    --------
    >>> import torch
    >>> from helpers.oymak_soltanolkotabi import order_statistics
    >>> from helpers.rng import make_generator
    >>> s = order_statistics(torch.eye(2, dtype=torch.float64), 4000, 40, draws=3,
    ...                      generator=make_generator(0))
    >>> tuple(s.shape), bool((s >= 40 / (2 * 4000)).all())
    ((3, 2), True)
    """
    X = check_tensor(X, "X", ndim=2, floating=True)
    k = check_int(k, "k", minimum=1)
    m = check_int(m, "m", minimum=1, maximum=k)
    draws = check_int(draws, "draws", minimum=1)
    check_generator(generator, device=X.device)
    return torch.stack([(X @ torch.randn(k, X.shape[1], generator=generator, dtype=X.dtype,
                                         device=X.device).T).abs().sort(dim=1).values[:, m - 1]
                        for _ in range(draws)])
