"""environment.yml mirrors requirements.txt, and torch stays pinned exactly."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _requirements() -> list[str]:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _conda_pip() -> list[str]:
    lines = (ROOT / "environment.yml").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "- pip:")
    return [line.strip()[2:] for line in lines[start + 1:] if line.strip().startswith("- ")]


def test_torch_pinned_exactly():
    assert "torch==2.13.0" in _requirements()


def test_every_requirement_is_pinned():
    loose = [r for r in _requirements() if "==" not in r]
    assert not loose, f"pin these exactly: {loose}"


def test_environment_mirrors_requirements():
    assert _conda_pip() == _requirements()


def test_python_version_matches():
    assert "python=3.11" in (ROOT / "environment.yml").read_text()
    assert 'requires-python = ">=3.11,<3.12"' in (ROOT / "pyproject.toml").read_text()
