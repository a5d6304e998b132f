"""Reading and running time of every page, for the instructor's guide.

For each page of ``toc.yml`` it prints the words of prose (markdown cells without the hidden
macros cell, display math and directive options), the display equations, the exercises, the
estimated reading time, the number of code cells, the run time of the committed notebook and
its slowest cell. Run times come from the execution timestamps that nbclient stores in every
code cell of the committed ``.ipynb`` (``metadata.execution``: ``iopub.execute_input`` to
``shell.execute_reply``), so nothing is executed; they are single-threaded small-scale times on
the machine that last executed the notebook (``make timings`` measures them afresh).

Reading time: ``words / WPM + DISPLAY_MIN * display equations`` minutes, with ``WPM = 100``
words per minute (careful reading of mathematical prose; a first skim goes about twice as fast)
and ``DISPLAY_MIN = 0.5`` minute per display equation.

Usage::

    python scripts/course_stats.py            # a table per part, then the totals
    python scripts/course_stats.py --cells 5  # also the slowest cells of each page
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
WPM = 100
DISPLAY_MIN = 0.5

_DISPLAY = re.compile(r"\$\$.*?\$\$|^```+\{math\}.*?^```+", re.S | re.M)
_FENCE_OPTION = re.compile(r"^:[a-z-]+:.*$", re.M)
_FENCE = re.compile(r"^(```+|:::+)\S*.*$", re.M)
_EXERCISE = re.compile(r"^(```+|:::+)\{exercise\}", re.M)
_SOLUTION = re.compile(r"^(```+|:::+)\{solution\}.*?^\1\s*$", re.S | re.M)
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")


@dataclass
class Page:
    path: str          # chapters/<part>/<name>
    part: str          # the toc caption
    words: int         # prose words, solutions excluded
    solution_words: int
    displays: int
    exercises: int
    code_cells: int
    run_s: float       # sum of the code cells' execution times
    slowest: list      # [(seconds, cell index among code cells, first line)]

    @property
    def read_min(self) -> float:
        return self.words / WPM + DISPLAY_MIN * self.displays


def _seconds(cell) -> float | None:
    ex = cell.get("metadata", {}).get("execution", {})
    start, end = ex.get("iopub.execute_input"), ex.get("shell.execute_reply")
    if not (start and end):
        return None
    parse = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731
    return (parse(end) - parse(start)).total_seconds()


def measure(path: str, part: str) -> Page:
    nb = nbformat.read(ROOT / f"{path}.ipynb", as_version=4)
    prose, code = [], []
    for cell in nb.cells:
        if "remove-cell" in cell.metadata.get("tags", []):
            continue
        (prose if cell.cell_type == "markdown" else code).append(cell)
    text = "\n\n".join(c.source for c in prose)
    displays = len(_DISPLAY.findall(text))
    text = _DISPLAY.sub(" ", text)
    solutions = "\n".join(m.group(0) for m in _SOLUTION.finditer(text))
    text = _SOLUTION.sub(" ", text)
    strip = lambda t: _WORD.findall(_FENCE.sub(" ", _FENCE_OPTION.sub(" ", t)))  # noqa: E731
    times = [(_seconds(c), i, c.source.strip().splitlines()[0] if c.source.strip() else "")
             for i, c in enumerate(code)]
    measured = [(t, i, first) for t, i, first in times if t is not None]
    return Page(path=path, part=part, words=len(strip(text)),
                solution_words=len(strip(solutions)), displays=displays,
                exercises=len(_EXERCISE.findall(text)), code_cells=len(code),
                run_s=sum(t for t, _, _ in measured),
                slowest=sorted(measured, reverse=True))


def pages(toc: Path = ROOT / "toc.yml") -> list[Page]:
    spec = yaml.safe_load(toc.read_text(encoding="utf-8"))
    out = [measure(spec["root"], "Front")]

    def walk(entries, part):
        for entry in entries:
            out.append(measure(entry["file"], part))
            walk(entry.get("sections", []), part)

    for part in spec["parts"]:
        walk(part["chapters"], part["caption"])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", type=int, default=0, help="list the N slowest cells per page")
    args = parser.parse_args(argv)
    book = pages()
    header = (f"{'page':<52} {'words':>6} {'disp':>5} {'ex':>3} {'read':>6} {'cells':>5} "
              f"{'run s':>6} {'max s':>6}")
    part = None
    totals: dict[str, list[float]] = {}
    for p in book:
        if p.part != part:
            part = p.part
            print(f"\n{part}\n{header}")
        slowest = p.slowest[0][0] if p.slowest else 0.0
        print(f"{p.path:<52} {p.words:>6} {p.displays:>5} {p.exercises:>3} "
              f"{p.read_min:>5.0f}m {p.code_cells:>5} {p.run_s:>6.1f} {slowest:>6.1f}")
        for t, i, first in p.slowest[:args.cells]:
            print(f"{'':<8}{t:6.1f} s  code cell {i}: {first[:60]}")
        acc = totals.setdefault(p.part, [0, 0.0, 0.0, 0])
        acc[0] += p.words
        acc[1] += p.read_min
        acc[2] += p.run_s
        acc[3] += p.exercises
    print(f"\n{'part':<45} {'words':>7} {'read h':>7} {'run min':>8} {'exercises':>10}")
    for name, (words, read, run, ex) in totals.items():
        print(f"{name:<45} {words:>7} {read / 60:>7.1f} {run / 60:>8.1f} {ex:>10}")
    words, read, run, ex = (sum(v[k] for v in totals.values()) for k in range(4))
    print(f"{'book':<45} {words:>7} {read / 60:>7.1f} {run / 60:>8.1f} {ex:>10}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
