# ruff: noqa: E501, B007
"""One-off: convert the hand-written status tables of the four parts into ``results.yml``.

Reads ``chapters/<part>/??_status.md`` (the tables whose first column is "result" or "figure",
and the text after the last table), writes ``chapters/<part>/results.yml``. Kept in the history
only: after the conversion the status pages are generated from the YAML by make_index.py.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import make_index  # noqa: E402


def split_row(line: str) -> list[str]:
    """Cells of a Markdown table row; a ``|`` inside ``$...$`` or backticks is kept."""
    s = line.strip()
    if s.startswith("|"):
        s = s[1:]
    if s.endswith("|") and not s.endswith("\\|"):
        s = s[:-1]
    cells, cur, math, code = [], "", False, False
    k = 0
    while k < len(s):
        ch = s[k]
        if ch == "\\" and k + 1 < len(s):
            cur += s[k:k + 2]
            k += 2
            continue
        if ch == "`":
            code = not code
        elif ch == "$" and not code:
            math = not math
        if ch == "|" and not math and not code:
            cells.append(cur.strip())
            cur = ""
        else:
            cur += ch
        k += 1
    cells.append(cur.strip())
    return cells


def split_items(cell: str) -> list[str]:
    """Top-level comma-separated items (commas inside (), backticks or $...$ kept)."""
    out, cur, depth, code, math = [], "", 0, False, False
    for ch in cell:
        if ch == "`":
            code = not code
        elif ch == "$" and not code:
            math = not math
        elif not code and not math:
            depth += ch == "("
            depth -= ch == ")"
        if ch == "," and depth == 0 and not code and not math:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    out.append(cur.strip())
    return [o for o in out if o]


def clean_items(cell: str, prev: list[str] | None) -> list[str]:
    cell = cell.strip()
    if cell in ("—", "n/a", "-", ""):
        return []
    if cell == "same":
        return list(prev or [])
    items = []
    for item in split_items(cell):
        m = re.fullmatch(r"`([^`]+)`", item)
        if m and make_index.CODE_ITEM.fullmatch(m.group(1)):
            item = m.group(1)
        if re.fullmatch(r"notebook assert(ion|s)", item):
            item = "notebook asserts"
        if item == "same":
            items += list(prev or [])
            continue
        items.append(item)
    return items


def tables(text: str):
    """(first header, rows as dicts) of every table; and the text after the last table."""
    lines = text.splitlines()
    out, k, last_end = [], 0, 0
    while k < len(lines) - 1:
        head, rule = lines[k].strip(), lines[k + 1].strip()
        if head.startswith("|") and re.fullmatch(r"\|?(\s*:?-{3,}:?\s*\|)+\s*:?-*:?\s*\|?", rule):
            names = [c.lower() for c in split_row(head)]
            k += 2
            rows = []
            while k < len(lines) and lines[k].strip().startswith("|"):
                rows.append(dict(zip(names, split_row(lines[k]))))
                k += 1
            out.append((names[0], rows))
            last_end = k
            continue
        k += 1
    return out, "\n".join(lines[last_end:]).strip()


PHRASES = [("**does not hold as printed**", "fails-as-printed"),
           ("does not hold as printed", "fails-as-printed"),
           ("reproduced with caveat", "holds-with-caveat"),
           ("reproduced", "holds"), ("—", "definition")]


def verdict_and_note(status: str) -> tuple[str | None, str]:
    for phrase, verdict in PHRASES:
        if status.startswith(phrase):
            rest = status[len(phrase):].strip()
            if rest.startswith("("):
                depth = 0
                for i, ch in enumerate(rest):
                    depth += ch == "("
                    depth -= ch == ")"
                    if depth == 0:
                        break
                rest = rest[1:i] + rest[i + 1:]
            rest = rest.lstrip(",:; ")
            if rest == "definition":
                return "definition", ""
            return verdict, rest.strip()
    return None, status


# --------------------------------------------------------------------------- decisions per row
# paper cell -> overrides. Rows whose where cell has exactly one {prf:ref} take it as id by
# default; every other row is listed here.

PAGES = {
    "part1_gradient_confusion": {
        "intro": """\
Every numbered result and figure of {cite}`sankararaman2019confusion` ([L]) and
{cite}`sankararaman2020confusion` ([I]) that Part I covers, with its status, where it is treated,
the helper that computes it and the unit test of that helper. In this part, *holds with caveat*
means: holds in the form stated in the chapter, which differs from the paper in scope, units or
constants (the caveat is in the chapter).

All simulations run at the `small` scale in float64 on one CPU core; unspecified absolute constants
are never checked literally — we check the scaling and report the implied constant.""",
    },
    "part2_li_liang": {
        "intro": """\
Every numbered result and every figure of Li and Liang {cite}`li2018learning`, with its status
in this book, where it is treated, the helper that computes it and the test of that helper
(`tests/li_liang/test_coupling.py` unless stated; `test_*` names are functions in that file).
In this part, *holds with caveat* means: holds after a correction or only in part.""",
    },
    "part3_oymak_soltanolkotabi": {
        "intro": """\
Each row is one numbered result or figure of {cite}`oymak2020moderate`. It gives the status, the
section where it is checked, the helper function used, and the unit test. In this part, *holds
with caveat* means: it holds, but part of it is checked only in scaling, or only below its
hypotheses (the explicit constants are far beyond any feasible size); for a result that does not
hold as printed, the errata box gives the computed counterexample, or the gap in the proof, and
the corrected form.

Helper modules: `helpers/oymak_soltanolkotabi.py` (tests `tests/oymak_soltanolkotabi/test_covariance.py`) and
`helpers/oymak_soltanolkotabi.py` (tests `tests/oymak_soltanolkotabi/test_phase_transition.py`).""",
    },
    "part4_allen_zhu_li_song": {
        "intro": """\
Every numbered result and figure of {cite}`allenzhu2019convergence`, with what this part did with
it. In this part, *holds with caveat* means: trend or exponent measured; the statement's
hypotheses are not met, or only part is checked. Since no experiment can reach
the widths of Theorems 1–5 ({ref}`az-setting`), every theorem is at best "reproduced with caveat".
Helpers are in `helpers/allen_zhu_li_song.py` (tests `tests/allen_zhu_li_song/test_deep_relu.py`) unless noted.""",
    },
}

D = "definition"
H = "holds"
C = "holds-with-caveat"
F = "fails-as-printed"

OVERRIDES = {
    "part1_gradient_confusion": {
        "Definition 2.1 (both)": dict(verdict=D),
        "Orthogonal data decouple SGD (Section 2)": dict(id="gc-orthogonal-decoupling"),
        "[I] Section 8, average confusion": dict(id="gc-average-confusion"),
        "Theorem 3.2 [I]": dict(id="gc-conv-thm-3-2-icml"),
        "App. B optimal rate of Theorem 3.1 [L]": dict(id="gc-conv-optimal-rate"),
        "(P1), (P2) and the activations covered": dict(id="gc-depth-activations"),
        "Theorem 5.3 [L] = Theorem 5.1 + Corollary 5.1 [I]": dict(id="gc-depth-thm-5-3"),
        "Section 6.2 [L] (width, two-layer linear net)": dict(id="gc-init-width"),
        "Figure 1 ([L] and [I]): over- vs under-parameterized linear regression":
            dict(id="gc-fig-1"),
        "Figure 2 [L]: width and gradient inner products, 5-layer linear net":
            dict(id="gc-fig-2-l"),
        "Figures 6–9 [L] (MNIST MLPs, depth and width, linear and tanh, Glorot and LeCun)":
            dict(id="gc-fig-6-9-l"),
        "Figure 3 [L] and Figure 2 [I] (depth, plain CNN-$\\beta$-$\\ell$ / WRN without BN "
        "and skips)": dict(id="gc-fig-3-l"),
        "Figure 4 [L] and Figure 3 [I] (width)": dict(id="gc-fig-4-l"),
        "Figure 5 [L] (batch norm and skips on a WRN, plain net with a BN-equivalent "
        "data-dependent init)": dict(id="gc-fig-5-l"),
        "Figure 4 [I] (none / skip / BN / BN + skip vs depth)": dict(id="gc-fig-4-i"),
    },
    "part2_li_liang": {
        "(A3), eq. (1)": dict(id="ll-def-net", also=["ll-def-sgd"], verdict=H),
        "Theorem 4.1": dict(id="ll-thm-4-1", also=["ll-thm-4-1-exponents"]),
        "Lemma B.3": dict(note="along SGD"),
        "pseudo-network = NTK linearisation": dict(id="ll-prop-linearisation",
                                                   also=["ll-prop-ntk-scaling"]),
        "Fig. 1 (synthetic: accuracy, pattern change, distance, spectrum)": dict(id="ll-fig-1"),
        "Fig. 2 (MNIST)": dict(id="ll-fig-2"),
        "Fig. 3 (XOR, separability)": dict(id="ll-fig-3"),
        "Fig. 4 (steps to 98% / 95%)": dict(id="ll-fig-4"),
        "Fig. 5 (distance at 98% $\\approx\\frac{2}{3\\sqrt m}$)": dict(id="ll-fig-5"),
        "Fig. 6 (larger variance)": dict(id="ll-fig-6"),
        "Fig. 7 (more components)": dict(id="ll-fig-7"),
        "true vs random labels (§4, §6)": dict(id="ll-random-labels"),
    },
    "part3_oymak_soltanolkotabi": {
        "Model (1.1), loss (2.1), output layer (footnote 1)": dict(id="os-def-model",
                                                                    verdict=D),
        "Jacobian identity (6.1), $\\mathcal J\\mathcal J^\\T$ as a Hadamard product":
            dict(id="os-jacobian-identity"),
        "Definition 6.1, $\\boldsymbol\\Sigma(\\bX)$, $\\lambda(\\bX)$, (A.1)":
            dict(id="os-def-6-1"),
        "Definition 3.1, $\\widetilde{\\boldsymbol\\Sigma}(\\bX)$": dict(id="os-def-3-1",
                                                                       verdict=D),
        "Constants $\\mu_\\phi\\approx0.207$ (softplus), $\\mu^2 = 1/(2\\pi)$ (ReLU)":
            dict(id="os-activation-constants"),
        "Theorem 2.1 (rate, distance, path)": dict(id="os-res-thm-2-1"),
        "Theorem 2.1 / 6.2 rate constant $1/32$ for $\\norm{\\mathbf r}$":
            dict(id="os-rate-constant"),
        "Corollary 2.2 ($\\kappa = O(1)$, $\\norm\\bX\\le2\\sqrt{n/d}$, $kd\\gtrsim n^2$)":
            dict(id="os-res-cor-2-2"),
        "Theorem 2.3 (ReLU)": dict(id="os-res-thm-2-3"),
        "Corollary 2.4 step size": dict(id="os-res-cor-2-4"),
        "Assumption 1, Theorem 2.5, Corollary I.2 ($\\lambda\\ge\\delta/(100n^2)$)":
            dict(id="os-res-thm-2-5", also=["os-ass-1"]),
        "Theorem 2.6 (SGD)": dict(id="os-res-thm-2-6"),
        "Theorem 2.6, $\\Prob(E)$": dict(id="os-thm-2-6-probability"),
        "Theorem 3.2 (random features)": dict(id="os-res-thm-3-2"),
        "Figure 2 (a)–(d)": dict(id="os-fig-2", kind="figure"),
        "Theorem 6.2 / 6.3 (meta-theorems)": dict(id="os-thm-6-2", also=["os-thm-6-3"]),
        "Lemma 6.4, (6.4)–(6.5)": dict(id="os-lem-6-4"),
        "Lemma 6.4 when $n>d(d+1)/2$": dict(id="os-lem-6-4-large-n"),
        "Lemma 6.5 (Schur)": dict(id="os-lem-6-5"),
        "Lemmas 6.6, 6.7, 6.12": dict(id="os-lem-jacobian"),
        "Lemma 6.8": dict(id="os-lem-6-8"),
        "Lemma 6.9, C.1–C.3": dict(id="os-lem-c-1-2"),
        "Theorem 6.10, Corollary 6.11": dict(id="os-thm-6-10"),
        "Assumptions 2–4, Theorem 6.13, Lemmas G.1–G.4": dict(id="os-thm-6-13",
                                                              also=["os-lem-g-2-4"]),
        "Theorem 6.14 / A.1 (matrix Chernoff)": dict(id="os-thm-a-1"),
        "Lemma G.4, proof": dict(id="os-lem-g-4-proof"),
        "Lemmas H.1, H.2 (Hermite forms)": dict(id="os-lem-h", also=["os-prop-mehler"]),
        "Theorem I.1": dict(id="os-cor-i-2"),
    },
    "part4_allen_zhu_li_song": {
        "Assumption 2.1 ($\\delta$-separation, bias coordinate)": dict(verdict=D),
        "Assumption 2.4 (width, $\\delta\\le O(1/L)$)": dict(id="az-set-ass-2-4"),
        "Theorem 6 (other losses)": dict(verdict=C),
        "Theorem 7 (CNN), Assumption B.1": dict(id="az-conv-thm-7",
                                                also=["az-rem-lem-cnn-norms"]),
        "Claim 7.6": dict(verdict=H),
        # the old rule counted this lemma as checked by its unit test (no assert in its section)
        "Lemma 8.2 (forward perturbation)": dict(check="unit-test"),
        "Definition 9.1, Remark 9.2": dict(verdict=H),
        "Claim 9.5": dict(id="az-claim-9-5"),
        "Fact 9.6": dict(id="az-fact-9-6", verdict=F),
        "Section 9.2 decomposition of $\\bW_L$, value of $\\theta$":
            dict(id="az-sec-9-2-decomposition"),
        "Figure 1 (VGG19, CIFAR-10, six epochs)": dict(id="az-fig-1"),
        "Figures 2–3 (ResNet-32 / ResNet-110, CIFAR-10 vs CIFAR-100)": dict(id="az-fig-2-3"),
        "Figure 4 (VGG19-BN, CIFAR-10 vs CIFAR-100)": dict(id="az-fig-4"),
        "Figures 5–6 (ResNet-32 / ResNet-110, 20% label noise)": dict(id="az-fig-5-6"),
        "Figure 7 (VGG19-BN, 20% label noise)": dict(id="az-fig-7"),
    },
}

#: labelled statements with no row in the old tables: (paper, verdict, note)
ADDED = {
    "gc-bn-def-variants": ("The four variants of [I] Figure 4", D, ""),
    "gc-bn-def-ddi": ("Data-dependent initialisation equivalent to batch normalisation", D, ""),
    "ll-def-v": ("Error variables", D, ""),
    "ll-def-s": ("Simplified case (S) and pseudo-gradient", D, ""),
    "os-prop-arccos": ("ReLU closed forms (arc-cosine kernels)", H,
                       "closed forms of the ReLU kernels (no row in the former status table)"),
    "az-res-def-c": ("The residual network of Appendix C", D, ""),
}


def convert(folder: Path) -> dict:
    status_md = next(folder.glob("??_status.md"))
    text = status_md.read_text(encoding="utf-8")
    label = re.search(r"^\(([\w-]+)\)=\s*$", text, re.M).group(1)
    title = re.search(r"^# (.*)$", text, re.M).group(1).strip()
    found, after = tables(text)
    over = OVERRIDES[folder.name]
    entries = []
    labels = {}
    for md in sorted(folder.glob("*.md")):
        for r in make_index.parse_results(md.read_text(encoding="utf-8"), md):
            if r.label:
                labels[r.label] = r
    used = set()
    for first, rows in found:
        prev_h = prev_t = None
        for row in rows:
            paper = row[first]
            o = dict(over.pop(paper, {}))
            where = split_items(row.get("where") or row.get("section") or "")
            refs = [m.group(2) for w in where for m in make_index.REF.finditer(w)
                    if m.group(1) == "prf:ref"]
            verdict, note = verdict_and_note(row["status"])
            eid = o.get("id") or (refs[0] if len(refs) == 1 else None)
            if eid is None:
                raise SystemExit(f"{folder.name}: no id for row {paper!r} (refs {refs})")
            if "verdict" in o:
                if verdict is None or o["verdict"] != verdict:
                    note = row["status"] if verdict is None or o["verdict"] != D else note
                verdict = o["verdict"]
            if verdict is None:
                raise SystemExit(f"{folder.name}: no verdict for {paper!r}: {row['status']!r}")
            if "verdict" not in o and verdict == "holds" and eid in labels and labels[eid].kind in (
                    "definition", "assumption") and row["status"] == "reproduced":
                verdict = D
            if "note" in o:
                note = o["note"]
            helpers = clean_items(row.get("helper", ""), prev_h)
            tests = clean_items(row.get("test", ""), prev_t)
            prev_h, prev_t = helpers, tests
            e = {"id": eid}
            if first == "figure" or o.get("kind") == "figure":
                e["kind"] = "figure"
            e |= {"paper": paper, "verdict": verdict}
            if note:
                e["note"] = note
            e["where"] = where
            if o.get("also"):
                e["also"] = o["also"]
            e["helpers"] = helpers
            e["tests"] = tests
            if o.get("check"):
                e["check"] = o["check"]
            entries.append(e)
            used |= {eid, *o.get("also", [])}
    if over:
        raise SystemExit(f"{folder.name}: overrides not used: {sorted(over)}")
    for lab, r in labels.items():
        if lab in used or r.kind not in make_index.ENTRY_KINDS:
            continue
        paper, verdict, note = ADDED[lab]
        e = {"id": lab, "paper": paper, "verdict": verdict}
        if note:
            e["note"] = note
        e |= {"where": [f"{{prf:ref}}`{lab}`"], "helpers": [], "tests": []}
        entries.append(e)
    page = {"label": label, "title": title, "intro": PAGES[folder.name]["intro"].strip() + "\n"}
    if after:
        page["after"] = after + "\n"
    return {"page": page, "results": entries}


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper, value):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)

HEAD = """\
# Status of the results of {part}: one entry per result or figure of the paper.
# The status pages, the index of results, the errata page and the checks page are generated
# from this file and the checks recorded in the notebooks by `make index`
# (scripts/make_index.py). Schema and the rule deriving the status: CONTRIBUTING.md,
# "Status of results".
"""


def dump(data: dict, path: Path) -> None:
    text = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100,
                     default_flow_style=False)
    # a blank line between entries
    text = re.sub(r"\n(- id: )", r"\n\n\1", text)
    path.write_text(HEAD.format(part=path.parent.name) + "\n" + text, encoding="utf-8")


def main() -> None:
    for folder in sorted((ROOT / "chapters").glob("part*")):
        data = convert(folder)
        dump(data, folder / make_index.RESULTS_YML)
        print(f"wrote {folder.name}/results.yml: {len(data['results'])} entries")


if __name__ == "__main__":
    main()
