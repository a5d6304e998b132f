"""The ``BOOK_SCALE=full`` path of every chapter starts: imports and parameters cell at full scale.

The full-scale runs need a GPU and hours, so ``make test`` cannot execute them. What it can check
cheaply is that every chapter's parameters cell (the cell calling ``config.runtime()``) runs with
``BOOK_SCALE=full``, selects the ``full`` preset and prints sizes, so a reader who sets the knob
does not fall at the first cell. (Cells after it are exercised at small scale by nbval: the
chapters run the same code at both scales.)
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import jupytext
import matplotlib
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _parameter_prefix(md: Path) -> str | None:
    """Source of the code cells up to the parameters cell, without IPython magics."""
    cells = [c.source for c in jupytext.read(md).cells if c.cell_type == "code"]
    k = next((i for i, src in enumerate(cells) if "config.runtime(" in src), None)
    if k is None:
        return None
    return "\n".join(line for src in cells[:k + 1] for line in src.splitlines()
                     if not line.lstrip().startswith(("%", "!")))


CHAPTERS = [md for md in sorted((ROOT / "chapters").rglob("*.md"))
            if ".ipynb_checkpoints" not in md.parts and _parameter_prefix(md) is not None]


def test_most_chapters_have_a_parameters_cell():
    assert len(CHAPTERS) >= 35


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.relative_to(ROOT).as_posix())
@pytest.mark.parametrize("scale", ["small", "full"])
def test_parameters_cell_runs_at_each_scale(md, scale, monkeypatch):
    matplotlib.use("Agg")
    monkeypatch.setenv("BOOK_SCALE", scale)
    monkeypatch.chdir(md.parent)
    namespace: dict = {"__name__": "__main__"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(_parameter_prefix(md), str(md), "exec"), namespace)
    rt = namespace.get("rt")
    assert rt is not None and rt.scale == scale, f"{md.name}: parameters cell did not set rt"
    assert out.getvalue().strip(), f"{md.name}: the parameters cell should print its sizes"
