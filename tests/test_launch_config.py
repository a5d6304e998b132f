"""The launch-button configuration (scripts/launch_config.py).

Publishing with ``make book BOOK_REPOSITORY=owner/name`` must give Binder and Colab buttons and
a repository link that point at that repository, and change nothing else in ``book.yml``.
The Binder environment (binder/) is checked with the other environment files in
tests/test_environment_files.py.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("launch_config",
                                              ROOT / "scripts" / "launch_config.py")
launch_config = importlib.util.module_from_spec(_spec)
sys.modules["launch_config"] = launch_config
_spec.loader.exec_module(launch_config)

BOOK = (ROOT / "book.yml").read_text(encoding="utf-8")


def test_committed_config_has_no_placeholder_repository():
    config = yaml.safe_load(BOOK)
    assert "repository" not in config
    assert not config["html"]["use_repository_button"]
    assert "binderhub_url" not in config["launch_buttons"]


@pytest.mark.parametrize("repo", ["owner/name", "https://github.com/owner/name.git"])
def test_render_sets_repository_and_launch_buttons(repo):
    config = yaml.safe_load(launch_config.render(BOOK, repo, "dev"))
    assert config["repository"] == {"url": "https://github.com/owner/name", "branch": "dev",
                                    "path_to_book": ""}
    assert config["launch_buttons"]["binderhub_url"] == "https://mybinder.org"
    assert config["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    assert config["html"]["use_repository_button"] and config["html"]["use_issues_button"]


def test_render_changes_nothing_else():
    original = yaml.safe_load(BOOK)
    rendered = yaml.safe_load(launch_config.render(BOOK, "owner/name"))
    for key in set(original) | set(rendered):
        if key not in {"repository", "launch_buttons", "html"}:
            assert rendered.get(key) == original.get(key), key
    assert rendered["launch_buttons"]["notebook_interface"] == "classic"


@pytest.mark.parametrize("repo, branch, match", [
    ("owner", "main", "repository: expected a GitHub 'owner/name'"),
    ("owner/name/extra", "main", "repository"),
    ("owner/na me", "main", "repository"),
    ("owner/name", "bad branch", "branch: expected a git branch name"),
    ("owner/name", "a/../b", "branch"),
])
def test_render_rejects_bad_arguments(repo, branch, match):
    with pytest.raises(ValueError, match=match):
        launch_config.render(BOOK, repo, branch)


def test_render_rejects_unexpected_config():
    with pytest.raises(ValueError, match="already has a repository block"):
        launch_config.render(BOOK + "\nrepository:\n  url: x\n", "owner/name")
    with pytest.raises(ValueError, match="launch_buttons"):
        launch_config.render("html:\n  a: 1\n", "owner/name")


def test_main_usage_and_errors(capsys):
    assert launch_config.main([]) == 2
    assert launch_config.main(["not a repo"]) == 2
    assert "repository" in capsys.readouterr().err
