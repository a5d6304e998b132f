"""Give every chapter notebook the book's MathJax macros, so that Jupyter renders them too.

The rendered book defines ``\\R``, ``\\norm{x}``, ``\\inner{a}{b}``, ... once, in ``book.yml``
(``sphinx.config.mathjax3_config.tex.macros``). Jupyter Lab / Notebook never read that file, so
without help a reader running a chapter locally would see ``\\R`` in red. This script puts one
markdown cell at the top of every chapter (MyST source and paired notebook) that defines the
same macros with ``\\newcommand``; the cell is tagged ``remove-cell``, so the book drops it and
keeps using ``book.yml``.

Usage::

    python scripts/macros_cell.py            # insert or refresh the cell in every chapter pair
    python scripts/macros_cell.py --check    # exit 1 and list the chapters that are stale
    python scripts/macros_cell.py chapters/front/intro.md   # only these

Only the ``.md`` is rewritten; the paired ``.ipynb`` is then brought in step with
``jupytext --sync`` (which keeps the committed outputs: no code cell changes).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
MARKER = ("<!-- MathJax macros of book.yml for Jupyter (scripts/macros_cell.py); "
          "hidden in the book -->")
OPEN = '+++ {"tags": ["remove-cell"]}'


def macros(book: Path = ROOT / "book.yml") -> dict[str, str | list]:
    """The macro table of ``book.yml`` (name -> body or [body, number of arguments])."""
    config = yaml.safe_load(book.read_text(encoding="utf-8"))
    return config["sphinx"]["config"]["mathjax3_config"]["tex"]["macros"]


def cell_source(table: dict[str, str | list]) -> str:
    """Markdown of the macros cell: one ``$\\newcommand...$`` per macro, in book.yml order."""
    lines = [MARKER]
    for name, spec in table.items():
        if isinstance(spec, list):
            body, nargs = spec
            lines.append(f"$\\newcommand{{\\{name}}}[{int(nargs)}]{{{body}}}$")
        else:
            lines.append(f"$\\newcommand{{\\{name}}}{{{spec}}}$")
    return "\n".join(lines)


def _split_header(text: str) -> tuple[str, str]:
    if not text.startswith("---\n"):
        raise ValueError("expected a jupytext YAML header starting with '---'")
    end = text.index("\n---\n", 4) + len("\n---\n")
    return text[:end], text[end:]


def _strip_existing(body: str) -> str:
    """Remove a previously inserted macros cell (and the blank lines around it)."""
    stripped = body.lstrip("\n")
    if not stripped.startswith(OPEN + "\n\n" + MARKER):
        return body
    rest = stripped[len(OPEN):]
    close = rest.index("\n+++\n")
    return rest[close + len("\n+++\n"):]


def render(text: str, table: dict[str, str | list]) -> str:
    """The MyST source ``text`` with the current macros cell right after its header."""
    header, body = _split_header(text)
    body = _strip_existing(body).lstrip("\n")
    return f"{header}\n{OPEN}\n\n{cell_source(table)}\n\n+++\n\n{body}"


def chapters() -> list[Path]:
    return sorted(p for p in (ROOT / "chapters").rglob("*.md")
                  if ".ipynb_checkpoints" not in p.parts)


def rewrite_chapters(paths: list[Path], transform, *, check: bool, what: str,
                     script: str) -> int:
    """Apply ``transform(text, path) -> text`` to every chapter source in ``paths``.

    With ``check``, write nothing: print the stale chapters and return 1 if there are any.
    Otherwise write the changed sources and ``jupytext --sync`` them with their notebooks.
    Shared by this script and ``scripts/run_cell.py`` (each owns one generated cell).
    """
    stale = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        new = transform(text, path)
        if new != text:
            stale.append(path)
            if not check:
                path.write_text(new, encoding="utf-8")
    if check:
        for path in stale:
            print(f"stale {what}: {path.relative_to(ROOT)} (run {script})")
        return 1 if stale else 0
    if stale:
        jupytext = Path(sys.executable).with_name("jupytext")
        subprocess.run([str(jupytext), "--sync", *map(str, stale)], check=True,
                       capture_output=True)
    print(f"updated {len(stale)} of {len(paths)} chapters")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    check = "--check" in args
    paths = [Path(a).resolve() for a in args if a != "--check"] or chapters()
    table = macros()
    return rewrite_chapters(paths, lambda text, path: render(text, table), check=check,
                            what="macros cell", script="scripts/macros_cell.py")


if __name__ == "__main__":
    raise SystemExit(main())
