"""Give every chapter with code a first visible cell that says how to run it ("Run this notebook").

The built book carries ``nntheory-notebooks.zip`` at the root of its HTML output (written by
``_ext/run_archive.py``): the chapters, the ``helpers`` package, the pinned requirements and
``RUNNING.md``. This script puts one short markdown cell right after the hidden macros cell of
every chapter (``scripts/macros_cell.py``), so that it is the first thing a reader sees, in the
book and in Jupyter. The link is relative to the page and computed from the chapter's place in
``chapters/``: the HTML output mirrors the source tree (``chapters/front/intro.ipynb`` becomes
``chapters/front/intro.html``), so ``../../nntheory-notebooks.zip`` from a chapter two folders
deep reaches the archive at the root of the site. It is written as an HTML ``<a>`` rather than a
Markdown link because the archive does not exist yet when Sphinx reads the pages (a Markdown link
to a missing file is a build warning); Jupyter renders it as an ordinary link.

Only pages with at least one code cell get the note: text-only pages (the tools overview, the
status tables, the glossary, the bibliography, the generated index and errata) have nothing to
run, and the script removes a note it finds on one.

Usage::

    python scripts/run_cell.py                  # insert or refresh the cell in every chapter pair
    python scripts/run_cell.py --check          # exit 1 and list the chapters that are stale
    python scripts/run_cell.py chapters/front chapters/back/glossary.md   # only these

``make run-cell`` runs the first form. Only the ``.md`` is rewritten; the paired ``.ipynb`` is
then brought in step with ``jupytext --sync`` (which keeps the committed outputs).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from macros_cell import rewrite_chapters  # noqa: E402  (the shared rewrite loop)

ROOT = Path(__file__).resolve().parents[1]
ARCHIVE_NAME = "nntheory-notebooks.zip"
MARKER = "<!-- Run this notebook (scripts/run_cell.py) -->"
CLASS = "run-this-notebook"
MACROS_OPEN = '+++ {"tags": ["remove-cell"]}'
MACROS_MARKER = "<!-- MathJax macros of book.yml for Jupyter (scripts/macros_cell.py)"
_CODE_CELL = re.compile(r"^```+\{code-cell\}", re.M)


def has_code(text: str) -> bool:
    """Whether the MyST notebook ``text`` has a code cell (only those pages get the note)."""
    return bool(_CODE_CELL.search(text))


def archive_link(md: Path, root: Path = ROOT) -> str:
    """Relative URL from the page built from ``md`` to the archive at the site's root."""
    return Path(os.path.relpath(root / ARCHIVE_NAME, Path(md).resolve().parent)).as_posix()


def cell_source(link: str) -> str:
    """Markdown of the note: a one-paragraph tip admonition linking to ``link``."""
    return (
        f"{MARKER}\n"
        ":::{admonition} Run this notebook\n"
        f":class: tip {CLASS}\n"
        "\n"
        f'<a href="{link}">Download the notebooks and the `helpers` package</a> '
        f"(`{ARCHIVE_NAME}` on the book's website), unzip it and follow the `RUNNING.md` "
        "inside: a Python 3.11 environment, then `jupyter lab`. "
        "Already reading this in Jupyter? Run the cells from the top.\n"
        ":::"
    )


def _split_after_macros(text: str) -> tuple[str, str]:
    """Split the MyST source after the macros cell (header and macros cell, the rest)."""
    if not text.startswith("---\n"):
        raise ValueError("expected a jupytext YAML header starting with '---'")
    end = text.index("\n---\n", 4) + len("\n---\n")
    body = text[end:].lstrip("\n")
    if not body.startswith(MACROS_OPEN + "\n\n" + MACROS_MARKER):
        raise ValueError("expected the macros cell right after the header: run "
                         "scripts/macros_cell.py first")
    close = body.index("\n+++\n") + len("\n+++\n")
    return text[:end] + "\n" + body[:close], body[close:]


def _strip_existing(rest: str) -> str:
    """Remove a previously inserted run cell (it ends at the next cell break)."""
    stripped = rest.lstrip("\n")
    if not stripped.startswith(MARKER):
        return rest
    return stripped[stripped.index("\n+++\n") + len("\n+++\n"):]


def render(text: str, link: str) -> str:
    """The MyST source ``text`` with the current run cell right after its macros cell.

    A page without code cells gets no cell (and loses one it had).
    """
    head, rest = _split_after_macros(text)
    rest = _strip_existing(rest).lstrip("\n")
    if not has_code(rest):
        return f"{head}\n{rest}"
    return f"{head}\n{cell_source(link)}\n\n+++\n\n{rest}"


def chapters(paths: list[str] | None = None) -> list[Path]:
    """The chapter sources under ``paths`` (files or folders; default: all of ``chapters/``)."""
    roots = [Path(p).resolve() for p in paths] if paths else [ROOT / "chapters"]
    found = set()
    for root in roots:
        if root.is_dir():
            found.update(p for p in root.rglob("*.md") if ".ipynb_checkpoints" not in p.parts)
        elif root.suffix == ".ipynb":
            found.add(root.with_suffix(".md"))
        else:
            found.add(root)
    return sorted(found)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    check = "--check" in args
    paths = chapters([a for a in args if a != "--check"])
    return rewrite_chapters(paths, lambda text, path: render(text, archive_link(path)),
                            check=check, what="run cell", script="scripts/run_cell.py")


if __name__ == "__main__":
    raise SystemExit(main())
