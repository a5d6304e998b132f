"""Plotting helpers draw on the given axes and reject malformed input."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from helpers import plotting  # noqa: E402
from helpers.scaling import fit_power_law  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_figure_shapes():
    fig, ax = plotting.figure()
    assert hasattr(ax, "plot")
    fig, axes = plotting.figure(ncols=3, nrows=2)
    assert axes.shape == (6,)


def test_curves_heatmap_loglog_phase():
    plotting.set_theme()
    fig, axes = plotting.figure(ncols=4)
    frame = pd.DataFrame({"step": [0, 1, 2] * 2, "loss": [1, .5, .2, 1, .7, .4],
                          "m": [10] * 3 + [20] * 3})
    plotting.curves(axes[0], frame, "step", "loss", hue="m", logy=True)
    assert axes[0].get_yscale() == "log"
    plotting.heatmap(axes[1], torch.eye(4), title="I")
    assert axes[1].get_title() == "I"
    x, y = [1, 2, 4], [1.0, 0.5, 0.25]
    plotting.loglog_fit(axes[2], x, y, fit_power_law(x, y))
    assert axes[2].get_xscale() == "log"
    plotting.phase_diagram(axes[3], np.array([[0, 1], [1, 1]]), [1, 2], [3, 4], xlabel="k",
                           ylabel="n")
    assert axes[3].get_xlabel() == "k"


def test_bad_inputs():
    fig, ax = plotting.figure()
    with pytest.raises(ValueError, match="ncols"):
        plotting.figure(ncols=0)
    with pytest.raises(ValueError, match="width"):
        plotting.figure(width=-1)
    with pytest.raises(TypeError, match="DataFrame"):
        plotting.curves(ax, {"a": [1]}, "a", "a")
    with pytest.raises(ValueError, match="column 'b'"):
        plotting.curves(ax, pd.DataFrame({"a": [1]}), "a", "b")
    with pytest.raises(ValueError, match="2-D"):
        plotting.heatmap(ax, np.ones(3))
    with pytest.raises(TypeError, match="PowerLawFit"):
        plotting.loglog_fit(ax, [1, 2], [1, 2], fit=(1, 2))
    with pytest.raises(ValueError, match="shape"):
        plotting.phase_diagram(ax, np.ones((2, 3)), [1, 2], [1, 2], xlabel="x", ylabel="y")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        plotting.phase_diagram(ax, 2 * np.ones((2, 2)), [1, 2], [1, 2], xlabel="x", ylabel="y")
    with pytest.raises(TypeError, match="set_theme"):
        plotting.set_theme("dark")


def test_controls_build_one_widget_per_parameter():
    import ipywidgets as widgets

    from helpers.plotting import _control, controls

    assert isinstance(_control("w", (32, 1024, 32), 64), widgets.IntSlider)
    assert isinstance(_control("lr", ("log", -1, 2), 5.0), widgets.FloatLogSlider)
    assert isinstance(_control("act", ["relu", "softplus"], "relu"), widgets.Dropdown)
    assert isinstance(_control("seed", "int", 3), widgets.IntText)
    assert isinstance(_control("x", (0.0, 1.0), 0.5), widgets.FloatSlider)

    def explore(width=64, seed=3):
        return width + seed

    w = controls(explore, width=(32, 128, 32), seed="int")
    assert {c.description for c in w.children if hasattr(c, "description")} >= {"width", "seed"}


def test_controls_bad_inputs():
    from helpers.plotting import _control, controls

    def explore(width=64):
        return width

    with pytest.raises(ValueError, match="not a parameter of explore"):
        controls(explore, depth=(1, 4))
    with pytest.raises(TypeError, match="must be \\(min, max"):
        _control("w", "slider", 1)
    with pytest.raises(ValueError, match="not among the options"):
        _control("a", ["relu"], "tanh")
    with pytest.raises(TypeError, match="fn must be callable"):
        controls(3, width=(1, 2))
