"""Execute chapter notebooks in place and keep their jupytext pairs in sync.

Usage::

    python scripts/execute_notebooks.py chapters/front/intro.md [more .md or .ipynb ...]

For each notebook: read the MyST ``.md`` (the source you edit), execute it top to bottom in a
fresh ``python3`` kernel with the notebook's folder as working directory, write the paired
``.ipynb`` with its outputs, and print the seconds it took. ``make execute`` calls this with
single-threaded settings, the same as ``make nbval``, so that committed outputs match the test.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient


def execute(path: Path, timeout: int = 1200) -> float:
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
    jupytext.write(nb, ipynb, fmt="ipynb")
    # Rewrite the .md through jupytext so both files carry identical cell sources.
    jupytext.write(jupytext.read(ipynb), md, fmt="md:myst")
    nbformat.validate(nbformat.read(ipynb, as_version=4))
    return seconds


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    total = 0.0
    for name in argv:
        seconds = execute(Path(name))
        total += seconds
        print(f"{seconds:7.1f} s  {name}", flush=True)
    print(f"{total:7.1f} s  total")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
