"""The generated back matter is current, and every stated result of Parts I–IV is checked.

(a) ``chapters/back/theorem_index.md`` and ``chapters/back/errata.md`` (and their ``.ipynb``
    twins) are what ``scripts/make_index.py`` generates from the chapters now. If this fails,
    run ``python scripts/make_index.py`` and commit the four files.

(b) Every labelled theorem, lemma, corollary and proposition in ``chapters/part*/`` has an
    asserted check, meaning one of:

    1. *section assert*: the paired notebook has a code cell containing an ``assert`` statement
       (or a call of an ``assert_*`` function such as ``np.testing.assert_allclose``) after the
       directive and before the section holding the directive ends (the next heading of the
       same or a higher level);
    2. *unit test*: the part's status table (``??_status.md``) has a row for the result (same
       paper number, or a ``{prf:ref}`` to its label) whose test column names a test that
       exists (a ``def test_...`` in ``tests/`` or a ``tests/test_*.py`` file);
    3. *declared notebook assert*: that row's test column says "notebook asserts" and the
       notebook has a code cell with an ``assert`` somewhere after the directive.

    A status row saying "stated", "n/a" or "—" is not a check. Results that fail are listed in
    ``UNCHECKED`` below with the reason; the list is meant to shrink to nothing.

(c) Every test named in a status table exists.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("make_index", ROOT / "scripts" / "make_index.py")
make_index = importlib.util.module_from_spec(_spec)
sys.modules["make_index"] = make_index  # dataclasses look their module up there
_spec.loader.exec_module(make_index)

PART_DIRS = sorted(p for p in (ROOT / "chapters").glob("part*") if p.is_dir())

#: label -> why the result has no asserted check yet. Keep it explicit; clear entries as the
#: chapters gain checks (the test also fails when an entry is no longer needed).
UNCHECKED: dict[str, str] = {}


# --------------------------------------------------------------------------- helpers


def _all_test_names() -> set[str]:
    names = set()
    for f in (ROOT / "tests").rglob("test_*.py"):
        names |= set(re.findall(r"^\s*def (test_\w+)\(", f.read_text(encoding="utf-8"), re.M))
    return names


TEST_NAMES = _all_test_names()


def named_tests(cell: str) -> list[str]:
    """Backticked test names or test files of a status-table cell."""
    return [t for t in re.findall(r"`([^`]+)`", cell)
            if re.fullmatch(r"(tests/(\w+/)?)?test_\w+(\.py)?", t)]


def named_test_exists(name: str) -> bool:
    if name.endswith(".py"):
        return (ROOT / name).is_file() or (ROOT / "tests" / name).is_file()
    return name in TEST_NAMES


def has_assert(source: str) -> bool:
    """An ``assert`` statement or an ``assert_*(...)`` call in a code cell."""
    code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.splitlines())
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return bool(re.search(r"^\s*assert\b|\bassert_\w*\(", code, re.M))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert):
            return True
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
            if name.startswith("assert"):
                return True
    return False


def _results() -> list[make_index.Result]:
    out = []
    for part in PART_DIRS:
        for md in sorted(part.glob("*.md")):
            text = md.read_text(encoding="utf-8")
            out += [r for r in make_index.parse_results(text, md.relative_to(ROOT))
                    if r.kind in make_index.CHECKED_KINDS and r.label]
    return out


def _status_rows(part: Path) -> list[make_index.StatusRow]:
    rows = []
    for f in sorted(part.glob("??_status.md")):
        rows += make_index.parse_status(f.read_text(encoding="utf-8"), f.relative_to(ROOT))
    return rows


def notebook_asserts(result: make_index.Result) -> tuple[bool, bool]:
    """(assert in the result's section, assert anywhere after the result) in its notebook."""
    md_text = (ROOT / result.path).read_text(encoding="utf-8")
    above = [h for h in make_index.parse_headings(md_text) if h[0] < result.line]
    level = above[-1][1] if above else 0
    nb = nbformat.read(ROOT / result.path.with_suffix(".ipynb"), as_version=4)
    key = re.compile(rf"^\s*:label:\s*{re.escape(result.label)}\s*$", re.M)
    start = next((k for k, c in enumerate(nb.cells)
                  if c.cell_type == "markdown" and key.search(c.source)), None)
    if start is None:
        return False, False
    in_section, after = True, False
    first = nb.cells[start].source.splitlines()
    at = next(k for k, line in enumerate(first) if key.match(line))
    while at > 0 and not make_index.DIRECTIVE.match(first[at]):
        at -= 1  # back to the directive's opening fence, so that its closing fence pairs up
    rest = "\n".join(first[at:])
    if any(h[1] <= level for h in make_index.parse_headings(rest)):
        in_section = False
    found_section = False
    for cell in nb.cells[start + 1:]:
        if cell.cell_type == "markdown":
            if in_section and any(h[1] <= level for h in make_index.parse_headings(cell.source)):
                in_section = False
        elif cell.cell_type == "code" and has_assert(cell.source):
            after = True
            found_section = found_section or in_section
    return found_section, after


def check_result(result: make_index.Result, rows) -> str | None:
    """Why the result counts as checked, or None."""
    section, after = notebook_asserts(result)
    if section:
        return "section assert"
    for row in make_index.matching_rows(result, rows):
        if any(named_test_exists(t) for t in named_tests(row.test)):
            return "unit test"
        if re.search(r"notebook\s+assert", row.test, re.I) and after:
            return "declared notebook assert"
    return None


RESULTS = _results()
ROWS = {part: _status_rows(part) for part in PART_DIRS}


# --------------------------------------------------------------------------- (a)


def test_generated_pages_are_current():
    bad = make_index.stale(ROOT)
    assert not bad, (f"{', '.join(map(str, bad))} out of date: run `python scripts/make_index.py`"
                     " and commit the generated .md and .ipynb")


def test_generated_pages_have_no_code():
    for rel in (make_index.INDEX_MD, make_index.ERRATA_MD):
        nb = nbformat.read(ROOT / rel.with_suffix(".ipynb"), as_version=4)
        assert [c.cell_type for c in nb.cells] == ["markdown"] * len(nb.cells), rel
        assert nb.metadata["kernelspec"]["name"] == "python3"


def test_index_lists_every_labelled_result_of_the_toc():
    text = (ROOT / make_index.INDEX_MD).read_text(encoding="utf-8")
    for part in make_index.read_book(ROOT):
        for r in part.results:
            if r.label:
                assert f"{{prf:ref}}`{r.label}`" in text, f"{r.label} missing from the index"


# --------------------------------------------------------------------------- (b)


def test_there_are_results():
    assert len(RESULTS) > 20


@pytest.mark.parametrize("result", RESULTS, ids=lambda r: r.label)
def test_result_has_an_asserted_check(result):
    reason = check_result(result, ROWS[ROOT / result.path.parts[0] / result.path.parts[1]])
    if result.label in UNCHECKED:
        assert reason is None, (f"{result.label} is now checked ({reason}): remove it from "
                                "UNCHECKED in tests/test_theorem_index.py")
        pytest.skip(f"allow-listed: {UNCHECKED[result.label]}")
    assert reason is not None, (
        f"{result.path}:{result.line + 1} {result.kind} {result.label} ({result.title!r}) has no"
        " asserted check: add an assert in its section of the notebook, or a status-table row"
        " naming an existing unit test (see the module docstring)")


def test_allow_list_names_existing_results():
    labels = {r.label for r in RESULTS}
    unknown = sorted(set(UNCHECKED) - labels)
    assert not unknown, f"UNCHECKED names results that do not exist: {unknown}"


# --------------------------------------------------------------------------- (c)


@pytest.mark.parametrize("part", PART_DIRS, ids=lambda p: p.name)
def test_status_tables_name_existing_tests(part):
    missing = sorted({t for row in ROWS[part] for t in named_tests(row.test)
                      if not named_test_exists(t)})
    assert not missing, f"{part.name} status table names tests that do not exist: {missing}"


# --------------------------------------------------------------------------- the parsers


def test_paper_refs_expand_lists_and_ranges():
    refs = make_index.paper_refs("Lemmas G.1–G.3, Claim 8.3, Corollary 8.4 and Lemma 5.1 = A.1")
    assert refs == [("lemma", "G.1"), ("lemma", "G.2"), ("lemma", "G.3"), ("claim", "8.3"),
                    ("corollary", "8.4"), ("lemma", "5.1"), ("lemma", "A.1")]
    assert make_index.paper_refs("Theorem 1 of Allen-Zhu ($T = 2.1$)") == [("theorem", "1")]
    assert make_index.paper_refs("Mean pairwise inner product") == []


def test_split_row_keeps_bars_in_math_and_code():
    assert make_index.split_row("| a $|x|$ | `a|b` | c |") == ["a $|x|$", "`a|b`", "c"]


def test_parsers_on_a_small_page():
    text = "\n".join([
        "(p-page)=", "# Page", "## Sec", ":::{prf:lemma} Lemma 2.1 of X", ":label: p-lem",
        "", "Body.", ":::", "```{code-cell} ipython3", "# not a heading", "```",
        "````{admonition} Errata: a slip", ":class: errata, dropdown", "Text.", "````",
        "| result | status | section | helper | test |", "|---|---|---|---|---|",
        "| Lemma 2.1 | reproduced; fine | {prf:ref}`p-lem` | `f` | `test_f` |",
    ])
    (res,) = make_index.parse_results(text, Path("x.md"))
    assert (res.kind, res.label, res.paper_number) == ("lemma", "p-lem", "Lemma 2.1")
    assert [h[1:] for h in make_index.parse_headings(text)] == [(1, "Page", "p-page"),
                                                                (2, "Sec", None)]
    (err,) = make_index.parse_errata(text, Path("x.md"))
    assert (err.title, err.section_title, err.section_label) == ("Errata: a slip", "Sec",
                                                                 "p-page")
    (row,) = make_index.parse_status(text, Path("x.md"))
    assert make_index.match_status(res, [row]) is row
    assert make_index.short_status(row.status) == "reproduced"
    assert named_tests(row.test) == ["test_f"]


def test_has_assert():
    assert has_assert("x = 1\nassert x == 1, 'one'")
    assert has_assert("np.testing.assert_allclose(a, b)")
    assert not has_assert("%matplotlib inline\nprint('assert')")
