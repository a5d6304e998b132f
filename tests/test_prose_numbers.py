"""Prose cannot drift from the outputs: every measured number quoted in a chapter's text is
backed by the chapter's own outputs (or code), or declared a constant of the paper.

A *quoted number* is a decimal or scientific number in a markdown cell (``0.21``, ``3.5``,
``2e-3``, ``1.4×10^{-3}`` written as text) outside math, code, roles and links. It is backed when

* it equals a number printed by one of the notebook's code cells (stream or ``text/plain``
  output), possibly rounded: ``1.9`` is backed by a printed ``1.86`` (the prose may round, to
  at least one significant digit), ``0.21`` by ``0.2104``; or
* it appears literally in a code cell (a parameter, a tolerance, a threshold); or
* it is listed in the notebook's metadata ``nntheory.prose_constants``: a mapping from the
  number as written to the reason it is not a measurement (a constant of the paper, a value
  the text derives by hand). In the MyST source this is the jupytext header::

      nntheory:
        prose_constants:
          "0.75": the paper's constant 3/4 in Claim 9.4
          "1e-3": Figure 2's stopping tolerance, quoted from the paper

So when a re-executed cell prints new values, the sentence quoting the old ones fails here. Pages
whose audit is still pending are listed in ``PENDING`` (meant to shrink to nothing); generated
pages (status, index, errata, checks) quote their data files and are not checked.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
GENERATED = {"theorem_index", "errata", "checks",
             "instructor_guide"}    # its hours are computed by scripts/course_stats.py, not run

#: Chapters whose prose has not been audited yet (relative to chapters/, without suffix).
PENDING: set[str] = set()
_PENDING_FILE = ROOT / "tests" / "prose_numbers_pending.txt"
if _PENDING_FILE.exists():
    PENDING = {line.split("#")[0].strip() for line in _PENDING_FILE.read_text().splitlines()
               if line.split("#")[0].strip()}

NUMBER = re.compile(
    r"(?<![\w.\-/])(?:\d+(?:\.\d+)?\s?[×x]\s?10\^\{?[-−]?\d+\}?|\d*\.?\d+[eE][-+−]?\d+|\d+\.\d+)"
    r"(?![\w.]\d)")
STRIP = [
    re.compile(r"\$\$.*?\$\$", re.S),                      # display math
    re.compile(r"(?<!\\)\$[^$\n]+?(?<!\\)\$"),             # inline math
    re.compile(r"\{[a-zA-Z:-]+\}`[^`]*`"),                  # roles: {cite}`..`, {ref}`..`
    re.compile(r"`[^`]*`"),                                 # inline code
    re.compile(r"\]\([^)]*\)"),                             # link targets
    re.compile(r"<!--.*?-->", re.S),                        # comments
    re.compile(r"^\s*:[a-z_-]+:.*$", re.M),                 # directive options
    re.compile(r"\[[A-Z]+\d*\]"),                           # citation keys like [L]
    re.compile(r"\(\d+(?:\.\d+)+[a-z]?\)"),                 # equation numbers (10.1)
    # numbered objects of the papers and of software: Theorem 3.1, Lemmas 7.1, 7.3 and 7.4,
    # eq. (15), Figures 6-9, Section 4.2, Appendix C.1, version 1.0.4
    re.compile(r"\b(?:Theorem|Lemma|Corollar(?:y|ies)|Claim|Definition|Assumption|Fact|"
               r"Proposition|Remark|Section|Figure|Appendix|Appendices|Table|Example|Strategy|"
               r"Step|Part|Chapter|Conjecture|Property|Properties|eq|Eq|equation|[Vv]ersion|"
               r"Python|PyTorch|torch|numpy|jupyter-book|Thm|Cor|Def|Lem|App|Fig|Prop|Rem|"
               r"Ass|Sec|Sect|Eqs?)s?\.?\s+\(?"
               r"(?:[A-Z]?\d+(?:\.\d+)*[a-z]?\)?(?:\s*(?:,|/|=|and|&|–|—|-|or|to)\s*\(?)?)+"),
]


def _value(token: str) -> float:
    token = token.replace("−", "-").replace(" ", "")
    m = re.fullmatch(r"(\d+(?:\.\d+)?)[×x]10\^\{?(-?\d+)\}?", token)
    if m:
        return float(m.group(1)) * 10.0 ** int(m.group(2))
    return float(token)


def _decimals(token: str) -> int | None:
    """Digits after the point of a plain decimal (None for scientific notation)."""
    if re.fullmatch(r"\d+\.\d+", token):
        return len(token.split(".")[1])
    return None


FENCE = re.compile(r"^\s*(`{3,}|~{3,}|:{3,})\s*(.*?)\s*$")


def _drop_code_blocks(markdown: str) -> str:
    """Remove code blocks (``` / ```python / ```{code-block}) and every fence line; the content
    of directives (``{prf:theorem}``, ``{admonition}``, ...) is prose and stays."""
    out, stack = [], []                     # stack of (fence, is_code)
    for line in markdown.splitlines():
        m = FENCE.match(line)
        if m:
            fence, info = m.group(1), m.group(2)
            if stack and not info and fence[0] == stack[-1][0][0] \
                    and len(fence) >= len(stack[-1][0]):
                stack.pop()                 # closing fence
                continue
            is_code = not info.startswith("{") or info.startswith(("{code", "{literal"))
            stack.append((fence, is_code or bool(stack and stack[-1][1])))
            continue
        if not (stack and stack[-1][1]):
            out.append(line)
    return "\n".join(out)


def prose_numbers(markdown: str) -> list[str]:
    text = _drop_code_blocks(markdown)
    for pattern in STRIP:
        text = pattern.sub(" ", text)
    return [m.group(0) for m in NUMBER.finditer(text)]


def _output_text(nb) -> str:
    parts = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append(out.get("text", ""))
            elif "data" in out:
                parts.append(out["data"].get("text/plain", ""))
    return "\n".join(parts)


def _numbers_in(text: str) -> list[float]:
    found = []
    for m in re.finditer(r"[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?", text):
        try:
            found.append(float(m.group(0)))
        except ValueError:
            pass
    return found


def backed(token: str, printed: list[float], code: str) -> bool:
    """Is the quoted ``token`` a (rounded) printed number, or a literal of the code?"""
    if re.search(r"(?<![\d.])" + re.escape(token) + r"(?![\d])", code):
        return True
    value = abs(_value(token))
    decimals = _decimals(token)
    for p in printed:
        p = abs(p)
        if decimals is not None:
            if round(p, decimals) == value or math.isclose(p, value, rel_tol=1e-9):
                return True
        elif value and math.isclose(p, value, rel_tol=0.05):   # 2e-3 quotes 0.0021
            return True
    return False


def unbacked(path: Path) -> list[str]:
    nb = nbformat.read(path.with_suffix(".ipynb"), as_version=4)
    constants = (nb.metadata.get("nntheory") or {}).get("prose_constants") or {}
    printed = _numbers_in(_output_text(nb))
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    bad = []
    for cell in nb.cells:
        if cell.cell_type != "markdown" or "remove-cell" in cell.metadata.get("tags", []):
            continue
        for token in prose_numbers(cell.source):
            if token in constants or backed(token, printed, code):
                continue
            line = next((ln.strip() for ln in cell.source.splitlines() if token in ln), "")
            bad.append(f"{token!r} in: {line[:110]}")
    return bad


CHAPTERS = sorted(p for p in (ROOT / "chapters").glob("*/*.md")
                  if p.stem not in GENERATED and not p.stem.endswith("_status"))


def _key(p: Path) -> str:
    return str(p.relative_to(ROOT / "chapters").with_suffix(""))


@pytest.mark.parametrize("path", CHAPTERS, ids=_key)
def test_quoted_numbers_are_backed_by_outputs(path):
    if _key(path) in PENDING:
        pytest.skip("prose audit pending (tests/prose_numbers_pending.txt)")
    bad = unbacked(path)
    assert not bad, (
        f"{_key(path)} quotes numbers that none of its outputs or code cells contain; fix the "
        "text, the experiment, or declare paper constants in the notebook metadata "
        "nntheory.prose_constants (see this test's docstring):\n  " + "\n  ".join(bad))


def test_pending_list_names_existing_chapters():
    unknown = PENDING - {_key(p) for p in CHAPTERS}
    assert not unknown, f"tests/prose_numbers_pending.txt names unknown chapters: {unknown}"


def test_a_planted_drift_is_caught(tmp_path):
    """A sentence quoting a number the outputs no longer print fails; one quoting it passes."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("The final loss is 0.21 and the slope 1.9."),
                nbformat.v4.new_code_cell("print(0.2104, 1.86)")]
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="0.2104 1.86\n")]
    md = tmp_path / "x.md"
    nbformat.write(nb, md.with_suffix(".ipynb"))
    assert unbacked(md) == []
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="0.2604 1.86\n")]   # drift
    nbformat.write(nb, md.with_suffix(".ipynb"))
    assert unbacked(md) == ["'0.21' in: The final loss is 0.21 and the slope 1.9."]
    nb.metadata["nntheory"] = {"prose_constants": {"0.21": "the paper's value"}}
    nbformat.write(nb, md.with_suffix(".ipynb"))
    assert unbacked(md) == []


@pytest.mark.parametrize("text,expected", [
    ("a loss of 0.21, not $0.5$ nor `0.7`", ["0.21"]),
    ("{cite}`a2019` says 3.5 and [L] Theorem 3.1", ["3.5"]),
    ("rates 2e-3 and 1.4×10^{-3}; version 1.0.4.post1", ["2e-3", "1.4×10^{-3}"]),
    ("Lemmas 7.1, 7.3 and 7.4, eq. (10.1), Thm 4.1: slope 0.5", ["0.5"]),
    ("```{admonition} Reading\n:class: note\nloss 0.21\n```\n```python\nx = 0.5\n```\n"
     "````{solution} s\n```\ny = 0.9\n```\nso 0.33\n````", ["0.21", "0.33"]),
])
def test_prose_number_extraction(text, expected):
    assert prose_numbers(text) == expected
