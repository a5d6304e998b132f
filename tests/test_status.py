"""The status of every result is data, derived from checks, and the generated pages are current.

(a) The generated pages -- each part's status page, ``chapters/back/theorem_index.md``,
    ``errata.md`` and ``checks.md`` (and their ``.ipynb`` twins) -- are what
    ``scripts/make_index.py`` generates now. If this fails, run ``make index`` and commit them.

(b) The sources agree: every labelled theorem, lemma, corollary, proposition, definition and
    assumption of ``chapters/part*/`` has an entry in its part's ``results.yml`` (its ``id`` or
    one of its ``also`` labels); every entry id is a ``{prf}`` label of the part, or an id of its
    own (not a label anywhere) with a ``where:``; verdicts and kinds are in the allowed sets;
    every test named exists (tests live in ``tests/`` and its subfolders); every check record in
    a part's notebooks names an entry of the part (no orphan record).

(c) Every result that holds has a check: a record, a unit test it names with ``check:
    unit-test``, or (transitional, while ``ALLOW_UNCLASSIFIED``) an assert in its section of the
    notebook. ``UNCHECKED`` lists exceptions with the reason; it is meant to stay empty.

(d) The derivation (:func:`make_index.derive_status`) never says "reproduced" without a check
    that could fail inside the hypotheses, and the counts on the checks page add up.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from helpers import checks

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("make_index", ROOT / "scripts" / "make_index.py")
make_index = importlib.util.module_from_spec(_spec)
sys.modules["make_index"] = make_index  # dataclasses look their module up there
_spec.loader.exec_module(make_index)

PART_DIRS = sorted(p for p in (ROOT / "chapters").glob("part*") if p.is_dir())

#: While True, "asserted, not yet classified" (an assert in the notebook, no check record) counts
#: as a check. False since every part records its checks with helpers.checks: a new result whose
#: section only asserts fails test_every_result_that_holds_is_checked.
ALLOW_UNCLASSIFIED = False   # every entry now has a recorded check or is a definition

#: entry id -> why the result has no check yet. Keep it explicit; the test fails when an entry is
#: no longer needed.
UNCHECKED: dict[str, str] = {}


# --------------------------------------------------------------------------- shared


@pytest.fixture(scope="module")
def parts():
    return [p for p in make_index.read_book(ROOT) if p.page]


def _labels(part) -> dict[str, make_index.Result]:
    return {r.label: r for r in part.results if r.label}


def all_labels(root: Path = ROOT) -> set[str]:
    """Every ``:label:`` and ``(label)=`` target of the chapters."""
    out = set()
    for md in (root / "chapters").rglob("*.md"):
        text = md.read_text(encoding="utf-8")
        out |= set(re.findall(r"^\s*:label:\s*(\S+)\s*$", text, re.M))
        out |= set(re.findall(r"^\s*\(([A-Za-z0-9_.:-]+)\)=\s*$", text, re.M))
    return out


def orphan_records(root: Path = ROOT) -> list[str]:
    """Records in a part's notebooks whose ``result`` names no entry of the part's YAML."""
    out = []
    for folder in sorted((root / "chapters").glob("part*")):
        yml = folder / make_index.RESULTS_YML
        names = set()
        if yml.is_file():
            names = {n for e in make_index.load_results(yml)[1] for n in e.names}
        for nb in sorted(folder.glob("*.ipynb")):
            for rec in make_index.records_of(nb):
                if rec.result not in names:
                    out.append(f"{nb.relative_to(root)}: {rec.result!r} ({rec.claim})")
    return out


def entry_problems(part, book_labels: set[str]) -> list[str]:
    """Ids and ``also`` labels that do not match the part's statements (see the docstring)."""
    labels = _labels(part)
    out = []
    covered: dict[str, str] = {}
    for e in part.entries:
        if e.id not in labels:
            if e.id in book_labels:
                out.append(f"{e.id}: a label of another part or a section, not a statement here")
            elif not e.refs():
                out.append(f"{e.id}: not a label, so `where:` must give a {{prf:ref}} or {{ref}}")
        for name in e.also:
            if name not in labels:
                out.append(f"{e.id}: also {name!r} is not a labelled statement of the part")
        for name in e.names:
            if name in covered:
                out.append(f"{name}: in two entries ({covered[name]} and {e.id})")
            covered[name] = e.id
    return out


def missing_entries(part) -> list[str]:
    return [f"{r.path}:{r.line + 1} {r.kind} {r.label}" for r in part.results
            if r.label and r.kind in make_index.ENTRY_KINDS and part.entry_of(r.label) is None]


def bad_test_items(entries) -> list[str]:
    """Test items that name no existing test (and do not declare notebook asserts)."""
    out = []
    for e in entries:
        for item in e.tests:
            names = make_index.TEST_NAME.findall(item)
            if not names and not make_index.NOTEBOOK_ASSERTS.match(item):
                out.append(f"{e.id}: {item!r} names no test (`test_...`, `tests/.../test_*.py`)"
                           " and is not 'notebook asserts'")
            out += [f"{e.id}: {n} does not exist" for n in names
                    if not make_index.named_test_exists(n)]
        if e.check == "unit-test" and not any(make_index.named_test_exists(n)
                                              for n in e.test_names()):
            out.append(f"{e.id}: check: unit-test but no existing test named")
    return out


def unchecked(part, allow_unclassified: bool) -> list[str]:
    bad = {"unchecked"} | (set() if allow_unclassified else {"unclassified"})
    return [e.id for e in part.entries if part.statuses[e.id].category in bad]


# --------------------------------------------------------------------------- (a)


def test_generated_pages_are_current():
    bad = make_index.stale(ROOT)
    assert not bad, (f"{', '.join(map(str, bad))} out of date: run `make index` (python "
                     "scripts/make_index.py) and commit the generated .md and .ipynb")


def test_generated_pages_are_text_pairs_with_macros(parts):
    pages = [make_index.INDEX_MD, make_index.ERRATA_MD, make_index.CHECKS_MD]
    pages += [p.status_md for p in parts]
    assert len(pages) == 3 + len(PART_DIRS)
    for rel in pages:
        nb = nbformat.read(ROOT / rel.with_suffix(".ipynb"), as_version=4)
        assert [c.cell_type for c in nb.cells] == ["markdown"] * len(nb.cells), rel
        assert nb.metadata["kernelspec"]["name"] == "python3"
        assert nb.cells[0].metadata.get("tags") == ["remove-cell"], f"{rel}: no macros cell"


def test_checks_page_is_in_the_toc_after_the_index():
    toc = (ROOT / "toc.yml").read_text(encoding="utf-8")
    assert re.search(r"chapters/back/theorem_index\n\s*- file: chapters/back/checks\n", toc)
    text = (ROOT / make_index.CHECKS_MD).read_text(encoding="utf-8")
    assert "(back-checks)=" in text


def test_index_lists_every_labelled_result_of_the_toc():
    text = (ROOT / make_index.INDEX_MD).read_text(encoding="utf-8")
    for part in make_index.read_book(ROOT):
        for r in part.results:
            if r.label:
                assert f"{{prf:ref}}`{r.label}`" in text, f"{r.label} missing from the index"


def test_status_pages_show_every_entry_with_its_derived_status(parts):
    for part in parts:
        text = (ROOT / part.status_md).read_text(encoding="utf-8")
        for e in part.entries:
            row = f"| {make_index._cell(e.paper)} | **{part.statuses[e.id].text}** |"
            assert row in text, f"{part.status_md}: no row {row!r}"


# --------------------------------------------------------------------------- (b)


def test_every_part_has_a_results_file(parts):
    assert sorted(p.folder for p in parts) == [d.relative_to(ROOT) for d in PART_DIRS]
    assert sum(len(p.entries) for p in parts) > 100


@pytest.mark.parametrize("part_dir", PART_DIRS, ids=lambda p: p.name)
def test_verdicts_and_kinds_are_allowed(part_dir):
    data = yaml.safe_load((part_dir / make_index.RESULTS_YML).read_text(encoding="utf-8"))
    for item in data["results"]:
        assert item["verdict"] in make_index.VERDICTS, item["id"]
        assert item.get("kind", "result") in make_index.ENTRY_KINDS_YML, item["id"]
        assert set(item) <= set(make_index.ENTRY_KEYS), item["id"]
        if item["verdict"] == "not-covered":
            assert (item.get("note") or "").strip(), f"{item['id']}: not-covered needs a note"


def test_every_labelled_statement_has_an_entry(parts):
    missing = [m for part in parts for m in missing_entries(part)]
    assert not missing, ("labelled statements without an entry (id or also) in their part's "
                         f"results.yml: {missing}")


def test_entry_ids_are_labels_or_declared(parts):
    book_labels = all_labels()
    bad = [p for part in parts for p in entry_problems(part, book_labels)]
    assert not bad, bad
    ids = [e.id for part in parts for e in part.entries]
    assert len(ids) == len(set(ids)), "entry ids must be unique across the parts"


def test_named_tests_exist(parts):
    bad = [b for part in parts for b in bad_test_items(part.entries)]
    assert not bad, bad


def test_no_orphan_records():
    orphans = orphan_records(ROOT)
    assert not orphans, ("check records whose `result` is no id (or `also` label) of the "
                         f"part's results.yml: {orphans}")


def test_schema_errors_are_refused():
    ok = {"id": "x-1", "paper": "Lemma 1", "verdict": "holds"}
    assert make_index.entry_from_dict(ok, "t").names == ["x-1"]
    for bad, words in [({**ok, "verdict": "reproduced"}, "verdict"),
                       ({**ok, "kind": "table"}, "kind"),
                       ({**ok, "status": "reproduced"}, "unknown keys"),
                       ({**ok, "verdict": "not-covered"}, "note"),
                       ({**ok, "check": "notebook"}, "check"),
                       ({**ok, "id": "Bad Id"}, "lower case"),
                       ({"paper": "Lemma 1", "verdict": "holds"}, "`id`"),
                       ({**ok, "tests": "test_a, test_b"}, None)]:
        if words is None:  # a single string is accepted as a one-item list
            assert make_index.entry_from_dict(bad, "t").tests == ["test_a, test_b"]
            continue
        with pytest.raises(ValueError, match=words):
            make_index.entry_from_dict(bad, "t")


# --------------------------------------------------------------------------- (c)


def test_every_result_that_holds_is_checked(parts):
    bad = [i for part in parts for i in unchecked(part, ALLOW_UNCLASSIFIED)]
    stale = sorted(set(UNCHECKED) - set(bad))
    assert not stale, f"{stale} are checked now: remove them from UNCHECKED"
    bad = [i for i in bad if i not in UNCHECKED]
    assert not bad, (f"{bad}: verdict holds but nothing checks it: record a check "
                     "(helpers.checks) in its section of the notebook, or name a unit test of the "
                     "statement itself with `check: unit-test`")


def test_unclassified_is_only_transitional(parts):
    """The transitional label appears only for results without records."""
    for part in parts:
        for e in part.entries:
            if part.statuses[e.id].category == "unclassified":
                assert not part.records_of(e), e.id


# --------------------------------------------------------------------------- (d) derivation


def _rec(kind="bound", could_fail=True, outside=None, result="x", strength="s", **numbers):
    return checks.CheckRecord(result, "claim", kind, True, could_fail, strength, numbers, outside)


@pytest.mark.parametrize("verdict", ["holds", "holds-with-caveat"])
def test_a_check_that_cannot_fail_never_reproduces(verdict):
    weak = [checks.bound(0.02, 0.5, result="x", claim="f <= b"),          # loose x25
            checks.attained([0.9], 1.0, fraction=0.5, result="x", claim="attained"),
            checks.exponent([10, 100, 1000], [1.0, 0.33, 0.09], expected=-0.5,
                            alternatives=(-0.55,), result="x", claim="y ~ x^-1/2")]
    assert not any(r.could_fail for r in weak)
    for k in range(1, len(weak) + 1):
        for asserted in (False, True):
            s = make_index.derive_status(verdict, weak[:k], asserted=asserted)
            assert not s.text.startswith("reproduced") and s.category == "weak", s
    assert make_index.derive_status(verdict, weak[:1]).text == \
        "consistent, weak check (loose ×25)"
    assert make_index.derive_status(verdict, weak[1:2]).text == \
        "consistent, weak check (attained only)"
    assert make_index.derive_status(verdict, weak[2:]).text == \
        "consistent, weak check (exponent not resolved)"
    # the strongest weak record is named: the tightest bound first
    looser = checks.bound(0.001, 0.5, result="x", claim="f <= b")
    assert "×25" in make_index.derive_status(verdict, [looser, *weak]).text


def test_a_strong_check_outside_the_hypotheses_never_reproduces():
    out = checks.identity(1.0, 1.0, tol=1e-9, result="x", claim="c", outside="step 0.1 > 1e-3")
    s = make_index.derive_status("holds", [out], asserted=True)
    assert s == make_index.Status("checked outside the hypotheses (step 0.1 > 1e-3)", "weak")
    inside_weak = checks.bound(0.02, 0.5, result="x", claim="f <= b")
    assert make_index.derive_status("holds", [out, inside_weak]).category == "weak"


def test_a_strong_check_reproduces():
    strong = checks.bound(0.4, 1.0, result="x", claim="f <= 1")
    weak = checks.bound(0.02, 0.5, result="x", claim="f <= b")
    assert strong.could_fail
    assert make_index.derive_status("holds", [weak, strong]) == \
        make_index.Status("reproduced", "reproduced")
    assert make_index.derive_status("holds-with-caveat", [strong]).text == \
        "reproduced with caveat"
    assert make_index.derive_status("holds", [], unit_test=True).category == "reproduced"


def test_a_counterexample_is_not_a_reproduction():
    cx = checks.counterexample(1.0, 5 / 6, result="x", claim="acc <= 5/6")
    assert make_index.derive_status("holds", [cx]).category == "unchecked"
    assert make_index.derive_status("holds", [cx], asserted=True).category == "unclassified"
    assert make_index.derive_status("fails-as-printed", [cx]) == \
        make_index.Status("does not hold as printed", "counterexample")
    strong = checks.bound(0.4, 1.0, result="x", claim="corrected form")
    assert make_index.derive_status("fails-as-printed", [strong]) == make_index.Status(
        "does not hold as printed (counterexample not recorded)", "no-counterexample")


def test_status_without_records():
    d = make_index.derive_status
    assert d("holds", [], asserted=True).text == "asserted, not yet classified"
    assert d("holds", []).text == "not checked"
    assert d("definition", [_rec(could_fail=False)]).text == "definition"
    assert d("not-covered", []).text == "not covered"
    with pytest.raises(ValueError, match="verdict"):
        d("reproduced", [])


def test_counts_add_up(parts):
    text = (ROOT / make_index.CHECKS_MD).read_text(encoding="utf-8")
    table = text[text.index("## Counts"):].split("\n\n|", 1)
    table = "|" + table[1].split("\n\n", 1)[0] if len(table) == 2 else table[0]
    rows = [line for line in table.splitlines() if line.startswith("| ")][1:]
    assert len(rows) == len(parts) + 1
    totals = None
    for line, part in zip(rows, [*parts, None]):
        cells = [c.strip() for c in line.strip("|").split("|")]
        numbers = [int(c) for c in cells[1:]]
        n_cat = len(make_index.CATEGORIES)
        assert numbers[0] == sum(numbers[1:1 + n_cat]), line
        if part is not None:
            assert numbers[0] == len(part.entries)
            assert numbers[1:1 + n_cat] == list(make_index.counts(part).values())
            assert numbers[-2] == len(part.records)
            totals = numbers if totals is None else [a + b for a, b in zip(totals, numbers)]
        else:
            assert numbers == totals, "the last row must be the sum of the parts"


# --------------------------------------------------------------------------- a planted record


@pytest.fixture
def book_copy(tmp_path):
    """A copy of the book's sources (chapters, toc, book.yml, tests) to plant records in."""
    for name in ("toc.yml", "book.yml"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "chapters", tmp_path / "chapters")
    shutil.copytree(ROOT / "tests", tmp_path / "tests",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return tmp_path


def strip_records(root: Path, notebook: str, results: set[str] | None = None) -> None:
    """Remove the recorded checks (of ``results``, or all) from a notebook copy."""
    path = root / notebook
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            meta = out.get("metadata", {})
            recs = meta.get(checks.METADATA_KEY)
            if recs is None:
                continue
            keep = [] if results is None else [r for r in recs if r.get("result") not in results]
            if keep:
                meta[checks.METADATA_KEY] = keep
            else:
                del meta[checks.METADATA_KEY]
    nbformat.write(nb, path)


def plant(root: Path, notebook: str, *records: checks.CheckRecord) -> None:
    """Append a code cell displaying ``records`` (with their metadata) to a notebook copy."""
    path = root / notebook
    nb = nbformat.read(path, as_version=4)
    data, meta = checks.report(*records)._repr_mimebundle_()
    cell = nbformat.v4.new_code_cell("checks.report(...)")
    cell.outputs = [nbformat.v4.new_output("display_data", data=data,
                                           metadata=json.loads(json.dumps(meta)))]
    nb.cells.append(cell)
    nbformat.write(nb, path)


def test_planted_records_reach_the_pages(book_copy):
    nb = "chapters/part1_gradient_confusion/gc_02_convergence.ipynb"
    loose = checks.bound(0.002, 0.5, result="gc-conv-thm-3-1", claim="E F(w_T) - F* <= bound")
    cx = checks.counterexample(2.0, 1.0, result="gc-conv-thm-3-2-icml", claim="printed bound")
    # the chapter's own records of these two results are removed first: only the planted remain
    for page in ("gc_02_convergence", "gc_status", "gc_01_confusion"):
        strip_records(book_copy, f"chapters/part1_gradient_confusion/{page}.ipynb",
                      {"gc-conv-thm-3-1", "gc-conv-thm-3-2-icml"})
    plant(book_copy, nb, loose, cx)
    parts = {p.folder.name: p for p in make_index.read_book(book_copy) if p.folder}
    part = parts["part1_gradient_confusion"]
    assert part.statuses["gc-conv-thm-3-1"].text == "consistent, weak check (loose ×250)"
    assert part.statuses["gc-conv-thm-3-2-icml"].text == "does not hold as printed"
    assert orphan_records(book_copy) == []
    pages = make_index.generate(book_copy)
    status = pages[part.status_md]
    (row,) = [line for line in status.splitlines() if line.startswith("| Theorem 3.1 (both) |")]
    assert "| **consistent, weak check (loose ×250)** |" in row
    check_page = pages[make_index.CHECKS_MD]
    assert "E F(w_T) - F* <= bound" in check_page and "consistent, loose (x250)" in check_page
    counts = make_index.counts(part)
    assert counts["weak"] >= 1 and counts["counterexample"] >= 1
    assert sum(counts.values()) == len(part.entries)
    # the committed pages are now stale in the copy
    assert part.status_md in make_index.stale(book_copy)


def test_an_orphan_record_is_found(book_copy):
    plant(book_copy, "chapters/part2_li_liang/ll_01_model.ipynb",
          checks.identity(1.0, 1.0, tol=1e-9, result="ll-no-such-result", claim="c"))
    (orphan,) = orphan_records(book_copy)
    assert "ll-no-such-result" in orphan


def test_an_entry_without_check_is_found(book_copy):
    """Removing the asserts and the records of a result's section makes it "not checked"."""
    strip_records(book_copy, "chapters/part2_li_liang/ll_02_simplified_case.ipynb")
    path = book_copy / "chapters/part2_li_liang/ll_02_simplified_case.ipynb"
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            if make_index.has_assert(cell.source):
                cell.source = "pass"
    nbformat.write(nb, path)
    parts = {p.folder.name: p for p in make_index.read_book(book_copy) if p.folder}
    assert "ll-lem-a5" in unchecked(parts["part2_li_liang"], allow_unclassified=True)


def test_has_assert():
    has = make_index.has_assert
    assert has("x = 1\nassert x == 1, 'one'")
    assert has("np.testing.assert_allclose(a, b)")
    assert has("r = checks.bound(a, b, result='x', claim='c')")
    assert not has("%matplotlib inline\nprint('assert')")
    assert not has("checks.report(r1, r2)")


def test_paper_refs_expand_lists_and_ranges():
    refs = make_index.paper_refs("Lemmas G.1–G.3, Claim 8.3, Corollary 8.4 and Lemma 5.1 = A.1")
    assert refs == [("lemma", "G.1"), ("lemma", "G.2"), ("lemma", "G.3"), ("claim", "8.3"),
                    ("corollary", "8.4"), ("lemma", "5.1"), ("lemma", "A.1")]
    assert make_index.paper_refs("Theorem 1 of Allen-Zhu ($T = 2.1$)") == [("theorem", "1")]
    assert make_index.paper_refs("Mean pairwise inner product") == []


def test_parsers_on_a_small_page():
    text = "\n".join([
        "(p-page)=", "# Page", "## Sec", ":::{prf:lemma} Lemma 2.1 of X", ":label: p-lem",
        "", "Body.", ":::", "```{code-cell} ipython3", "# not a heading", "```",
        "````{admonition} Errata: a slip", ":class: errata, dropdown", "Text.", "````",
    ])
    (res,) = make_index.parse_results(text, Path("x.md"))
    assert (res.kind, res.label, res.paper_number) == ("lemma", "p-lem", "Lemma 2.1")
    assert [h[1:] for h in make_index.parse_headings(text)] == [(1, "Page", "p-page"),
                                                                (2, "Sec", None)]
    (err,) = make_index.parse_errata(text, Path("x.md"))
    assert (err.title, err.section_title, err.section_label) == ("Errata: a slip", "Sec",
                                                                 "p-page")


def test_cells_and_items():
    assert make_index._cell("a | $b$\n c") == r"a \| $b$ c"
    assert make_index._items(["li_liang.mixture", "notebook asserts",
                              "`train.train` (epochs)"]) == \
        "`li_liang.mixture`, notebook asserts, `train.train` (epochs)"


def test_full_scale_runs_are_well_formed_and_shown(tmp_path):
    """A part's full_scale.yml is validated and rendered on its status page."""
    runs = make_index.read_full_scale(tmp_path)
    assert runs == []
    (tmp_path / "full_scale.yml").write_text(
        "- label: gc-convergence\n  command: make full NB=x.md\n  date: 2026-12-05\n"
        "  machine: 2-core x86\n  wall: 12 min\n  results: slope -0.5\n")
    assert make_index.read_full_scale(tmp_path)[0]["wall"] == "12 min"
    (tmp_path / "full_scale.yml").write_text("- label: gc-convergence\n  command: x\n")
    with pytest.raises(ValueError, match="must have exactly the string keys"):
        make_index.read_full_scale(tmp_path)
