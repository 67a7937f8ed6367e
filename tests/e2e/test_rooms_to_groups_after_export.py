"""The move from rooms to groups of docs/guides/rooms-to-groups.md, for an account adopted with
`nexudus-pulumi export`: every room and group it wrote is `protect: true`, so the recipe's last step
must lift that for the rooms, and only for as long as it takes to delete them."""

from __future__ import annotations

import json
from typing import Any

import yaml

from nexudus_pulumi.sandbox import Sandbox
from tests.e2e.harness import FAST, PulumiProject, cli, group_states, held

ROOMS = [
    {"BusinessId": 1001, "Name": "Lobby", "Active": True, "Users": [11, 12]},
    {"BusinessId": 1001, "Name": "Events desk", "Active": True, "Users": [13]},
]
GROUP = {"BusinessId": 1001, "Name": "Makers", "UserId": 11, "GroupAccess": 2, "Members": [12]}


def groups_output(project: PulumiProject, stack: str) -> dict[str, str]:
    result = project.ok("stack", "output", "groups", "--json", stack=stack)
    return dict(json.loads(result.output[result.output.index("{") :]))


def config(project: PulumiProject, stack: str) -> dict[str, Any]:
    return dict(yaml.safe_load(project.stack_file(stack).read_text())["config"])


def test_moving_exported_rooms_to_groups(project: PulumiProject, sandbox: Sandbox) -> None:
    for room in ROOMS:
        sandbox.store.insert(room, "admin UI")
    sandbox.groups.insert(GROUP, "admin UI")

    # Adopted as "Adopting an existing account" tells it: export, then up.
    project.init_stack("prod", business=None, rooms={}, **FAST)
    cli(project, "export", "--business", "1001", "--stack", "prod")
    project.ok("up", "--yes", stack="prod")
    rooms = config(project, "prod")["nexudus-rooms:rooms"]
    exported_groups = config(project, "prod")["nexudus-rooms:groups"]
    assert sorted(rooms) == ["events-desk", "lobby"]
    assert all(spec["protect"] is True for spec in [*rooms.values(), *exported_groups.values()])
    room_ids = project.room_ids("prod")

    # Steps 1 and 2: beside each room its group (same key, name, members = users, an
    # administrator), then up: the groups are created, the rooms untouched.
    groups = {
        **exported_groups,
        **{
            key: {"name": spec["name"], "userId": 11, "members": spec["users"]}
            for key, spec in rooms.items()
        },
    }
    project.declare("prod", rooms, business=1001, groups=groups)
    up = project.ok("up", "--yes", stack="prod")
    assert "+ 2 created" in up.output, up.output
    assert project.room_ids("prod") == room_ids

    # Step 3: each group holds the room's people.
    ids = groups_output(project, "prod")
    assert sorted(ids) == ["events-desk", "lobby", "makers"]
    held_rooms = project.sandbox_rooms()
    for key, room_id in room_ids.items():
        assert held(sandbox)[ids[key]]["Members"] == held_rooms[room_id]["Users"]

    # Step 4, as docs/guides/rooms-to-groups.md tells it for exported (protected) rooms: remove the
    # rooms map, lift the protection in the state, up. The rooms are deleted, the groups kept, and
    # the exported group is protected again, as its config says.
    project.declare("prod", None, business=1001, groups=groups)
    project.ok("state", "unprotect", "--all", "--yes", stack="prod")
    up = project.ok("up", "--yes", stack="prod")
    assert "- 2 deleted" in up.output, up.output
    assert "deprecated" not in up.output
    assert project.sandbox_rooms() == {}
    assert groups_output(project, "prod") == ids
    assert sorted(held(sandbox)) == sorted(ids.values())
    protected = {
        key: state.get("protect", False) for key, state in group_states(project, "prod").items()
    }
    assert protected == {"makers": True, "lobby": False, "events-desk": False}
    project.ok("preview", "--expect-no-changes", stack="prod")
