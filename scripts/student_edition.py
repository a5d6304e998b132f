"""Build the student edition: the book without the solutions of its exercises.

Usage::

    python scripts/student_edition.py [--out _build/student] [--config book.yml]

``make student`` runs it and then ``tests/test_student_edition.py``. The edition is built from a
copy of the sources in ``<out>/src`` in which every ``solution`` directive of sphinx-exercise has
been cut out of the chapters (the MyST ``.md`` and the markdown cells of the ``.ipynb``), and
with sphinx-exercise's ``hide_solutions: true`` as a second guard. Cutting the sources rather
than only hiding the solutions at build time matters: the book also publishes each page's
notebook (the download button, ``_sources/``) and the archive ``nntheory-notebooks.zip``
(``_ext/run_archive.py``), and those come from the sources. Exercises stay, with their labels,
so ``{ref}`` links to them (from the instructor's guide, say) still resolve.

The result is ``<out>/html``: the same website with a banner saying it is the student edition,
no solution anywhere in its pages, page downloads or archive, and no launch buttons (Binder
and Colab would open the repository's notebooks, solutions included). Like ``make book`` it is
built offline, with ``-W``.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
#: Copied into the source tree of the edition: what the book build and the run archive read.
COPY = ("toc.yml", "references.bib", "_ext", "chapters", "helpers", "RUNNING.md", "README.md",
        "CITATION.cff", "CHANGELOG.md", "pyproject.toml", "requirements.txt",
        "requirements-nodeps.txt", "environment.yml", "jupytext.toml")
_IGNORE = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.pyc", "_build")
_OPEN = re.compile(r"^[ \t]*(`{3,}|:{3,})\{solution\}")
BANNER = ("Student edition: the exercises are here, their solutions are not. "
          "Ask your instructor for the full edition.")


class SolutionError(ValueError):
    """A solution block that does not close, or a solution left after stripping."""


def strip_solutions(text: str) -> tuple[str, int]:
    """``text`` without its ``{solution}`` blocks (and the blank line after each); the count.

    A block opens with a fence of three or more backticks or colons followed by
    ``{solution}`` and closes at the first line made only of the same character, at least as
    many times (CommonMark's rule, so shorter fences nested inside do not close it).
    """
    lines = text.split("\n")
    out, count, i = [], 0, 0
    while i < len(lines):
        match = _OPEN.match(lines[i])
        if not match:
            out.append(lines[i])
            i += 1
            continue
        fence = match.group(1)
        close = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        j = i + 1
        while j < len(lines) and not close.match(lines[j]):
            j += 1
        if j == len(lines):
            raise SolutionError(f"solution block opened on line {i + 1} never closes")
        count += 1
        i = j + 1
        if i < len(lines) and not lines[i].strip() and out and not out[-1].strip():
            i += 1  # drop one of the two blank lines around the removed block
    return "\n".join(out), count


def strip_notebook(path: Path) -> int:
    """Strip the solutions from the markdown cells of the notebook ``path`` in place."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    total = 0
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        new, count = strip_solutions(source)
        if count:
            total += count
            lines = new.splitlines(keepends=True)
            cell["source"] = lines if isinstance(cell["source"], list) else new
    if total:
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return total


def student_config(config: dict) -> dict:
    """The book configuration of the student edition (a new dict)."""
    config = json.loads(json.dumps(config))  # deep copy
    config.setdefault("sphinx", {}).setdefault("config", {})["hide_solutions"] = True
    html = config.setdefault("html", {})
    html["announcement"] = BANNER
    html["use_repository_button"] = html["use_issues_button"] = False
    config.pop("repository", None)
    launch = config.setdefault("launch_buttons", {})
    for key in ("binderhub_url", "colab_url", "jupyterhub_url"):
        launch.pop(key, None)
    launch["thebe"] = False
    return config


def prepare(src: Path, config_file: Path) -> dict[str, int]:
    """Copy the sources to ``src`` and cut the solutions; ``{chapter: solutions removed}``."""
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    for name in COPY:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=_IGNORE)
        else:
            shutil.copy2(path, src / name)
    config = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    (src / "book.yml").write_text(
        "# GENERATED by scripts/student_edition.py: the student edition's configuration.\n"
        + yaml.safe_dump(student_config(config), sort_keys=False, allow_unicode=True),
        encoding="utf-8")
    removed = {}
    for md in sorted((src / "chapters").rglob("*.md")):
        text, count = strip_solutions(md.read_text(encoding="utf-8"))
        if count:
            md.write_text(text, encoding="utf-8")
        ipynb = md.with_suffix(".ipynb")
        in_notebook = strip_notebook(ipynb) if ipynb.exists() else 0
        if in_notebook != count:
            raise SolutionError(f"{md.name}: {count} solutions in the .md but {in_notebook} "
                                f"in the .ipynb: run `make sync`")
        if count:
            removed[md.relative_to(src).as_posix()] = count
    left = [p for p in (src / "chapters").rglob("*") if p.suffix in (".md", ".ipynb")
            and "{solution" in p.read_text(encoding="utf-8")]
    if left:
        raise SolutionError(f"solutions left after stripping: {left}")
    return removed


def build(src: Path, html: Path, jupyter_book: Path) -> None:
    """Build the book in ``src`` (offline, -W) and move the HTML to ``html``."""
    built = src / "_build" / "html"
    subprocess.run([str(jupyter_book), "build", str(src), "--all", "--config",
                    str(src / "book.yml"), "--toc", str(src / "toc.yml"), "-W", "--keep-going"],
                   check=True)
    if html.exists():
        shutil.rmtree(html)
    shutil.move(str(built), str(html))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "student")
    parser.add_argument("--config", type=Path, default=ROOT / "book.yml")
    args = parser.parse_args(argv)
    args.out, args.config = args.out.resolve(), args.config.resolve()
    removed = prepare(args.out / "src", args.config)
    print(f"student edition: removed {sum(removed.values())} solutions from "
          f"{len(removed)} chapters")
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    build(args.out / "src", args.out / "html", jupyter_book)
    print(f"student edition: open {args.out / 'html' / 'index.html'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
