"""README.md's description of the helpers package is generated from the package and current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_helpers_table_is_current():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "readme_helpers.py"),
                             "--check"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_layout_section_names_every_package():
    import helpers

    text = (ROOT / "README.md").read_text()
    layout = text.split("## Layout", 1)[1].split("\n## ", 1)[0]
    for name in helpers.PAPERS:
        assert f"helpers/{name}/" in layout, f"README's Layout section does not mention {name}"
