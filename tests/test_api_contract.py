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
                yield module.__name__.removeprefix("helpers."), name, obj


PUBLIC = sorted(_public(), key=lambda t: (t[0], t[1]))


def _names_called_under_raises() -> set[str]:
    names: set[str] = set()
    for path in TESTS.rglob("test_*.py"):
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


def test_layout_is_core_plus_one_package_per_paper():
    """helpers/ holds the core modules and one subpackage per paper, nothing else public."""
    root = Path(helpers.__file__).parent
    public = sorted(p.stem for p in root.glob("*.py") if not p.name.startswith("_"))
    packages = sorted(p.name for p in root.iterdir()
                      if p.is_dir() and (p / "__init__.py").exists())
    assert public == sorted(helpers.CORE), "a module is missing from (or not in) helpers.CORE"
    assert packages == sorted(helpers.PAPERS), "a subpackage is missing from helpers.PAPERS"
    for name in helpers.PAPERS:
        inner = [p.name for p in (root / name).glob("*.py") if p.name != "__init__.py"]
        assert all(n.startswith("_") for n in inner), (
            f"helpers.{name}: implementation modules are private (_name.py); the public face is"
            f" its __init__.py, got {inner}")


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
