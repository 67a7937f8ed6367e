"""The test suite's own layout, as CONTRIBUTING.md describes it: one folder per subject, so a
reader finds a behaviour's tests by what it is about; one name per module across the tree, so a
name says which behaviour it holds and `pytest tests/x/test_y.py` is never ambiguous; and helpers
at tests/ root (helpers.py, front_doors.py, hostile.py, redisserver.py, and tests/e2e/harness.py),
so no test module imports another and moving a test breaks nothing else. And the package's own
modules stay small enough to hold one job each."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
SUBJECTS = {"client", "provider", "tools", "sandbox", "package", "e2e"}


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


def suite_modules() -> list[Path]:
    return sorted(TESTS.rglob("test_*.py"))


def folders() -> list[Path]:
    """Every folder of the suite that holds Python, cache folders aside."""
    return sorted({p.parent for p in TESTS.rglob("*.py") if "__pycache__" not in p.parts})


@pytest.mark.parametrize(
    "module", sorted(TESTS.rglob("*.py")), ids=lambda p: str(p.relative_to(TESTS))
)
def test_no_module_imports_a_test_module(module: Path) -> None:
    test_modules = {m for m in imported_modules(module) if m.rsplit(".", 1)[-1].startswith("test_")}
    assert test_modules == set(), (
        f"{module.name} imports {sorted(test_modules)}: use tests/helpers.py"
    )


def test_every_test_module_sits_in_a_subject_folder() -> None:
    misplaced = [
        str(m.relative_to(TESTS))
        for m in suite_modules()
        if len(m.relative_to(TESTS).parts) != 2 or m.parent.name not in SUBJECTS
    ]
    assert misplaced == [], f"move these into one of tests/{{{','.join(sorted(SUBJECTS))}}}/"


def test_the_subject_folders_are_the_only_folders() -> None:
    assert {f.relative_to(TESTS).as_posix() for f in folders()} == SUBJECTS | {"."}


def test_no_two_test_modules_share_a_name() -> None:
    names = Counter(m.name for m in suite_modules())
    assert [name for name, count in names.items() if count > 1] == []


@pytest.mark.parametrize("folder", folders(), ids=lambda p: str(p.relative_to(TESTS)))
def test_every_folder_is_a_package(folder: Path) -> None:
    """Without `__init__.py`, pytest imports a module by its basename alone and mypy sees two
    top-level modules where it should see `tests.provider.test_x`."""
    assert (folder / "__init__.py").is_file()


PACKAGE = TESTS.parent / "nexudus_pulumi"
LONGEST_MODULE_LINES = 500
"""Past this a module holds more than one job: split it (CONTRIBUTING.md, Layout)."""


def test_no_module_of_the_package_is_longer_than_500_lines() -> None:
    lengths = {
        str(path.relative_to(PACKAGE)): len(path.read_text().splitlines())
        for path in PACKAGE.rglob("*.py")
    }
    assert {name: n for name, n in lengths.items() if n > LONGEST_MODULE_LINES} == {}
    assert len(lengths) > 20  # the package was found
