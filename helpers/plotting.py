"""The book's one seaborn theme and its standard figures.

This is the only module that draws. Notebooks call :func:`set_theme` once in their imports cell;
the functions below draw on axes the notebook owns (``fig, ax = figure()``) and return them, so
a chapter can add titles or annotations before ``plt.show()``.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch
from matplotlib.ticker import NullFormatter

from ._validate import check_int
from .scaling import PowerLawFit

__all__ = ["set_theme", "figure", "curves", "heatmap", "loglog_fit", "phase_diagram", "controls"]

#: Pixels per inch of every figure (``figure.dpi`` and ``savefig.dpi``): the notebook's PNG of a
#: figure ``w`` inches wide is ``w * DPI`` pixels, shown at that many CSS px when it fits.
DPI = 100
#: Widest figure, in inches: the book's text column is 676-688 CSS px at a 1280-px window
#: (the theme's article column, less a classic scroll bar). 6.4 in is 640 px, about 660 px
#: with the 0.1-in margins of a "tight" PNG: shown at its natural size, never shrunk
#: (``scripts/browser_check.py`` measures it).
COLUMN_WIDTH = 6.4
#: Default width of one panel and height of one row (inches).
WIDTH_PER_PANEL = 4.2
HEIGHT = 3.2
#: A figure scaled down to the column keeps at least this height per row (inches).
MIN_ROW_HEIGHT = 2.6
#: Font sizes in points. At ``DPI`` a point is ``DPI / 72`` image px, so tick labels are
#: ``TICK_LABEL_PT * DPI / 72`` = 14.6 px in the image: 14.6 CSS px on a desktop; on a 400-px
#: phone (a 353-px column) about 8 px for a full-width figure (shown at 53 %) and 12 px for a
#: one-panel one (80 %). The browser check fails on figures whose tick labels are shown below
#: 9 CSS px at 1280 px.
BASE_PT = 11.0
TICK_LABEL_PT = 10.5
LABEL_PT = 11.0
TITLE_PT = 11.5
LEGEND_PT = 10.0


def set_theme() -> None:
    """Apply the book's theme (seaborn ``whitegrid``, colour-blind palette, readable fonts).

    Fonts are set in points (``TICK_LABEL_PT``, ``LABEL_PT``, ...) at ``DPI`` pixels per inch, and
    :func:`figure` keeps figures within the text column, so that tick labels are read at
    about 15 CSS px on a desktop and stay legible on a phone. Calling it twice is harmless; it
    changes only matplotlib's style settings.

    Examples
    --------
    >>> from helpers.plotting import set_theme
    >>> set_theme()
    """
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind",
                  rc={"figure.dpi": DPI, "savefig.dpi": DPI,
                      "font.size": BASE_PT, "axes.labelsize": LABEL_PT,
                      "axes.titlesize": TITLE_PT, "figure.titlesize": TITLE_PT,
                      "xtick.labelsize": TICK_LABEL_PT, "ytick.labelsize": TICK_LABEL_PT,
                      "legend.fontsize": LEGEND_PT, "legend.title_fontsize": LEGEND_PT,
                      "figure.constrained_layout.use": True})


def figure(ncols: int = 1, nrows: int = 1, *, width: float | None = None,
           height: float | None = None, **kwargs):
    """Create a figure with a grid of axes sized for the book's text column.

    ``width`` and ``height`` (inches) default to ``WIDTH_PER_PANEL`` per column and ``HEIGHT``
    per row. A figure wider than the column (``COLUMN_WIDTH``) is scaled down to it, its height
    by the same factor but not below ``MIN_ROW_HEIGHT`` per row (nor above the height asked
    for): the page would shrink a wider image, fonts included, while here the fonts keep their
    size and the panels give up room instead.

    Returns ``(fig, ax)`` for a single panel, ``(fig, axes)`` (a flat array) otherwise.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from helpers.plotting import figure
    >>> fig, axes = figure(ncols=2)
    >>> len(axes)
    2
    >>> fig, axes = figure(ncols=4, width=16, height=4.2)
    >>> [round(float(x), 2) for x in fig.get_size_inches()]
    [6.4, 2.6]
    """
    ncols = check_int(ncols, "ncols", minimum=1, maximum=6)
    nrows = check_int(nrows, "nrows", minimum=1, maximum=6)
    for name, value in (("width", width), ("height", height)):
        if value is not None and not (isinstance(value, int | float) and value > 0):
            raise ValueError(f"{name} must be a positive number of inches, got {value!r}")
    w, h = width or WIDTH_PER_PANEL * ncols, height or HEIGHT * nrows
    if w > COLUMN_WIDTH:
        h = min(h, max(h * COLUMN_WIDTH / w, MIN_ROW_HEIGHT * nrows))
        w = COLUMN_WIDTH
    fig, axes = plt.subplots(nrows, ncols, figsize=(w, h), squeeze=False, **kwargs)
    axes = axes.ravel()
    return (fig, axes[0]) if axes.size == 1 else (fig, axes)


def curves(ax, frame: pd.DataFrame, x: str, y: str, *, hue: str | None = None,
           logy: bool = False, logx: bool = False, **kwargs):
    """Line plot of ``frame[y]`` against ``frame[x]``, one line per value of ``hue``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from helpers.plotting import curves, figure
    >>> frame = pd.DataFrame({"step": [0, 1, 2], "loss": [1.0, 0.5, 0.25]})
    >>> fig, ax = figure()
    >>> ax = curves(ax, frame, "step", "loss", logy=True)
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    for name in (x, y) + ((hue,) if hue is not None else ()):
        if name not in frame.columns:
            raise ValueError(f"column {name!r} not in frame; columns are {list(frame.columns)}")
    palette = "viridis" if hue is not None and frame[hue].nunique() > 6 else None
    sns.lineplot(data=frame, x=x, y=y, hue=hue, ax=ax, palette=palette, **kwargs)
    if logy:
        ax.set_yscale("log")
    if logx:
        ax.set_xscale("log")
    return ax


def heatmap(ax, matrix, *, title: str | None = None, vmin: float | None = None,
            vmax: float | None = None, cmap: str = "vlag", center: float | None = 0.0, **kwargs):
    """Heat map of a matrix (e.g. a gradient cosine matrix or an NTK Gram matrix).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from helpers.plotting import figure, heatmap
    >>> fig, ax = figure()
    >>> ax = heatmap(ax, np.eye(3), title="identity")
    """
    if isinstance(matrix, torch.Tensor):
        matrix = matrix.detach().cpu().numpy()
    matrix = np.asarray(matrix, dtype=float)
    if matrix.ndim != 2 or matrix.size == 0:
        raise ValueError(f"matrix must be a non-empty 2-D array, got shape {matrix.shape}")
    # at most about six labels per axis: more run into each other in a panel of the column
    tick = max(1, -(-matrix.shape[0] // 6))
    sns.heatmap(matrix, ax=ax, cmap=cmap, vmin=vmin, vmax=vmax, center=center, square=True,
                xticklabels=tick, yticklabels=tick, **kwargs)
    if title:
        ax.set_title(title)
    return ax


def loglog_fit(ax, x, y, fit: PowerLawFit, *, label: str | None = None, color=None):
    """Scatter ``y`` against ``x`` on log-log axes with the fitted power law drawn through it.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from helpers.plotting import figure, loglog_fit
    >>> from helpers.scaling import fit_power_law
    >>> x, y = [1, 2, 4, 8], [1.0, 0.7, 0.5, 0.36]
    >>> fig, ax = figure()
    >>> ax = loglog_fit(ax, x, y, fit_power_law(x, y), label="data")
    """
    if not isinstance(fit, PowerLawFit):
        raise TypeError(f"fit must be a helpers.scaling.PowerLawFit, got {type(fit).__name__}")
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-D of equal length, got {x.shape} and {y.shape}")
    line = ax.scatter(x, y, label=label, color=color, zorder=3)
    grid = np.geomspace(x.min(), x.max(), 50)
    ax.plot(grid, fit.predict(grid), color=line.get_facecolor()[0], alpha=0.8,
            label=f"fit: slope {fit.slope:.2f}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    # label decades only: over less than a decade matplotlib labels the minor ticks too, and
    # at the column's width their labels (4x10^-2, 6x10^-2, ...) run into each other
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.legend()
    return ax


def phase_diagram(ax, probability, xs: Sequence[float], ys: Sequence[float], *,
                  xlabel: str, ylabel: str, title: str | None = None):
    """Grey-scale phase diagram of a success probability over a grid (white = 1, black = 0).

    ``probability[i, j]`` is the success rate at ``(xs[j], ys[i])``; used for Figure 2 of Oymak
    & Soltanolkotabi.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from helpers.plotting import figure, phase_diagram
    >>> fig, ax = figure()
    >>> ax = phase_diagram(ax, np.eye(2), [1, 2], [3, 4], xlabel="k", ylabel="n")
    """
    if isinstance(probability, torch.Tensor):
        probability = probability.detach().cpu().numpy()
    probability = np.asarray(probability, dtype=float)
    if probability.shape != (len(ys), len(xs)):
        raise ValueError(f"probability must have shape (len(ys), len(xs)) = ({len(ys)},"
                         f" {len(xs)}), got {probability.shape}")
    if np.any((probability < 0) | (probability > 1)):
        raise ValueError("probability must lie in [0, 1]")
    ax.pcolormesh(np.arange(len(xs) + 1), np.arange(len(ys) + 1), probability, cmap="gray",
                  vmin=0, vmax=1, shading="flat")
    ax.set_xticks(np.arange(len(xs)) + 0.5, [f"{v:g}" for v in xs])
    ax.set_yticks(np.arange(len(ys)) + 0.5, [f"{v:g}" for v in ys])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    return ax


def _control(name: str, spec: object, default: object):
    """One ipywidget for the parameter ``name`` from a short spec (see :func:`controls`)."""
    import ipywidgets as widgets

    if spec == "int":
        return widgets.IntText(value=int(default), description=name)
    if isinstance(spec, list):
        if default not in spec:
            raise ValueError(f"controls[{name!r}]: the default {default!r} is not among the "
                             f"options {spec}")
        return widgets.Dropdown(options=spec, value=default, description=name)
    if isinstance(spec, tuple) and len(spec) == 3 and spec[0] == "log":
        _, lo, hi = spec
        return widgets.FloatLogSlider(value=float(default), base=10, min=lo, max=hi,
                                      description=name)
    if isinstance(spec, tuple) and len(spec) in (2, 3) and all(
            isinstance(v, int) and not isinstance(v, bool) for v in spec):
        step = spec[2] if len(spec) == 3 else 1
        return widgets.IntSlider(value=int(default), min=spec[0], max=spec[1], step=step,
                                 description=name)
    if isinstance(spec, tuple) and len(spec) in (2, 3):
        step = spec[2] if len(spec) == 3 else (spec[1] - spec[0]) / 100
        return widgets.FloatSlider(value=float(default), min=spec[0], max=spec[1], step=step,
                                   description=name)
    raise TypeError(f"controls[{name!r}] must be (min, max[, step]), ('log', lo, hi), a list of"
                    f" options or 'int', got {spec!r}")


def controls(fn, **specs):
    """Attach live controls to an exploration function (the explore pages' one scaffold).

    Each keyword names a parameter of ``fn`` and describes its control: ``(min, max)`` or
    ``(min, max, step)`` (integer or float slider), ``("log", lo, hi)`` (a log slider from
    ``10**lo`` to ``10**hi``), a list of options (dropdown) or ``"int"`` (a free integer field,
    e.g. a seed). The initial values are ``fn``'s defaults. A "Run" button re-runs ``fn`` with
    the chosen values (``ipywidgets.interactive`` in manual mode): nothing runs while a slider
    moves. Make the call the last line of its cell, so that the widget is displayed. Live only in
    a running Jupyter kernel; the book's tooling never executes the cell that calls it (tag it
    ``skip-execution`` and ``nbval-skip``).

    Parameters
    ----------
    fn : callable
        The exploration: computes, prints a summary and draws a figure.
    **specs
        One control per parameter, as above.

    Returns
    -------
    ipywidgets.interactive
        The controls, the Run button and ``fn``'s output area.

    Examples
    --------
    >>> from helpers.plotting import _control
    >>> _control("width", (32, 1024, 32), 256).max, _control("seed", "int", 7).value
    (1024, 7)
    """
    import inspect

    import ipywidgets as widgets

    if not callable(fn):
        raise TypeError(f"fn must be callable, got {fn!r}")
    params = inspect.signature(fn).parameters
    built = {}
    for name, spec in specs.items():
        if name not in params or params[name].default is inspect.Parameter.empty:
            raise ValueError(f"controls: {name!r} is not a parameter of {fn.__name__} with a "
                             "default value")
        built[name] = _control(name, spec, params[name].default)
    return widgets.interactive(fn, {"manual": True, "manual_name": "Run"}, **built)
