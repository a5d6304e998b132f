"""Open a chapter in JupyterLab (with jupyterlab-myst) in headless Chromium: what a reader sees.

Usage::

    python scripts/jupyterlab_check.py [--screenshot docs/jupyterlab_gc_02.png] [NOTEBOOK]

It starts ``.venv/bin/jupyter lab`` on 127.0.0.1 (a free port, a random token, a throw-away
configuration directory: no user settings, no restored workspace, the news announcements
plugin disabled), opens ``NOTEBOOK`` (default ``CHAPTER``) and waits until jupyterlab-myst has
rendered its markdown cells, then reports:

* ``proof_boxes``: theorem-like boxes (``aside.myst-proof``: sphinx-proof's ``{prf:...}``
  directives as mystmd renders them), ``admonitions``, ``exercises``;
* ``raw_directives``: rendered markdown cells that still show ``:::{prf:`` or ``{prf:ref}``
  text (a directive jupyterlab-myst did not understand);
* ``prf_refs``: ``{prf:ref}`` links that resolved to a box of the same notebook;
* ``math`` and ``math_errors``: KaTeX formulas, and those KaTeX could not render (an undefined
  macro, ``\\newcommand`` of a macro KaTeX already has);
* ``unresolved``: cross-references and citations that jupyterlab-myst could not resolve inside
  the notebook (other chapters, the bibliography): they show as plain labels;
* ``extension_errors``: JupyterLab extensions that failed to load (console errors);
* ``widget``: whether an ``ipywidgets.IntSlider`` displayed by a kernel renders as a slider
  (a scratch notebook under ``_build/jupyterlab/``, run in the book's kernel).

``tests/test_browser.py`` runs it under ``make browser``. Chromium resolves nothing but
127.0.0.1, as in ``scripts/browser_check.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = "chapters/part1_gradient_confusion/gc_02_convergence.ipynb"
SCRATCH = ROOT / "_build" / "jupyterlab"
sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser_check import find_chromium, launch  # noqa: E402

WIDGET_NOTEBOOK = {
    "cells": [{"cell_type": "code", "execution_count": None, "id": "slider", "metadata": {},
               "outputs": [], "source": "import ipywidgets\nipywidgets.IntSlider(value=3, "
                                        "max=10, description='width')"}],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                "name": "python3"}},
    "nbformat": 4, "nbformat_minor": 5,
}

# Runs in JupyterLab's page: what the rendered notebook shows.
PROBE = r"""
() => {
  const md = Array.from(document.querySelectorAll(".jp-MarkdownCell .myst"));
  const boxes = Array.from(document.querySelectorAll("aside.myst-proof"));
  const ids = new Set(boxes.map((b) => b.id).filter(Boolean));
  const refs = Array.from(document.querySelectorAll(".jp-MarkdownCell .myst a[href^='#']"))
    .filter((a) => ids.has(a.getAttribute("href").slice(1)));
  // KaTeX's parse errors: the formula is shown as source, the message in its title
  const katexError = /at position \d+|attempting to redefine/;
  const errors = Array.from(document.querySelectorAll(".jp-MarkdownCell .myst [title]"))
    .map((e) => e.getAttribute("title")).filter((t) => katexError.test(t));
  const undefinedMacros = new Set();
  for (const t of errors) {
    const m = t.match(/Undefined control sequence: (\\[A-Za-z]+)/);
    if (m) undefinedMacros.add(m[1]);
  }
  // references and citations jupyterlab-myst could not resolve in the notebook: shown as the
  // bare label with a warning icon
  const flagged = document.querySelectorAll(".jp-MarkdownCell .myst .text-yellow-600");
  const unresolved = Array.from(flagged)
    .filter((e) => !katexError.test(e.getAttribute("title") || ""))
    .map((e) => e.textContent.trim().slice(0, 60));
  return {
    unresolved: Array.from(new Set(unresolved)).sort(),
    markdown_cells: md.length,
    proof_boxes: boxes.length,
    proof_titles: boxes.slice(0, 3).map((b) => (b.querySelector(".myst-proof-title") ||
                                                 b).textContent.trim().slice(0, 80)),
    admonitions: document.querySelectorAll(".jp-MarkdownCell .myst-admonition").length,
    exercises: document.querySelectorAll(".jp-MarkdownCell .myst-exercise").length,
    raw_directives: md.filter((e) => /:::\s*\{prf:|\{prf:ref\}/.test(e.textContent)).length,
    prf_refs: refs.length,
    math: document.querySelectorAll(".jp-MarkdownCell .myst .katex").length,
    math_errors: errors.length,
    math_error_examples: errors.slice(0, 3).map((t) => t.slice(0, 80)),
    undefined_macros: Array.from(undefinedMacros).sort(),
  };
}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def jupyterlab(root: Path = ROOT, timeout: float = 120.0):
    """A JupyterLab server on 127.0.0.1 for ``root``; yields its base URL with the token."""
    jupyter = root / ".venv" / "bin" / "jupyter"
    if not jupyter.exists():
        jupyter = Path(shutil.which("jupyter") or "jupyter")
    cfg = Path(tempfile.mkdtemp(prefix="book-jupyterlab-"))
    (cfg / "labconfig").mkdir()
    (cfg / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(cfg), JUPYTER_RUNTIME_DIR=str(cfg / "runtime"),
               JUPYTERLAB_WORKSPACES_DIR=str(cfg / "workspaces"))
    log = open(cfg / "jupyterlab.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [str(jupyter), "lab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", f"--ServerApp.token={token}",
         f"--ServerApp.root_dir={root}", "--LabApp.news_url=None",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("JupyterLab did not start: "
                                       + (cfg / "jupyterlab.log").read_text()[-2000:]) from None
                time.sleep(0.5)
        yield base, token
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(cfg, ignore_errors=True)


def check(notebook: str = CHAPTER, screenshot: Path | None = None,
          scroll_to: str | None = "aside.myst-proof", widget: bool = True,
          binary: str | None = None) -> dict:
    """Open ``notebook`` (relative to the repository) in JupyterLab and report what renders."""
    from playwright.sync_api import sync_playwright

    binary = binary or find_chromium()
    if binary is None:
        raise FileNotFoundError("Chromium not found: apt-get install -y chromium")
    result: dict = {"notebook": notebook}
    with jupyterlab() as (base, token), sync_playwright() as pw:
        browser = launch(pw, binary)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            t0 = time.monotonic()
            page.goto(f"{base}/doc/tree/{notebook}?token={token}")
            page.wait_for_selector(".jp-MarkdownCell .myst", timeout=90000)
            # jupyterlab-myst renders every markdown cell, then resolves references across
            # them: wait until the number of theorem boxes stops changing
            last, stable = -1, 0
            while stable < 3 and time.monotonic() - t0 < 90:
                page.wait_for_timeout(1000)
                n = page.evaluate("document.querySelectorAll('aside.myst-proof, .katex').length")
                stable = stable + 1 if n == last else 0
                last = n
            result.update(page.evaluate(PROBE))
            result["seconds_to_render"] = round(time.monotonic() - t0, 1)
            result["extension_errors"] = sorted({e[:160] for e in errors
                                                 if "shared module" in e or "Failed to" in e})
            if screenshot is not None:
                if scroll_to:
                    page.evaluate("(s) => { const e = document.querySelector(s);"
                                  " if (e) e.scrollIntoView({block: 'start'}); }", scroll_to)
                    page.wait_for_timeout(1500)
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(screenshot))
                result["screenshot"] = str(screenshot)
            if widget:
                result["widget"] = _widget_renders(page, base, token)
        finally:
            browser.close()
    return result


def _widget_renders(page, base: str, token: str) -> bool:
    """Run a cell that displays an ipywidgets slider; True when the slider is drawn."""
    SCRATCH.mkdir(parents=True, exist_ok=True)
    path = SCRATCH / "widget_check.ipynb"
    path.write_text(json.dumps(WIDGET_NOTEBOOK, indent=1))
    rel = path.relative_to(ROOT).as_posix()
    page.goto(f"{base}/doc/tree/{rel}?token={token}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60000)
    # the kernel must be up before the cell runs: the status bar reads "... | Idle"
    page.wait_for_function("() => /\\|\\s*Idle/.test(document.body.innerText)",
                           timeout=120000)
    for _ in range(2):  # a run sent while the kernel connects can be dropped: try twice
        page.click(".jp-Cell .jp-InputArea-editor")
        page.keyboard.press("Shift+Enter")
        try:
            page.wait_for_selector(".jp-OutputArea .widget-slider", timeout=60000)
            return True
        except Exception:  # noqa: BLE001 (Playwright's TimeoutError)
            page.screenshot(path=str(SCRATCH / "widget_check.png"))
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebook", nargs="?", default=CHAPTER)
    parser.add_argument("--screenshot", type=Path)
    parser.add_argument("--no-widget", action="store_true")
    args = parser.parse_args(argv)
    result = check(args.notebook, args.screenshot, widget=not args.no_widget)
    print(json.dumps(result, indent=1))
    ok = result["proof_boxes"] > 0 and not result["raw_directives"]
    return 0 if ok and result.get("widget", True) else 1


if __name__ == "__main__":
    sys.exit(main())
