"""How big is the code, and where does it live? The architecture's numbers, for review.

Usage::

    python scripts/code_metrics.py            # a table per package and per part
    python scripts/code_metrics.py --json     # the same numbers as JSON

* **helper code lines**: lines of Python in ``helpers/`` that are not blank, not comments and
  not inside docstrings, per core module and per paper subpackage, with the number of public
  names (the ``__all__`` of each core module and of each subpackage's ``__init__``);
* **notebook code lines**: lines of the code cells of every chapter (the hidden macros cell
  excluded), per part, and their share of all code (notebooks + helpers);
* **inline definitions**: functions and classes defined in notebooks, and those longer than 15
  lines; **duplicated definitions**: a function name defined in two notebooks (except the
  conventions of CONTRIBUTING: the presets dataclass ``Sizes``/``Panel`` and an exploration
  page's ``explore``).
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import re
import sys
import tokenize
from collections import defaultdict
from pathlib import Path

import jupytext

ROOT = Path(__file__).resolve().parents[1]
#: Names every notebook of a kind defines by convention (CONTRIBUTING): the presets dataclass of
#: the parameters cell and the exploration page's live function. Not duplicated code.
CONVENTIONS = {"Sizes", "Panel", "explore"}


def code_lines(source: str) -> int:
    """Lines holding code: not blank, not only a comment, not part of a docstring."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return sum(1 for ln in source.splitlines() if ln.strip() and not ln.strip().startswith("#"))
    doc_lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = getattr(node, "body", [])
            if body and isinstance(body[0], ast.Expr) and isinstance(
                    getattr(body[0], "value", None), ast.Constant) and isinstance(
                    body[0].value.value, str):
                doc_lines.update(range(body[0].lineno, body[0].end_lineno + 1))
    lines = set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                        tokenize.DEDENT, tokenize.ENDMARKER):
            continue
        for ln in range(tok.start[0], tok.end[0] + 1):
            if ln not in doc_lines:
                lines.add(ln)
    return len(lines)


def public_names(init: Path) -> int:
    tree = ast.parse(init.read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__"
                                                for t in node.targets):
            return len(node.value.elts) if isinstance(node.value, ast.List | ast.Tuple) else 0
    return 0


def helper_metrics() -> dict:
    out = {}
    root = ROOT / "helpers"
    for path in sorted(root.glob("*.py")):
        if path.name == "__init__.py":
            continue
        out[path.stem] = {"kind": "core" if not path.stem.startswith("_") else "private",
                          "lines": code_lines(path.read_text()),
                          "public": public_names(path)}
    for pkg in sorted(p for p in root.iterdir() if (p / "__init__.py").exists()):
        lines = sum(code_lines(f.read_text()) for f in pkg.glob("*.py"))
        out[pkg.name] = {"kind": "paper", "lines": lines,
                         "public": public_names(pkg / "__init__.py"),
                         "modules": len(list(pkg.glob("_*.py")))}
    return out


def notebook_metrics() -> dict:
    per_part: dict[str, dict] = defaultdict(lambda: {"lines": 0, "defs": 0, "long_defs": 0})
    defined: dict[str, list[str]] = defaultdict(list)
    long_defs = []
    for md in sorted((ROOT / "chapters").glob("*/*.md")):
        nb = jupytext.read(md)
        part = md.parent.name
        for cell in nb.cells:
            if cell.cell_type != "code" or "remove-cell" in cell.metadata.get("tags", []):
                continue
            src = cell.source
            per_part[part]["lines"] += sum(1 for ln in src.splitlines() if ln.strip())
            clean = "\n".join("" if ln.lstrip().startswith(("%", "!")) else ln
                              for ln in src.splitlines())
            try:
                tree = ast.parse(clean)
            except SyntaxError:
                continue
            for node in tree.body:
                if isinstance(node, ast.FunctionDef | ast.ClassDef):
                    per_part[part]["defs"] += 1
                    defined[node.name].append(md.stem)
                    length = node.end_lineno - node.lineno + 1
                    if length > 15:
                        per_part[part]["long_defs"] += 1
                        long_defs.append(f"{md.stem}: {node.name} ({length} lines)")
    duplicated = {name: pages for name, pages in defined.items()
                  if len(set(pages)) > 1 and name not in CONVENTIONS}
    return {"parts": dict(per_part), "long_defs": long_defs, "duplicated": duplicated}


def loops() -> list[str]:
    """Functions of helpers/ that contain an optimisation loop (an in-place update of weights
    inside a for loop): what should be one trainer."""
    found = []
    for path in sorted((ROOT / "helpers").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                text = ast.get_source_segment(path.read_text(), node) or ""
                if re.search(r"for .* in (tqdm\()?range\(", text) and re.search(
                        r"\.sub_\(|W = W - |W -= |p\.sub_|-= .*lr|lr\w* \* ", text):
                    found.append(f"{path.relative_to(ROOT)}:{node.name}")
    return found


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    helpers, notebooks = helper_metrics(), notebook_metrics()
    nb_lines = sum(p["lines"] for p in notebooks["parts"].values())
    helper_lines = sum(h["lines"] for h in helpers.values())
    result = {"helpers": helpers, "notebooks": notebooks, "loops": loops(),
              "totals": {"helper_lines": helper_lines, "notebook_lines": nb_lines,
                         "notebook_share": round(nb_lines / (nb_lines + helper_lines), 3)}}
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    print(f"{'helpers':24s} {'kind':8s} {'lines':>6s} {'public':>7s}")
    for name, h in helpers.items():
        print(f"{name:24s} {h['kind']:8s} {h['lines']:6d} {h['public']:7d}")
    print(f"\n{'notebooks':32s} {'lines':>6s} {'defs':>5s} {'>15 lines':>10s}")
    for part, n in notebooks["parts"].items():
        print(f"{part:32s} {n['lines']:6d} {n['defs']:5d} {n['long_defs']:10d}")
    t = result["totals"]
    print(f"\nhelper code {t['helper_lines']} lines, notebook code {t['notebook_lines']} lines: "
          f"notebooks hold {t['notebook_share']:.0%} of all code")
    print(f"definitions over 15 lines in notebooks: {len(notebooks['long_defs'])}")
    print(f"names defined in two notebooks: {sorted(notebooks['duplicated'])}")
    print(f"training loops in helpers: {result['loops']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
