"""The program: stack config -> one ChatRoom per key, with Pulumi's mocks (no engine, no API)."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest

from nexudus_pulumi import ChatRoom, CommunityGroup, chatroom, communitygroup
from nexudus_pulumi.program import declare_stack
from tests.helpers import RecordingMocks


def use_config(
    monkeypatch: pytest.MonkeyPatch,
    business: int | None,
    rooms: Any = None,
    *,
    secret: bool = False,
    extra: dict[str, str] | None = None,
) -> None:
    """Stack config as the language host hands it over: every value a string, objects as JSON,
    in PULUMI_CONFIG too (the program lists the keys from there)."""
    config = dict(extra or {})
    if rooms is not None:
        config["nexudus-rooms:rooms"] = json.dumps(rooms)
    if business is not None:
        config["nexudus-rooms:businessId"] = str(business)
    pulumi.runtime.set_all_config(config, ["nexudus-rooms:rooms"] if secret else [])
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(config))


def run_error(
    monkeypatch: pytest.MonkeyPatch, business: int | None, rooms: Any, **extra: str
) -> str:
    use_config(monkeypatch, business, rooms, extra=extra)
    with pytest.raises(pulumi.RunError) as caught:
        declare_stack()
    return str(caught.value)


def all_secret(*outputs: pulumi.Output[Any]) -> pulumi.Output[None]:
    """An output that fails the test unless every one of `outputs` is secret."""

    async def secretness() -> list[bool]:
        return [await output.is_secret() for output in outputs]

    def verify(secret: list[bool]) -> None:
        assert secret == [True] * len(outputs)

    found: pulumi.Output[list[bool]] = pulumi.Output.from_input(secretness())
    return found.apply(verify)


@pulumi.runtime.test
def test_each_room_key_becomes_a_chat_room(
    mocks: RecordingMocks, monkeypatch: pytest.MonkeyPatch
) -> Any:
    use_config(
        monkeypatch,
        1001,
        {
            "lobby": {"name": "Lobby", "active": True, "users": [11, 12]},
            "events": {"name": "Events", "businessId": 1002},
        },
    )
    rooms = declare_stack().of(chatroom.KIND)
    assert sorted(rooms) == ["events", "lobby"]
    assert all(isinstance(r, ChatRoom) for r in rooms.values())

    def verify(values: list[Any]) -> None:
        assert values[:2] == ["id-events", "id-lobby"]
        lobby, events = mocks.created["lobby"], mocks.created["events"]
        # what reaches the engine keeps Pulumi's camelCase names
        assert (lobby["businessId"], lobby["name"], lobby["active"]) == (1001, "Lobby", True)
        assert lobby["users"] == [11, 12]
        assert events["businessId"] == 1002  # the room's own business wins
        # <project>/<stack>/<key>#<stack id>: the stack id is the StackIdentity resource's id
        assert lobby["ownerTag"] == "nexudus-rooms/dev/lobby#id-stack-identity"
        # ...and Python reads the outputs by snake_case attributes
        assert values[2:] == [1001, "nexudus-rooms/dev/lobby#id-stack-identity"]

    lobby = rooms["lobby"]
    return pulumi.Output.all(
        rooms["events"].id, lobby.id, lobby.business_id, lobby.owner_tag
    ).apply(verify)


@pulumi.runtime.test
def test_the_deprecation_is_announced_once(
    mocks: RecordingMocks, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_config(monkeypatch, 1001, {"a": {"name": "A"}, "b": {"name": "B"}, "c": {"name": "C"}})
    declare_stack()
    assert len(mocks.warnings) == 1
    assert "deprecated" in mocks.warnings[0] and "CommunityGroup" in mocks.warnings[0]


def test_an_unknown_room_setting_is_named_with_the_room_and_the_nearest_setting(
    mocks: RecordingMocks, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = run_error(monkeypatch, 1001, {"lobby": {"nmae": "Lobby"}, "ok": {"name": "Ok"}})
    assert "nexudus-rooms:rooms.lobby: 'nmae' is not a room setting (did you mean 'name'?)" in (
        message
    )
    assert "known: businessId, name, active, lastAgentVisit, users, importId, takeOver" in message
    assert "rooms.ok" not in message
    assert mocks.created == {}  # nothing declared: the whole config is fixed first


def test_a_room_without_a_business_names_both_keys_that_can_give_it_one(
    mocks: RecordingMocks, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = run_error(monkeypatch, None, {"lobby": {"name": "Lobby"}, "ok": {"businessId": 9}})
    assert "nexudus-rooms:rooms.lobby has no business" in message
    assert "its own businessId" in message and "nexudus-rooms:businessId" in message
    assert "rooms.ok" not in message


def test_every_problem_is_reported_at_once(
    mocks: RecordingMocks, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = run_error(
        monkeypatch,
        None,
        {"a": {"name": "A", "user": [1]}, "b": "not a map"},
        **{"nexudus:writesPerMinute": "sixty", "nexudus:baseURL": "https://x"},
    )
    assert "rooms.a: 'user' is not a room setting (did you mean 'users'?)" in message
    assert "rooms.a has no business" in message
    assert "rooms.b must be a map of room settings" in message
    assert "nexudus:writesPerMinute: " in message and "'sixty'" in message
    assert "nexudus:baseURL is not a setting (did you mean 'nexudus:baseUrl'?)" in message


def test_an_alias_of_a_key_still_declared_is_named(
    mocks: RecordingMocks, monkeypatch: pytest.MonkeyPatch
) -> None:
    rooms = {"lobby": {"name": "Lobby"}, "desk": {"name": "Desk", "aliases": ["lobby"]}}
    message = run_error(monkeypatch, 1001, rooms)
    assert "nexudus-rooms:rooms.desk.aliases names 'lobby', which is still declared" in message


def test_a_typo_in_a_project_key_is_named(
    mocks: RecordingMocks, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_config(monkeypatch, 1001, {})
    monkeypatch.setenv(
        "PULUMI_CONFIG", json.dumps({"nexudus-rooms:room": "{}", "aws:region": "eu-west-1"})
    )
    with pytest.raises(pulumi.RunError) as caught:
        declare_stack()
    assert "nexudus-rooms:room is not a setting (did you mean 'nexudus-rooms:rooms'?)" in str(
        caught.value
    )
    assert "aws:region" not in str(caught.value)  # other namespaces are not ours to judge


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("nexudus-room:rooms", "nexudus-rooms:rooms"),
        ("nexudus-rooms-:groups", "nexudus-rooms:groups"),
        ("Nexudus-Rooms:rooms", "nexudus-rooms:rooms"),
        ("nexudu:baseUrl", "nexudus:baseUrl"),
        ("nexudus-room:room", "nexudus-rooms:rooms"),
    ],
)
def test_a_typo_in_a_namespace_is_named_not_taken_for_an_empty_stack(
    mocks: RecordingMocks, monkeypatch: pytest.MonkeyPatch, typed: str, meant: str
) -> None:
    """A map under a misspelt namespace is read by nobody: taken as no map, it would delete
    every record the stack holds."""
    use_config(monkeypatch, 1001, extra={typed: json.dumps({"lobby": {"name": "Lobby"}})})
    with pytest.raises(pulumi.RunError) as caught:
        declare_stack()
    assert f"{typed} is not a setting (did you mean {meant!r}?)" in str(caught.value)
    assert mocks.created == {}


def test_namespaces_far_from_ours_are_not_ours_to_judge(
    mocks: RecordingMocks, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_config(
        monkeypatch,
        1001,
        {},
        extra={"aws:region": "eu-west-1", "pulumi:tags": "{}", "random:seed": "1"},
    )
    declare_stack()


@pulumi.runtime.test
def test_a_stack_without_rooms_declares_none(
    mocks: RecordingMocks, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_config(monkeypatch, None)
    assert declare_stack().of(chatroom.KIND) == {}
    assert mocks.created == {}
    assert mocks.warnings == []  # no ChatRoom, no word about its deprecation


@pulumi.runtime.test
def test_import_id_is_passed_to_the_provider_for_adoption(
    mocks: RecordingMocks, monkeypatch: pytest.MonkeyPatch
) -> Any:
    use_config(
        monkeypatch, 1001, {"old": {"name": "Old", "importId": 87654321}, "new": {"name": "New"}}
    )
    rooms = declare_stack().of(chatroom.KIND)

    def verify(_: list[str]) -> None:
        assert mocks.created["old"]["importId"] == 87654321
        assert "importId" not in mocks.created["new"]

    return pulumi.Output.all(rooms["old"].id, rooms["new"].id).apply(verify)


@pulumi.runtime.test
def test_a_secret_in_the_rooms_map_makes_every_room_setting_secret(
    mocks: RecordingMocks, monkeypatch: pytest.MonkeyPatch
) -> Any:
    use_config(monkeypatch, 1001, {"lobby": {"name": "Board room", "users": [3]}}, secret=True)
    lobby = declare_stack().of(chatroom.KIND)["lobby"]
    return all_secret(lobby.name, lobby.users)


def test_rooms_output_maps_keys_to_ids(
    mocks: RecordingMocks, monkeypatch: pytest.MonkeyPatch
) -> None:
    exported: dict[str, Any] = {}

    def capture(name: str, value: Any) -> None:
        exported[name] = value

    use_config(monkeypatch, 1001, {"lobby": {"name": "Lobby"}})
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pulumi, "export", capture)

        @pulumi.runtime.test
        def run() -> Any:
            declare_stack()
            return pulumi.Output.from_input(exported["rooms"]).apply(
                lambda rooms: rooms == {"lobby": "id-lobby"} or pytest.fail(str(rooms))
            )

        run()


# ----- groups ------------------------------------------------------------------------------------


def use_groups(
    business: int | None,
    groups: Any,
    rooms: dict[str, Any] | None = None,
    *,
    secret: bool = False,
) -> None:
    config = {"nexudus-rooms:groups": json.dumps(groups)}
    if rooms is not None:
        config["nexudus-rooms:rooms"] = json.dumps(rooms)
    if business is not None:
        config["nexudus-rooms:businessId"] = str(business)
    pulumi.runtime.set_all_config(config, ["nexudus-rooms:groups"] if secret else [])


@pulumi.runtime.test
def test_a_secret_in_the_groups_map_makes_every_group_setting_secret(
    mocks: RecordingMocks,
) -> Any:
    use_groups(1001, {"board": {"name": "Board", "userId": 11, "members": [12]}}, secret=True)
    board = declare_stack().of(communitygroup.KIND)["board"]
    return all_secret(board.name, board.members)


@pulumi.runtime.test
def test_each_group_key_becomes_a_community_group(mocks: RecordingMocks) -> Any:
    use_groups(
        1001,
        {
            "makers": {
                "name": "Makers",
                "userId": 11,
                "description": "3D printing",
                "groupAccess": "public",
                "members": [13, 12],
            },
            "events": {"name": "Events", "userId": 12, "businessId": 1002, "importId": 65432101},
        },
    )
    groups = declare_stack().of(communitygroup.KIND)
    assert sorted(groups) == ["events", "makers"]
    assert all(isinstance(g, CommunityGroup) for g in groups.values())

    def verify(ids: list[str]) -> None:
        assert ids == ["id-events", "id-makers"]
        makers, events = mocks.created["makers"], mocks.created["events"]
        assert {k: v for k, v in makers.items() if k != "__provider"} == {
            "businessId": 1001,
            "name": "Makers",
            "userId": 11,
            "description": "3D printing",
            "groupAccess": "public",
            "members": [13, 12],  # as declared: check puts sets in order
            "ownerTag": "nexudus-rooms/dev/makers#id-stack-identity",
        }
        assert (events["businessId"], events["importId"]) == (1002, 65432101)
        assert mocks.warnings == []  # no rooms, no deprecation

    return pulumi.Output.all(groups["events"].id, groups["makers"].id).apply(verify)


@pulumi.runtime.test
def test_a_missing_administrator_reaches_check_to_be_named(mocks: RecordingMocks) -> Any:
    use_groups(1001, {"makers": {"name": "Makers"}})
    groups = declare_stack().of(communitygroup.KIND)

    def verify(_: str) -> None:
        assert mocks.created["makers"].keys() == {"businessId", "name", "ownerTag", "__provider"}

    return groups["makers"].id.apply(verify)


def test_an_unknown_group_setting_stops_the_program_naming_it(mocks: RecordingMocks) -> None:
    # A room's settings are not a group's: `users` is `members` here.
    use_groups(1001, {"makers": {"name": "Makers", "userId": 11, "users": [12], "nmae": "x"}})
    with pytest.raises(pulumi.RunError) as caught:
        declare_stack()
    message = str(caught.value)
    assert "nexudus-rooms:groups.makers: 'nmae' is not a group setting (did you mean 'name'?)" in (
        message
    )
    assert "nexudus-rooms:groups.makers: 'users' is not a group setting" in message
    assert (
        "known: businessId, name, userId, description, groupAccess, members, teamGuid, "
        "courseGuid, importId" in message
    )
    assert mocks.created == {}


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        (["makers"], "nexudus-rooms:groups must be a map from a group key to its settings"),
        ({"makers": "Makers"}, "nexudus-rooms:groups.makers must be a map of group settings"),
    ],
)
def test_a_groups_value_that_is_not_a_map_stops_the_program(
    mocks: RecordingMocks, groups: Any, message: str
) -> None:
    use_groups(1001, groups)
    with pytest.raises(pulumi.RunError) as caught:
        declare_stack()
    assert message in str(caught.value)


def test_groups_output_maps_keys_to_ids_beside_rooms(mocks: RecordingMocks) -> None:
    exported: dict[str, Any] = {}

    def capture(name: str, value: Any) -> None:
        exported[name] = value

    use_groups(1001, {"g-lobby": {"name": "Lobby", "userId": 11}}, {"lobby": {"name": "Lobby"}})
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pulumi, "export", capture)

        @pulumi.runtime.test
        def run() -> Any:
            declare_stack()
            both = pulumi.Output.all(rooms=exported["rooms"], groups=exported["groups"])
            return both.apply(
                lambda out: (
                    out == {"rooms": {"lobby": "id-lobby"}, "groups": {"g-lobby": "id-g-lobby"}}
                    or pytest.fail(str(out))
                )
            )

        run()


# ----- bad stack config: one line naming the key, never a raw exception ----------------------


def test_a_rooms_setting_a_user_moving_to_groups_reaches_for_is_translated(
    mocks: RecordingMocks, monkeypatch: pytest.MonkeyPatch
) -> None:
    rooms = {"lobby": {"name": "Lobby", "members": [12]}}
    groups = {"makers": {"name": "Makers", "userId": 11, "users": [12]}}
    message = run_error(monkeypatch, 1001, rooms, **{"nexudus-rooms:groups": json.dumps(groups)})
    assert "groups.makers: 'users' is not a group setting (did you mean 'members'?)" in message
    assert "rooms.lobby: 'members' is not a room setting (did you mean 'users'?)" in message


def test_an_empty_room_key_is_named(mocks: RecordingMocks, monkeypatch: pytest.MonkeyPatch) -> None:
    message = run_error(monkeypatch, 1001, {"": {"name": "Lobby"}, "ok": {"name": "Ok"}})
    assert 'nexudus-rooms:rooms has an empty key ("")' in message
    assert mocks.created == {}


@pytest.mark.parametrize(
    ("entry", "named"),
    [
        ({"name": "A", "importId": float("inf")}, "nexudus-rooms:rooms.a.importId"),
        ({"name": "A", "users": [11, float("nan")]}, "nexudus-rooms:rooms.a.users[1]"),
        ({"name": "A", "protect": float("-inf")}, "nexudus-rooms:rooms.a.protect"),
    ],
)
def test_a_number_that_is_not_finite_is_named(
    mocks: RecordingMocks, monkeypatch: pytest.MonkeyPatch, entry: dict[str, Any], named: str
) -> None:
    message = run_error(monkeypatch, 1001, {"a": entry})
    assert f"{named} must be a finite number" in message


def test_a_huge_value_is_named_with_its_size(
    mocks: RecordingMocks, monkeypatch: pytest.MonkeyPatch
) -> None:
    groups = {"makers": {"name": "Makers", "userId": 11, "description": "x" * 200_000}}
    message = run_error(monkeypatch, 1001, None, **{"nexudus-rooms:groups": json.dumps(groups)})
    assert "nexudus-rooms:groups.makers.description is 200,000 characters long" in message


@pytest.mark.parametrize("business", [".inf", "abc", "[1]"])
def test_a_business_id_that_is_not_one_is_named(
    mocks: RecordingMocks, monkeypatch: pytest.MonkeyPatch, business: str
) -> None:
    message = run_error(
        monkeypatch, None, {"a": {"name": "A"}}, **{"nexudus-rooms:businessId": business}
    )
    assert f"nexudus-rooms:businessId must be a business id (a whole number), got {business!r}" in (
        message
    )


def test_one_import_id_under_two_keys_is_named_before_anything_is_declared(
    mocks: RecordingMocks, monkeypatch: pytest.MonkeyPatch
) -> None:
    rooms = {key: {"name": "Legacy", "importId": 87654321} for key in ("lobby", "hall")}
    message = run_error(monkeypatch, 1001, rooms)
    assert "importId 87654321 is declared by hall and lobby; a record has one key" in message
    assert mocks.created == {}


def test_a_name_yaml_read_as_a_number_or_boolean_says_to_quote_it_for_every_record(
    monkeypatch: pytest.MonkeyPatch, mocks: RecordingMocks
) -> None:
    """`name: 1234` once gave pydantic's "Input should be a valid string" with no hint, one
    record per preview; now every record's problem is listed at once, with the line to type."""
    rooms = {"room-1234": {"name": 1234}, "yes": {"name": True}, "pi": {"name": 3.5}}
    message = run_error(monkeypatch, 1001, rooms)
    number = "is a number in the stack's YAML"
    assert f'rooms.room-1234.name {number} (1234), not a text; quote it: name: "1234"' in message
    assert "rooms.yes.name is a boolean in the stack's YAML (true" in message
    assert 'quote it as you typed it: name: "true"' in message
    assert f'rooms.pi.name {number} (3.5), not a text; quote it: name: "3.5"' in message
    assert mocks.created == {}
