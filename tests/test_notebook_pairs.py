"""Every chapter notebook is a jupytext pair whose .md and .ipynb hold the same cells.

The .md is what authors edit; the .ipynb (with outputs) is what the book renders and nbval
re-executes. If this test fails, run ``make sync`` (then ``make execute NB=...`` and commit both).
"""

from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"
MD_FILES = sorted(p for p in CHAPTERS.rglob("*.md") if ".ipynb_checkpoints" not in p.parts)
IPYNB_FILES = sorted(p for p in CHAPTERS.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def _cells(nb):
    return [(c.cell_type, c.source.strip(), tuple(c.metadata.get("tags", ()))) for c in nb.cells]


def test_there_are_notebooks():
    assert len(MD_FILES) >= 5, "the front matter alone has more notebooks than this"


@pytest.mark.parametrize("md", MD_FILES, ids=lambda p: str(p.relative_to(CHAPTERS)))
def test_pair_in_sync(md: Path):
    ipynb = md.with_suffix(".ipynb")
    assert ipynb.exists(), f"{ipynb.name} is missing: run `jupytext --sync {md}`"
    assert _cells(jupytext.read(md)) == _cells(jupytext.read(ipynb)), (
        f"{md.name} and {ipynb.name} differ: run `make sync`, re-execute, commit both"
    )


@pytest.mark.parametrize("ipynb", IPYNB_FILES, ids=lambda p: str(p.relative_to(CHAPTERS)))
def test_notebook_is_executed_and_valid(ipynb: Path):
    assert ipynb.with_suffix(".md").exists(), f"{ipynb} has no .md twin"
    nb = nbformat.read(ipynb, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    # Cells tagged skip-execution (live ipywidgets controls) are never run by the book's tooling.
    code = [c for c in code if "skip-execution" not in c.metadata.get("tags", ())]
    unexecuted = [i for i, c in enumerate(code) if c.source.strip() and c.execution_count is None]
    assert not unexecuted, f"{ipynb.name}: code cells {unexecuted} were never executed"
    counts = [c.execution_count for c in code if c.execution_count is not None]
    assert counts == list(range(1, len(counts) + 1)), (
        f"{ipynb.name} was not executed top to bottom in one kernel (counts {counts})"
    )
    errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, f"{ipynb.name} has error outputs committed"
    # Output that names this machine's paths (a library warning on stderr) cannot reproduce on
    # another machine, and a kernel warning usually means a real problem (e.g. non-JSON output).
    local = [i for i, c in enumerate(code) for o in c.get("outputs", [])
             if o.get("output_type") == "stream" and ("site-packages" in o.get("text", "")
                                                       or "/.venv/" in o.get("text", ""))]
    assert not local, f"{ipynb.name}: code cells {local} print paths of this machine (warnings?)"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


@pytest.mark.parametrize("md", MD_FILES, ids=lambda p: str(p.relative_to(CHAPTERS)))
def test_plot_cells_end_with_show(md: Path):
    """nbval ignores a trailing ';', so figure cells must end with plt.show()."""
    for cell in jupytext.read(md).cells:
        if cell.cell_type != "code":
            continue
        lines = [line for line in cell.source.strip().splitlines() if line.strip()]
        if lines and lines[-1].rstrip().endswith(";"):
            raise AssertionError(f"{md.name}: a cell ends with ';' — end it with plt.show()")
