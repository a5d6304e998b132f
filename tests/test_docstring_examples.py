"""The Examples block of every helper docstring runs and prints what it says it prints."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import helpers

# every module of the package, the private implementation modules of the subpackages included
# (a subpackage's __init__ re-exports names; their docstrings live in the private modules)
MODULES = [importlib.import_module(info.name)
           for info in pkgutil.walk_packages(helpers.__path__, "helpers.")]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_docstring_examples(module):
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = finder.find(module, module.__name__)
    examples = sum(len(t.examples) for t in tests)
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {module.__name__}"
    top_level_private = module.__name__.count(".") == 1 and module.__name__.split(".")[1][0] == "_"
    if getattr(module, "__all__", None) and not top_level_private:     # _validate: internal
        assert examples > 0, f"{module.__name__} has a public API but no docstring examples"
