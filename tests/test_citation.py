"""How to cite the book, and how the book cites: CITATION.cff, the BibTeX entry, the changelog and
the links of references.bib agree and are well formed.

``CITATION.cff`` was validated against the CFF 1.2.0 schema with ``cffconvert --validate``; this
test keeps the fields that the book repeats in step (title, version, date), so that a release
updates all of them.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest
import yaml
from pybtex.database import parse_file

ROOT = Path(__file__).resolve().parents[1]
CFF = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
INTRO = (ROOT / "chapters" / "front" / "intro.md").read_text(encoding="utf-8")
CHANGELOG = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
BIB = parse_file(str(ROOT / "references.bib"))

_DOI = re.compile(r"^10\.\d{4,9}/\S+$")
_ARXIV = re.compile(r"^\d{4}\.\d{4,5}$")


def test_citation_cff_has_the_required_fields():
    assert CFF["cff-version"] == "1.2.0"
    assert CFF["message"] and CFF["title"] == "Why overparameterized networks are easy to train"
    assert CFF["authors"] == [{"name": "The nntheory book authors"}]
    assert re.fullmatch(r"\d+\.\d+\.\d+", str(CFF["version"]))
    assert isinstance(CFF["date-released"], datetime.date)
    assert CFF["preferred-citation"]["type"] == "book"


def test_bibtex_entry_and_changelog_carry_the_same_version():
    entry = re.search(r"```bibtex\n(@misc\{nntheory\d{4},.*?\n\})\n```", INTRO, re.S)
    assert entry, "the How to cite section must hold a @misc BibTeX entry"
    bibtex = entry.group(1)
    assert f"Version {CFF['version']}" in bibtex
    assert f"year         = {{{CFF['date-released'].year}}}" in bibtex
    assert "Why Overparameterized Networks Are Easy to Train" in bibtex
    assert CFF["version"] in CHANGELOG and "## Unreleased" in CHANGELOG


def test_the_changelog_page_includes_the_changelog():
    page = (ROOT / "chapters" / "back" / "changelog.md").read_text(encoding="utf-8")
    assert "```{include} ../../CHANGELOG.md" in page
    toc = (ROOT / "toc.yml").read_text(encoding="utf-8")
    assert "chapters/back/changelog" in toc and "chapters/back/instructor_guide" in toc


@pytest.mark.parametrize("key", sorted(BIB.entries), ids=str)
def test_reference_links_are_well_formed(key):
    fields = BIB.entries[key].fields
    if "doi" in fields:
        assert _DOI.match(fields["doi"]), fields["doi"]
    if "eprint" in fields:
        assert _ARXIV.match(fields["eprint"]), fields["eprint"]
    if "url" in fields:
        assert fields["url"].startswith(("https://", "http://")), fields["url"]


def test_the_four_papers_and_most_references_have_a_link():
    linked = [k for k, e in BIB.entries.items() if {"doi", "eprint", "url"} & set(e.fields)]
    for key in ("sankararaman2019confusion", "sankararaman2020confusion", "li2018learning",
                "oymak2020moderate", "allenzhu2019convergence"):
        assert key in linked, key
    assert len(linked) >= len(BIB.entries) - 1
