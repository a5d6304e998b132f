"""The whole book as one PDF (``make pdf``): it exists, is the whole book, and its math is typeset.

Runs only under ``make pdf`` (``BOOK_PDF=1``), after ``scripts/print_pdf.py`` has written
``_build/pdf/book.pdf`` and its report ``book.json``. Reads the PDF with poppler-utils
(``pdfinfo``, ``pdftotext``, ``pdffonts``; Debian: ``apt-get install poppler-utils``).

"Typeset" is checked three ways: MathJax typeset every formula without error before printing
(the report); the PDF embeds MathJax's fonts (Type 3 fonts, as Chromium embeds web fonts); and
its text has no raw TeX: a command such as ``\\frac`` or ``\\mathbb`` occurs no more often than
in the code of the notebooks (axis labels in code cells are TeX strings, and the notation chapter
lists the macros as code), and ``$$`` not at all.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
PDF = ROOT / "_build" / "pdf" / "book.pdf"

pytestmark = pytest.mark.skipif(os.environ.get("BOOK_PDF") != "1",
                                reason="PDF test: run `make pdf`")

COMMANDS = ("\\frac", "\\mathbb", "\\mathbf", "\\mathcal", "\\sum", "\\left", "\\right",
            "\\norm", "\\inner", "\\grad", "\\begin", "\\operatorname", "\\lVert", "\\sqrt",
            "\\le", "\\ge")


def _run(*args: str) -> str:
    if not shutil.which(args[0]):
        pytest.fail(f"{args[0]} not found: apt-get install poppler-utils")
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def text() -> str:
    if not PDF.is_file():
        pytest.fail(f"no PDF at {PDF}: run `make pdf`")
    return _run("pdftotext", "-enc", "UTF-8", str(PDF), "-")


def _code_text() -> str:
    """Every piece of code in the notebooks: code cells with their text outputs, and the code
    spans and fenced code blocks of the markdown cells (the notation chapter lists the macros
    as code, for instance)."""
    parts = []
    for ipynb in sorted((ROOT / "chapters").rglob("*.ipynb")):
        for cell in nbformat.read(ipynb, as_version=4).cells:
            if cell.cell_type == "markdown":
                if "remove-cell" not in cell.metadata.get("tags", []):
                    parts += re.findall(r"^```+[^{\n]*\n.*?^```+", cell.source, re.S | re.M)
                    parts += re.findall(r"`[^`\n]+`", cell.source)
                continue
            parts.append(cell.source)
            for out in cell.get("outputs", []):
                parts.append(out.get("text", "") if isinstance(out.get("text", ""), str) else "")
                parts.append(str(out.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


def test_pdf_has_a_plausible_number_of_pages():
    info = _run("pdfinfo", str(PDF))
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    report = json.loads(PDF.with_suffix(".json").read_text(encoding="utf-8"))
    assert report["pages"] == pages
    assert 300 <= pages <= 1500, f"{pages} pages"
    assert "A4" in info


def test_pdf_is_the_whole_book(text):
    for title in ("Why overparameterized networks are easy to train",
                  "Notation and the four models", "Gradient confusion and SGD: overview",
                  "SGD on structured data: overview",
                  "Moderate overparameterization: overview",
                  "Convergence theory for deep networks: overview", "Synthesis", "Bibliography",
                  "Instructor's guide", "Changelog"):
        assert title in text.replace("\u2019", "'"), f"missing: {title}"
    report = json.loads(PDF.with_suffix(".json").read_text(encoding="utf-8"))
    assert report["images"] >= 60, report["images"]
    images = ROOT / "_build" / "pdf" / "_build" / "singlehtml" / "_images"
    figures = len(list(images.glob("*.png")))
    assert report["images"] >= figures - 5


def test_math_is_typeset_not_raw_tex(text):
    report = json.loads(PDF.with_suffix(".json").read_text(encoding="utf-8"))
    assert report["containers"] >= 5000 and report["errors"] == 0 and report["untypeset"] == 0
    assert not report["raw_tex"], f"raw TeX in the prose: {report['raw_tex'][:5]}"
    fonts = _run("pdffonts", str(PDF))
    assert len(re.findall(r"Type 3", fonts)) >= 5, "no MathJax (Type 3) fonts embedded"
    assert "$$" not in text
    code = _code_text()
    for command in COMMANDS:
        pattern = re.escape(command) + r"(?![A-Za-z])"
        in_pdf, in_code = len(re.findall(pattern, text)), len(re.findall(pattern, code))
        assert in_pdf <= in_code, f"{command}: {in_pdf} in the PDF, {in_code} in code cells"
    for symbol in ("∑", "≤", "∈", "⊤", "η", "‖"):
        assert text.count(symbol) >= 50, f"typeset symbol {symbol} occurs {text.count(symbol)}x"
