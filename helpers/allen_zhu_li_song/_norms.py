r"""Hidden-layer norms through depth at initialisation (Fact 7.2, Lemma 7.1)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from .._validate import check_dtype, check_generator, check_int, check_real
from ._forward import forward
from ._inputs import paper_inputs
from ._network import DeepReLUNet

__all__ = ["norm_profile"]


def norm_profile(widths: Sequence[int], *, depth: int, n: int, d: int, delta: float,
                 generator: torch.Generator, dtype: torch.dtype = torch.float64
                 ) -> tuple[pd.DataFrame, np.ndarray]:
    r"""How far the hidden norms :math:`\|\mathbf h_{i,\ell}\|` of one network per width wander
    from :math:`\|\mathbf x_i\|=1`.

    Each ReLU layer multiplies :math:`\|\mathbf h\|^2` by an independent factor of mean 1 and
    variance :math:`5/m` (Fact 7.2), so after the :math:`L+1` ReLU layers :math:`\|\mathbf h_L\|`
    deviates from 1 by about :math:`\frac12\sqrt{5(L+1)/m}` (Lemma 7.1: a random walk of the
    log-norm, not an exponential blow-up).

    Parameters
    ----------
    widths : sequence of int
        Widths :math:`m` (increasing), one network each.
    depth : int
        Hidden layers :math:`L`.
    n, d : int
        Inputs (:func:`paper_inputs`, drawn once, first) and their dimension.
    delta : float
        Separation of the inputs.
    generator : torch.Generator
        Draws the inputs, then the networks in the order of ``widths``.
    dtype : torch.dtype, default torch.float64

    Returns
    -------
    table : pandas.DataFrame
        Indexed by ``m``: ``rms |h_L| - 1`` (root mean square over the inputs of
        :math:`\|\mathbf h_{i,L}\|-1`), ``predicted`` (:math:`\frac12\sqrt{5(L+1)/m}`),
        ``min |h_l|`` and ``max |h_l|`` over all inputs and layers.
    norms : numpy.ndarray, shape (L + 1, n)
        :math:`\|\mathbf h_{i,\ell}\|` at the last width.

    References
    ----------
    Allen-Zhu, Li & Song, Fact 7.2 and Lemma 7.1.

    Examples
    --------
    >>> from helpers.rng import make_generator
    >>> table, norms = norm_profile([64, 1024], depth=8, n=16, d=6, delta=0.2,
    ...                             generator=make_generator(0))
    >>> norms.shape, bool(table["rms |h_L| - 1"].iloc[1] < table["rms |h_L| - 1"].iloc[0])
    ((9, 16), True)
    """
    widths = [check_int(m, "widths[...]", minimum=1) for m in widths]
    if not widths:
        raise ValueError("widths must hold at least one width")
    depth = check_int(depth, "depth", minimum=1)
    check_generator(generator)
    dtype = check_dtype(dtype)
    delta = check_real(delta, "delta", minimum=0.0, strict_min=True)
    X = paper_inputs(n, d, delta, generator=generator, dtype=dtype)
    rows, norms = [], None
    for m in widths:
        net = DeepReLUNet(d, m, depth, 1, generator=generator, dtype=dtype)
        state = forward(net, X)
        norms = torch.stack([h.norm(dim=1) for h in state.h]).cpu().numpy()   # (L+1, n)
        last = norms[-1]
        rows.append({"m": m, "rms |h_L| - 1": float(np.sqrt(np.mean((last - 1) ** 2))),
                     "predicted": 0.5 * math.sqrt(5 * (depth + 1) / m),
                     "min |h_l|": float(norms.min()), "max |h_l|": float(norms.max())})
    return pd.DataFrame(rows).set_index("m"), norms
