"""Helpers shared by the test modules (fixtures live in conftest.py): providers configured for a
sandbox, declarations as the engine passes them, and what the sandbox saw.

Test modules import from here, never from one another, so that moving or deleting a test never
breaks an unrelated module.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pulumi
from pulumi.dynamic import CheckFailure, ConfigureRequest
from pulumi.dynamic.config import Config

from nexudus_pulumi import ChatRoomProvider, CommunityGroupProvider
from nexudus_pulumi.kinds import KINDS
from nexudus_pulumi.models import why_refused
from nexudus_pulumi.pacing import Pacer
from nexudus_pulumi.provider import RecordProvider
from nexudus_pulumi.recordkind import RecordKind
from nexudus_pulumi.sandbox import (
    DEMO_PASSWORD,
    DEMO_USER,
    READER_PASSWORD,
    READER_USER,
    PublishedLimits,
    Sandbox,
)
from nexudus_pulumi.sandbox.store import RecordStore

AUTH = (DEMO_USER, DEMO_PASSWORD)
"""The sandbox's full-access demo account, for requests a test sends by hand."""

READER_AUTH = (READER_USER, READER_PASSWORD)
"""The sandbox's read-only demo account."""

RELAXED = PublishedLimits(min_interval=0, requests_per_window=100_000, writes_per_window=100_000)
"""Sandbox limits for tests that are not about throttling."""

FAST_CLIENT = {
    "nexudus:minIntervalMs": 0,
    "nexudus:requestsPerMinute": 100_000,
    "nexudus:writesPerMinute": 100_000,
    "nexudus:backoffBaseMs": 20,
}

ROOMS_PATH = "/api/support/chatrooms"


def send(pacer: Pacer, *, write: bool, max_wait: float = math.inf) -> float:
    """A turn of the pacer for a request answered the moment it is sent: the pacer's
    arithmetic, with no time in flight. Returns the send time."""
    sent = pacer.wait_turn(write=write, max_wait=max_wait)
    pacer.answered(sent, write=write)
    return sent


BAD_VALUES = {
    "nexudus:baseUrl": "spaces.nexudus.com",
    "nexudus:timeoutSeconds": "0",
    "nexudus:deadlineSeconds": "soon",
    "nexudus:writesPerMinute": "sixty",
    "nexudus:requestsPerMinute": "-5",
    "nexudus:minIntervalMs": "0.5",
    "nexudus:maxRetries": "-1",
    "nexudus:backoffBaseMs": "fast",
    "nexudus:logLevel": "chatty",
    "nexudus:skipCredentialsValidation": "maybe",
    "nexudus:writesPerDay": "lots",
    "nexudus:membershipBumpsUpdatedOn": "sometimes",
    "nexudus:paceUrl": "http://cache.internal:6379",
    "nexudus:quotaShare": "1.5",
}
"""A value each checked `nexudus:*` key refuses (the settings tests and the preview gate)."""

MakeProvider = Callable[..., ChatRoomProvider]


class RecordingMocks(pulumi.runtime.Mocks):
    """Pulumi's mocks for a program test (no engine, no API): keeps the inputs each resource is
    registered with, by resource name, and answers with them as its outputs (id `id-<name>`);
    the `mocks` fixture (conftest.py) adds the program's warnings."""

    def __init__(self) -> None:
        self.created: dict[str, dict[str, Any]] = {}
        self.warnings: list[str] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.created[args.name] = dict(args.inputs)
        return f"id-{args.name}", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
        return {}, []


P = TypeVar("P", bound=RecordProvider)


def configured(config: dict[str, Any]) -> ChatRoomProvider:
    """A room provider as the engine makes one: unpickled, then configured with the stack config."""
    return configure(ChatRoomProvider(), config)


def configure(provider: P, config: dict[str, Any]) -> P:
    """`provider`, of any record type, configured with the stack config."""
    provider.configure(ConfigureRequest(Config(config, "nexudus-rooms")))
    return provider


def edited(declared: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """`declared` as a user edits it: `change`'s values set, a None value removing its key."""
    return {k: v for k, v in {**declared, **change}.items() if v is not None}


def only_failure(provider: RecordProvider, news: dict[str, Any]) -> CheckFailure:
    """What `check` refuses in `news`, asserting it names exactly one property."""
    failures = provider.check({}, news).failures
    assert len(failures) == 1, [f.property for f in failures]
    return failures[0]


def sandbox_config(sandbox: Sandbox, **overrides: Any) -> dict[str, Any]:
    """The stack config of a provider talking to `sandbox`; `overrides` set (or, as None,
    remove) `nexudus:*` keys by their short name."""
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


def room(key: str, **fields: Any) -> dict[str, Any]:
    """Inputs as the engine passes them after check: numbers arrive as floats."""
    props: dict[str, Any] = {"businessId": 1001.0, "name": key.title(), "ownerTag": f"p/t/{key}"}
    props.update(fields)
    return props


def group(key: str, **fields: Any) -> dict[str, Any]:
    """A group's inputs as the engine passes them after check."""
    props: dict[str, Any] = {
        "businessId": 1001.0,
        "name": key.title(),
        "userId": 11.0,
        "ownerTag": f"p/t/{key}",
    }
    props.update(fields)
    return props


def group_provider(sandbox: Sandbox, **overrides: Any) -> CommunityGroupProvider:
    """A new group provider process, configured for `sandbox`."""
    return configure(CommunityGroupProvider(), sandbox_config(sandbox, **overrides))


@dataclass
class Created:
    id: str
    outs: dict[str, Any]


def create(provider: RecordProvider, props: dict[str, Any]) -> Created:
    """`provider.create`, typed for tests: a create always returns outputs."""
    result = provider.create(props)
    assert result.outs is not None
    return Created(result.id, result.outs)


def settled_requests(sandbox: Sandbox, at_least: int = 0) -> list[tuple[str, str, int]]:
    """The sandbox's request list once it serves nothing; it must hold `at_least` entries.

    The sandbox records each request before its answer leaves, so what a client was answered is
    on the list by then; a request the client gave up on (or one still being served for another
    thread) may not be: tests that count requests first wait until no request is being served.
    """
    sandbox.wait_idle()
    requests = list(sandbox.requests)
    assert len(requests) >= at_least, f"expected at least {at_least} requests, saw {requests}"
    return requests


def spent(sandbox: Sandbox, since: int = 0, collection: str = ROOMS_PATH) -> Counter[str]:
    """Requests to the collection by kind: POST, PUT, DELETE, GET by id, LIST (paged search)."""
    kinds: Counter[str] = Counter()
    for method, path, _ in sandbox.requests[since:]:
        if path == collection:
            kinds["LIST" if method == "GET" else method] += 1
        elif path.startswith(collection + "/"):
            kinds[method if method != "GET" else "GET by id"] += 1
    return kinds


# ----- any record type, from its entry in the registry (`kinds.KINDS`) ----------------------

BUSINESS = 1001
"""The business every declaration of the contract suite names (the sandbox knows 1001-1003)."""


def example_of(kind: RecordKind[Any]) -> dict[str, Any]:
    """The kind's minimal valid stack entry, without `businessId`."""
    return dict(kind.example)


def declaration(kind: RecordKind[Any], key: str, **fields: Any) -> dict[str, Any]:
    """A record's inputs as the engine passes them after check: its example (numbers as floats,
    as the engine carries them), the business, its owner tag, then `fields`."""
    props = {k: float(v) if _is_number(v) else v for k, v in example_of(kind).items()}
    props.update({"businessId": float(BUSINESS), "ownerTag": f"p/t/{key}"})
    props.update(fields)
    return props


def _is_number(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def provider_for(kind: RecordKind[Any], sandbox: Sandbox, **overrides: Any) -> RecordProvider:
    """A new provider process for `kind`, configured for `sandbox`."""
    provider: RecordProvider = kind.resource.provider_type()
    return configure(provider, sandbox_config(sandbox, **overrides))


def records(sandbox: Sandbox, kind: RecordKind[Any]) -> RecordStore:
    """The sandbox's store of `kind`'s records (`all`, `get`, `insert`, `update`, `delete`)."""
    return sandbox.stores[kind.spec.collection]


def api_record(kind: RecordKind[Any], **fields: Any) -> dict[str, Any]:
    """The kind's example as the API stores it (PascalCase, API codes), with `fields` (camelCase)
    over it: a record someone made in the admin UI."""
    declared = kind.model.model_validate({**example_of(kind), "businessId": BUSINESS, **fields})
    return kind.model.to_api(declared.declared(), None)


def renamable(kind: RecordKind[Any]) -> str:
    """A text field of the kind's example: what the contract suite edits and renames."""
    return next(name for name, value in example_of(kind).items() if isinstance(value, str))


def other_value(kind: RecordKind[Any], field: str) -> Any:
    """A value a declaration accepts for `field`, other than the API's default: what a person
    sets by hand in a field the stack does not declare."""
    default = kind.default(field)
    for candidate in _candidates(kind.model.model_json_schema(by_alias=True)["properties"][field]):
        if candidate != default and why_refused(kind.model, field, candidate) is None:
            return candidate
    raise AssertionError(f"no value to try for {kind.map_name}.{field}")


_BY_JSON_TYPE: dict[str, list[Any]] = {
    "boolean": [True, False],
    "array": [[13, 14]],
    "integer": [12],
    "string": ["2026-11-26T09:00:00Z"],
}


def hand_edit(kind: RecordKind[Any], field: str, sandbox: Sandbox) -> Any:
    """`other_value`, or for a field that holds another record's id (a thread's
    `communityGroupId`) the id of such a record, made in `sandbox` behind the API's back."""
    for reference in kind.references.values():
        if reference.field == field:
            target = next(k for k in KINDS if k.map_name == reference.map_name)
            return records(sandbox, target).insert(api_record(target), "ui")
    return other_value(kind, field)


def _candidates(schema: dict[str, Any]) -> list[Any]:
    options = [schema, *schema.get("anyOf", [])]
    found: list[Any] = []
    for option in options:
        found += option.get("enum", [])
        found += _BY_JSON_TYPE.get(option.get("type", ""), [])
    return found


def act_once(
    sandbox: Sandbox,
    method: str,
    statuses: tuple[int, ...],
    act: Callable[[], object],
    path: str | None = None,
) -> list[str]:
    """Run `act()` once, as the sandbox answers the first `method` (to `path`, if given) with
    one of `statuses`: a person, or another integration, acting at a known point of a run
    (while a write waits out the 409 just answered). Returns the list the path acted on is
    appended to, so a test can check the moment came."""
    acted: list[str] = []
    lock = threading.Lock()

    def observer(seen: str, seen_path: str, status: int) -> None:
        if seen != method or status not in statuses or path not in (None, seen_path):
            return
        with lock:
            if acted:
                return
            acted.append(seen_path)
        act()

    sandbox.observers.append(observer)
    return acted
