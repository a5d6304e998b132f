"""Generate the back matter: chapters/back/theorem_index.md and chapters/back/errata.md.

Usage::

    python scripts/make_index.py            # rewrite both pages (.md and their .ipynb twins)
    python scripts/make_index.py --check    # exit 1 if a committed page is out of date

Sources, all read from the MyST ``.md`` of every chapter listed in ``toc.yml``:

* every labelled ``{prf:...}`` statement (theorem, lemma, corollary, proposition, definition,
  assumption, conjecture, axiom, criterion, observation, property, remark, notation), with its
  ``:label:``, its title and the paper's number found in the title ("Theorem 3.1 of ...");
* the status table of each part (``chapters/<part>/??_status.md``: the tables whose first
  column is "result"), whose rows are matched to results by the paper's number (kind and
  number, e.g. "Lemma 5.1 = A.1" matches Lemma 5.1 and Lemma A.1) or, failing that, by a
  ``{prf:ref}`` to the result's label in the row;
* every errata box: an ``{admonition}`` with class ``errata``, or a ``{warning}``/``{danger}``
  box whose title starts with "Errat".

Pages not in ``toc.yml`` are left out (a ``{prf:ref}`` to a page outside the book would break
the build); ``tests/test_theorem_index.py`` fails when the committed pages are stale.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import jupytext
import nbformat
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import macros_cell  # noqa: E402  (sibling script: the Jupyter macros cell)

ROOT = Path(__file__).resolve().parents[1]
INDEX_MD = Path("chapters/back/theorem_index.md")
ERRATA_MD = Path("chapters/back/errata.md")

HEADER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
    format_version: 0.13
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""

STATEMENT_KINDS = (
    "theorem", "lemma", "corollary", "proposition", "definition", "assumption", "conjecture",
    "axiom", "criterion", "observation", "property", "remark", "notation",
)
#: the kinds that state something to be checked (tests/test_theorem_index.py)
CHECKED_KINDS = ("theorem", "lemma", "corollary", "proposition")

PAPER_KINDS = ("theorem", "lemma", "corollary", "proposition", "definition", "assumption",
               "claim", "fact", "remark", "conjecture", "figure")
_KIND_RE = "|".join(k.capitalize() for k in PAPER_KINDS)
_NUM = r"(?:[A-Z]\.\d+[a-z]?|\d+(?:\.\d+)*[a-z]?|[A-Z]\d?(?![a-z]))"
PAPER_REF = re.compile(
    rf"\b({_KIND_RE})s?\s+({_NUM}(?:\s*(?:,|/|=|and|&|–|-|—)\s*{_NUM})*)")
NUM_TOKEN = re.compile(_NUM)

DIRECTIVE = re.compile(r"^(\s*)(`{3,}|:{3,})\s*\{([a-z:-]+)\}\s*(.*?)\s*$")
OPTION = re.compile(r"^\s*:([a-zA-Z_-]+):\s*(.*?)\s*$")
TARGET = re.compile(r"^\s*\(([A-Za-z0-9_.:-]+)\)=\s*$")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
CODE_CELL = re.compile(r"^\s*(`{3,})\s*\{code-cell\}")
FENCE = re.compile(r"^\s*(`{3,}|~{3,}|:{3,})(.*)$")


@dataclass
class Result:
    """One ``{prf:...}`` statement of a chapter."""

    kind: str
    label: str | None
    title: str
    line: int                                   # 0-based line of the directive
    path: Path                                  # the .md, relative to the repository
    paper: list[tuple[str, str]] = field(default_factory=list)   # [(kind, number)], title order

    @property
    def paper_number(self) -> str:
        """``"Theorem 3.1"`` for the first numbered reference of the title, else ``""``."""
        return f"{self.paper[0][0].capitalize()} {self.paper[0][1]}" if self.paper else ""


@dataclass
class Erratum:
    """One errata box."""

    title: str
    path: Path
    line: int
    box_label: str | None        # a (label)= target right before the box
    section_label: str | None    # label of the nearest labelled heading above the box
    section_title: str           # text of the nearest heading above the box


@dataclass
class StatusRow:
    """One row of a part's status table (the cells by lower-case header)."""

    cells: dict[str, str]
    path: Path
    refs: list[tuple[str, str]] = field(default_factory=list)   # paper numbers of "result"
    labels: list[str] = field(default_factory=list)             # {prf:ref} labels in the row

    def get(self, *names: str) -> str:
        for n in names:
            if n in self.cells:
                return self.cells[n]
        return ""

    @property
    def status(self) -> str:
        return self.get("status")

    @property
    def helper(self) -> str:
        return self.get("helper", "helpers")

    @property
    def test(self) -> str:
        return self.get("test", "tests")


# --------------------------------------------------------------------------- parsing


def _expand(kind: str, numbers: str) -> list[tuple[str, str]]:
    """``("lemma", "6.6, 6.7")`` -> [("lemma","6.6"), ("lemma","6.7")]; ranges with an en dash
    between numbers of the same prefix (``G.1–G.4``, ``2–4``) are expanded."""
    out: list[tuple[str, str]] = []
    tokens = re.split(r"\s*(,|/|=|and|&|–|—|-)\s*", numbers)
    nums = tokens[0::2]
    seps = [""] + tokens[1::2]
    for sep, num in zip(seps, nums):
        num = num.strip()
        if not NUM_TOKEN.fullmatch(num):
            continue
        if sep in ("–", "—", "-") and out:
            lo = out[-1][1]
            m_lo, m_hi = re.fullmatch(r"(.*?)(\d+)", lo), re.fullmatch(r"(.*?)(\d+)", num)
            if m_lo and m_hi and m_lo.group(1) == m_hi.group(1):
                a, b = int(m_lo.group(2)), int(m_hi.group(2))
                if 0 < b - a < 50:
                    out += [(kind, f"{m_lo.group(1)}{i}") for i in range(a + 1, b)]
        out.append((kind, num))
    return out


def paper_refs(text: str) -> list[tuple[str, str]]:
    """Every "Kind number" of a title or status cell, in order; math and roles removed."""
    text = re.sub(r"\$[^$]*\$", " ", text)
    text = re.sub(r"\{[a-z:]+\}`[^`]*`", " ", text)
    out: list[tuple[str, str]] = []
    for m in PAPER_REF.finditer(text):
        for ref in _expand(m.group(1).lower(), m.group(2)):
            if ref not in out:
                out.append(ref)
    return out


def _blocks(lines: list[str]):
    """Yield (index, line, in_code) with ``in_code`` true inside ``{code-cell}`` blocks."""
    fence = None
    for i, line in enumerate(lines):
        if fence is not None:
            yield i, line, True
            if line.strip() == fence:
                fence = None
            continue
        m = CODE_CELL.match(line)
        if m:
            fence = m.group(1)
            yield i, line, True
            continue
        yield i, line, False


def _options(lines: list[str], start: int) -> dict[str, str]:
    opts = {}
    for line in lines[start + 1:start + 20]:
        m = OPTION.match(line)
        if not m:
            break
        opts[m.group(1)] = m.group(2)
    return opts


def parse_results(text: str, path: Path) -> list[Result]:
    """Every ``{prf:<statement kind>}`` directive of a MyST source (code cells skipped)."""
    lines = text.splitlines()
    out = []
    for i, line, in_code in _blocks(lines):
        if in_code:
            continue
        m = DIRECTIVE.match(line)
        if not m or not m.group(3).startswith("prf:"):
            continue
        kind = m.group(3)[4:]
        if kind not in STATEMENT_KINDS:
            continue
        title = m.group(4)
        label = _options(lines, i).get("label")
        out.append(Result(kind, label, title, i, path, paper_refs(title)))
    return out


def parse_headings(text: str) -> list[tuple[int, int, str, str | None]]:
    """(line, level, title, label or None) of every top-level heading (not inside a fence)."""
    lines = text.splitlines()
    out = []
    stack: list[str] = []          # open fences (``` / ~~~ / :::), innermost last
    for i, line in enumerate(lines):
        fm = FENCE.match(line)
        if fm:
            fence, rest = fm.group(1), fm.group(2).strip()
            if stack and rest == "" and fence[0] == stack[-1][0] and len(fence) >= len(stack[-1]):
                stack.pop()
            elif not (stack and stack[-1][0] in "`~" and not rest.startswith("{")
                      and fence[0] != stack[-1][0]):
                stack.append(fence)
            continue
        if stack:
            continue
        m = HEADING.match(line)
        if m:
            label = None
            j = i - 1
            while j >= 0 and not lines[j].strip():
                j -= 1
            if j >= 0 and TARGET.match(lines[j]):
                label = TARGET.match(lines[j]).group(1)
            out.append((i, len(m.group(1)), m.group(2), label))
    return out


def _box_title_and_class(lines: list[str], i: int) -> tuple[str, str, str]:
    m = DIRECTIVE.match(lines[i])
    return m.group(3), m.group(4), _options(lines, i).get("class", "")


def parse_errata(text: str, path: Path) -> list[Erratum]:
    """Every errata box of a MyST source, with the labels to link to it."""
    lines = text.splitlines()
    heads = parse_headings(text)
    out = []
    for i, line, in_code in _blocks(lines):
        if in_code:
            continue
        m = DIRECTIVE.match(line)
        if not m:
            continue
        name, title, cls = _box_title_and_class(lines, i)
        is_errata = (name == "admonition" and "errata" in re.split(r"[\s,]+", cls)) or (
            name in ("warning", "danger") and title.lower().startswith("errat"))
        if not is_errata:
            continue
        j = i - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        box_label = TARGET.match(lines[j]).group(1) if j >= 0 and TARGET.match(lines[j]) else None
        above = [h for h in heads if h[0] < i]
        sec_title = above[-1][2] if above else ""
        sec_label = None
        if above:
            # the nearest heading if labelled, else the nearest labelled heading of a higher level
            level = above[-1][1] + 1
            for _, lev, _, lab in reversed(above):
                if lev < level:
                    level = lev
                    if lab:
                        sec_label = lab
                        break
        out.append(Erratum(title or name.capitalize(), path, i, box_label, sec_label, sec_title))
    return out


def split_row(line: str) -> list[str]:
    """Cells of a Markdown table row; a ``|`` inside ``$...$`` or backticks is kept."""
    s = line.strip()
    if s.startswith("|"):
        s = s[1:]
    if s.endswith("|") and not s.endswith("\\|"):
        s = s[:-1]
    cells, cur, math, code = [], "", False, False
    k = 0
    while k < len(s):
        ch = s[k]
        if ch == "\\" and k + 1 < len(s):
            cur += s[k:k + 2]
            k += 2
            continue
        if ch == "`":
            code = not code
        elif ch == "$" and not code:
            math = not math
        if ch == "|" and not math and not code:
            cells.append(cur.strip())
            cur = ""
        else:
            cur += ch
        k += 1
    cells.append(cur.strip())
    return cells


def parse_status(text: str, path: Path) -> list[StatusRow]:
    """Rows of the tables whose first header cell is "result" (any case)."""
    rows: list[StatusRow] = []
    lines = text.splitlines()
    k = 0
    while k < len(lines) - 1:
        head, rule = lines[k].strip(), lines[k + 1].strip()
        if head.startswith("|") and re.fullmatch(r"\|?(\s*:?-{3,}:?\s*\|)+\s*:?-*:?\s*\|?", rule):
            names = [c.lower() for c in split_row(head)]
            k += 2
            while k < len(lines) and lines[k].strip().startswith("|"):
                if names and names[0] == "result":
                    cells = dict(zip(names, split_row(lines[k])))
                    row_text = " ".join(cells.values())
                    rows.append(StatusRow(
                        cells, path, paper_refs(cells.get("result", "")),
                        re.findall(r"\{prf:ref\}`(?:[^`<]*<)?([^`>]+)>?`", row_text)))
                k += 1
            continue
        k += 1
    return rows


def matching_rows(result: Result, rows: list[StatusRow]) -> list[StatusRow]:
    """Status rows of a result, best first: rows about its paper number (those that start with
    it first), then rows with a ``{prf:ref}`` to its label."""
    out: list[StatusRow] = []
    if result.paper:
        ref = result.paper[0]
        out += [r for r in rows if r.refs[:1] == [ref]]
        out += [r for r in rows if ref in r.refs and r not in out]
    if result.label:
        out += [r for r in rows if result.label in r.labels and r not in out]
    return out


def match_status(result: Result, rows: list[StatusRow]) -> StatusRow | None:
    """The status row of a result (the first of :func:`matching_rows`), or None."""
    found = matching_rows(result, rows)
    return found[0] if found else None


def short_status(status: str) -> str:
    """The leading phrase of a status cell ("reproduced with caveat", "stated", ...)."""
    s = re.split(r"[:;(]|\s—\s|,\s", status, maxsplit=1)[0].strip()
    s = s.replace("**", "").strip()
    return s or "—"


# --------------------------------------------------------------------------- the book


@dataclass
class Part:
    caption: str
    folder: Path | None
    pages: list[Path]              # .md paths relative to the repository, in toc order
    titles: dict[Path, str]
    labels: dict[Path, str | None]
    results: list[Result]
    status: list[StatusRow]
    errata: list[Erratum]


def _toc_files(node) -> list[str]:
    out = []
    if isinstance(node, dict):
        if "file" in node:
            out.append(node["file"])
        for key in ("chapters", "sections"):
            for child in node.get(key, []) or []:
                out += _toc_files(child)
    return out


def read_book(root: Path = ROOT) -> list[Part]:
    """The parts of the book in toc order (back matter left out), with what they contain."""
    toc = yaml.safe_load((root / "toc.yml").read_text(encoding="utf-8"))
    groups = []
    for entry in toc.get("parts", []):
        files = []
        for ch in entry.get("chapters", []):
            files += _toc_files(ch)
        groups.append((entry.get("caption", ""), files))
    if toc.get("root"):
        groups[0][1].insert(0, toc["root"]) if groups else groups.append(("", [toc["root"]]))
    parts = []
    for caption, files in groups:
        pages = [Path(f).with_suffix(".md") for f in files]
        pages = [p for p in pages if (root / p).is_file() and p.parts[:2] != ("chapters", "back")]
        if not pages:
            continue
        folders = {p.parent for p in pages}
        folder = folders.pop() if len(folders) == 1 else None
        part = Part(caption, folder, pages, {}, {}, [], [], [])
        for p in pages:
            text = (root / p).read_text(encoding="utf-8")
            heads = parse_headings(text)
            first = next((h for h in heads if h[1] == 1), None)
            part.titles[p] = first[2] if first else p.stem
            part.labels[p] = first[3] if first else None
            part.results += parse_results(text, p)
            part.errata += parse_errata(text, p)
        if folder is not None:
            for status in sorted((root / folder).glob("??_status.md")):
                part.status += parse_status(status.read_text(encoding="utf-8"),
                                            status.relative_to(root))
        parts.append(part)
    return parts


def _cell(text: str) -> str:
    return text.replace("\n", " ").strip() or "—"


def render_index(parts: list[Part]) -> str:
    out = [HEADER, "(back-theorem-index)=", "# Index of results", "",
           "Every labelled statement of the book, part by part in reading order, with its status "
           "from the part's status page, the helper function that computes it and the unit test "
           "of that helper. *Paper* is the number in the paper (empty for the book's own "
           "statements); a dash in the status columns means the status page has no row for it.",
           "",
           "This page is generated by `scripts/make_index.py` from the chapters; do not edit it "
           "by hand.", ""]
    for part in parts:
        if not part.results:
            continue
        out += [f"## {part.caption}", ""]
        status_pages = sorted({r.path for r in part.status} & set(part.pages))
        if status_pages:
            refs = ", ".join(f"{{ref}}`{lab}`" for sp in status_pages
                             if (lab := _page_label(sp)))
            if refs:
                out += [f"Status page: {refs}.", ""]
        out += ["| result | title | paper | status | helper | test |", "|---|---|---|---|---|---|"]
        for r in part.results:
            if not r.label:
                continue
            row = match_status(r, part.status)
            out.append("| " + " | ".join([
                f"{{prf:ref}}`{r.label}`", _cell(r.title.replace("|", "\\|")),
                r.paper_number or "—",
                _cell(short_status(row.status)) if row else "—",
                _cell(row.helper) if row else "—",
                _cell(row.test) if row else "—",
            ]) + " |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _page_label(path: Path, root: Path = ROOT) -> str | None:
    heads = parse_headings((root / path).read_text(encoding="utf-8"))
    first = next((h for h in heads if h[1] == 1), None)
    return first[3] if first else None


def render_errata(parts: list[Part]) -> str:
    out = [HEADER, "(back-errata)=", "# Errata", "",
           "Every statement of the four papers that this book found not to hold as printed, as "
           "collected from the errata boxes of the chapters (each box gives the counterexample "
           "computed and the corrected form). The link goes to the section holding the box.",
           "",
           "This page is generated by `scripts/make_index.py` from the chapters; do not edit it "
           "by hand.", ""]
    for part in parts:
        if not part.errata:
            continue
        out += [f"## {part.caption}", ""]
        for page in part.pages:
            boxes = [e for e in part.errata if e.path == page]
            if not boxes:
                continue
            page_label = part.labels.get(page)
            out += [f"### {part.titles[page]}", ""]
            for e in boxes:
                title = re.sub(r"^Errat(um|a)\s*:\s*", "", e.title).strip()
                title = title[0].upper() + title[1:] if title else "Erratum"
                if e.box_label:
                    where = f"{{ref}}`the box <{e.box_label}>`"
                elif e.section_label and e.section_label != page_label:
                    where = f"{{ref}}`{e.section_label}`"
                elif page_label:
                    where = f"{{ref}}`{page_label}`"
                    if e.section_title and e.section_title != part.titles[page]:
                        where += f", section *{e.section_title}*"
                else:
                    where = f"{{doc}}`/{page.with_suffix('').as_posix()}`"
                out.append(f"* {title}. See {where}.")
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def generate(root: Path = ROOT) -> dict[Path, str]:
    """The generated pages: ``{relative .md path: text}`` (with the Jupyter macros cell)."""
    parts = read_book(root)
    table = macros_cell.macros(root / "book.yml")
    return {rel: macros_cell.render(text, table) for rel, text in
            ((INDEX_MD, render_index(parts)), (ERRATA_MD, render_errata(parts)))}


def write(pages: dict[Path, str], root: Path = ROOT) -> None:
    for rel, text in pages.items():
        md = root / rel
        md.parent.mkdir(parents=True, exist_ok=True)
        md.write_text(text, encoding="utf-8")
        nb = jupytext.reads(text, fmt="md:myst")
        for i, cell in enumerate(nb.cells):  # stable ids: regenerating must not churn the file
            cell.id = f"{md.stem}-{i}"
        jupytext.write(nb, md.with_suffix(".ipynb"), fmt="ipynb")


def body(text: str) -> str:
    """A MyST page without its YAML front matter (``make sync`` may add a jupytext version)."""
    return re.sub(r"\A---\n.*?\n---\n", "", text, count=1, flags=re.S)


def stale(root: Path = ROOT) -> list[Path]:
    """Generated pages whose committed .md (or its .ipynb twin) differs from a fresh run."""
    out = []
    for rel, text in generate(root).items():
        md = root / rel
        if not md.is_file() or body(md.read_text(encoding="utf-8")) != body(text):
            out.append(rel)
            continue
        ipynb = md.with_suffix(".ipynb")
        fresh = [(c.cell_type, c.source) for c in jupytext.reads(text, fmt="md:myst").cells]
        if not ipynb.is_file() or [(c.cell_type, c.source) for c in
                                   nbformat.read(ipynb, as_version=4).cells] != fresh:
            out.append(rel.with_suffix(".ipynb"))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report stale pages")
    args = parser.parse_args(argv)
    if args.check:
        bad = stale()
        for p in bad:
            print(f"{p} is out of date: run `python scripts/make_index.py`", file=sys.stderr)
        return 1 if bad else 0
    pages = generate()
    write(pages)
    for rel in pages:
        print(f"wrote {rel} and {rel.with_suffix('.ipynb')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
