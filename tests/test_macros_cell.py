"""Every chapter carries the book's MathJax macros for Jupyter (scripts/macros_cell.py).

The rendered book takes its macros from ``book.yml``; Jupyter needs them in the notebook. The
first cell of every chapter defines them with ``\\newcommand`` and is tagged ``remove-cell``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("macros_cell", ROOT / "scripts" / "macros_cell.py")
macros_cell = importlib.util.module_from_spec(_spec)
sys.modules["macros_cell"] = macros_cell
_spec.loader.exec_module(macros_cell)

CHAPTERS = macros_cell.chapters()


def test_cell_defines_every_macro_of_book_yml():
    table = macros_cell.macros()
    source = macros_cell.cell_source(table)
    assert len(table) >= 30
    for name, spec in table.items():
        nargs = f"[{spec[1]}]" if isinstance(spec, list) else ""
        assert f"\\newcommand{{\\{name}}}{nargs}{{" in source, name
    assert source.count("$\\newcommand") == len(table)


def test_render_is_idempotent_and_replaces_an_old_cell():
    text = "---\njupytext: {}\n---\n\n(lab)=\n# Title\n\nText $\\R$.\n"
    once = macros_cell.render(text, {"R": "\\mathbb{R}"})
    assert macros_cell.render(once, {"R": "\\mathbb{R}"}) == once
    changed = macros_cell.render(once, {"R": "\\mathbf{R}", "E": "\\mathbb{E}"})
    assert "\\mathbb{R}" not in changed.split("# Title")[0]
    assert changed.count("(lab)=") == 1 and changed.endswith("Text $\\R$.\n")


def test_render_rejects_a_file_without_header():
    with pytest.raises(ValueError, match="jupytext YAML header"):
        macros_cell.render("# no header\n", {})


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_chapter_has_current_macros_cell(md):
    text = md.read_text(encoding="utf-8")
    assert macros_cell.render(text, macros_cell.macros()) == text, (
        f"{md.name}: run `python scripts/macros_cell.py {md.relative_to(ROOT)}`")
    nb = nbformat.read(md.with_suffix(".ipynb"), as_version=4)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and "remove-cell" in first.metadata.get("tags", [])
    assert first.source == macros_cell.cell_source(macros_cell.macros())
