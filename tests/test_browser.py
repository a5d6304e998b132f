"""The rendered book, and a chapter in JupyterLab, in headless Chromium (Playwright).

The book's checks live in ``scripts/browser_check.py`` (its docstring lists them: JavaScript
errors, offline, math, raw TeX, images and figure scale, theorem boxes, folded cells, links,
layout at 1280 and 400 px, accessibility); the JupyterLab check in
``scripts/jupyterlab_check.py``. These tests run only under ``make browser`` (which sets
``BOOK_BROWSER=1`` and runs after ``make build``), because ``make unit`` runs before the book is
built. They skip when ``_build/html`` does not exist, and fail when Chromium is missing
(``apt-get install -y chromium``).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


browser_check = _load("browser_check")
jupyterlab_check = _load("jupyterlab_check")

pytestmark = pytest.mark.skipif(os.environ.get("BOOK_BROWSER") != "1",
                                reason="browser test: run `make browser` after `make build`")


def test_every_page_in_headless_chromium():
    if not (HTML / "index.html").is_file():
        pytest.skip(f"no built book at {HTML}: run `make build` first")
    assert browser_check.find_chromium(), "Chromium not found: apt-get install -y chromium"
    report = browser_check.check_book(HTML)
    print("\n" + report.summary())
    assert report.pages, "no page found"
    assert not report.problems, "\n".join(report.problems)


def test_a_chapter_in_jupyterlab_renders_its_theorem_boxes_and_widgets():
    """``.venv/bin/jupyter lab`` shows a chapter's ``{prf:...}`` directives as boxes (not raw
    ``:::{prf:theorem}`` text), resolves ``{prf:ref}`` inside the notebook, and draws an
    ipywidgets slider run in the book's kernel.

    Math macros are reported, not asserted: the macros cell that ``scripts/macros_cell.py``
    puts in every chapter defines them with ``\\newcommand``, which KaTeX (jupyterlab-myst's
    renderer) keeps inside one formula; see docs/jupyterlab.md.
    """
    assert browser_check.find_chromium(), "Chromium not found: apt-get install -y chromium"
    chapter = jupyterlab_check.CHAPTER
    result = jupyterlab_check.check(chapter, ROOT / "_build" / "screenshots" / "jupyterlab.png")
    print("\n" + "\n".join(f"{k}: {v}" for k, v in result.items()))
    md = (ROOT / chapter).with_suffix(".md").read_text(encoding="utf-8")
    assert browser_check.count_prf_directives(md) > 0
    assert result["proof_boxes"] > 0, "no {prf:...} directive rendered as a box"
    assert result["proof_titles"] and result["proof_titles"][0].split()[0] in {
        "Theorem", "Lemma", "Definition", "Assumption", "Proposition", "Corollary", "Proof"}
    assert result["raw_directives"] == 0, "raw {prf:...} text in a rendered markdown cell"
    assert result["prf_refs"] > 0, "no {prf:ref} resolved to a box of the notebook"
    assert result["widget"], "an ipywidgets slider did not render in JupyterLab"
