"""Shared fixtures: a sandbox per test on a free loopback port, and providers configured for it.
Helpers that are not fixtures are in tests/helpers.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pulumi
import pytest

from nexudus_pulumi import ChatRoomProvider, client
from nexudus_pulumi.sandbox import Faults, Sandbox
from tests.helpers import RELAXED, MakeProvider, RecordingMocks, configured, sandbox_config


@pytest.fixture(autouse=True)
def fresh_provider_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test is a new provider process: no client (token, refused login) from an earlier
    test, whose sandbox may have had the same port and so the same settings. Its clients'
    connections are closed when it ends, as a process's are when it exits: a keep-alive
    connection left open would keep a stopped sandbox's handler thread alive, which a later
    test waiting for its own sandbox to settle would take for its own."""
    clients: dict[Any, client.NexudusClient] = {}
    monkeypatch.setattr(client, "_shared", clients)
    yield
    for made in list(clients.values()):
        made.close()


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


@pytest.fixture
def mocks(monkeypatch: pytest.MonkeyPatch) -> RecordingMocks:
    """A program run under Pulumi's mocks (project nexudus-rooms, stack dev, an update), its
    warnings kept, and no `NEXUDUS_*` variable of the machine running the tests in the way."""
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="nexudus-rooms", stack="dev", preview=False)
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *a, **k: mocks.warnings.append(message))
    for name in [n for n in os.environ if n.startswith("NEXUDUS_")]:
        monkeypatch.delenv(name)
    return mocks
