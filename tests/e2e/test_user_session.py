"""A platform engineer's session with the real `pulumi` CLI, step by step, against the sandbox.

Each step asserts what the user sees in the CLI's output and what Nexudus (the sandbox) holds.
"""

from __future__ import annotations

from typing import Any

from nexudus_pulumi.sandbox import DEMO_PASSWORD, Sandbox
from tests.e2e.harness import PulumiProject
from tests.helpers import settled_requests

ROOMS: dict[str, Any] = {
    "lobby": {"name": "Lobby", "active": True, "users": [11, 12]},
    "members": {"name": "Members lounge", "lastAgentVisit": "2025-01-15T10:30:00Z"},
    "events": {"name": "Events desk", "businessId": 1002},
}


def test_a_platform_engineers_session(project: PulumiProject, sandbox: Sandbox) -> None:
    # 1. A bad declaration stops `pulumi preview`, names the property, and sends nothing but
    #    the provider's proof of the credentials (one token request per run). A room without
    #    a business is caught by the program, which names the keys that can give it one.
    #    (The engine stops at the first failing resource, so one bad room per preview.)
    project.init_stack("dev", business=None, rooms={})
    for bad_room, words in [
        (
            {"name": "x", "businessId": 1001, "users": [1, "abc"]},
            ["ChatRoom resource 'bad'", "property users", "item 1"],
        ),
        ({"name": "y"}, ["nexudus-rooms:rooms.bad has no business", "nexudus-rooms:businessId"]),
        (
            {"name": "z", "businessId": 1001, "lastAgentVisit": "next tuesday"},
            ["ChatRoom resource 'bad'", "property lastAgentVisit", "ISO 8601"],
        ),
    ]:
        project.declare("dev", {"bad": bad_room})
        preview = project.run("preview")
        assert not preview.ok
        for word in words:
            assert word in preview.output, preview.output
    assert {path for _, path, _ in settled_requests(sandbox, 2)} == {"/api/token"}

    # 2. `pulumi up` creates the declared rooms; state ids are Nexudus's ids.
    project.declare("dev", ROOMS, business=1001)
    up = project.ok("up", "--yes")
    assert "+ 5 created" in up.output  # three rooms, the stack and its identity (StackIdentity)
    assert "deprecated" in up.output and "CommunityGroup" in up.output
    ids = project.room_ids()
    held = project.sandbox_rooms()
    assert sorted(ids.values()) == sorted(held)
    assert project.output_rooms() == ids
    lobby, members, events = (held[ids[k]] for k in ("lobby", "members", "events"))
    assert (lobby["BusinessId"], lobby["Name"], lobby["Active"], lobby["Users"]) == (
        1001,
        "Lobby",
        True,
        [11, 12],
    )
    assert members["LastAgentVisit"] == "2025-01-15T10:30:00Z"
    assert (events["BusinessId"], events["Active"]) == (1002, False)

    # 3. Nothing to do right after.
    project.ok("preview", "--expect-no-changes")

    # 4. A rename updates in place; so does a new business (the room keeps its id and users).
    rooms = project.rooms()
    rooms["lobby"]["name"] = "Front lobby"
    rooms["events"]["businessId"] = 1003
    project.declare("dev", rooms, business=1001)
    up = project.ok("up", "--yes")
    assert "~ 2 updated" in up.output and "replaced" not in up.output
    assert project.room_ids() == ids
    assert project.sandbox_rooms()[ids["lobby"]]["Name"] == "Front lobby"
    assert project.sandbox_rooms()[ids["events"]]["BusinessId"] == 1003

    # 5. A room the API rejects fails `up` with the API's own words; the others are untouched.
    before = project.sandbox_rooms()
    project.declare("dev", {**rooms, "ghost": {"name": "Ghost", "businessId": 4242}}, business=1001)
    up = project.run("up", "--yes")
    assert not up.ok
    assert "ChatRoom 'ghost' (name 'Ghost'): create failed" in up.output
    assert "BusinessId: business 4242 does not exist" in up.output
    assert project.sandbox_rooms() == before
    project.declare("dev", rooms, business=1001)

    # 6. Changes made behind Pulumi's back: refresh sees them, up puts the declared state back.
    sandbox.store.delete(int(ids["members"]))
    sandbox.store.update(int(ids["lobby"]), {"Name": "Renamed in the admin UI"}, "someone")
    refresh = project.ok("refresh", "--yes")
    assert "deleted" in refresh.output and "updated" in refresh.output
    assert "members" not in project.room_ids()
    up = project.ok("up", "--yes")
    assert "+ 1 created" in up.output and "~ 1 updated" in up.output
    ids = project.room_ids()
    held = project.sandbox_rooms()
    assert held[ids["lobby"]]["Name"] == "Front lobby"
    assert held[ids["members"]]["Name"] == "Members lounge"
    assert len(held) == 3

    # 7. Adoption: an existing room, declared with its id, is managed without a new POST.
    legacy_id = sandbox.store.insert({"BusinessId": 1001, "Name": "Legacy", "Active": True}, "ui")
    posts = sandbox.posts_committed
    rooms = {**project.rooms(), "legacy": {"name": "Legacy", "active": True, "importId": legacy_id}}
    project.declare("dev", rooms, business=1001)
    preview = project.ok("preview")  # says what adopting will do, before anything is sent
    assert f"will adopt existing id {legacy_id} instead of creating one" in preview.output
    assert "its fields already match" in preview.output
    project.ok("up", "--yes")
    assert project.room_ids()["legacy"] == str(legacy_id)
    assert sandbox.posts_committed == posts
    del rooms["legacy"]["importId"]  # once managed, the id is no longer needed
    project.declare("dev", rooms, business=1001)
    project.ok("preview", "--expect-no-changes")

    # 8. Cloning the environment: same rooms, another business; each stack owns its own rooms.
    project.ok("stack", "init", "staging", "--copy-config-from", "dev", stack=None)
    project.declare("staging", project.rooms("dev"), business=1002)
    project.ok("up", "--yes", stack="staging")
    dev_ids, staging_ids = project.room_ids("dev"), project.room_ids("staging")
    assert sorted(staging_ids) == sorted(dev_ids)
    assert not set(staging_ids.values()) & set(dev_ids.values())
    held = project.sandbox_rooms()
    assert held[staging_ids["lobby"]]["BusinessId"] == 1002
    assert held[staging_ids["events"]]["BusinessId"] == 1003  # the room's own business
    project.ok("destroy", "--yes", stack="staging")
    assert sorted(project.sandbox_rooms()) == sorted(dev_ids.values())

    # 9. `pulumi destroy` removes every room.
    project.ok("destroy", "--yes")
    assert project.sandbox_rooms() == {}

    # 10. No credential in the state or anything the CLI printed.
    secrets = [DEMO_PASSWORD, *sandbox.tokens, *sandbox.refresh_tokens]
    printed = "\n".join(r.output for r in project.transcript)
    stored = "\n".join(p.read_text(errors="replace") for p in project.state_files())
    config = project.stack_file("dev").read_text()
    for secret in secrets:
        assert secret not in printed
        assert secret not in stored
        assert secret not in config
    project.ok("up", "--yes")
    state_bytes = len(project.ok("stack", "export").output.encode())
    print(
        f"\nstate size: {state_bytes} bytes for {len(project.room_ids())} rooms "
        f"({state_bytes // len(project.room_ids())} bytes per room, stack included)"
    )
