r"""Steps to a target accuracy, and the state of the run at that moment (Figures 4 and 5).

Li & Liang's Appendix D.1 plots, against the width :math:`m`, the number of SGD steps until the
test accuracy first reaches 98% (synthetic data) or 95% (MNIST) (Figure 4), and the relative
distance :math:`\|\mathbf W_t-\mathbf W_0\|_F/\|\mathbf W_0\|_F` at that step (Figure 5).
:func:`time_to_accuracy` reads both off the recorded curves of :func:`train_widths`, with
:func:`helpers.scaling.first_crossing` applied to the negated accuracy.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .._validate import check_real
from ..scaling import first_crossing

__all__ = ["time_to_accuracy"]


def time_to_accuracy(frame: pd.DataFrame, level: float, *,
                     column: str = "test_accuracy") -> pd.DataFrame:
    r"""First recorded step at which ``column`` reaches ``level``, per width, with that row.

    :math:`t^* = \min\{t : \mathrm{acc}_t \ge \text{level}\}` over the recorded steps (resolution:
    the recording cadence), i.e. ``scaling.first_crossing(-acc, -level, steps=step)``.

    Parameters
    ----------
    frame : pandas.DataFrame
        Columns ``step``, ``m`` and ``column`` (e.g. ``WidthSweep.frame``).
    level : float
        Target in :math:`[0, 1]`.
    column : str, default "test_accuracy"

    Returns
    -------
    pandas.DataFrame
        Indexed by ``m``: ``step`` (``inf`` if never reached) and every other column of
        ``frame`` at that step (NaN if never reached).

    References
    ----------
    Li & Liang (2018), Appendix D.1, Figures 4 and 5.

    Examples
    --------
    >>> import pandas as pd
    >>> from helpers.li_liang import time_to_accuracy
    >>> frame = pd.DataFrame({"step": [0, 2, 4, 0, 2, 4], "m": [10] * 3 + [20] * 3,
    ...                       "test_accuracy": [0.1, 0.99, 1.0, 0.1, 0.5, 0.7],
    ...                       "relative_distance": [0.0, 0.3, 0.4, 0.0, 0.2, 0.3]})
    >>> time_to_accuracy(frame, 0.98)
        step  test_accuracy  relative_distance
    m
    10   2.0           0.99                0.3
    20   inf            NaN                NaN
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    missing = {"step", "m", column} - set(frame.columns)
    if missing:
        raise ValueError(f"frame must have the columns step, m and {column!r}; missing "
                         f"{sorted(missing)}")
    level = check_real(level, "level", minimum=0.0, maximum=1.0)
    others = [c for c in frame.columns if c not in ("step", "m")]
    rows = {}
    for m, part in frame.sort_values("step").groupby("m"):
        hit = first_crossing(-part[column].to_numpy(float), -level,
                             steps=part.step.to_numpy(float))
        row = part[part.step == hit].iloc[0][others] if math.isfinite(hit) else \
            pd.Series(np.nan, index=others)
        rows[m] = {"step": hit} | row.to_dict()
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "m"
    return out
