"""The download that makes the book runnable (``_ext/run_archive.py``): what it holds, and that it
installs.

The extension writes ``nntheory-notebooks.zip`` at the root of every HTML build. Here it is built
from the repository into a temporary folder, so the test does not depend on a built book;
``make student`` checks the archive of a real build (``tests/test_student_edition.py``).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("run_archive", ROOT / "_ext" / "run_archive.py")
run_archive = importlib.util.module_from_spec(_spec)
sys.modules["run_archive"] = run_archive
_spec.loader.exec_module(run_archive)

TOP = run_archive.TOP


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    return run_archive.write_archive(ROOT, tmp_path_factory.mktemp("site") / "a.zip")


def _names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as zf:
        return zf.namelist()


def test_the_build_writes_the_archive():
    config = yaml.safe_load((ROOT / "book.yml").read_text(encoding="utf-8"))
    assert config["sphinx"]["local_extensions"].get("run_archive") == "_ext"
    assert (ROOT / "_ext" / "run_archive.py").is_file()


def test_archive_holds_setup_files_helpers_and_every_chapter(archive):
    names = set(_names(archive))
    for name in ("RUNNING.md", "README.md", "CITATION.cff", "pyproject.toml",
                 "requirements.txt", "requirements-nodeps.txt", "jupytext.toml",
                 "helpers/__init__.py", "helpers/config.py"):
        assert f"{TOP}/{name}" in names, name
    chapters = {p.relative_to(ROOT).as_posix() for p in (ROOT / "chapters").rglob("*")
                if p.suffix in (".md", ".ipynb") and ".ipynb_checkpoints" not in p.parts}
    helpers = {p.relative_to(ROOT).as_posix() for p in (ROOT / "helpers").rglob("*.py")
               if "__pycache__" not in p.parts}
    assert len(chapters) >= 100 and len(helpers) >= 20
    assert {f"{TOP}/{n}" for n in chapters | helpers} <= names
    assert not [n for n in names if "__pycache__" in n or "checkpoints" in n or n.endswith(".pyc")]
    assert all(n.startswith(TOP + "/") for n in names)


def test_archive_files_are_the_sources(archive):
    with zipfile.ZipFile(archive) as zf:
        for rel in ("requirements.txt", "helpers/train.py", "chapters/front/intro.ipynb"):
            assert zf.read(f"{TOP}/{rel}") == (ROOT / rel).read_bytes(), rel
        running = zf.read(f"{TOP}/RUNNING.md").decode()
    for step in ("python3.11 -m venv .venv", "pip install -r requirements.txt",
                 "pip install --no-deps -r requirements-nodeps.txt", "pip install --no-deps -e .",
                 "download.pytorch.org/whl/cpu", "jupyter lab"):
        assert step in running, step


def test_archive_is_reproducible(archive, tmp_path):
    again = run_archive.write_archive(ROOT, tmp_path / "b.zip")
    assert again.read_bytes() == archive.read_bytes()


def test_missing_required_file_is_an_error(tmp_path):
    (tmp_path / "helpers").mkdir()
    (tmp_path / "helpers" / "__init__.py").write_text("")
    with pytest.raises(run_archive.ArchiveError, match="RUNNING.md is missing"):
        run_archive.collect(tmp_path)
    for name in run_archive.ROOT_FILES:
        (tmp_path / name).write_text("x")
    with pytest.raises(run_archive.ArchiveError, match="no .ipynb/.md file under"):
        run_archive.collect(tmp_path)


@pytest.mark.slow
def test_unpacked_archive_installs_the_helpers_package(archive, tmp_path):
    """pip builds the helpers wheel from the unpacked archive (offline: no index, no isolation)."""
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(tmp_path)
    out = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-index",
                    "--no-build-isolation", "--wheel-dir", str(out), str(tmp_path / TOP)],
                   check=True, capture_output=True)
    (wheel,) = out.glob("nntheory_helpers-*.whl")
    assert "helpers/train.py" in _names(wheel)
