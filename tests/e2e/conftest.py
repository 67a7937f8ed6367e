"""End-to-end fixtures. Without an engine these tests skip here, and fail under CI=true."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from nexudus_pulumi.sandbox import Faults, Limits, Sandbox
from tests.e2e.harness import PulumiProject, find_engine

RELAXED = Limits(min_interval=0, requests_per_window=100_000, writes_per_window=100_000)


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
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(limits=RELAXED, faults=Faults(seed=5)) as running:
        yield running


@pytest.fixture
def project(tmp_path: Path, engine: Path, sandbox: Sandbox) -> PulumiProject:
    return PulumiProject.create(tmp_path, engine, sandbox)
