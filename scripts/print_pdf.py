"""Print the whole book to one PDF, offline: a single-page HTML build printed by headless Chromium.

Usage::

    python scripts/print_pdf.py [--out _build/pdf/book.pdf] [--config book.yml] [--no-build]
    python scripts/print_pdf.py --source _build/student/src --out _build/student/book.pdf
                                # the student edition, after `make student`

``make pdf`` runs it and then checks the result (``tests/test_pdf.py``). Three steps:

1. ``jupyter-book build --builder singlehtml`` (``-W``, like the website) writes the whole book as
   one HTML page into ``_build/pdf/_build/singlehtml``;
2. the page is served on 127.0.0.1 (an ephemeral port) and loaded in the system's Chromium,
   driven by Playwright (``executable_path``: Playwright downloads no browser). Chromium resolves
   no host name but 127.0.0.1, so nothing can be fetched from the network. The script waits for
   MathJax to finish typesetting (``MathJax.startup.promise``) and refuses to print if a formula
   failed (``mjx-merror``) or was left untypeset, waits for every image, opens every folded
   block (solutions and hidden code are printed), and hides what only makes sense on screen (the
   "Run this notebook" notes, buttons);
3. Chromium prints it: A4 at 78 % of the screen size (the website's type is large for paper),
   long code lines wrapped, every chapter on a new page, page numbers in the footer and a PDF
   outline (bookmarks) from the headings. ``book.json`` next to the PDF records what was
   checked: pages, formulas, images, and any raw TeX or stray ``$`` left in the prose outside
   code and math (printed as warnings).

Why not LaTeX: ``jupyter-book build --builder pdflatex`` needs TeX Live (on Debian 12,
texlive-latex-extra, texlive-xetex for the book's Unicode, texlive-fonts-recommended and
latexmk: 27 packages and 340 MB installed, 690 MB with their recommended packages), the book's
MathJax macros duplicated as LaTeX, and LaTeX output for the sphinx-proof and sphinx-exercise
boxes and the notebooks' HTML outputs; Chromium is already what the browser check of the
website uses. The formulas are therefore typeset by the same MathJax
(CommonHTML output, its own fonts embedded in the PDF) as on the website.

Chromium is found as in the browser check: ``$BOOK_CHROMIUM``, else ``chromium``,
``chromium-browser``, ``google-chrome`` or ``google-chrome-stable`` on the ``PATH`` (Debian:
``apt-get install chromium``).
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "_build" / "pdf" / "book.pdf"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]

#: Print-only CSS: no screen furniture, no page-wide boxes split oddly, notes for Jupyter hidden.
PRINT_CSS = """
.run-this-notebook, .header-article, .bd-header, .bd-sidebar-primary, .bd-sidebar-secondary,
.prev-next-area, .bd-footer, .bd-footer-article, .toggle-button, .headerlink,
.copybtn, .bd-search, .skip-link, #pst-back-to-top { display: none !important; }
.bd-main .bd-content .bd-article-container { max-width: 100% !important; }
.bd-page-width { max-width: 100% !important; }
.toggle-hidden { display: block !important; visibility: visible !important;
                 height: auto !important; }
pre, pre span { white-space: pre-wrap !important; word-break: break-word; }
div.highlight, div.cell_output, .output { overflow: visible !important; }
div.cell_output img, figure img { max-width: 100% !important; page-break-inside: avoid; }
h1 { page-break-before: always; }
h1:first-of-type { page-break-before: avoid; }
h2, h3 { page-break-after: avoid; }
"""

FOOTER = ('<div style="font-size:8px;width:100%;text-align:center;color:#555;">'
          '<span class="pageNumber"></span> / <span class="totalPages"></span></div>')

PREPARE_JS = """
async () => {
  document.querySelectorAll('img[loading="lazy"]').forEach(img => img.loading = 'eager');
  window.dispatchEvent(new Event('beforeprint'));
  document.querySelectorAll('.toggle-hidden').forEach(e => e.classList.remove('toggle-hidden'));
  document.querySelectorAll('details').forEach(d => d.open = true);
  await Promise.all(Array.from(document.images).map(img => img.complete ? null :
      new Promise(done => { img.onload = img.onerror = done; })));
  const broken = Array.from(document.images).filter(img => img.naturalWidth === 0)
      .map(img => img.src);
  return {images: document.images.length, broken: broken};
}
"""

MATH_JS = r"""
async () => {
  if (!window.MathJax || !MathJax.startup) { return {error: 'MathJax did not load'}; }
  await MathJax.startup.promise;
  const math = document.querySelectorAll('.math');
  const untypeset = Array.from(math).filter(e => !e.querySelector('mjx-container')).length;
  // Raw TeX left in the prose (outside code and typeset math): a command or a stray dollar.
  const skip = 'pre, code, script, style, mjx-container, .highlight, .math';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const rawTex = [], strayDollars = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.parentElement.closest(skip)) { continue; }
    const text = node.textContent;
    const section = node.parentElement.closest('section');
    const where = section ? section.id : '';
    for (const m of text.matchAll(/\\[A-Za-z]+|\$/g)) {
      const item = where + ': ' + text.slice(Math.max(0, m.index - 40), m.index + 40);
      (m[0] === '$' ? strayDollars : rawTex).push(item.replace(/\s+/g, ' '));
    }
  }
  return {math: math.length, containers: document.querySelectorAll('mjx-container').length,
          errors: document.querySelectorAll('mjx-merror').length, untypeset: untypeset,
          raw_tex: rawTex, stray_dollars: strayDollars};
}
"""


def find_chromium() -> str | None:
    """The Chromium binary: $BOOK_CHROMIUM, else the first of CHROMIUM_NAMES on the PATH."""
    if os.environ.get("BOOK_CHROMIUM"):
        return os.environ["BOOK_CHROMIUM"]
    return next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)


def build_singlehtml(source: Path, config: Path, dest: Path) -> Path:
    """``jupyter-book build --builder singlehtml`` of ``source`` into ``dest``; its output."""
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    subprocess.run([str(jupyter_book), "build", str(source), "--all", "--builder", "singlehtml",
                    "--path-output", str(dest), "--config", str(config),
                    "--toc", str(source / "toc.yml"), "-W", "--keep-going"], check=True)
    return dest / "_build" / "singlehtml"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def entry_page(folder: Path) -> str:
    """The single page, copied to ``book.html`` at the root of the build.

    Sphinx writes the single page under the root document's name (``chapters/front/intro.html``,
    behind Jupyter Book's redirecting ``index.html``) but with every link relative to the root
    of the build, so it only works when it sits there.
    """
    index = (folder / "index.html").read_text(encoding="utf-8")
    match = re.search(r'http-equiv="Refresh" content="0; url=([^"]+)"', index, re.I)
    page = folder / (match.group(1) if match else "index.html")
    shutil.copyfile(page, folder / "book.html")
    return "book.html"


def serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve ``folder`` on 127.0.0.1 (an ephemeral port); the server and the page's URL."""
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/{entry_page(folder)}"


def print_pdf(url: str, out: Path, chromium: str, timeout_s: float = 600) -> dict:
    """Load ``url``, wait for MathJax and the images, print to ``out``; what was checked."""
    from playwright.sync_api import sync_playwright

    out.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1100, "height": 1400})
        page.set_default_timeout(timeout_s * 1000)
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(url, wait_until="load")
        math = page.evaluate(MATH_JS)
        if math.get("error") or math["errors"] or math["untypeset"] or not math["math"]:
            raise RuntimeError(f"MathJax did not typeset the book: {math}")
        images = page.evaluate(PREPARE_JS)
        if images["broken"]:
            raise RuntimeError(f"images that did not load: {images['broken'][:5]}")
        page.add_style_tag(content=PRINT_CSS)
        page.emulate_media(media="print")
        page.wait_for_timeout(500)
        page.pdf(path=str(out), format="A4", scale=0.78, print_background=True, outline=True,
                 display_header_footer=True, header_template="<span></span>",
                 footer_template=FOOTER,
                 margin={"top": "16mm", "bottom": "18mm", "left": "14mm", "right": "14mm"})
        browser.close()
    if errors:
        raise RuntimeError(f"JavaScript errors while printing: {errors[:5]}")
    return {**math, **images}


def page_count(pdf: Path) -> int:
    """Pages of a PDF written by Chromium (one ``/Type /Page`` object per page)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf.read_bytes()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--source", type=Path, default=ROOT,
                        help="the book's source folder (the student edition: _build/student/src)")
    parser.add_argument("--config", type=Path, default=None,
                        help="the configuration (default: book.yml in the source folder)")
    parser.add_argument("--no-build", action="store_true",
                        help="print the existing single-page build")
    args = parser.parse_args(argv)
    chromium = find_chromium()
    if not chromium:
        print("print_pdf: Chromium not found (apt-get install chromium, or set BOOK_CHROMIUM)",
              file=sys.stderr)
        return 2
    start = time.perf_counter()
    folder = args.out.parent / "_build" / "singlehtml"
    if not args.no_build:
        config = args.config or args.source / "book.yml"
        folder = build_singlehtml(args.source.resolve(), config.resolve(),
                                  args.out.parent.resolve())
    built = time.perf_counter()
    server, url = serve(folder)
    try:
        checked = print_pdf(url, args.out, chromium)
    finally:
        server.shutdown()
    size = args.out.stat().st_size / 2**20
    report = {"pages": page_count(args.out), **checked}
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    for kind in ("raw_tex", "stray_dollars"):
        for item in checked[kind][:20]:
            print(f"print_pdf: warning: {kind.replace('_', ' ')} in the prose of {item}")
    print(f"print_pdf: {args.out} ({page_count(args.out)} pages, {size:.1f} MiB); "
          f"{checked['containers']} formulas typeset by MathJax, {checked['images']} images; "
          f"build {built - start:.0f} s, print {time.perf_counter() - built:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
