"""Manage what is declared, leave the rest alone, field by field, against the sandbox.

A declared field is managed: a hand edit shows as drift and the next update puts the declared
value back. A field left out is Nexudus's: a hand edit survives refresh and update, and an update
of another field keeps its live value (the sandbox's PUT, like a strict reading of the reference,
resets every optional field it is not sent, so a provider that sent only what was declared would
wipe it).
"""

from __future__ import annotations

from typing import Any

import pytest

from nexudus_pulumi import ChatRoomProvider
from nexudus_pulumi.sandbox import Sandbox
from tests.helpers import Created, MakeProvider, create, room

# field -> (declared value, the API's spelling of it, a hand edit in the API's spelling)
FIELDS: dict[str, tuple[Any, Any, Any]] = {
    "name": ("Lobby", "Lobby", "Renamed in the admin UI"),
    "active": (True, True, False),
    "lastAgentVisit": ("2025-01-15T10:30:00Z", "2025-01-15T10:30:00Z", "2026-11-26T09:00:00Z"),
    "users": ([11.0, 12.0], [11, 12], [11, 12, 13]),
}


def api(field: str) -> str:
    return field[:1].upper() + field[1:]


def refresh(provider: ChatRoomProvider, created: Created) -> dict[str, Any]:
    """What `pulumi refresh` leaves in the state: the read's outputs (inputs are kept)."""
    result = provider.read(created.id, created.outs)
    assert result.id == created.id and result.outs is not None
    assert result.inputs is None  # the declaration is not rewritten by a refresh
    return dict(result.outs)


def declaration(field: str | None, **more: Any) -> dict[str, Any]:
    props = room("lobby", **more)
    if field is not None:
        props[field] = FIELDS[field][0]
    if field != "name":
        props.pop("name")
    return props


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_a_declared_field_is_managed(
    field: str, sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    provider = make_provider()
    news = provider.check({}, declaration(field)).inputs
    created = create(provider, news)
    _, _, edit = FIELDS[field]
    sandbox.store.update(int(created.id), {api(field): edit}, "agent")
    olds = refresh(make_provider(), created)
    assert provider.diff(created.id, olds, news).changes is True
    provider.update(created.id, olds, news)
    assert sandbox.store.get(int(created.id))[api(field)] == FIELDS[field][1]  # type: ignore[index]


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_a_field_left_out_is_nexudus_s(
    field: str, sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    provider = make_provider()
    news = provider.check({}, declaration(None, name="Lobby") if field != "name" else room("x"))
    news_inputs = {k: v for k, v in news.inputs.items() if k != field}
    created = create(provider, news_inputs)
    _, _, edit = FIELDS[field]
    sandbox.store.update(int(created.id), {api(field): edit}, "agent")
    olds = refresh(make_provider(), created)
    assert olds[field] == edit  # shown in the outputs
    assert provider.diff(created.id, olds, news_inputs).changes is False  # never diffed
    # An update of another, declared field keeps the live value of this one.
    other = "active" if field != "active" else "name"
    changed = {**news_inputs, other: "Front desk" if other == "name" else True}
    provider.update(created.id, olds, provider.check(olds, changed).inputs)
    assert sandbox.store.get(int(created.id))[api(field)] == edit  # type: ignore[index]


def test_removing_a_key_hands_the_field_back_without_an_update(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    provider = make_provider()
    declared = provider.check({}, room("lobby", users=[11.0], active=True)).inputs
    created = create(provider, declared)
    without_users = provider.check(created.outs, room("lobby", active=True)).inputs
    assert provider.diff(created.id, created.outs, without_users).changes is False
    assert sandbox.store.get(int(created.id))["Users"] == [11]  # type: ignore[index]


def test_a_declared_list_is_the_exact_set(sandbox: Sandbox, make_provider: MakeProvider) -> None:
    provider = make_provider()
    created = create(provider, provider.check({}, room("lobby")).inputs)
    sandbox.store.update(int(created.id), {"Users": [13, 14]}, "agent")
    olds = refresh(make_provider(), created)
    news = provider.check(olds, room("lobby", users=[12.0, 11.0])).inputs
    provider.update(created.id, olds, news)
    assert sandbox.store.get(int(created.id))["Users"] == [11, 12]  # type: ignore[index]


def test_create_sends_only_what_was_declared(sandbox: Sandbox, make_provider: MakeProvider) -> None:
    provider = make_provider()
    created = create(provider, provider.check({}, room("lobby")).inputs)
    [(method, _, body)] = sandbox.written
    assert method == "POST" and set(body) == {"BusinessId", "Name", "SystemId"}
    stored = sandbox.store.get(int(created.id))
    assert stored is not None
    assert (stored["Active"], stored["LastAgentVisit"], stored["Users"]) == (False, None, [])
    # the state holds only what Nexudus told: the declaration, not defaults nobody read
    assert "active" not in created.outs and "users" not in created.outs


def test_refresh_shows_what_the_api_holds_even_against_the_declaration_rules(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    # The API accepted a list with a repeat; a declaration may not have one, a read must show it.
    provider = make_provider()
    created = create(provider, provider.check({}, room("lobby", users=[11.0, 12.0])).inputs)
    sandbox.store.update(int(created.id), {"Users": [11, 11, 12]}, "agent")
    olds = refresh(make_provider(), created)
    assert olds["users"] == [11, 11, 12]
