"""End-to-end fixtures. Without an engine these tests skip here, and fail under CI=true.

The sandbox fixture is the one in tests/conftest.py: relaxed limits, no faults until a test sets
them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from nexudus_pulumi.sandbox import Sandbox
from tests.e2e.harness import PulumiProject, find_engine


@pytest.fixture(scope="session")
def engine() -> Path:
    pulumi, reason = find_engine()
    if pulumi is None:
        message = f"the Pulumi engine is unavailable ({reason}); run `make engine`"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    return pulumi


@pytest.fixture
def project(tmp_path: Path, engine: Path, sandbox: Sandbox) -> Iterator[PulumiProject]:
    """A project whose processes must all be gone when the test ends: any left is killed and
    fails the test, naming it."""
    running = PulumiProject.create(tmp_path, engine, sandbox)
    yield running
    left = running.close()
    if left:
        listing = "\n".join(f"  {pid}: {command}" for pid, command in sorted(left.items()))
        pytest.fail(f"processes started by the test were still alive (now killed):\n{listing}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/e2e/ is marked `e2e`: `make check` leaves them out with
    `-m "not e2e"`."""
    here = Path(__file__).parent
    for item in items:
        if item.path.is_relative_to(here):
            item.add_marker(pytest.mark.e2e)
