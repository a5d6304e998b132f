r"""The inputs of Section 2: unit vectors with a bias coordinate, :math:`\delta`-separated."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from .. import data
from .._validate import check_dtype, check_generator, check_int, check_real, check_tensor

__all__ = ["paper_inputs", "input_pairs"]


def paper_inputs(n: int, d: int, delta: float, *, generator: torch.Generator,
                 dtype: torch.dtype = torch.float64) -> torch.Tensor:
    r"""Unit inputs :math:`x_i = (z_i/\sqrt2, 1/\sqrt2)` with :math:`\|x_i - x_j\|\ge\delta`.

    Section 2 normalises :math:`\|x_i\| = 1` with last coordinate :math:`1/\sqrt2` (a random bias,
    footnote 5). Since :math:`\|x_i-x_j\| = \|z_i-z_j\|/\sqrt2`, the :math:`z_i` are drawn by
    :func:`helpers.data.delta_separated` in :math:`\mathbb R^{d-1}` with separation
    :math:`\sqrt2\,\delta`; so Assumption 2.1 holds with the given :math:`\delta\le\sqrt2`.

    Parameters
    ----------
    n : int
        Number of inputs (>= 2).
    d : int
        Input dimension including the bias coordinate (>= 3).
    delta : float
        Separation, in (0, sqrt(2)].
    generator : torch.Generator
    dtype : torch.dtype, default torch.float64

    Returns
    -------
    torch.Tensor, shape (n, d)

    References
    ----------
    Allen-Zhu, Li & Song, Section 2 (footnote 5) and Assumption 2.1.

    Examples
    --------
    >>> from helpers.rng import make_generator
    >>> from helpers.data import separation
    >>> X = paper_inputs(6, 5, 0.3, generator=make_generator(0))
    >>> round(float(X.norm(dim=1).max()), 6), round(float(X[0, -1]) ** 2, 6), separation(X) >= 0.3
    (1.0, 0.5, True)
    """
    n = check_int(n, "n", minimum=2)
    d = check_int(d, "d", minimum=3)
    delta = check_real(delta, "delta", minimum=0.0, strict_min=True, maximum=math.sqrt(2.0))
    check_generator(generator)
    Z = data.delta_separated(n, d - 1, min(2.0, math.sqrt(2.0) * delta), generator=generator,
                             dtype=dtype)
    bias = torch.full((n, 1), 1.0, dtype=Z.dtype, device=Z.device)
    return torch.cat([Z, bias], dim=1) / math.sqrt(2.0)


def input_pairs(distances: Sequence[float] | torch.Tensor, d: int, *,
                generator: torch.Generator, dtype: torch.dtype = torch.float64,
                separation: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Pairs of paper inputs :math:`(x_k, x'_k)` at prescribed distances
    :math:`\|x_k-x'_k\|=\delta_k` (the hypothesis of Lemma 7.5, attained exactly).

    The first inputs are :func:`paper_inputs` (``separation`` apart from each other),
    :math:`x_k=(z_k,1)/\sqrt2`; the partner is :math:`x'_k=(z'_k,1)/\sqrt2` with
    :math:`z'_k=\cos\varphi_k\,z_k+\sin\varphi_k\,u_k`, :math:`u_k` a random unit vector orthogonal
    to :math:`z_k`, and :math:`\varphi_k=2\arcsin(\delta_k/\sqrt2)`, so that
    :math:`\|x_k-x'_k\|=\|z_k-z'_k\|/\sqrt2=\sqrt2\sin(\varphi_k/2)=\delta_k`. Both have unit norm
    and the bias coordinate :math:`1/\sqrt2`.

    Parameters
    ----------
    distances : sequence of float or 1-D tensor
        :math:`\delta_k\in(0,\sqrt2]`, one per pair (at least 2 pairs).
    d : int
        Input dimension including the bias coordinate (>= 3).
    generator : torch.Generator
        Draws the first inputs, then the directions :math:`u_k`.
    dtype : torch.dtype, default torch.float64
    separation : float, default 0.1
        Separation of the first inputs among themselves (:func:`paper_inputs`).

    Returns
    -------
    (X1, X2) : tuple of torch.Tensor, each (len(distances), d)

    References
    ----------
    Allen-Zhu, Li & Song, Assumption 2.1 and Lemma 7.5.

    Examples
    --------
    >>> from helpers.rng import make_generator
    >>> X1, X2 = input_pairs([0.05, 0.4, 1.2], 6, generator=make_generator(0))
    >>> [round(float(v), 6) for v in (X1 - X2).norm(dim=1)]
    [0.05, 0.4, 1.2]
    >>> round(float(X2.norm(dim=1).max()), 6), round(float(X2[0, -1]) ** 2, 6)
    (1.0, 0.5)
    """
    d = check_int(d, "d", minimum=3)
    dtype = check_dtype(dtype)
    check_generator(generator)
    deltas = torch.as_tensor(distances, dtype=dtype) if not isinstance(distances, torch.Tensor) \
        else distances
    deltas = check_tensor(deltas, "distances", ndim=1, floating=True)
    if deltas.numel() < 2 or bool((deltas <= 0).any()) or bool((deltas > math.sqrt(2)).any()):
        raise ValueError("distances must hold at least 2 values in (0, sqrt(2)], got "
                         f"{deltas.tolist()}")
    base = paper_inputs(deltas.numel(), d, separation, generator=generator, dtype=dtype)
    deltas = deltas.to(dtype=base.dtype, device=base.device)
    Z = base[:, :-1] * math.sqrt(2)                        # unit z-parts
    U = torch.randn(Z.shape, generator=generator, dtype=dtype, device=Z.device)
    U = U - (U * Z).sum(1, keepdim=True) * Z
    U = U / U.norm(dim=1, keepdim=True)                    # unit, orthogonal to z
    phi = 2 * torch.arcsin((deltas * math.sqrt(2) / 2).clamp(max=1.0))   # ||x - x'|| = delta
    Z2 = torch.cos(phi)[:, None] * Z + torch.sin(phi)[:, None] * U
    bias = torch.full((Z.shape[0], 1), 1.0, dtype=dtype, device=Z.device)
    return torch.cat([Z, bias], 1) / math.sqrt(2), torch.cat([Z2, bias], 1) / math.sqrt(2)
