"""The rendered book in headless Chromium: every page, no JS error, offline, math, images, links.

The checks live in ``scripts/browser_check.py`` (its docstring lists them). This test runs only
under ``make browser`` (which sets ``BOOK_BROWSER=1`` and runs after ``make build``), because
``make unit`` runs before the book is built. It skips when ``_build/html`` does not exist, and
fails when Chromium is missing (``apt-get install -y chromium``).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
_spec = importlib.util.spec_from_file_location("browser_check",
                                               ROOT / "scripts" / "browser_check.py")
browser_check = importlib.util.module_from_spec(_spec)
sys.modules["browser_check"] = browser_check  # dataclasses look their module up there
_spec.loader.exec_module(browser_check)

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
