"""Run one chapter at full scale (``BOOK_SCALE=full``) on whatever device is present.

Usage::

    python scripts/run_full_scale.py chapters/<part>/<name>.md [--out _build/full]
    make full NB=chapters/<part>/<name>.md

* **Never over the committed outputs**: the executed notebook is written to
  ``_build/full/<part>/<name>.ipynb`` (after every cell, so a partial run can be inspected), not
  to ``chapters/``; the committed small-scale ``.ipynb`` is not touched.
* **Device**: the chapter's parameters cell decides (``config.runtime()``: CUDA when a GPU is
  visible, else the CPU); this script only sets ``BOOK_SCALE=full``.
* **Progress**: a bar over the chapter's code cells (with the first line of the running cell and
  the elapsed time), and each cell's printed output echoed as it finishes.
* **Resume**: chapters whose full preset trains for long save checkpoints into folders named by
  environment variables (``BOOK_CHECKPOINTS``, and ``GC08_CHECKPOINT_DIR`` for the depth/width
  CNN figure). Unless already set, they point to ``<out>/checkpoints`` (and its ``gc08``
  subfolder), so running the same command again after an interruption re-executes the notebook
  and every finished training run (or Figure-2 panel) is loaded instead of recomputed. The data
  folders (``CIFAR10_DIR``, ``BOOK_DATA``) are passed through unchanged.

A cell that raises stops the run (exit status 1) after writing the notebook with the error.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]


def full_scale_env(out: Path) -> dict[str, str]:
    """The environment of the kernel: full scale, checkpoints under ``out`` unless set."""
    env = {"BOOK_SCALE": "full"}
    ckpt = Path(os.environ.get("BOOK_CHECKPOINTS", out / "checkpoints")).resolve()
    env["BOOK_CHECKPOINTS"] = str(ckpt)
    env["GC08_CHECKPOINT_DIR"] = os.environ.get("GC08_CHECKPOINT_DIR", str(ckpt / "gc08"))
    return env


def output_path(md: Path, out: Path) -> Path:
    """``_build/full/<part>/<name>.ipynb`` for ``chapters/<part>/<name>.md``."""
    rel = md.resolve().relative_to((ROOT / "chapters").resolve())
    return (out / rel).with_suffix(".ipynb")


def _echo(cell) -> str:
    parts = []
    for o in cell.get("outputs", []):
        if o.get("output_type") == "stream":
            parts.append(o.get("text", ""))
        elif "data" in o and "text/plain" in o["data"] and "image/png" not in o["data"]:
            parts.append(o["data"]["text/plain"] + "\n")
    return "".join(parts)


def run(md: Path, out: Path, timeout: int | None = None, echo: bool = True) -> int:
    md = md.with_suffix(".md")
    target = output_path(md, out)
    target.parent.mkdir(parents=True, exist_ok=True)
    env = full_scale_env(out)
    Path(env["BOOK_CHECKPOINTS"]).mkdir(parents=True, exist_ok=True)
    os.environ.update(env)                      # inherited by the kernel
    os.environ.pop("MPLBACKEND", None)
    nb = jupytext.read(md)
    nb.metadata.setdefault("kernelspec", {"name": "python3", "display_name": "Python 3",
                                          "language": "python"})
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(md.parent)}})
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    print(f"{md} at full scale -> {target}\ncheckpoints: {env['BOOK_CHECKPOINTS']}", flush=True)
    start = time.perf_counter()
    status = 0
    with client.setup_kernel():
        bar = tqdm(code, unit="cell", dynamic_ncols=True)
        for index in bar:
            cell = nb.cells[index]
            first = next((ln for ln in cell.source.splitlines()
                          if ln.strip() and not ln.startswith(("---", "mystnb", " "))), "")
            bar.set_description(f"cell {index}: {first[:40]}")
            try:
                client.execute_cell(cell, index)
            except CellExecutionError as err:
                bar.close()
                print(f"cell {index} failed:\n{str(err)[-3000:]}", file=sys.stderr)
                status = 1
                break
            finally:
                nbformat.write(nb, target)
            if echo and (text := _echo(cell)):
                tqdm.write(text.rstrip("\n"))
    print(f"{time.perf_counter() - start:.0f} s, wrote {target}", flush=True)
    return status


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "full")
    parser.add_argument("--timeout", type=int, default=None, help="seconds per cell")
    parser.add_argument("--quiet", action="store_true", help="do not echo the outputs")
    args = parser.parse_args(argv)
    status = 0
    for md in args.notebooks:
        status |= run(md, args.out.resolve(), args.timeout, echo=not args.quiet)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
