"""Every chapter with code opens with the "Run this notebook" note (scripts/run_cell.py).

The note is the first visible cell (right after the hidden macros cell) and links to the archive
``nntheory-notebooks.zip`` that the build writes at the root of the site (``_ext/run_archive.py``).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("run_cell", ROOT / "scripts" / "run_cell.py")
run_cell = importlib.util.module_from_spec(_spec)
sys.modules["run_cell"] = run_cell
_spec.loader.exec_module(run_cell)
_spec = importlib.util.spec_from_file_location("run_archive", ROOT / "_ext" / "run_archive.py")
run_archive = importlib.util.module_from_spec(_spec)
sys.modules["run_archive"] = run_archive
_spec.loader.exec_module(run_archive)

CHAPTERS = run_cell.chapters()

#: Chapter folders that do not carry the note yet (empty: every chapter with code carries it).
PENDING: tuple[str, ...] = ()

HEADER = "---\njupytext: {}\n---\n\n"
MACROS = '+++ {"tags": ["remove-cell"]}\n\n' + run_cell.MACROS_MARKER + " -->\n$x$\n\n+++\n\n"
CODE = "```{code-cell} ipython3\nx = 1\n```\n"


def test_the_archive_name_is_the_one_the_build_writes():
    assert run_cell.ARCHIVE_NAME == run_archive.ARCHIVE_NAME


def test_render_inserts_after_the_macros_cell_and_is_idempotent():
    text = HEADER + MACROS + "(lab)=\n# Title\n\n" + CODE
    once = run_cell.render(text, "../../a.zip")
    assert once.startswith(HEADER + MACROS + run_cell.MARKER)
    assert run_cell.render(once, "../../a.zip") == once
    moved = run_cell.render(once, "../b.zip")
    assert moved.count(run_cell.MARKER) == 1 and 'href="../b.zip"' in moved
    assert "a.zip" not in moved and moved.endswith("# Title\n\n" + CODE)


def test_render_removes_the_note_from_a_page_without_code():
    with_code = run_cell.render(HEADER + MACROS + "# Title\n\n" + CODE, "../../a.zip")
    text_only = with_code.replace(CODE, "Just text.\n")
    assert run_cell.render(text_only, "../../a.zip") == HEADER + MACROS + "# Title\n\nJust text.\n"


def test_render_needs_the_macros_cell_first():
    with pytest.raises(ValueError, match="macros cell"):
        run_cell.render(HEADER + "# Title\n\n" + CODE, "a.zip")
    with pytest.raises(ValueError, match="jupytext YAML header"):
        run_cell.render("# no header\n", "a.zip")


def test_link_reaches_the_site_root_from_every_depth(tmp_path):
    for rel in ("chapters/front/intro.md", "chapters/x.md", "chapters/a/b/c.md"):
        link = run_cell.archive_link(tmp_path / rel, root=tmp_path)
        page_dir = (tmp_path / rel).parent
        assert (page_dir / link).resolve() == tmp_path / run_cell.ARCHIVE_NAME, (rel, link)
    assert run_cell.archive_link(ROOT / "chapters/front/intro.md") == "../../nntheory-notebooks.zip"


def test_some_chapters_carry_the_note():
    noted = [md for md in CHAPTERS if run_cell.MARKER in md.read_text(encoding="utf-8")]
    assert len(noted) >= 8


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_chapter_has_current_run_cell(md):
    text = md.read_text(encoding="utf-8")
    if md.parent.name in PENDING and run_cell.MARKER not in text:
        pytest.skip("the note is not applied to this part yet (`make run-cell`)")
    assert run_cell.render(text, run_cell.archive_link(md)) == text, (
        f"{md.name}: run `python scripts/run_cell.py {md.relative_to(ROOT)}`")
    nb = nbformat.read(md.with_suffix(".ipynb"), as_version=4)
    visible = [c for c in nb.cells if "remove-cell" not in c.metadata.get("tags", [])]
    if run_cell.has_code(text):
        assert visible[0].cell_type == "markdown"
        assert visible[0].source == run_cell.cell_source(run_cell.archive_link(md))
        assert nb.cells[1] is visible[0], "the note must follow the macros cell"
    else:
        assert all(run_cell.MARKER not in c.source for c in nb.cells)
