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
