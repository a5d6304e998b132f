"""Let the single-page builder render every node the HTML builder can (``make pdf`` needs it).

Sphinx looks up the visitors of extension nodes by builder name and falls back to the builder's
format ("html") only when *no* extension registered visitors under the name. sphinx-exercise
registers its nodes for ``singlehtml`` too, so the fallback never happens and sphinx-proof's
nodes (registered for ``html`` only) are unknown to ``singlehtml``: the build stops with
"unknown node type: definition_node". Copying the missing ``html`` visitors to ``singlehtml``
when that builder starts restores the fallback. Other builders are left alone.
"""


def _copy_html_visitors(app):
    if app.builder.name != "singlehtml":
        return
    handlers = app.registry.translation_handlers
    single = handlers.setdefault("singlehtml", {})
    for node, visitors in handlers.get("html", {}).items():
        single.setdefault(node, visitors)


def setup(app):
    app.connect("builder-inited", _copy_html_visitors)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
