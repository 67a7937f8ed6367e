"""The program: stack config -> one ChatRoom per key, with Pulumi's mocks (no engine, no API)."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest

from nexudus_pulumi import ChatRoom, CommunityGroup
from nexudus_pulumi.program import declare_groups, declare_rooms


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.created: dict[str, dict[str, Any]] = {}
        self.imports: dict[str, str] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.created[args.name] = dict(args.inputs)
        return f"id-{args.name}", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
        return {}, []


@pytest.fixture
def mocks(monkeypatch: pytest.MonkeyPatch) -> RecordingMocks:
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="nexudus-rooms", stack="dev", preview=False)
    warnings: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *a, **k: warnings.append(message))
    mocks.warnings = warnings  # type: ignore[attr-defined]
    return mocks


def use_config(business: int | None, rooms: dict[str, Any]) -> None:
    config = {"nexudus-rooms:rooms": json.dumps(rooms)}
    if business is not None:
        config["nexudus-rooms:businessId"] = str(business)
    pulumi.runtime.set_all_config(config)


@pulumi.runtime.test
def test_each_room_key_becomes_a_chat_room(mocks: RecordingMocks) -> Any:
    use_config(
        1001,
        {
            "lobby": {"name": "Lobby", "active": True, "users": [11, 12]},
            "events": {"name": "Events", "businessId": 1002},
        },
    )
    rooms = declare_rooms()
    assert sorted(rooms) == ["events", "lobby"]
    assert all(isinstance(r, ChatRoom) for r in rooms.values())

    def verify(ids: list[str]) -> None:
        assert ids == ["id-events", "id-lobby"]
        lobby, events = mocks.created["lobby"], mocks.created["events"]
        assert (lobby["businessId"], lobby["name"], lobby["active"]) == (1001, "Lobby", True)
        assert lobby["users"] == [11, 12]
        assert events["businessId"] == 1002  # the room's own business wins
        # <project>/<stack>/<key>#<stack id>: the stack id is the StackIdentity resource's id
        assert lobby["ownerTag"] == "nexudus-rooms/dev/lobby#id-stack-identity"

    return pulumi.Output.all(rooms["events"].id, rooms["lobby"].id).apply(verify)


@pulumi.runtime.test
def test_the_deprecation_is_announced_once(mocks: RecordingMocks) -> Any:
    use_config(1001, {"a": {"name": "A"}, "b": {"name": "B"}, "c": {"name": "C"}})
    declare_rooms()
    warnings = mocks.warnings  # type: ignore[attr-defined]
    assert len(warnings) == 1
    assert "deprecated" in warnings[0] and "CommunityGroup" in warnings[0]


@pulumi.runtime.test
def test_unknown_room_settings_reach_check_to_be_named(mocks: RecordingMocks) -> Any:
    use_config(None, {"lobby": {"nmae": "Lobby"}})
    rooms = declare_rooms()

    def verify(_: str) -> None:
        assert mocks.created["lobby"]["nmae"] == "Lobby"
        assert "businessId" not in mocks.created["lobby"]  # no business at all: check says so

    return rooms["lobby"].id.apply(verify)


@pulumi.runtime.test
def test_import_id_is_passed_to_the_provider_for_adoption(mocks: RecordingMocks) -> Any:
    use_config(1001, {"old": {"name": "Old", "importId": 87654321}, "new": {"name": "New"}})
    rooms = declare_rooms()

    def verify(_: list[str]) -> None:
        assert mocks.created["old"]["importId"] == 87654321
        assert "importId" not in mocks.created["new"]

    return pulumi.Output.all(rooms["old"].id, rooms["new"].id).apply(verify)


def test_rooms_output_maps_keys_to_ids(mocks: RecordingMocks) -> None:
    exported: dict[str, Any] = {}

    def capture(name: str, value: Any) -> None:
        exported[name] = value

    use_config(1001, {"lobby": {"name": "Lobby"}})
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pulumi, "export", capture)

        @pulumi.runtime.test
        def run() -> Any:
            declare_rooms()
            return pulumi.Output.from_input(exported["rooms"]).apply(
                lambda rooms: rooms == {"lobby": "id-lobby"} or pytest.fail(str(rooms))
            )

        run()


# ----- groups ------------------------------------------------------------------------------------


def use_groups(business: int | None, groups: Any, rooms: dict[str, Any] | None = None) -> None:
    config = {"nexudus-rooms:groups": json.dumps(groups)}
    if rooms is not None:
        config["nexudus-rooms:rooms"] = json.dumps(rooms)
    if business is not None:
        config["nexudus-rooms:businessId"] = str(business)
    pulumi.runtime.set_all_config(config)


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
    groups = declare_groups()
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
        assert mocks.warnings == []  # type: ignore[attr-defined]  # no rooms, no deprecation

    return pulumi.Output.all(groups["events"].id, groups["makers"].id).apply(verify)


@pulumi.runtime.test
def test_a_missing_administrator_reaches_check_to_be_named(mocks: RecordingMocks) -> Any:
    use_groups(None, {"makers": {"name": "Makers"}})
    groups = declare_groups()

    def verify(_: str) -> None:
        assert mocks.created["makers"].keys() == {"name", "ownerTag", "__provider"}

    return groups["makers"].id.apply(verify)


def test_an_unknown_group_setting_stops_the_program_naming_it(mocks: RecordingMocks) -> None:
    # A room's settings are not a group's: `users` is `members` here.
    use_groups(1001, {"makers": {"name": "Makers", "userId": 11, "users": [12], "nmae": "x"}})
    with pytest.raises(pulumi.RunError) as caught:
        declare_groups()
    assert str(caught.value) == (
        "nexudus-rooms:groups.makers: unknown setting 'nmae', 'users'; the settings are "
        "importId, takeOver, businessId, name, userId, description, groupAccess, members"
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
        declare_groups()
    assert str(caught.value) == message


def test_groups_output_maps_keys_to_ids_beside_rooms(mocks: RecordingMocks) -> None:
    exported: dict[str, Any] = {}

    def capture(name: str, value: Any) -> None:
        exported[name] = value

    use_groups(1001, {"g-lobby": {"name": "Lobby", "userId": 11}}, {"lobby": {"name": "Lobby"}})
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pulumi, "export", capture)

        @pulumi.runtime.test
        def run() -> Any:
            declare_rooms()
            declare_groups()
            both = pulumi.Output.all(rooms=exported["rooms"], groups=exported["groups"])
            return both.apply(
                lambda out: (
                    out == {"rooms": {"lobby": "id-lobby"}, "groups": {"g-lobby": "id-g-lobby"}}
                    or pytest.fail(str(out))
                )
            )

        run()
