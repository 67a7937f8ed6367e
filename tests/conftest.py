"""Shared fixtures: a sandbox per test on a free loopback port, and providers configured for it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config

from nexudus_pulumi import ChatRoomProvider, client
from nexudus_pulumi.provider import RecordProvider
from nexudus_pulumi.sandbox import DEMO_PASSWORD, DEMO_USER, Faults, Limits, Sandbox

RELAXED = Limits(min_interval=0, requests_per_window=100_000, writes_per_window=100_000)
"""Sandbox limits for tests that are not about throttling."""

FAST_CLIENT = {
    "nexudus:minIntervalMs": 0,
    "nexudus:requestsPerMinute": 100_000,
    "nexudus:writesPerMinute": 100_000,
    "nexudus:backoffBaseMs": 20,
}

MakeProvider = Callable[..., ChatRoomProvider]
P = TypeVar("P", bound=RecordProvider)


@pytest.fixture(autouse=True)
def fresh_provider_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test is a new provider process: no client (token, refused login) from an earlier
    test, whose sandbox may have had the same port and so the same settings."""
    monkeypatch.setattr(client, "_shared", {})


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(limits=RELAXED, faults=Faults(seed=7)) as running:
        yield running


def configured(config: dict[str, Any]) -> ChatRoomProvider:
    """A room provider as the engine makes one: unpickled, then configured with the stack config."""
    return configure(ChatRoomProvider(), config)


def configure(provider: P, config: dict[str, Any]) -> P:
    """`provider`, of any record type, configured with the stack config."""
    provider.configure(ConfigureRequest(Config(config, "nexudus-rooms")))
    return provider


def sandbox_config(sandbox: Sandbox, **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "nexudus:baseUrl": sandbox.url,
        "nexudus:username": DEMO_USER,
        "nexudus:password": DEMO_PASSWORD,
        **FAST_CLIENT,
    }
    for key, value in overrides.items():
        if value is None:
            config.pop(f"nexudus:{key}", None)
        else:
            config[f"nexudus:{key}"] = value
    return config


@pytest.fixture
def make_provider(sandbox: Sandbox) -> MakeProvider:
    """`make_provider(password="wrong", token=None, ...)`: overrides of `nexudus:*` keys."""

    def make(**overrides: Any) -> ChatRoomProvider:
        return configured(sandbox_config(sandbox, **overrides))

    return make


def room(key: str, **fields: Any) -> dict[str, Any]:
    """Inputs as the engine passes them after check: numbers arrive as floats."""
    props: dict[str, Any] = {"businessId": 1001.0, "name": key.title(), "ownerTag": f"p/t/{key}"}
    props.update(fields)
    return props


@dataclass
class Created:
    id: str
    outs: dict[str, Any]


def create(provider: RecordProvider, props: dict[str, Any]) -> Created:
    """`provider.create`, typed for tests: a create always returns outputs."""
    result = provider.create(props)
    assert result.outs is not None
    return Created(result.id, result.outs)
