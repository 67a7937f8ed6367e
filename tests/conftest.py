"""Shared fixtures: a sandbox per test on a free loopback port, and providers configured for it.
Helpers that are not fixtures are in tests/helpers.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from nexudus_pulumi import ChatRoomProvider, client
from nexudus_pulumi.sandbox import Faults, Sandbox
from tests.helpers import RELAXED, MakeProvider, configured, sandbox_config


@pytest.fixture(autouse=True)
def fresh_provider_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test is a new provider process: no client (token, refused login) from an earlier
    test, whose sandbox may have had the same port and so the same settings."""
    monkeypatch.setattr(client, "_shared", {})


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(limits=RELAXED, faults=Faults(seed=7)) as running:
        yield running


@pytest.fixture
def make_provider(sandbox: Sandbox) -> MakeProvider:
    """`make_provider(password="wrong", token=None, ...)`: overrides of `nexudus:*` keys."""

    def make(**overrides: Any) -> ChatRoomProvider:
        return configured(sandbox_config(sandbox, **overrides))

    return make
