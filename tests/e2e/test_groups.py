"""CommunityGroups with the real `pulumi` CLI against the sandbox: a user's session, and the move
from the deprecated ChatRoom to groups as docs/guides/rooms-to-groups.md tells it."""

from __future__ import annotations

import json
from typing import Any

from nexudus_pulumi.sandbox import Sandbox
from tests.e2e.harness import PulumiProject, group_ids, group_states, held
from tests.helpers import settled_requests

GROUPS: dict[str, Any] = {
    "makers": {
        "name": "Makers",
        "userId": 11,
        "description": "3D printing",
        "groupAccess": "public",
        "members": [12, 13],
    },
    "readers": {"name": "Book club", "userId": 12},
}


def output(project: PulumiProject, name: str) -> Any:
    result = project.ok("stack", "output", name, "--json")
    return json.loads(result.output[result.output.index("{") :])


def test_a_session_with_groups(project: PulumiProject, sandbox: Sandbox) -> None:
    # 1. Bad declarations stop `pulumi preview` naming the setting or property; nothing is sent.
    project.init_stack("dev", business=1001, rooms={})
    for bad, words in [
        ({"name": "x"}, ["CommunityGroup resource 'bad'", "property userId", "is required"]),
        (
            {"name": "x", "userId": 11, "groupAccess": "secret"},
            ["property groupAccess", "'restricted', 'public' or 'private'"],
        ),
        ({"name": "x", "userId": 11, "members": [12, 12]}, ["property members", "listed twice"]),
        (
            {"name": "x", "userId": 11, "users": [12]},
            ["groups.bad: 'users' is not a group setting"],
        ),
    ]:
        project.declare("dev", {}, business=1001, groups={"bad": bad})
        preview = project.run("preview")
        assert not preview.ok
        for word in words:
            assert word in preview.output, preview.output
    # Only the provider's proof of the credentials (one token request per run that reaches a
    # check): nothing about groups was sent.
    assert {path for _, path, _ in settled_requests(sandbox)} <= {"/api/token"}

    # 2. `up` creates the groups; ids in the state and the `groups` output are Nexudus's.
    project.declare("dev", {}, business=1001, groups=GROUPS)
    up = project.ok("up", "--yes")
    assert "+ 4 created" in up.output  # two groups, the stack and its identity
    assert "deprecated" not in up.output  # no rooms, nothing to warn about
    ids = group_ids(project)
    assert sorted(ids.values()) == sorted(held(sandbox))
    assert output(project, "groups") == ids
    makers, readers = held(sandbox)[ids["makers"]], held(sandbox)[ids["readers"]]
    assert (makers["Name"], makers["UserId"], makers["Description"]) == (
        "Makers",
        11,
        "3D printing",
    )
    assert (makers["GroupAccess"], makers["Members"]) == (2, [12, 13])
    assert (readers["GroupAccess"], readers["Members"], readers["BusinessId"]) == (1, [], 1001)

    # 3. Members are a set: a new order is no change. A new description and access level are
    #    changed in place.
    GROUPS["makers"]["members"] = [13, 12]
    project.declare("dev", {}, business=1001, groups=GROUPS)
    project.ok("preview", "--expect-no-changes")
    changed = {
        **GROUPS,
        "makers": {**GROUPS["makers"], "description": "Lasers", "groupAccess": "private"},
    }
    project.declare("dev", {}, business=1001, groups=changed)
    up = project.ok("up", "--yes")
    assert "~ 1 updated" in up.output
    assert group_ids(project) == ids
    makers = held(sandbox)[ids["makers"]]
    assert (makers["Description"], makers["GroupAccess"], makers["Members"]) == (
        "Lasers",
        3,
        [12, 13],
    )

    # 4. Edits in the admin UI: refresh shows them; `up` puts back what is declared and leaves
    #    what is not (readers declare no description) to the community manager.
    sandbox.groups.update(int(ids["makers"]), {"Name": "Renamed in the admin UI"}, "cm")
    readers_edit = {"Description": "Monthly, on Thursdays", "TeamGuid": "team-readers"}
    sandbox.groups.update(int(ids["readers"]), readers_edit, "cm")  # linked to a Team, too
    project.ok("refresh", "--yes")
    states = group_states(project)
    assert states["makers"]["outputs"]["name"] == "Renamed in the admin UI"
    assert states["readers"]["outputs"]["description"] == "Monthly, on Thursdays"
    assert states["readers"]["outputs"]["businessName"] == "Business 1001"
    assert states["readers"]["outputs"]["teamGuid"] == "team-readers"
    up = project.ok("up", "--yes")
    assert "~ 1 updated" in up.output
    assert held(sandbox)[ids["makers"]]["Name"] == "Makers"
    assert held(sandbox)[ids["readers"]]["Description"] == "Monthly, on Thursdays"
    project.ok("preview", "--refresh", "--expect-no-changes")

    # 5. `destroy` removes every group.
    project.ok("destroy", "--yes")
    assert held(sandbox) == {}


ROOMS: dict[str, Any] = {
    "lobby": {"name": "Lobby", "active": True, "users": [11, 12]},
    "events": {"name": "Events desk", "users": [13], "businessId": 1002},
}


def test_moving_rooms_to_groups(project: PulumiProject, sandbox: Sandbox) -> None:
    # A stack that manages rooms.
    project.init_stack("dev", business=1001, rooms=ROOMS)
    up = project.ok("up", "--yes")
    assert "deprecated" in up.output
    room_ids = project.room_ids()

    # Step 1: declare each room's group beside it (same key, name and business; members = the
    # room's users; an administrator), then `up`: groups are created, rooms are untouched.
    groups = {
        key: {
            "name": room["name"],
            "userId": 11,
            "members": room["users"],
            **({"businessId": room["businessId"]} if "businessId" in room else {}),
        }
        for key, room in ROOMS.items()
    }
    project.declare("dev", ROOMS, business=1001, groups=groups)
    up = project.ok("up", "--yes")
    assert "+ 2 created" in up.output and "4 unchanged" in up.output

    # Step 2: check both exist, side by side.
    ids = group_ids(project)
    rooms = project.sandbox_rooms()
    assert sorted(rooms) == sorted(room_ids.values())
    for key, room_id in room_ids.items():
        room, group = rooms[room_id], held(sandbox)[ids[key]]
        assert (group["Name"], group["BusinessId"]) == (room["Name"], room["BusinessId"])
        assert group["Members"] == room["Users"]

    # Step 3: remove the rooms from the config; `up` deletes them and leaves the groups.
    project.declare("dev", None, business=1001, groups=groups)
    up = project.ok("up", "--yes")
    assert "- 2 deleted" in up.output
    assert "deprecated" not in up.output
    assert project.sandbox_rooms() == {}
    assert group_ids(project) == ids and sorted(held(sandbox)) == sorted(ids.values())
    assert output(project, "groups") == ids
    assert output(project, "rooms") == {}
    project.ok("preview", "--expect-no-changes")
