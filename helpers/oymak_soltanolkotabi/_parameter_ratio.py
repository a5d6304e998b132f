r"""Success of GD on random labels against the number of trained parameters per example.

Section 4 of Oymak & Soltanolkotabi (Figure 2) finds that GD fits :math:`n` random labels once
the number of trained parameters :math:`kd` exceeds :math:`n` by a small factor, far below the
:math:`kd\gtrsim n^2` of Theorem 2.1. :func:`success_by_parameter_ratio` runs one panel of
Figure 2 (:func:`phase_panel`) and regroups the success probabilities of its grid points by the
ratio :math:`kd/n`, in bins. :func:`random_label_fits` trains a few networks per width with the
book's trainer (one family model) and returns their final residuals.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from .. import data, models, train
from .._validate import check_generator, check_int, check_real
from ._phase_transition import PhasePanel, phase_panel

__all__ = ["RatioTable", "success_by_parameter_ratio", "random_label_fits"]

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


class _Family(torch.nn.Module):
    """Several one-hidden-layer networks with their own data, as one model for train.train.

    Member j holds the rows of ``W[j]`` (padded with zero rows to the largest width, whose
    output weights are zero: they receive no gradient) and maps its own inputs ``x[:, j]``.
    """

    def __init__(self, nets: Sequence[models.TwoLayerNet]) -> None:
        super().__init__()
        K, d = max(net.width for net in nets), nets[0].d_in
        ref = nets[0].hidden_weights
        W = torch.zeros(len(nets), K, d, dtype=ref.dtype, device=ref.device)
        V = torch.zeros(len(nets), K, dtype=ref.dtype, device=ref.device)
        for j, net in enumerate(nets):
            W[j, :net.width] = net.hidden_weights.detach()
            V[j, :net.width] = net.output_weights.detach()[0]
        self.hidden_weights = torch.nn.Parameter(W)
        self.register_buffer("output_weights", V)
        self.activation = nets[0].activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:          # (n, M, d) -> (n, M)
        return (self.activation(torch.einsum("nmd,mkd->nmk", x, self.hidden_weights))
                * self.output_weights).sum(-1)


def _summed_squared_loss(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-example loss of a family: the members' squared losses, summed."""
    return 0.5 * ((outputs - targets) ** 2).sum(1)


def random_label_fits(n: int, d: int, widths: Sequence[int], *, trials: int, steps: int,
                      lr: float, generator: torch.Generator, activation: str = "relu",
                      dtype: torch.dtype = torch.float64) -> pd.DataFrame:
    r"""Fit :math:`n` random labels with GD on the input layer, for several widths and trials.

    For every width :math:`m` and trial: :math:`n` points uniform on :math:`S^{d-1}`, labels
    :math:`y_i\sim\mathcal N(0,1)` and a :class:`helpers.models.TwoLayerNet` (``variant="oymak"``,
    output weights :math:`\pm1/\sqrt m`), drawn in that order from ``generator``. All networks
    are then trained together by :func:`helpers.train.train` as one family model (each member on
    its own data; the gradient of the summed loss is every member's own gradient), by full-batch
    GD on the mean squared loss with step ``lr`` for ``steps`` steps.

    Parameters
    ----------
    n, d : int
        Examples and input dimension.
    widths : sequence of int
        Hidden widths :math:`m`.
    trials : int
        Independent draws per width.
    steps : int
        GD steps.
    lr : float
        Step size on the mean loss :math:`\frac1n\sum_i\frac12(f(\mathbf x_i)-y_i)^2`.
    generator : torch.Generator
    activation : str, default "relu"
    dtype : torch.dtype, default torch.float64

    Returns
    -------
    pandas.DataFrame
        One row per network: ``m``, ``trial``, ``md/n`` and ``relative residual``
        :math:`\|f(\mathbf W)-\mathbf y\|/\|\mathbf y\|` after training.

    References
    ----------
    Oymak & Soltanolkotabi, Section 4 (random labels, success once :math:`md\gtrsim n`).

    Examples
    --------
    >>> from helpers.rng import make_generator
    >>> from helpers.oymak_soltanolkotabi import random_label_fits
    >>> t = random_label_fits(6, 4, [1, 16], trials=2, steps=400, lr=2.0,
    ...                       generator=make_generator(0))
    >>> (t.groupby("m")["relative residual"].max() < 0.1).tolist()   # md = 4 < n; md = 64
    [False, True]
    """
    n = check_int(n, "n", minimum=1)
    d = check_int(d, "d", minimum=1)
    if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence) or not widths:
        raise TypeError(f"widths must be a non-empty sequence of positive integers, got {widths!r}")
    widths = [check_int(m, f"widths[{i}]", minimum=1) for i, m in enumerate(widths)]
    trials = check_int(trials, "trials", minimum=1)
    steps = check_int(steps, "steps", minimum=0)
    lr = check_real(lr, "lr", minimum=0.0, strict_min=True)
    check_generator(generator)
    device = generator.device
    nets, Xs, ys, rows = [], [], [], []
    for m in widths:
        for trial in range(trials):
            Xs.append(data.sphere(n, d, generator=generator, dtype=dtype))
            ys.append(torch.randn(n, generator=generator, dtype=dtype, device=device))
            nets.append(models.TwoLayerNet(d, m, generator=generator, variant="oymak",
                                           activation=activation, dtype=dtype))
            rows.append({"m": m, "trial": trial, "md/n": m * d / n})
    family = _Family(nets)
    X, Y = torch.stack(Xs, 1), torch.stack(ys, 1)                  # (n, M, d), (n, M)
    train.train(family, _summed_squared_loss, X, Y, lr=lr, steps=steps, record_every=max(steps, 1))
    with torch.no_grad():
        residual = (family(X) - Y).norm(dim=0) / Y.norm(dim=0)
    out = pd.DataFrame(rows)
    out["relative residual"] = residual.cpu().numpy()
    return out
