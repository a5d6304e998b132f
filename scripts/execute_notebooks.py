"""Execute chapter notebooks in place and keep their jupytext pairs in sync.

Usage::

    python scripts/execute_notebooks.py chapters/front/intro.md [more .md or .ipynb ...]
    python scripts/execute_notebooks.py --timings chapters/**/*.md   # execute, don't write

With ``--timings`` nothing is written: every notebook is executed and a table of seconds per
notebook is printed with the total, flagging notebooks over the per-notebook budget
(``--budget``, 90 s) and a total over ``--total-budget`` (900 s); the exit code is 1 if a
budget is exceeded. ``make timings`` runs it over the whole book.

For each notebook: read the MyST ``.md`` (the source you edit), execute it top to bottom in a
fresh ``python3`` kernel with the notebook's folder as working directory, write the paired
``.ipynb`` with its outputs, and print the seconds it took. ``make execute`` calls this with
single-threaded settings, the same as ``make nbval``, so that committed outputs match the test.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import jupytext
import nbformat
from jupytext.config import load_jupytext_config
from nbclient import NotebookClient


def execute(path: Path, timeout: int = 1200, write: bool = True) -> float:
    """Execute the pair of ``path`` and write the ``.ipynb``; return the wall time in seconds."""
    md = path.with_suffix(".md")
    ipynb = path.with_suffix(".ipynb")
    if not md.exists():
        raise FileNotFoundError(f"{md} not found: every notebook is edited as its MyST .md twin")
    nb = jupytext.read(md)
    nb.metadata.setdefault("kernelspec", {"name": "python3", "display_name": "Python 3",
                                          "language": "python"})
    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(md.parent)}}).execute()
    seconds = time.perf_counter() - start
    if not write:
        return seconds
    config = load_jupytext_config(str(md.parent))     # jupytext.toml: the metadata kept in .md
    jupytext.write(nb, ipynb, fmt="ipynb", config=config)
    # Rewrite the .md through jupytext so both files carry identical cell sources.
    jupytext.write(jupytext.read(ipynb), md, fmt="md:myst", config=config)
    nbformat.validate(nbformat.read(ipynb, as_version=4))
    return seconds


def main(argv: list[str]) -> int:
    # A non-interactive MPLBACKEND (e.g. Agg) would reach the kernel and suppress every figure.
    os.environ.pop("MPLBACKEND", None)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--timings", action="store_true", help="execute only, write nothing")
    parser.add_argument("--budget", type=float, default=90.0, help="seconds per notebook")
    parser.add_argument("--total-budget", type=float, default=900.0, help="seconds in all")
    args = parser.parse_args(argv)
    total, over = 0.0, []
    for path in args.notebooks:
        seconds = execute(path, write=not args.timings)
        total += seconds
        flag = "  OVER BUDGET" if seconds > args.budget else ""
        if flag:
            over.append(path)
        print(f"{seconds:7.1f} s  {path}{flag}", flush=True)
    flag = "  OVER BUDGET" if total > args.total_budget else ""
    print(f"{total:7.1f} s  total ({len(args.notebooks)} notebooks){flag}")
    return 1 if args.timings and (over or flag) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
