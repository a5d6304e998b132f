"""Load every page of the built book in headless Chromium and check what a reader would see.

Usage::

    python scripts/browser_check.py [_build/html] [--screenshots _build/screenshots]

``make browser`` runs it through ``tests/test_browser.py`` after ``make build``. The built HTML
is served on 127.0.0.1 (an ephemeral port, ``http.server`` in a thread) and every ``*.html``
page (outside ``_static/`` and ``_sources/``) is loaded in headless Chromium, driven over the
Chrome DevTools Protocol through ``--remote-debugging-pipe`` (file descriptors 3 and 4, one JSON
message per NUL-terminated record): no Python dependency beyond the standard library, no
chromedriver. Chromium's host resolver maps every name except 127.0.0.1 to "not found", so the
check never reaches the network even when a page tries to.

For each page it asserts:

* no JavaScript error: no uncaught exception, no ``console.error``, no error in the browser log
  (which includes resources that failed to load);
* every request goes to 127.0.0.1 (or is a ``data:``/``blob:``/``about:`` URL) and none fails
  or answers with an HTTP status >= 400;
* math is typeset: every ``.math`` element holds an ``mjx-container``, MathJax reported no error
  (``mjx-merror``) and no raw ``$$`` is left in the text outside code;
* every ``<img>`` loaded (``naturalWidth > 0``, lazy images are forced to load first);
* the number of sphinx-proof boxes (``div.proof.admonition``) equals the number of ``{prf:...}``
  directives in the page's MyST source (``chapters/<part>/<name>.md``);
* every internal link resolves: the file exists and its ``#fragment`` is an id of the target page
  (ids from the rendered DOM for pages visited, from the HTML text otherwise).

A few key pages are saved as PNG screenshots (``SCREENSHOTS``). The exit status is 1 if any
check fails, 2 if the book is not built or Chromium is missing.
"""

from __future__ import annotations

import argparse
import functools
import html
import http.server
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from base64 import b64decode
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
HTML_ROOT = ROOT / "_build" / "html"
SCREENSHOT_DIR = ROOT / "_build" / "screenshots"

#: (page relative to the HTML root, CSS selector scrolled into view first or None, file name)
SCREENSHOTS = [
    ("chapters/front/intro.html", None, "intro.png"),
    ("chapters/front/tools_sgd.html", None, "tools_sgd.png"),
    ("chapters/part2_li_liang/overview.html", None, "part2_overview.png"),
    ("chapters/part2_li_liang/ll_03_general_case.html", "div.proof.admonition",
     "ll_03_theorem_boxes.png"),
    ("chapters/part2_li_liang/ll_fig_synthetic.html", "img", "ll_04_figure.png"),
    ("chapters/back/theorem_index.html", None, "theorem_index.png"),
]

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
    "--window-size=1280,900", "--remote-debugging-pipe",
    # Nothing but the local server can be resolved: an external request fails fast (and is
    # still reported by the Network domain, which is what the check looks at).
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]

PRF_DIRECTIVE = re.compile(r"^\s*(`{3,}|:{3,})\s*\{prf:([a-z]+)\}")
CODE_CELL = re.compile(r"^\s*(`{3,})\s*\{code-cell\}")

# Runs in the page once it has loaded: wait for MathJax and for every image, then report.
PAGE_PROBE = r"""
(async () => {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const hasMathJaxScript = !!document.querySelector('script[src*="mathjax"]');
  for (let i = 0; hasMathJaxScript && i < 200; i++) {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) break;
    await sleep(50);
  }
  let mathjax = "absent";
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    try { await MathJax.startup.promise; mathjax = "ready"; }
    catch (e) { mathjax = "failed: " + e; }
  } else if (hasMathJaxScript) {
    mathjax = "script present but MathJax never started";
  }
  const imgs = Array.from(document.images);
  imgs.forEach((img) => { img.loading = "eager"; });
  await Promise.all(imgs.map((img) => (img.complete && img.naturalWidth > 0) ? null :
    new Promise((r) => { img.addEventListener("load", r); img.addEventListener("error", r);
                         setTimeout(r, 10000); })));
  const skip = new Set(["PRE", "CODE", "SCRIPT", "STYLE", "TEXTAREA", "MJX-ASSISTIVE-MML"]);
  const raw = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
    acceptNode(node) {
      for (let e = node.parentElement; e; e = e.parentElement) {
        if (skip.has(e.tagName)) return NodeFilter.FILTER_REJECT;
      }
      return NodeFilter.FILTER_ACCEPT;
    }});
  while (walker.nextNode()) {
    const t = walker.currentNode.nodeValue;
    if (t.includes("$$") || /\\begin\{/.test(t)) raw.push(t.trim().slice(0, 80));
  }
  const mathEls = Array.from(document.querySelectorAll(".math"));
  return JSON.stringify({
    href: location.href,
    title: document.title,
    mathjax: mathjax,
    math: mathEls.length,
    mathUntypeset: mathEls.filter((e) => !e.querySelector("mjx-container"))
                          .map((e) => e.textContent.trim().slice(0, 60)),
    mjx: document.querySelectorAll("mjx-container").length,
    merror: Array.from(document.querySelectorAll("mjx-merror"))
                 .map((e) => (e.getAttribute("data-mjx-error") || e.textContent).slice(0, 80)),
    raw: raw,
    images: imgs.map((img) => ({src: img.currentSrc || img.src, w: img.naturalWidth})),
    proofBoxes: document.querySelectorAll("div.proof.admonition").length,
    links: Array.from(document.querySelectorAll("a[href]")).map((a) => a.href),
    ids: Array.from(document.querySelectorAll("[id]")).map((e) => e.id)
           .concat(Array.from(document.querySelectorAll("a[name]")).map((a) => a.name)),
  });
})()
"""


# --------------------------------------------------------------------------- static helpers


def count_prf_directives(md_text: str) -> int:
    """Number of ``{prf:...}`` directive openers in a MyST source, outside code cells."""
    count, fence = 0, None
    for line in md_text.splitlines():
        if fence is not None:
            if line.strip() == fence:
                fence = None
            continue
        m = CODE_CELL.match(line)
        if m:
            fence = m.group(1)
            continue
        if PRF_DIRECTIVE.match(line):
            count += 1
    return count


def html_ids(text: str) -> set[str]:
    """Element ids (and ``<a name=...>``) in an HTML document, read without a browser."""
    found = re.findall(r"""\s(?:id|name)\s*=\s*["']([^"']+)["']""", text)
    return {html.unescape(x) for x in found}


def list_pages(root: Path) -> list[str]:
    """Every HTML page of the book, relative to ``root``, sorted."""
    skip = {"_static", "_sources", "_images"}
    return sorted(
        p.relative_to(root).as_posix() for p in root.rglob("*.html")
        if not (set(p.relative_to(root).parts) & skip)
    )


def redirect_target(text: str) -> str | None:
    """Target of a ``<meta http-equiv="refresh">`` page, or None."""
    m = re.search(r"""http-equiv=["']refresh["'][^>]*url=([^"'>\s]+)""", text, re.I)
    return m.group(1) if m else None


def link_problems(links: dict[str, list[str]], ids: dict[str, set[str]], root: Path,
                  origin: str) -> list[tuple[str, str]]:
    """Internal links that do not resolve: ``(page, message)`` pairs.

    ``links`` maps a page to the absolute URLs of its ``<a href>``; ``ids`` maps pages already
    seen in the browser to their element ids (other targets are read from disk).
    """
    problems: list[tuple[str, str]] = []
    cache: dict[str, set[str]] = dict(ids)
    for page, hrefs in links.items():
        for href in sorted(set(hrefs)):
            if not href.startswith(origin + "/"):
                continue
            parts = urlsplit(href)
            rel = unquote(parts.path).lstrip("/")
            if rel == "" or rel.endswith("/"):
                rel += "index.html"
            target = root / rel
            if not target.is_file():
                problems.append((page, f"broken link {href[len(origin):]}: no file {rel}"))
                continue
            frag = unquote(parts.fragment)
            if not frag or not rel.endswith(".html"):
                continue
            if rel not in cache:
                cache[rel] = html_ids(target.read_text(encoding="utf-8", errors="replace"))
            if frag not in cache[rel]:
                problems.append((page, f"broken anchor {href[len(origin):]}: no id {frag!r}"
                                       f" in {rel}"))
    return problems


# --------------------------------------------------------------------------- server, browser


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (signature of the base class)
        pass

    def do_GET(self):  # noqa: N802 (name of the base class)
        # Chromium asks for /favicon.ico by itself; the book has none, and no page links one.
        if self.path == "/favicon.ico" and not Path(self.directory, "favicon.ico").exists():
            self.send_response(204)
            self.end_headers()
            return
        super().do_GET()


def serve(root: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve ``root`` on 127.0.0.1 at a free port in a daemon thread; return (server, origin)."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True, name="book-http").start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def find_chromium() -> str | None:
    """The Chromium binary: ``$BOOK_CHROMIUM``, else the first of CHROMIUM_NAMES on PATH."""
    env = os.environ.get("BOOK_CHROMIUM")
    if env:
        return env
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


class CDPError(RuntimeError):
    """A DevTools command failed or timed out."""


class Browser:
    """Headless Chromium driven over ``--remote-debugging-pipe`` (CDP, flattened sessions)."""

    def __init__(self, binary: str, timeout: float = 30.0):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="book-chromium-")
        cmd_r, self._cmd_w = os.pipe()     # we write commands, Chromium reads fd 3
        self._out_r, out_w = os.pipe()     # Chromium writes fd 4, we read
        self.stderr = open(Path(self.profile) / "stderr.log", "wb")  # noqa: SIM115
        flags = [*CHROMIUM_FLAGS, f"--user-data-dir={self.profile}", "about:blank"]
        # The shell puts the two pipe ends on the descriptors Chromium expects, then execs it.
        self.proc = subprocess.Popen(
            ["/bin/sh", "-c", f'exec "$0" "$@" 3<&{cmd_r} 4>&{out_w}', binary, *flags],
            pass_fds=(cmd_r, out_w), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=self.stderr)
        os.close(cmd_r)
        os.close(out_w)
        self._next_id = 0
        self._responses: dict[int, dict] = {}
        self._cond = threading.Condition()
        self.events: queue.Queue[dict] = queue.Queue()
        threading.Thread(target=self._read, daemon=True, name="cdp-reader").start()
        self.session = None
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget",
                                 {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")
        self.send("Network.setCacheDisabled", {"cacheDisabled": True})
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False})

    def _read(self) -> None:
        buf = b""
        with os.fdopen(self._out_r, "rb", buffering=0) as pipe:
            while True:
                chunk = pipe.read(1 << 16)
                if not chunk:
                    break
                buf += chunk
                *records, buf = buf.split(b"\0")
                for rec in records:
                    msg = json.loads(rec)
                    if "id" in msg:
                        with self._cond:
                            self._responses[msg["id"]] = msg
                            self._cond.notify_all()
                    else:
                        self.events.put(msg)
        with self._cond:
            self._responses[-1] = {"error": {"message": "Chromium closed the pipe"}}
            self._cond.notify_all()

    def send(self, method: str, params: dict | None = None, timeout: float | None = None):
        """Send one command to the page session (or the browser) and return its result."""
        self._next_id += 1
        msg = {"id": self._next_id, "method": method, "params": params or {}}
        if self.session is not None and not method.startswith("Target."):
            msg["sessionId"] = self.session
        os.write(self._cmd_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + (timeout or self.timeout)
        with self._cond:
            while self._next_id not in self._responses and -1 not in self._responses:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise CDPError(f"{method}: no answer within {timeout or self.timeout} s")
                self._cond.wait(left)
            reply = self._responses.pop(self._next_id, None) or self._responses[-1]
        if "error" in reply:
            raise CDPError(f"{method}: {reply['error'].get('message')}")
        return reply.get("result", {})

    def drain(self) -> list[dict]:
        """Every event received since the last call."""
        out = []
        while True:
            try:
                out.append(self.events.get_nowait())
            except queue.Empty:
                return out

    def wait_event(self, method: str, timeout: float, seen: list[dict]) -> bool:
        """Wait for an event named ``method``; every event read is appended to ``seen``."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                ev = self.events.get(timeout=left)
            except queue.Empty:
                return False
            seen.append(ev)
            if ev.get("method") == method:
                return True

    def evaluate(self, expression: str, timeout: float | None = None):
        res = self.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                             "returnByValue": True}, timeout=timeout)
        if "exceptionDetails" in res:
            detail = res["exceptionDetails"]
            text = detail.get("exception", {}).get("description") or detail.get("text")
            raise CDPError(f"evaluation failed: {text}")
        return res["result"].get("value")

    def screenshot(self, path: Path, selector: str | None = None) -> None:
        if selector:
            self.evaluate(f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
                          " if (e) e.scrollIntoView({block: 'start'}); window.scrollBy(0, -80);"
                          " return !!e; })()")
            time.sleep(0.3)
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b64decode(data))

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except CDPError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._cmd_w)
        self.stderr.close()
        shutil.rmtree(self.profile, ignore_errors=True)


# --------------------------------------------------------------------------- the check


@dataclass
class PageReport:
    page: str
    seconds: float = 0.0
    math: int = 0
    images: int = 0
    proof_boxes: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass
class BookReport:
    pages: list[PageReport]
    seconds: float
    screenshots: list[Path]

    @property
    def problems(self) -> list[str]:
        return [f"{p.page}: {msg}" for p in self.pages for msg in p.problems]

    def summary(self) -> str:
        lines = [f"{'page':60s} {'s':>5s} {'math':>5s} {'img':>4s} {'prf':>4s}  problems"]
        for p in self.pages:
            lines.append(f"{p.page:60s} {p.seconds:5.2f} {p.math:5d} {p.images:4d} "
                         f"{p.proof_boxes:4d}  {len(p.problems)}")
        lines.append(f"{len(self.pages)} pages in {self.seconds:.1f} s, "
                     f"{len(self.problems)} problems, {len(self.screenshots)} screenshots")
        return "\n".join(lines)


def _event_problems(events: list[dict], origin: str) -> list[str]:
    out = []
    for ev in events:
        method, p = ev.get("method"), ev.get("params", {})
        if method == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            text = d.get("exception", {}).get("description") or d.get("text")
            out.append(f"uncaught JavaScript exception: {text}")
        elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            args = " ".join(str(a.get("value", a.get("description", ""))) for a in p["args"])
            out.append(f"console.{p['type']}: {args[:200]}")
        elif method == "Log.entryAdded" and p["entry"].get("level") == "error":
            e = p["entry"]
            out.append(f"browser log error ({e.get('source')}): {e.get('text')} {e.get('url', '')}")
        elif method == "Network.requestWillBeSent":
            url = p["request"]["url"]
            if not (url.startswith(origin + "/") or url.split(":", 1)[0] in
                    ("data", "blob", "about")):
                out.append(f"request to a non-local host: {url}")
        elif method == "Network.responseReceived" and p["response"].get("status", 200) >= 400:
            out.append(f"HTTP {p['response']['status']} for {p['response']['url']}")
        elif method == "Network.loadingFailed" and not p.get("canceled"):
            out.append(f"request failed: {p.get('errorText')} ({p.get('type')})")
    return list(dict.fromkeys(out))


def check_book(root: Path = HTML_ROOT, chapters: Path = ROOT,
               screenshot_dir: Path | None = SCREENSHOT_DIR, binary: str | None = None,
               pages: list[str] | None = None) -> BookReport:
    """Load every page under ``root`` in headless Chromium and return what failed.

    ``chapters`` is the directory that holds ``chapters/`` (the MyST sources whose ``{prf:...}``
    directives are counted).
    """
    binary = binary or find_chromium()
    if binary is None:
        raise FileNotFoundError("Chromium not found: install the Debian packages `chromium`"
                                " (apt-get install -y chromium) or set BOOK_CHROMIUM")
    start = time.monotonic()
    pages = pages if pages is not None else list_pages(root)
    shots = {page: (sel, name) for page, sel, name in SCREENSHOTS}
    server, origin = serve(root)
    browser = Browser(binary)
    reports, links, ids, saved = [], {}, {}, []
    try:
        for page in pages:
            t0 = time.monotonic()
            rep = PageReport(page)
            reports.append(rep)
            text = (root / page).read_text(encoding="utf-8", errors="replace")
            browser.drain()
            events: list[dict] = []
            browser.send("Page.navigate", {"url": f"{origin}/{page}"})
            if not browser.wait_event("Page.loadEventFired", 30, events):
                rep.problems.append("the load event did not fire within 30 s")
            target = redirect_target(text)
            if target is not None:  # a redirect page: follow it, check where it lands
                browser.wait_event("Page.loadEventFired", 10, events)
                where = browser.evaluate("location.href")
                want = f"{origin}/{(Path(page).parent / target).as_posix().lstrip('./')}"
                if not (root / Path(page).parent / target).is_file() or where != want:
                    rep.problems.append(f"redirect to {target!r} ends at {where}")
                rep.problems += _event_problems(events + browser.drain(), origin)
                rep.seconds = time.monotonic() - t0
                continue
            try:
                probe = json.loads(browser.evaluate(PAGE_PROBE, timeout=60))
            except CDPError as exc:
                rep.problems.append(f"page probe failed: {exc}")
                rep.problems += _event_problems(events + browser.drain(), origin)
                continue
            time.sleep(0.05)  # let late console/network events arrive
            rep.problems += _event_problems(events + browser.drain(), origin)
            rep.math, rep.proof_boxes = probe["math"], probe["proofBoxes"]
            rep.images = len(probe["images"])
            if probe["mathjax"] not in ("ready", "absent"):
                rep.problems.append(f"MathJax: {probe['mathjax']}")
            if probe["math"] and not probe["mjx"]:
                rep.problems.append(f"{probe['math']} math elements but no mjx-container")
            for m in probe["mathUntypeset"][:5]:
                rep.problems.append(f"math not typeset: {m!r}")
            for m in probe["merror"][:5]:
                rep.problems.append(f"MathJax error: {m!r}")
            for m in probe["raw"][:5]:
                rep.problems.append(f"raw TeX left in the text: {m!r}")
            for img in probe["images"]:
                if img["w"] <= 0:
                    rep.problems.append(f"image did not load: {img['src']}")
            md = chapters / Path(page).with_suffix(".md")
            if md.is_file():
                want = count_prf_directives(md.read_text(encoding="utf-8"))
                if want != probe["proofBoxes"]:
                    rep.problems.append(f"{want} {{prf:...}} directives in {md.name} but "
                                        f"{probe['proofBoxes']} proof boxes in the page")
            links[page] = probe["links"]
            ids[page] = set(probe["ids"])
            if screenshot_dir is not None and page in shots:
                sel, name = shots[page]
                browser.screenshot(screenshot_dir / name, sel)
                saved.append(screenshot_dir / name)
            rep.seconds = time.monotonic() - t0
    finally:
        browser.close()
        server.shutdown()
        server.server_close()
    by_page = {r.page: r for r in reports}
    for page, msg in link_problems(links, ids, root, origin):
        by_page[page].problems.append(msg)
    return BookReport(reports, time.monotonic() - start, saved)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", nargs="?", type=Path, default=HTML_ROOT)
    parser.add_argument("--screenshots", type=Path, default=SCREENSHOT_DIR)
    args = parser.parse_args(argv)
    if not (args.root / "index.html").is_file():
        print(f"no built book at {args.root}: run `make build` first", file=sys.stderr)
        return 2
    try:
        report = check_book(args.root, screenshot_dir=args.screenshots)
    except FileNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(report.summary())
    for msg in report.problems:
        print("  " + msg)
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
