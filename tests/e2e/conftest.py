"""End-to-end fixtures. Without an engine these tests skip here, and fail under CI=true.

The sandbox fixture is the one in tests/conftest.py: relaxed limits, no faults until a test sets
them.
"""

from __future__ import annotations

import os
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
def project(tmp_path: Path, engine: Path, sandbox: Sandbox) -> PulumiProject:
    return PulumiProject.create(tmp_path, engine, sandbox)
