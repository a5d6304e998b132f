"""Code that serves the text: the code a reader sees in a chapter stays short.

The rule (CONTRIBUTING.md, "Code that serves the text"): set-up and plumbing cells (imports,
parameters, data loading, helper definitions, plotting that only draws what was computed) carry
the tag ``hide-input``, which the book renders as a closed fold ("Show code cell source") above
the cell's output; the cells that carry the experiment stay visible, and no visible code cell is
longer than ``MAX_VISIBLE_LINES`` source lines.

Why 25: a code line is about 19 CSS px in the book (14-px monospace, line height 1.2, plus the
wrapping of long lines at the 676-px column), so 25 lines are about 480 px with the cell's
padding: half of a laptop's window. A visible cell then fits on the screen together with the
sentence that motivates it or the output it produces; a longer one is an experiment to split
at its natural steps, or plumbing to fold or to move into ``helpers/``.

Today's longer cells are listed in ``tests/data/long_code_cells.txt`` (page, code cell number
counted from 1 over the notebook's code cells, lines, first line). A cell not listed fails; a
listed cell that grew, changed its first line or became short (or folded) fails too, so the list
only shrinks. nbval ignores tags it does not know (``nbval.plugin.find_metadata_tags`` acts only
on its own ``nbval-*``/``raises-exception`` tags), so folding a cell never changes what nbval
checks.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ALLOWLIST = ROOT / "tests" / "data" / "long_code_cells.txt"
MAX_VISIBLE_LINES = 25
#: tags that hide a code cell's source in the book (folded or removed)
HIDING_TAGS = frozenset({"hide-input", "hide-cell", "remove-input", "remove-cell"})
#: every tag a code cell may carry: MyST-NB's display tags, nbval's, and the book's own
KNOWN_TAGS = HIDING_TAGS | frozenset({
    "hide-output", "remove-output", "remove-stderr", "scroll-output", "scroll-input",
    "output_scroll", "full-width", "margin", "raises-exception", "skip-execution",
    "nbval-ignore-output", "nbval-check-output", "nbval-raises-exception", "nbval-skip",
})

NOTEBOOKS = sorted(p for p in (ROOT / "chapters").rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts)


def code_cells(path: Path) -> list[tuple[int, list[str], list[str]]]:
    """``(number, source lines, tags)`` of every code cell, numbered from 1."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = cell["source"]
        text = "".join(source) if isinstance(source, list) else source
        out.append((len(out) + 1, text.rstrip("\n").split("\n") if text.strip() else [],
                    list(cell.get("metadata", {}).get("tags", []))))
    return out


def long_visible_cells(path: Path) -> dict[tuple[str, int], tuple[int, str]]:
    """Visible code cells longer than the ceiling: ``(page, number) -> (lines, first line)``."""
    page = path.relative_to(ROOT).with_suffix("").as_posix()
    found = {}
    for number, lines, tags in code_cells(path):
        if HIDING_TAGS & set(tags) or len(lines) <= MAX_VISIBLE_LINES:
            continue
        found[(page, number)] = (len(lines), lines[0].strip())
    return found


def read_allowlist(path: Path = ALLOWLIST) -> dict[tuple[str, int], tuple[int, str]]:
    """The allowlist: ``page<TAB>cell<TAB>lines<TAB>first line``; ``#`` starts a comment line."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        page, number, lines, first = line.split("\t", 3)
        out[(page, int(number))] = (int(lines), first.strip())
    return out


def format_entry(key: tuple[str, int], value: tuple[int, str]) -> str:
    return f"{key[0]}\t{key[1]}\t{value[0]}\t{value[1]}"


def test_the_notebooks_are_found():
    assert len(NOTEBOOKS) > 40, NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_code_cell_tags_are_known(path):
    """A misspelt tag (``hide_input``, ``hide input``) would silently show the cell."""
    unknown = {(n, t) for n, _, tags in code_cells(path) for t in tags if t not in KNOWN_TAGS}
    assert not unknown, f"unknown tags (cell, tag): {sorted(unknown)}; known: {sorted(KNOWN_TAGS)}"


def test_visible_code_cells_are_short():
    allowed = read_allowlist()
    found: dict[tuple[str, int], tuple[int, str]] = {}
    for path in NOTEBOOKS:
        found.update(long_visible_cells(path))
    problems = []
    for key, (lines, first) in sorted(found.items()):
        if key not in allowed:
            problems.append(f"new: {key[0]} code cell {key[1]} has {lines} visible lines "
                            f"(ceiling {MAX_VISIBLE_LINES}): fold it (hide-input) if it is "
                            f"set-up, split it, or move code into helpers/")
        elif lines > allowed[key][0] or first != allowed[key][1]:
            problems.append(f"changed: {key[0]} code cell {key[1]} is listed with "
                            f"{allowed[key][0]} lines starting {allowed[key][1]!r}, now {lines} "
                            f"lines starting {first!r}; shorten it or update its line in "
                            f"{ALLOWLIST.name} (it may not grow)")
    for key in sorted(set(allowed) - set(found)):
        problems.append(f"fixed: {key[0]} code cell {key[1]} is no longer a long visible cell: "
                        f"remove its line from {ALLOWLIST.name}")
    assert not problems, "\n".join(problems)


def test_allowlist_is_sorted_and_unique():
    entries = [line for line in ALLOWLIST.read_text(encoding="utf-8").splitlines()
               if line.strip() and not line.startswith("#")]
    keys = [(e.split("\t")[0], int(e.split("\t")[1])) for e in entries]
    assert len(keys) == len(set(keys)), "an allowlisted cell appears twice"
    assert keys == sorted(keys), "keep the allowlist sorted by page and cell"


if __name__ == "__main__":  # print today's offenders in the allowlist's format
    for nb_path in NOTEBOOKS:
        for k, v in sorted(long_visible_cells(nb_path).items()):
            print(format_entry(k, v))
