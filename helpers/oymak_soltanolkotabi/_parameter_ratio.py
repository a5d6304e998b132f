r"""Success of GD on random labels against the number of trained parameters per example.

Section 4 of Oymak & Soltanolkotabi (Figure 2) finds that GD fits :math:`n` random labels once
the number of trained parameters :math:`kd` exceeds :math:`n` by a small factor, far below the
:math:`kd\gtrsim n^2` of Theorem 2.1. :func:`success_by_parameter_ratio` runs one panel of
Figure 2 (:func:`phase_panel`) and regroups the success probabilities of its grid points by the
ratio :math:`kd/n`, in bins.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from .._validate import check_real
from ._phase_transition import PhasePanel, phase_panel

__all__ = ["RatioTable", "success_by_parameter_ratio"]

#: Default bin edges of kd/n: below one half, up to the line kd = n, and above it.
EDGES = (0.0, 0.5, 1.0, 2.0, 4.0, math.inf)


@dataclass(frozen=True)
class RatioTable:
    r"""A panel of Figure 2 regrouped by :math:`kd/n` (see :func:`success_by_parameter_ratio`).

    Attributes
    ----------
    panel : PhasePanel
        The runs.
    points : pandas.DataFrame
        One row per grid point :math:`(k, d)`: ``k``, ``d``, ``md/n`` and ``P(success)``.
    table : pandas.DataFrame
        Indexed by the bins of ``md/n``: ``mean`` success probability of the grid points in the
        bin, their number ``size`` and the number of ``runs`` (``size * trials``).
    """

    panel: PhasePanel
    points: pd.DataFrame
    table: pd.DataFrame


def success_by_parameter_ratio(n: int, ks: Sequence[int], ds: Sequence[int], *, activation: str,
                               lr: float, steps: int, trials: int, generator: torch.Generator,
                               edges: Sequence[float] = EDGES) -> RatioTable:
    r"""Run a panel of Figure 2 and tabulate the success probability by bins of :math:`kd/n`.

    Parameters
    ----------
    n : int
        Number of examples.
    ks, ds : sequence of int
        Widths :math:`k` (the book's :math:`m`) and input dimensions :math:`d` of the grid.
    activation : {"relu", "softplus"}
    lr : float
        Step size on the summed loss (the paper: 0.15 softplus, 0.1 ReLU).
    steps : int
        Iteration budget.
    trials : int
        Independent draws per grid point.
    generator : torch.Generator
    edges : sequence of float, default (0, 0.5, 1, 2, 4, inf)
        Increasing bin edges of :math:`kd/n` (right-closed bins).

    Returns
    -------
    RatioTable

    References
    ----------
    Oymak & Soltanolkotabi, Section 4 and Figure 2 (success once :math:`kd\gtrsim n`).

    Examples
    --------
    >>> from helpers.rng import make_generator
    >>> from helpers.oymak_soltanolkotabi import success_by_parameter_ratio
    >>> t = success_by_parameter_ratio(6, [1, 8], [2, 4], activation="softplus", lr=0.5,
    ...                                steps=1500, trials=2, generator=make_generator(0))
    >>> t.table["mean"].round(2).tolist()   # kd/n = 1/3, 2/3: never; 8/3: not in 1500 steps
    [0.0, 0.0, 0.0, 1.0]
    """
    if isinstance(edges, (str, bytes)) or not isinstance(edges, Sequence):
        raise TypeError(f"edges must be a sequence of numbers, got {edges!r}")
    edges = [e if e == math.inf else check_real(e, f"edges[{i}]") for i, e in enumerate(edges)]
    if len(edges) < 2 or any(b <= a for a, b in zip(edges, edges[1:])):
        raise ValueError(f"edges must be at least two increasing numbers, got {edges}")
    panel = phase_panel(n, ks, ds, trials=trials, activation=activation, lr=lr, steps=steps,
                        generator=generator)
    ratio = np.outer(panel.ds, panel.ks) / n                      # (len(ds), len(ks))
    points = pd.DataFrame({"k": np.tile(panel.ks, len(panel.ds)),
                           "d": np.repeat(panel.ds, len(panel.ks)),
                           "md/n": ratio.ravel(), "P(success)": panel.probability.ravel()})
    bins = pd.cut(points["md/n"], edges, right=True)
    table = points.groupby(bins, observed=True)["P(success)"].agg(["mean", "size"])
    table["runs"] = table["size"] * panel.trials
    table.index.name = "md/n"
    return RatioTable(panel=panel, points=points, table=table)
