"""The student edition (``make student``): every exercise, no solution, anywhere a student looks.

The unit tests check the solution stripper on its own (they run in ``make unit``). The checks of
the built edition run only under ``make student`` (``BOOK_STUDENT=1``, after the build into
``_build/student/html``): for every solution block of the chapters, a distinctive run of its
words must be absent from every page of the edition, while the same kind of run taken from each
exercise must be present (so the search is known to find text that is there); no page carries a
solution box; and neither the page downloads (``_sources/``) nor ``nntheory-notebooks.zip``
hold a ``{solution}`` directive.
"""

from __future__ import annotations

import html
import importlib.util
import os
import re
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STUDENT = ROOT / "_build" / "student" / "html"
_spec = importlib.util.spec_from_file_location("student_edition",
                                               ROOT / "scripts" / "student_edition.py")
student_edition = importlib.util.module_from_spec(_spec)
sys.modules["student_edition"] = student_edition
_spec.loader.exec_module(student_edition)

built = pytest.mark.skipif(os.environ.get("BOOK_STUDENT") != "1",
                           reason="student edition: run `make student`")

_BLOCK = re.compile(r"^(`{3,}|:{3,})\{(exercise|solution)\}[^\n]*\n(.*?)^\1[ \t]*$", re.S | re.M)
_TOKEN = re.compile(r"^[A-Za-z][A-Za-z-]*[,.;:]?$")


# ------------------------------------------------------------------------------ the stripper

def test_strip_removes_each_solution_and_keeps_the_rest():
    text = ("Intro.\n\n```{exercise}\n:label: ex\n\nDo it.\n```\n\n"
            "````{solution} ex\n:class: dropdown\n\nAnswer with code:\n\n```python\nx = 1\n```\n"
            "````\n\nAfter.\n\n:::{solution} ex\nSecond answer.\n:::\nEnd.\n")
    out, count = student_edition.strip_solutions(text)
    assert count == 2
    assert out == "Intro.\n\n```{exercise}\n:label: ex\n\nDo it.\n```\n\nAfter.\n\nEnd.\n"
    assert student_edition.strip_solutions(out) == (out, 0)


def test_strip_refuses_an_unclosed_block():
    with pytest.raises(student_edition.SolutionError, match="never closes"):
        student_edition.strip_solutions("```{solution} ex\nno end\n``\n")


def test_student_config_hides_solutions_and_launch_buttons():
    config = {"html": {"use_repository_button": True}, "repository": {"url": "x"},
              "launch_buttons": {"binderhub_url": "https://mybinder.org", "thebe": True},
              "sphinx": {"config": {"numfig": True}}}
    out = student_edition.student_config(config)
    assert out["sphinx"]["config"] == {"numfig": True, "hide_solutions": True}
    assert "repository" not in out and "binderhub_url" not in out["launch_buttons"]
    assert out["html"]["announcement"] == student_edition.BANNER
    assert config["repository"] == {"url": "x"}, "the input must not change"


# ------------------------------------------------------------------------- the built edition

def _plain(fragment: str) -> str:
    """Runs of at least six plain words (no math, markup or quotes), longest first."""
    fragment = re.sub(r"\$\$.*?\$\$|\$[^$]*\$|`[^`]*`|\{[^}]*\}|\[[^\]]*\]\([^)]*\)", " | ",
                      fragment, flags=re.S)
    runs, run = [], []
    for token in fragment.split():
        if _TOKEN.match(token):
            run.append(token)
        else:
            runs.append(run)
            run = []
    runs.append(run)
    return " ".join(max(runs, key=len)) if max(map(len, runs)) >= 6 else ""


def _blocks() -> dict[str, list[tuple[str, str]]]:
    """``{chapter: [(kind, distinctive words)]}`` for the exercises and solutions of the book."""
    out = {}
    for md in sorted((ROOT / "chapters").rglob("*.md")):
        found = []
        for match in _BLOCK.finditer(md.read_text(encoding="utf-8")):
            body = re.sub(r"^:[a-z-]+:.*$", "", match.group(3), flags=re.M)
            words = _plain(body)
            if words:
                found.append((match.group(2), words))
        if found:
            out[md.relative_to(ROOT).with_suffix(".html").as_posix()] = found
    return out


def _text(page: Path) -> str:
    body = re.sub(r"<script.*?</script>|<style.*?</style>", " ", page.read_text(encoding="utf-8"),
                  flags=re.S)
    text = html.unescape(re.sub(r"<[^>]+>", " ", body))
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    return " ".join(text.split())


@pytest.fixture(scope="module")
def edition() -> Path:
    if not (STUDENT / "index.html").is_file():
        pytest.fail(f"no student edition at {STUDENT}: run `make student`")
    return STUDENT


@built
def test_no_solution_text_and_every_exercise(edition):
    blocks = _blocks()
    solutions = [words for found in blocks.values() for kind, words in found if kind == "solution"]
    assert len(solutions) >= 60, "too few solutions with a distinctive run of words"
    pages = {p.relative_to(edition).as_posix(): _text(p) for p in edition.rglob("*.html")
             if "_static" not in p.parts}
    everything = "\n".join(pages.values())
    leaked = [words for words in solutions if words in everything]
    assert not leaked, f"solution text in the student edition: {leaked[:5]}"
    for page, found in blocks.items():
        for kind, words in found:
            if kind == "exercise":
                assert words in pages[page], f"{page}: exercise text missing: {words!r}"


@built
def test_no_solution_boxes_downloads_or_archive_entries(edition):
    boxes = [p.name for p in edition.rglob("*.html") if 'class="solution' in p.read_text("utf-8")]
    assert not boxes, f"solution boxes in {boxes}"
    # one box per exercise: its outer div (the inner "exercise-content" div is not counted)
    exercises = sum(p.read_text("utf-8").count('class="exercise admonition')
                    for p in edition.rglob("*.html"))
    sources = sum(len(found) for found in _blocks().values())
    assert exercises >= 70 and exercises <= sources
    downloads = [p for p in (edition / "_sources").rglob("*")
                 if p.is_file() and "{solution" in p.read_text("utf-8", errors="replace")]
    assert not downloads, f"solutions in page downloads: {downloads[:5]}"
    with zipfile.ZipFile(edition / "nntheory-notebooks.zip") as zf:
        chapters = [n for n in zf.namelist() if n.endswith((".md", ".ipynb"))]
        assert len(chapters) >= 100
        leaked = [n for n in chapters if b"{solution" in zf.read(n)]
    assert not leaked, f"solutions in the archive: {leaked[:5]}"


@built
def test_edition_says_what_it_is(edition):
    intro = (edition / "chapters" / "front" / "intro.html").read_text(encoding="utf-8")
    assert "Student edition" in intro
    assert "mybinder" not in intro and "colab.research" not in intro
