"""Load every page of the built book in headless Chromium and check what a reader would see.

Usage::

    python scripts/browser_check.py [_build/html] [--screenshots DIR] [--pages P ...] [--json F]

``make browser`` runs it through ``tests/test_browser.py`` after ``make build``. The built HTML
is served on 127.0.0.1 (an ephemeral port, ``http.server`` in a thread) and every ``*.html``
page (outside ``_static/``, ``_sources/``, ``_images/``) is loaded in the system's headless
Chromium, driven by Playwright (``executable_path``: Playwright never downloads a browser here).
Chromium's host resolver maps every name except 127.0.0.1 to "not found", so the check never
reaches the network even when a page tries to. Playwright's default ``--hide-scrollbars`` is
dropped: scroll bars are part of what a reader sees, and the layout check measures them.

Each page is loaded once at 1280x800; the layout is measured there and again after resizing the
viewport to 400x800 (a phone). For each page it asserts:

* **no JavaScript error**: no uncaught exception, no ``console.error``/``console.assert``, no
  error in the browser log (which includes resources that failed to load);
* **offline**: every request goes to 127.0.0.1 (or is a ``data:``/``blob:``/``about:`` URL) and
  none fails or answers with an HTTP status >= 400;
* **math is typeset**: every ``.math`` element holds an ``mjx-container`` and MathJax reported no
  error (``mjx-merror``);
* **no raw TeX or MyST in the text**: outside rendered math, ``pre``, ``code``, ``kbd``,
  ``samp``, scripts and styles, the text of each block (paragraph, list item, cell, heading,
  ...) holds no ``$$``, no ``$...$`` pair whose content looks like TeX (a backslash, ``^``,
  ``_``, a brace, or a single letter: "$5 to $10" is a price, not math), no ``\\command`` or
  ``\\(``/``\\[`` delimiter, and no unrendered MyST role or directive (``{prf:ref}``, ``:::{``,
  ``{eq}``...). Attributes (tooltips, alt text) are not rendered text and are not searched;
* **images**: every ``<img>`` loaded (``naturalWidth > 0``, lazy images are forced to load);
* **figures are not shrunk**: at 1280 px a notebook figure is displayed at no less than
  ``MIN_FIGURE_SCALE`` of its natural width (derived from the book's theme in
  ``helpers/plotting.py``: below it the theme's tick labels render under ``MIN_TICK_PX`` CSS
  px), and its ``alt`` text is not its file name (MyST-NB's default);
* **theorem boxes**: the number of sphinx-proof boxes (``div.proof.admonition``) equals the
  number of ``{prf:...}`` directives in the page's MyST source (``chapters/<part>/<name>.md``);
* **folded code**: every cell tagged ``hide-input`` renders its source inside a closed
  ``<details>`` (so the code is not shown until the reader asks for it);
* **links**: every internal link resolves: the file exists and its ``#fragment`` is an id of
  the target page (ids from the rendered DOM for pages visited, from the HTML text otherwise);
  no id occurs twice in a page;
* **layout** (at 1280 and at 400 px): the document is no wider than the viewport; no element
  inside the main text column (``article.bd-article``'s content box) is wider than the column
  unless it sits inside a scroll container (an ancestor with ``overflow-x: auto|scroll``), and
  nothing is cut off by an ``overflow: hidden`` ancestor; every scroll container that actually
  scrolls shows a scroll bar at least ``MIN_SCROLLBAR_PX`` thick (the book's CSS in
  ``_static/book.css`` also draws a shadow at the scrollable edge);
* **fits at 1280 px**: no display equation, table or input code cell needs sideways scrolling
  at 1280 px. At 400 px scrolling inside its own container is the accepted fallback, and so are
  cell outputs at both widths (a printed table keeps its columns): those are only counted;
* **accessibility**: axe-core (``axe-playwright-python``'s bundled ``axe.min.js``) audits the
  page at 1280 px (MathJax's output set aside: it is MathJax's markup, not the book's); a
  violation of a rule in ``AXE_FAIL_RULES`` (alt text, language, ids, ARIA, names, lists,
  colour contrast, ...), or of any rule with impact ``critical``, fails; the others
  (``AXE_REPORT_ONLY``) are counted and reported. The costly page-wide rules
  (``AXE_SAMPLE_RULES``: colour contrast, region) run on ``AXE_SAMPLE_PAGES``, on every page with
  ``--axe-all``. axe 4.12 no longer has a duplicate-id rule: ids are checked by the probe.

Known offenders of the layout, figure and axe checks are listed in ``tests/data/*.txt``
(``ALLOWLIST``, ``FIGURE_ALLOWLIST``): a listed offender is reported but does not fail, a new
one fails, and a listed one that no longer occurs fails too (remove its line: the lists only
shrink). A few key pages are saved as PNG screenshots (``SCREENSHOTS``). The exit status is 1 if
any check fails, 2 if the book is not built or Chromium is missing.
"""

from __future__ import annotations

import argparse
import functools
import html
import http.server
import json
import os
import re
import shutil
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
HTML_ROOT = ROOT / "_build" / "html"
SCREENSHOT_DIR = ROOT / "_build" / "screenshots"
ALLOWLIST = ROOT / "tests" / "data" / "overflow_allowlist.txt"
FIGURE_ALLOWLIST = ROOT / "tests" / "data" / "figure_allowlist.txt"

WIDE, NARROW = (1280, 800), (400, 800)

#: (page relative to the HTML root, CSS selector scrolled into view first or None, file name,
#: viewport width)
SCREENSHOTS = [
    ("chapters/front/intro.html", None, "intro.png", 1280),
    ("chapters/front/intro.html", None, "intro_400px.png", 400),
    ("chapters/front/tools_sgd.html", None, "tools_sgd.png", 1280),
    ("chapters/front/tools_sgd.html", "div.math", "tools_sgd_400px.png", 400),
    ("chapters/part2_li_liang/overview.html", None, "part2_overview.png", 1280),
    ("chapters/part2_li_liang/ll_03_general_case.html", "div.proof.admonition",
     "ll_03_theorem_boxes.png", 1280),
    ("chapters/part2_li_liang/ll_fig_synthetic.html", "img", "ll_04_figure.png", 1280),
    ("chapters/back/synthesis.html", "table", "synthesis_table.png", 1280),
    ("chapters/back/theorem_index.html", None, "theorem_index.png", 1280),
]

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions",
    # Nothing but the local server can be resolved: an external request fails fast (and is
    # still reported as a request to a non-local host, which is what the check looks at).
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]

#: A scroll container that scrolls must show a bar at least this thick (CSS px).
MIN_SCROLLBAR_PX = 6
#: Smallest readable tick label (CSS px) of a figure at 1280 px.
MIN_TICK_PX = 9.0

#: axe-core rules whose violations fail the check whatever their impact: images without alt
#: text, language, ids, ARIA misuse, names of controls and links, document structure.
AXE_FAIL_RULES = frozenset({
    "image-alt", "input-image-alt", "role-img-alt", "svg-img-alt", "object-alt", "area-alt",
    "color-contrast", "html-has-lang", "html-lang-valid", "html-xml-lang-mismatch", "valid-lang",
    "duplicate-id", "duplicate-id-active", "duplicate-id-aria",
    "aria-allowed-attr", "aria-allowed-role", "aria-braille-equivalent", "aria-command-name",
    "aria-conditional-attr", "aria-deprecated-role", "aria-dialog-name", "aria-hidden-body",
    "aria-hidden-focus", "aria-input-field-name", "aria-meter-name", "aria-progressbar-name",
    "aria-prohibited-attr", "aria-required-attr", "aria-required-children",
    "aria-required-parent", "aria-roles", "aria-toggle-field-name", "aria-tooltip-name",
    "aria-treeitem-name", "aria-valid-attr", "aria-valid-attr-value", "aria-text",
    "presentation-role-conflict",
    "button-name", "link-name", "label", "select-name", "frame-title", "document-title",
    "list", "listitem", "definition-list", "dlitem", "nested-interactive",
    "scrollable-region-focusable", "meta-viewport", "meta-refresh",
})
#: axe-core rules only reported (counted in the summary), never failing: best practices about
#: the page's structure that the theme decides (its sidebar sits outside any landmark, the
#: "region" finding on every page), AAA contrast, and links told apart from text by colour alone.
#: Colour contrast (AA) fails: the book's CSS fixed the one finding (links on the boxes' tints).
AXE_REPORT_ONLY = frozenset({
    "color-contrast-enhanced", "link-in-text-block", "region",
    "landmark-one-main", "landmark-unique", "landmark-no-duplicate-banner",
    "landmark-no-duplicate-contentinfo", "landmark-complementary-is-top-level",
    "page-has-heading-one", "heading-order", "empty-heading", "empty-table-header",
    "skip-link", "tabindex",
})

#: axe rules that cost seconds on a long page (colour contrast measures every text node, region
#: walks the whole tree): they run on AXE_SAMPLE_PAGES (one of each kind of page: every box type,
#: tables, code, widgets, the bibliography), on every page with ``--axe-all`` (about 4 minutes
#: more).
AXE_SAMPLE_RULES = ("color-contrast", "region", "link-in-text-block")
AXE_SAMPLE_PAGES = frozenset({
    "chapters/front/intro.html", "chapters/front/tools_sgd.html",
    "chapters/part1_gradient_confusion/gc_02_convergence.html",
    "chapters/part2_li_liang/ll_03_general_case.html",
    "chapters/part3_oymak_soltanolkotabi/os_explore.html",
    "chapters/part4_allen_zhu_li_song/az_status.html",
    "chapters/back/synthesis.html", "chapters/back/theorem_index.html",
    "chapters/back/bibliography.html",
})

PRF_DIRECTIVE = re.compile(r"^\s*(`{3,}|:{3,})\s*\{prf:([a-z]+)\}")
CODE_CELL = re.compile(r"^\s*(`{3,})\s*\{code-cell\}")

# --------------------------------------------------------------------------- in-page scripts

# Runs once the page has loaded: wait for MathJax and for every image, then report.
READY = r"""
async () => {
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
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  return mathjax;
}
"""

# What the page says (once per page): math, raw TeX, images, proof boxes, folds, links, ids.
CONTENT = r"""
() => {
  const skipTags = new Set(["PRE", "CODE", "KBD", "SAMP", "SCRIPT", "STYLE", "TEXTAREA",
                            "NOSCRIPT", "TEMPLATE", "MJX-CONTAINER", "svg"]);
  const blockSel = "p,li,td,th,dd,dt,h1,h2,h3,h4,h5,h6,caption,figcaption,summary,blockquote," +
                   "div,section,article,aside,nav,header,footer,main,body";
  const blocks = new Map();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
    acceptNode(node) {
      for (let e = node.parentElement; e; e = e.parentElement) {
        if (skipTags.has(e.tagName) || e.classList.contains("highlight"))
          return NodeFilter.FILTER_REJECT;
      }
      return NodeFilter.FILTER_ACCEPT;
    }});
  while (walker.nextNode()) {
    const n = walker.currentNode;
    const b = n.parentElement.closest(blockSel);
    blocks.set(b, (blocks.get(b) || "") + n.nodeValue);
  }
  const texPair = /\$([^$]{1,300}?)\$/g;
  const texLike = /[\\^_{}]|^\s*[A-Za-z]\s*$/;
  const command = /\\(?:[A-Za-z]{2,}|[()\[\]])/;
  const myst = new RegExp("\\{(?:prf:[a-z]+|eq|math|numref|ref|doc|cite(?::[a-z]+)?|term)\\}`" +
                          "|^\\s*(?::{3,}|`{3,})\\s*\\{", "m");
  const raw = [];
  for (const [b, text] of blocks) {
    const hits = [];
    if (text.includes("$$")) hits.push("$$");
    for (const m of text.matchAll(texPair)) if (texLike.test(m[1])) hits.push("$" + m[1] + "$");
    const c = text.match(command); if (c) hits.push(c[0]);
    const y = text.match(myst); if (y) hits.push(y[0].trim());
    if (hits.length) {
      const where = hits[0];
      const i = Math.max(0, text.indexOf(where) - 30);
      raw.push({found: hits.slice(0, 3).join(" "),
                context: text.slice(i, i + 100).replace(/\s+/g, " ").trim()});
    }
  }
  const mathEls = Array.from(document.querySelectorAll(".math"));
  const imgs = Array.from(document.images).map((img) => ({
    src: img.currentSrc || img.src, file: (img.getAttribute("src") || "").split("/").pop(),
    alt: img.getAttribute("alt"), natural: img.naturalWidth,
    shown: img.getBoundingClientRect().width,
    output: !!img.closest(".cell_output"),
    visible: img.getBoundingClientRect().width > 0}));
  const hideInput = Array.from(document.querySelectorAll("div.cell.tag_hide-input"));
  const unfolded = hideInput.filter((c) => {
    const d = c.querySelector("details.above-input");
    const pre = c.querySelector(".cell_input pre");
    // a closed <details> does not render its content (Chromium: content-visibility: hidden)
    const shown = pre && (pre.checkVisibility ? pre.checkVisibility()
                                              : pre.getBoundingClientRect().height > 0);
    return !d || d.open || shown;
  }).length;
  const ids = Array.from(document.querySelectorAll("[id]")).map((e) => e.id);
  const counts = {};
  ids.forEach((i) => { counts[i] = (counts[i] || 0) + 1; });
  return {
    title: document.title,
    lang: document.documentElement.getAttribute("lang"),
    math: mathEls.length,
    mathUntypeset: mathEls.filter((e) => !e.querySelector("mjx-container"))
                          .map((e) => e.textContent.trim().slice(0, 60)),
    mjx: document.querySelectorAll("mjx-container").length,
    merror: Array.from(document.querySelectorAll("mjx-merror"))
                 .map((e) => (e.getAttribute("data-mjx-error") || e.textContent).slice(0, 80)),
    raw: raw,
    images: imgs,
    proofBoxes: document.querySelectorAll("div.proof.admonition").length,
    hideInput: hideInput.length, unfolded: unfolded,
    links: Array.from(document.querySelectorAll("a[href]")).map((a) => a.href),
    ids: ids.concat(Array.from(document.querySelectorAll("a[name]")).map((a) => a.name)),
    duplicateIds: Object.keys(counts).filter((k) => counts[k] > 1),
  };
}
"""

# The layout at the current viewport width.
LAYOUT = r"""
(minBar) => {
  const tol = 1;
  const art = document.querySelector("article.bd-article") || document.querySelector("main") ||
              document.body;
  const acs = getComputedStyle(art), ar = art.getBoundingClientRect();
  const colL = ar.left + parseFloat(acs.paddingLeft) + parseFloat(acs.borderLeftWidth);
  const colR = ar.right - parseFloat(acs.paddingRight) - parseFloat(acs.borderRightWidth);
  const oxMemo = new Map();
  const ox = (e) => {
    let v = oxMemo.get(e);
    if (v === undefined) { v = getComputedStyle(e).overflowX; oxMemo.set(e, v); }
    return v;
  };
  const scrolls = (e) => ["auto", "scroll"].includes(ox(e));
  const clips = (e) => ox(e) !== "visible";
  const snip = (s, n) => (s || "").replace(/\s+/g, " ").trim().slice(0, n || 60).trim();
  const tex = (e) => {
    try {
      const items = MathJax.startup.document.getMathItemsWithin(e);
      if (items.length) return snip(items[0].math, 60);
    } catch (err) { /* no MathJax on this page */ }
    return snip(e.textContent, 60);
  };
  const cells = Array.from(art.querySelectorAll("div.cell"));
  const cellNo = (e) => { const c = e.closest("div.cell"); return c ? cells.indexOf(c) + 1 : 0; };
  const tables = Array.from(art.querySelectorAll("table"));
  const describe = (e) => {
    const eq = e.closest('div.math, mjx-container[display="true"]');
    if (eq) {
      const d = e.closest("div.math");
      return "equation " + ((d && d.id) || tex(eq));
    }
    if (e.closest("mjx-container")) return "inline math " + tex(e.closest("mjx-container"));
    const t = e.closest("table");
    if (t) return "table " + (tables.indexOf(t) + 1) + ": " +
      snip(t.rows[0] && t.rows[0].textContent, 50);
    if (e.closest(".cell_input")) return "code cell " + cellNo(e) + ": " +
      snip((e.closest(".cell_input").textContent || "").split("\n")[0], 50);
    if (e.closest(".cell_output")) return "output of cell " + cellNo(e);
    const cls = typeof e.className === "string" && e.className ?
      "." + e.className.split(" ")[0] : "";
    return e.tagName.toLowerCase() + cls + ": " + snip(e.textContent, 50);
  };
  // 1. what sticks out of the column, what is cut off, scroll containers without a bar.
  // A walk over the column's tree that does not enter scroll containers (what is inside one
  // is reachable by scrolling; the container itself is measured) nor atomic boxes (math,
  // code, images: measured as a whole, with the content they spill).
  const offenders = [], noBar = [];
  const hidden = (e) => e.closest("mjx-assistive-mml, .visually-hidden, .sr-only") !== null;
  const atomic = new Set(["MJX-CONTAINER", "PRE", "IMG", "SVG", "svg", "VIDEO", "CANVAS",
                          "IFRAME", "MJX-ASSISTIVE-MML"]);
  const visit = (e, clipper) => {
    for (const c of e.children) {
      if (c.tagName === "MJX-ASSISTIVE-MML" || c.tagName === "SCRIPT" ||
          c.tagName === "STYLE") continue;
      const r = c.getBoundingClientRect();
      const cs = getComputedStyle(c);
      if (cs.display === "none" || cs.position === "fixed" ||
          c.classList.contains("visually-hidden") || c.classList.contains("sr-only")) continue;
      const box = r.width > 0 && r.height > 0 && cs.visibility !== "hidden";
      let L = colL, R = colR, why = "wider than the column";
      if (clipper) {
        const cr = clipper.getBoundingClientRect();
        L = cr.left + clipper.clientLeft; R = L + clipper.clientWidth;
        why = "cut off by overflow:" + ox(clipper);
      }
      if (box && (r.right > R + tol || r.left < L - tol)) {
        offenders.push({what: describe(c), why: why, width: Math.round(r.width),
                        column: Math.round(colR - colL)});
        continue;
      }
      if (scrolls(c)) {
        if (c.scrollWidth > c.clientWidth + tol && c.clientWidth > 0) {
          const bar = c.offsetHeight - c.clientHeight - parseFloat(cs.borderTopWidth) -
                      parseFloat(cs.borderBottomWidth);
          if (bar < minBar) noBar.push(describe(c) + " (bar " + bar + " px)");
        }
        continue;
      }
      if (atomic.has(c.tagName)) {
        // content that overflows the box itself (a formula: its mjx-math box; MathJax's glyphs
        // overhang their boxes by a few pixels, which is ink, not overflow)
        const inner = c.tagName === "MJX-CONTAINER" ? c.querySelector("mjx-math") : null;
        const right = inner ? inner.getBoundingClientRect().right : r.left + c.scrollWidth;
        if (box && !clips(c) && right > R + tol) {
          offenders.push({what: describe(c), why: "spills its content past the column",
                          width: Math.round(right - r.left), column: Math.round(colR - colL)});
        }
        continue;
      }
      visit(c, clips(c) ? c : clipper);
    }
  };
  visit(art, null);
  const vw = window.innerWidth;
  const docWidth = document.documentElement.scrollWidth;
  const wideOutside = [];
  if (docWidth > vw + tol) {
    for (const e of document.body.querySelectorAll("*")) {
      if (art.contains(e) || e.contains(art)) continue;
      const r = e.getBoundingClientRect();
      if (r.right > vw + tol && r.width > 0 && !hidden(e) &&
          getComputedStyle(e).position !== "fixed") {
        let inside = false;
        for (let a = e.parentElement; a; a = a.parentElement) {
          if (clips(a)) { inside = true; break; }
        }
        if (!inside) wideOutside.push(describe(e) + " (" + Math.round(r.right) + " px)");
      }
    }
  }
  // 3. the reader's view of each kind of block: does it need sideways scrolling?
  const visibleRight = (e) => {
    let R = colR;
    for (let a = e; a && a !== art; a = a.parentElement) {
      if (clips(a)) {
        const cr = a.getBoundingClientRect();
        R = Math.min(R, cr.left + a.clientLeft + a.clientWidth);
      }
    }
    return R;
  };
  const needs = (e, inner) => {
    const r = e.getBoundingClientRect();
    const content = inner ? inner.getBoundingClientRect().width : Math.max(r.width, e.scrollWidth);
    const left = inner ? inner.getBoundingClientRect().left : r.left;
    const right = visibleRight(e);
    return {over: left + content > right + tol, width: Math.round(content),
            avail: Math.round(right - left)};
  };
  const kinds = {equation: [], table: [], code: [], output: [], inline: []};
  const inCode = (e) => e.closest("pre, code, .cell_output, .highlight") !== null;
  for (const m of art.querySelectorAll('mjx-container[display="true"]')) {
    if (inCode(m) || hidden(m)) continue;
    const n = needs(m, m.querySelector("mjx-math"));
    kinds.equation.push({...n, what: describe(m)});
  }
  for (const m of art.querySelectorAll('mjx-container:not([display="true"])')) {
    if (inCode(m) || hidden(m) || m.getBoundingClientRect().width === 0) continue;
    // an inline formula wider than its box (span.math: at most the line) is cut off or scrolls
    const box = m.closest("span.math") || m;
    const w = m.querySelector("mjx-math").getBoundingClientRect().width;
    kinds.inline.push({over: w > box.clientWidth + tol, width: Math.round(w), what: describe(m)});
  }
  for (const t of tables) {
    if (t.closest(".cell_output") || t.getBoundingClientRect().width === 0) continue;
    kinds.table.push({...needs(t), what: describe(t)});
  }
  for (const c of cells) {
    const pre = c.querySelector(".cell_input pre");
    if (pre && pre.getBoundingClientRect().width > 0)
      kinds.code.push({...needs(pre), what: describe(pre)});
    for (const o of c.querySelectorAll(".cell_output > *")) {
      if (o.getBoundingClientRect().width === 0) continue;
      const parts = [o, ...o.querySelectorAll("pre, table, img")];
      const ns = parts.map((p) => needs(p));
      kinds.output.push({over: ns.some((n) => n.over),
                         width: Math.max(...ns.map((n) => n.width)), what: describe(o)});
    }
  }
  return {viewport: vw, docWidth: docWidth, column: Math.round(colR - colL),
          offenders: offenders, wideOutside: wideOutside.slice(0, 5), noBar: noBar,
          kinds: kinds};
}
"""

# The accessibility audit. MathJax's output (the glyph spans, hidden from assistive technology,
# and the MathML they read instead) is MathJax's markup, not the book's, and most of the DOM of
# a mathematical page: it is set aside while axe runs (a few seconds a page otherwise).
AXE_RUN = r"""
async (full) => {
  const saved = [];
  for (const m of document.querySelectorAll("mjx-container")) {
    const f = document.createDocumentFragment();
    while (m.firstChild) f.appendChild(m.firstChild);
    saved.push([m, f]);
  }
  try {
    const rules = {};
    for (const id of SAMPLE_RULES) rules[id] = {enabled: full};
    const r = await axe.run(document, {resultTypes: ["violations"], preload: false, rules});
    return r.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map((n) => ({target: n.target.join(" "), html: n.html.slice(0, 120),
        data: ((n.any[0] || {}).data) || null}))}));
  } finally {
    for (const [m, f] of saved) m.appendChild(f);
  }
}
"""

AXE_RUN = AXE_RUN.replace("SAMPLE_RULES", json.dumps(list(AXE_SAMPLE_RULES)))

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


def min_figure_scale() -> float:
    """Smallest display scale of a figure at which the theme's tick labels stay readable.

    ``helpers.plotting`` draws tick labels at ``TICK_LABEL_PT`` points on a canvas of ``DPI``
    pixels per inch, i.e. ``TICK_LABEL_PT * DPI / 72`` image pixels; shown at ``scale`` times
    its natural width they are that many CSS px times ``scale``, which must stay at least
    ``MIN_TICK_PX``.
    """
    sys.path.insert(0, str(ROOT))
    try:
        from helpers import plotting
    finally:
        sys.path.pop(0)
    return MIN_TICK_PX / (plotting.TICK_LABEL_PT * plotting.DPI / 72)


def read_allowlist(path: Path) -> set[tuple[str, ...]]:
    """Entries of an allowlist: tab-separated fields per line; ``#`` starts a comment line."""
    if not path.is_file():
        return set()
    out = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            out.add(tuple(f.strip() for f in line.split("\t")))
    return out


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


def launch(playwright, binary: str):
    """Headless system Chromium through Playwright, offline, with visible scroll bars."""
    return playwright.chromium.launch(executable_path=binary, headless=True, args=CHROMIUM_ARGS,
                                      ignore_default_args=["--hide-scrollbars"])


class PageEvents:
    """Problems reported by the browser while a page loads (errors, requests)."""

    def __init__(self, page, origin: str):
        self.origin = origin
        self.problems: list[str] = []
        page.on("pageerror", lambda exc: self.add(f"uncaught JavaScript exception: {exc}"))
        page.on("console", self._console)
        page.on("request", self._request)
        page.on("requestfailed", lambda r: self.add(
            f"request failed: {r.failure} ({r.resource_type}) {r.url}"))
        page.on("response", lambda r: r.status >= 400 and self.add(f"HTTP {r.status} for {r.url}"))

    def add(self, msg: str) -> None:
        self.problems.append(msg)

    def _console(self, msg) -> None:
        if msg.type in ("error", "assert"):
            loc = msg.location.get("url", "") if isinstance(msg.location, dict) else ""
            self.add(f"console.{msg.type}: {msg.text[:200]} {loc}".rstrip())

    def _request(self, req) -> None:
        url = req.url
        if not (url.startswith(self.origin + "/") or url.split(":", 1)[0] in
                ("data", "blob", "about")):
            self.add(f"request to a non-local host: {url}")

    def take(self) -> list[str]:
        out, self.problems = list(dict.fromkeys(self.problems)), []
        return out


# --------------------------------------------------------------------------- the check


@dataclass
class PageReport:
    page: str
    seconds: float = 0.0
    math: int = 0
    images: int = 0
    proof_boxes: int = 0
    problems: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)
    layout: dict[int, dict] = field(default_factory=dict)
    axe: list[dict] = field(default_factory=list)
    figures: list[dict] = field(default_factory=list)
    offenders: list[tuple[str, ...]] = field(default_factory=list)


@dataclass
class BookReport:
    pages: list[PageReport]
    seconds: float
    screenshots: list[Path]
    stale: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return [f"{p.page}: {msg}" for p in self.pages for msg in p.problems] + self.stale

    def overflow_counts(self) -> dict[int, dict[str, tuple[int, int]]]:
        """Per viewport width and kind: (blocks needing sideways scrolling, blocks)."""
        out: dict[int, dict[str, tuple[int, int]]] = {}
        for p in self.pages:
            for width, lay in p.layout.items():
                per = out.setdefault(width, {})
                for kind, items in lay["kinds"].items():
                    n, total = per.get(kind, (0, 0))
                    per[kind] = (n + sum(i["over"] for i in items), total + len(items))
        return out

    def axe_counts(self) -> Counter:
        """Violating nodes per axe rule, over every page."""
        c: Counter = Counter()
        for p in self.pages:
            for v in p.axe:
                c[(v["id"], v["impact"])] += len(v["nodes"])
        return c

    def summary(self) -> str:
        lines = [f"{'page':58s} {'s':>5s} {'math':>5s} {'img':>4s} {'prf':>4s} {'col':>4s}"
                 f" {'col400':>6s} {'axe':>4s}  problems (allowed)"]
        for p in self.pages:
            col = p.layout.get(WIDE[0], {}).get("column", 0)
            col4 = p.layout.get(NARROW[0], {}).get("column", 0)
            lines.append(f"{p.page:58s} {p.seconds:5.2f} {p.math:5d} {p.images:4d} "
                         f"{p.proof_boxes:4d} {col:4d} {col4:6d} "
                         f"{sum(len(v['nodes']) for v in p.axe):4d}  "
                         f"{len(p.problems)} ({len(p.allowed)})")
        for width, per in sorted(self.overflow_counts().items(), reverse=True):
            lines.append(f"needs sideways scrolling at {width} px: " + ", ".join(
                f"{kind} {n}/{total}" for kind, (n, total) in per.items()))
        axe = self.axe_counts()
        if axe:
            lines.append("axe violations (nodes): " + ", ".join(
                f"{rule} [{impact}] {n}" for (rule, impact), n in sorted(axe.items())))
        lines.append(f"{len(self.pages)} pages in {self.seconds:.1f} s, "
                     f"{len(self.problems)} problems, "
                     f"{sum(len(p.allowed) for p in self.pages)} allowed offenders, "
                     f"{len(self.screenshots)} screenshots")
        return "\n".join(lines)


def _axe_problems(violations: list[dict]) -> tuple[list[str], list[str]]:
    """Split axe violations into failures and reports."""
    fail, report = [], []
    for v in violations:
        where = "; ".join(n["target"] for n in v["nodes"][:3])
        msg = f"axe {v['id']} [{v['impact']}] x{len(v['nodes'])}: {v['help']} ({where})"
        if v["id"] in AXE_REPORT_ONLY:
            report.append(msg)
        elif v["id"] in AXE_FAIL_RULES or v["impact"] == "critical":
            fail.append(msg)
        else:
            report.append(msg)
    return fail, report


class _Checker:
    """What every page is checked against; ``run`` checks a list of pages in one browser."""

    def __init__(self, root: Path, chapters: Path, screenshot_dir: Path | None, binary: str,
                 origin: str, axe: bool, axe_all: bool, allow: set, fig_allow: set):
        self.root, self.chapters, self.screenshot_dir = root, chapters, screenshot_dir
        self.binary, self.origin, self.axe_all = binary, origin, axe_all
        self.allow, self.fig_allow = allow, fig_allow
        self.seen: set = set()
        self.min_scale = min_figure_scale()
        self.shots: dict[str, list] = {}
        for page, sel, name, width in SCREENSHOTS:
            self.shots.setdefault(page, []).append((sel, name, width))
        self.axe_script = None
        if axe:
            from axe_playwright_python.base import AXE_SCRIPT
            self.axe_script = AXE_SCRIPT
        self.links: dict[str, list[str]] = {}
        self.ids: dict[str, set[str]] = {}
        self.saved: list[Path] = []

    def run(self, pages: list[str], reports: dict[str, PageReport]) -> None:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = launch(pw, self.binary)
            context = browser.new_context(viewport={"width": WIDE[0], "height": WIDE[1]},
                                          device_scale_factor=1, service_workers="block")
            if self.axe_script:
                context.add_init_script(self.axe_script)
            tab = context.new_page()
            events = PageEvents(tab, self.origin)
            try:
                for page in pages:
                    t0 = time.monotonic()
                    rep = reports[page]
                    self.check_page(tab, events, rep)
                    rep.problems += events.take()
                    rep.seconds = time.monotonic() - t0
                    # leave the page before resizing: relaying out a long page costs time
                    tab.goto("about:blank")
                    tab.set_viewport_size({"width": WIDE[0], "height": WIDE[1]})
                    events.take()
            finally:
                context.close()
                browser.close()

    def check_page(self, tab, events: PageEvents, rep: PageReport) -> None:
        from playwright.sync_api import Error as PlaywrightError

        page, origin, root = rep.page, self.origin, self.root
        text = (root / page).read_text(encoding="utf-8", errors="replace")
        events.take()
        target = redirect_target(text)
        try:
            tab.goto(f"{origin}/{page}", wait_until="load", timeout=30000)
            if target is not None:  # a redirect page: follow it, check where it lands
                want = f"{origin}/{(Path(page).parent / target).as_posix().lstrip('./')}"
                try:
                    tab.wait_for_url(want, timeout=10000)
                except PlaywrightError:
                    pass
                if not (root / Path(page).parent / target).is_file() or tab.url != want:
                    rep.problems.append(f"redirect to {target!r} ends at {tab.url}")
                tab.wait_for_load_state("load")
                return
            mathjax = tab.evaluate(READY)
            probe = tab.evaluate(CONTENT)
        except PlaywrightError as exc:
            rep.problems.append(f"page failed to load or to answer: {exc}")
            return
        rep.math, rep.proof_boxes = probe["math"], probe["proofBoxes"]
        rep.images = len(probe["images"])
        if mathjax not in ("ready", "absent"):
            rep.problems.append(f"MathJax: {mathjax}")
        if probe["math"] and not probe["mjx"]:
            rep.problems.append(f"{probe['math']} math elements but no mjx-container")
        rep.problems += [f"math not typeset: {m!r}" for m in probe["mathUntypeset"][:5]]
        rep.problems += [f"MathJax error: {m!r}" for m in probe["merror"][:5]]
        for r in probe["raw"]:
            self.judge(rep, (page, "-", "raw-tex", r["found"]),
                       f"raw TeX/MyST in the text: {r['found']!r} in {r['context']!r}")
        if not probe["lang"]:
            rep.problems.append("no lang attribute on <html>")
        if probe["duplicateIds"]:
            rep.problems.append(f"duplicate ids: {probe['duplicateIds'][:10]}")
        if probe["unfolded"]:
            rep.problems.append(f"{probe['unfolded']} of {probe['hideInput']} cells tagged "
                                "hide-input show their code unfolded")
        self.figures(rep, probe["images"])
        md = self.chapters / Path(page).with_suffix(".md")
        if md.is_file():
            want = count_prf_directives(md.read_text(encoding="utf-8"))
            if want != probe["proofBoxes"]:
                rep.problems.append(f"{want} {{prf:...}} directives in {md.name} but "
                                    f"{probe['proofBoxes']} proof boxes in the page")
        self.links[page] = probe["links"]
        self.ids[page] = set(probe["ids"])
        for width, height in (WIDE, NARROW):
            if width != WIDE[0]:
                tab.set_viewport_size({"width": width, "height": height})
                tab.evaluate("() => new Promise((r) => requestAnimationFrame("
                             "() => requestAnimationFrame(r)))")
            lay = tab.evaluate(LAYOUT, MIN_SCROLLBAR_PX)
            rep.layout[width] = lay
            self.layout(rep, lay, width)
            if width == WIDE[0] and self.axe_script:
                rep.axe = tab.evaluate(AXE_RUN, self.axe_all or page in AXE_SAMPLE_PAGES)
                rep.problems += _axe_problems(rep.axe)[0]
            for sel, name, w in self.shots.get(page, []):
                if self.screenshot_dir is not None and w == width:
                    self.saved.append(_screenshot(tab, self.screenshot_dir / name, sel))
                    tab.evaluate("() => window.scrollTo(0, 0)")

    def judge(self, rep: PageReport, key: tuple[str, ...], msg: str) -> None:
        """A problem, or an allowed offender when ``key`` is in an allowlist."""
        key = tuple(str(k).strip() for k in key)
        rep.offenders.append(key)
        if key in self.allow or key in self.fig_allow:
            self.seen.add(key)
            rep.allowed.append(msg)
        else:
            rep.problems.append(msg)

    def figures(self, rep: PageReport, images: list[dict]) -> None:
        for img in images:
            if img["natural"] <= 0:
                rep.problems.append(f"image did not load: {img['src']}")
                continue
            if not (img["output"] and img["visible"]):
                continue
            scale = img["shown"] / img["natural"]
            rep.figures.append({**img, "scale": scale})
            name = f"figure {img['file'][:12]}"
            if scale < self.min_scale - 1e-3:
                self.judge(rep, (rep.page, img["file"], "shrunk"),
                           f"{name} is shrunk to {scale:.0%} ({img['natural']} px shown at "
                           f"{img['shown']:.0f} px; below {self.min_scale:.0%} its tick labels "
                           f"are under {MIN_TICK_PX:g} px)")
            if not img["alt"] or img["alt"].split("/")[-1] == img["file"]:
                self.judge(rep, (rep.page, img["file"], "alt"),
                           f"{name}: its alt text is the file name (set mystnb.image.alt)")

    def layout(self, rep: PageReport, lay: dict, width: int) -> None:
        page = rep.page
        if lay["docWidth"] > lay["viewport"] + 1:
            rep.problems.append(f"at {width} px the page is {lay['docWidth']} px wide: "
                                + "; ".join(lay["wideOutside"]))
        for o in lay["offenders"]:
            self.judge(rep, (page, str(width), "sticks-out", o["what"]),
                       f"at {width} px {o['what']!r} is {o['why']} ({o['width']} px, "
                       f"column {o['column']} px)")
        for what in lay["noBar"]:
            rep.problems.append(f"at {width} px a scroll container shows no scroll bar: {what}")
        if width == WIDE[0]:
            for kind in ("equation", "table", "code"):
                for item in lay["kinds"][kind]:
                    if item["over"]:
                        self.judge(rep, (page, str(width), "scrolls", item["what"]),
                                   f"at {width} px {item['what']!r} needs sideways scrolling "
                                   f"({item['width']} px, column {lay['column']} px)")


def check_book(root: Path = HTML_ROOT, chapters: Path = ROOT,
               screenshot_dir: Path | None = SCREENSHOT_DIR, binary: str | None = None,
               pages: list[str] | None = None, axe: bool = True, axe_all: bool = False,
               allowlist: Path | None = ALLOWLIST,
               figure_allowlist: Path | None = FIGURE_ALLOWLIST,
               workers: int | None = None) -> BookReport:
    """Load every page under ``root`` in headless Chromium and return what failed.

    ``chapters`` is the directory that holds ``chapters/`` (the MyST sources whose ``{prf:...}``
    directives are counted). Stale allowlist entries are only reported when every page was
    checked (``pages`` is None). axe's costly page-wide rules (``AXE_SAMPLE_RULES``) run on
    ``AXE_SAMPLE_PAGES`` only, or on every page with ``axe_all``. ``workers`` browsers check
    pages side by side (default ``$BOOK_BROWSER_WORKERS``, else 2).
    """
    binary = binary or find_chromium()
    if binary is None:
        raise FileNotFoundError("Chromium not found: install the Debian packages `chromium`"
                                " (apt-get install -y chromium) or set BOOK_CHROMIUM")
    start = time.monotonic()
    all_pages = pages is None
    pages = list_pages(root) if pages is None else pages
    allow = read_allowlist(allowlist) if allowlist else set()
    fig_allow = read_allowlist(figure_allowlist) if figure_allowlist else set()
    workers = workers or int(os.environ.get("BOOK_BROWSER_WORKERS", "2"))
    workers = max(1, min(workers, len(pages)))
    server, origin = serve(root)
    checker = _Checker(root, chapters, screenshot_dir, binary, origin, axe, axe_all, allow,
                       fig_allow)
    reports = {page: PageReport(page) for page in pages}
    errors: list[BaseException] = []

    def work(share: list[str]) -> None:
        try:
            checker.run(share, reports)
        except BaseException as exc:  # re-raised in the main thread
            errors.append(exc)

    try:
        threads = [threading.Thread(target=work, args=(pages[i::workers],), name=f"browser-{i}")
                   for i in range(workers)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    finally:
        server.shutdown()
        server.server_close()
    if errors:
        raise errors[0]
    for page, msg in link_problems(checker.links, checker.ids, root, origin):
        reports[page].problems.append(msg)
    stale = []
    if all_pages:
        for path, keys in ((allowlist, allow), (figure_allowlist, fig_allow)):
            stale += [f"{path.name}: no longer occurs, remove the line: {chr(9).join(k)}"
                      for k in sorted(keys - checker.seen)]
    return BookReport([reports[p] for p in pages], time.monotonic() - start, checker.saved,
                      stale)


def _screenshot(page, path: Path, selector: str | None) -> Path:
    if selector:
        page.evaluate("(s) => { const e = document.querySelector(s);"
                      " if (e) e.scrollIntoView({block: 'start'}); window.scrollBy(0, -80); }",
                      selector)
        page.wait_for_timeout(200)
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path))
    return path


def offenders_markdown(pages: list[dict]) -> str:
    """``docs/overflow_offenders.md``: every known offender, per page, from a ``--json`` report.

    ``pages`` are the per-page dicts of the report (``page``, ``offenders``, ``layout``).
    """
    out = ["# Known offenders of the browser check, per page", "",
           "Generated by `python scripts/browser_check.py --write-offenders "
           "docs/overflow_offenders.md`",
           "from the built book. Each entry is also a line of `tests/data/overflow_allowlist.txt`",
           "or `tests/data/figure_allowlist.txt`: fix it, then delete its line (the test fails on",
           "a line that no longer applies). How to fix each kind:", "",
           "* **equation needs sideways scrolling at 1280 px**: break it with `aligned` (`&=` "
           "at each relation, `\\\\` between lines) or `gathered`, or move a side condition "
           "into the text. The available width is the column (676 px) less the equation number "
           "and the padding of a theorem box (about 540 px inside a box).",
           "* **table needs sideways scrolling at 1280 px**: fewer columns (split the table by "
           "aspect, or transpose it), footnotes for long parentheticals.",
           "* **raw TeX**: a `$$` display that follows text without a blank line is read as "
           "`$` + inline math + `$`; a wrapped line that starts with `+ ` or `- ` becomes a "
           "list item. Add the blank line, move the operator to the end of the previous line.",
           "* **figure shrunk** / **alt text is the file name**: re-execute the chapter "
           "(`helpers.plotting.figure` now keeps figures within the column) and give each "
           "figure cell `mystnb: image: alt:` metadata (see CONTRIBUTING.md).", ""]
    for p in pages:
        rows = []
        cols = {int(w): lay.get("column") for w, lay in p.get("layout", {}).items()}
        widths: dict[str, tuple] = {}
        for w, lay in p.get("layout", {}).items():
            for kind in ("equation", "table"):
                for item in lay["kinds"][kind]:
                    widths[f"{w}|{item['what'].strip()}"] = (item["width"],
                                                             item.get("avail", cols.get(int(w))))
        for key in p["offenders"]:
            if len(key) == 4 and key[2] == "scrolls":
                width, avail = widths.get(f"{key[1]}|{key[3]}", ("?", "?"))
                rows.append(f"| {key[3].split(' ')[0]} | `{key[3]}` | {width} px in {avail} px "
                            f"at a {key[1]}-px window |")
            elif len(key) == 4:
                rows.append(f"| {key[2]} | `{key[3]}` | at {key[1]} |")
            else:
                fig = next((f for f in p.get("figures", []) if f["file"] == key[1]), None)
                size = (f"{fig['natural']} px shown at {fig['shown']:.0f} px "
                        f"({fig['scale']:.0%})") if fig else ""
                rows.append(f"| figure: {key[2]} | `{key[1][:16]}...` | {size} |")
        if rows:
            out += [f"## {p['page'].removesuffix('.html')}", "",
                    "| kind | element | width |", "|---|---|---|", *sorted(rows), ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", nargs="?", type=Path, default=HTML_ROOT)
    parser.add_argument("--screenshots", type=Path, default=SCREENSHOT_DIR)
    parser.add_argument("--pages", nargs="*", help="only these pages (relative to root)")
    parser.add_argument("--no-axe", action="store_true", help="skip the accessibility audit")
    parser.add_argument("--axe-all", action="store_true",
                        help="run AXE_SAMPLE_RULES (colour contrast, ...) on every page")
    parser.add_argument("--workers", type=int, help="browsers side by side (default 2)")
    parser.add_argument("--json", type=Path, help="write the per-page measurements here")
    parser.add_argument("--write-offenders", type=Path, metavar="MD",
                        help="write the known offenders, per page, as Markdown (see "
                             "docs/overflow_offenders.md)")
    args = parser.parse_args(argv)
    if not (args.root / "index.html").is_file():
        print(f"no built book at {args.root}: run `make build` first", file=sys.stderr)
        return 2
    try:
        report = check_book(args.root, screenshot_dir=args.screenshots, pages=args.pages,
                            axe=not args.no_axe, axe_all=args.axe_all, workers=args.workers)
    except FileNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(report.summary())
    for msg in report.problems:
        print("  " + msg)
    pages = [{"page": p.page, "problems": p.problems, "allowed": p.allowed,
              "offenders": p.offenders, "layout": p.layout, "axe": p.axe,
              "figures": p.figures} for p in report.pages]
    if args.json:
        args.json.write_text(json.dumps(pages, indent=1))
    if args.write_offenders:
        args.write_offenders.write_text(offenders_markdown(pages) + "\n", encoding="utf-8")
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
