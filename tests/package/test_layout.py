"""The test suite's own layout, as CONTRIBUTING.md describes it: helpers at tests/ root (and
tests/e2e/harness.py), so no test module imports another and moving a test breaks nothing else."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize(
    "module", sorted(TESTS.rglob("*.py")), ids=lambda p: str(p.relative_to(TESTS))
)
def test_no_module_imports_a_test_module(module: Path) -> None:
    test_modules = {m for m in imported_modules(module) if m.rsplit(".", 1)[-1].startswith("test_")}
    assert test_modules == set(), (
        f"{module.name} imports {sorted(test_modules)}: use tests/helpers.py"
    )
