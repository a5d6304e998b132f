"""Every public helper is documented, has a runnable example and a bad-input test.

The bad-input check reads the test sources: a public function counts as tested when some test
calls it inside a ``with pytest.raises(...)`` block.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import helpers

TESTS = Path(__file__).resolve().parent
MODULES = [getattr(helpers, name) for name in helpers.__all__]


def _public():
    for module in MODULES:
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if inspect.isfunction(obj) or inspect.isclass(obj):
                yield module.__name__.split(".")[-1], name, obj


PUBLIC = sorted(_public(), key=lambda t: (t[0], t[1]))


def _names_called_under_raises() -> set[str]:
    names: set[str] = set()
    for path in TESTS.glob("test_*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not isinstance(node, ast.With):
                continue
            if not any("raises" in ast.unparse(item.context_expr) for item in node.items):
                continue
            for inner in ast.walk(node):
                if isinstance(inner, ast.Call):
                    func = inner.func
                    if isinstance(func, ast.Attribute):
                        names.add(func.attr)
                    elif isinstance(func, ast.Name):
                        names.add(func.id)
    return names


CALLED = _names_called_under_raises()


def test_every_module_declares_its_api():
    for module in MODULES:
        assert getattr(module, "__all__", None), f"{module.__name__} has no __all__"


@pytest.mark.parametrize("module,name,obj", PUBLIC, ids=[f"{m}.{n}" for m, n, _ in PUBLIC])
def test_documented_with_example(module, name, obj):
    doc = inspect.getdoc(obj) or ""
    assert doc, f"helpers.{module}.{name} has no docstring"
    if inspect.isfunction(obj) or (inspect.isclass(obj) and not _is_plain_record(obj)):
        assert "Examples" in doc, f"helpers.{module}.{name}: docstring has no Examples section"


def _is_plain_record(cls) -> bool:
    """Frozen dataclasses that only hold results need no example of their own."""
    return hasattr(cls, "__dataclass_fields__")


@pytest.mark.parametrize("module,name,obj", PUBLIC, ids=[f"{m}.{n}" for m, n, _ in PUBLIC])
def test_has_bad_input_test(module, name, obj):
    if inspect.isclass(obj) and (_is_plain_record(obj) or issubclass(obj, Exception)):
        pytest.skip("result record or exception type")
    assert name in CALLED, (
        f"helpers.{module}.{name} is never called inside `with pytest.raises(...)` in tests/;"
        " add a test that passes it bad input and checks the error message"
    )
