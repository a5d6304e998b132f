"""The Examples block of every helper docstring runs and prints what it says it prints."""

from __future__ import annotations

import doctest

import pytest

import helpers

MODULES = [getattr(helpers, name) for name in helpers.__all__]


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
    if getattr(module, "__all__", None):
        assert examples > 0, f"{module.__name__} has a public API but no docstring examples"
