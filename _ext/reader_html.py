"""Small fixes to the HTML the extensions write, found by the browser check's audit.

* **One id, many elements.** sphinx-proof gives every theorem box's body ``id="proof-content"``
  and every unlabelled proof ``id="proof"``; sphinx-exercise gives every exercise and solution
  body ``id="exercise-content"`` / ``id="solution-content"``. Nothing links to these ids (they
  are styling hooks), but an id must be unique in a page (assistive technology and
  ``document.getElementById`` see only the first). The ids become classes; ``_static/book.css``
  restyles ``div.proof-unlabelled`` as ``proof.css`` styled ``div#proof``.
* **Bibliography roles.** docutils marks each citation ``role="doc-biblioentry"``, a role ARIA
  1.2 deprecated and not allowed on a ``div``, inside a ``role="list"`` that then has no list
  items; each citation becomes a ``role="listitem"``.
* **Unnamed disclosure buttons.** The theme's sidebar folds a chapter's sections under a
  ``<summary>`` that holds only a chevron icon, so screen readers announce an unnamed button;
  it gets ``aria-label="Sections of <chapter>"``.
"""

from __future__ import annotations

from docutils import nodes
from sphinx.transforms.post_transforms import SphinxPostTransform

#: shared id -> class that replaces it
SHARED_IDS = {
    "proof-content": "proof-content",
    "exercise-content": "exercise-content",
    "solution-content": "solution-content",
    "proof": "proof-unlabelled",
}


class UniqueIds(SphinxPostTransform):
    """Replace the ids that sphinx-proof and sphinx-exercise repeat by classes."""

    default_priority = 900
    formats = ("html",)

    def run(self, **kwargs) -> None:
        for node in self.document.findall(nodes.Element):
            ids = node.get("ids")
            if not ids:
                continue
            for shared, cls in SHARED_IDS.items():
                if shared in ids:
                    ids.remove(shared)
                    if cls not in node["classes"]:
                        node["classes"].append(cls)


def _fix_body(app, pagename, templatename, context, doctree):
    body = context.get("body")
    if body and 'role="doc-biblioentry"' in body:
        context["body"] = body.replace('role="doc-biblioentry"', 'role="listitem"')
    generate = context.get("generate_toctree_html")
    if generate is None or getattr(generate, "_book_named", False):
        return

    def named(*args, **kwargs):
        soup = generate(*args, **kwargs)
        if hasattr(soup, "select"):
            for summary in soup.select("details > summary"):
                if summary.get_text(strip=True) or summary.get("aria-label"):
                    continue
                li = summary.find_parent("li")
                link = li.find("a") if li is not None else None
                title = link.get_text(" ", strip=True) if link is not None else "this chapter"
                summary["aria-label"] = f"Sections of {title}"
        return soup

    named._book_named = True
    context["generate_toctree_html"] = named


def setup(app):
    app.add_post_transform(UniqueIds)
    # after pydata-sphinx-theme has put generate_toctree_html into the context (priority 500)
    app.connect("html-page-context", _fix_body, priority=950)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
