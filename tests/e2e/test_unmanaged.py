"""Manage what is declared, leave the rest alone, with the real `pulumi` CLI: what people do to
a room in Nexudus every day (an agent's visit, a linked member) is neither drift nor undone."""

from __future__ import annotations

from nexudus_pulumi.sandbox import Sandbox
from tests.e2e.harness import PulumiProject


def test_what_nexudus_and_people_change_survives_refresh_and_up(
    project: PulumiProject, sandbox: Sandbox
) -> None:
    project.init_stack("dev", business=1001, rooms={"lobby": {"name": "Lobby"}})
    project.ok("up", "--yes")
    room_id = int(project.room_ids()["lobby"])
    # A support agent visits the room and a member is linked to it, in Nexudus.
    visit = "2026-11-26T09:00:00Z"
    sandbox.store.update(room_id, {"LastAgentVisit": visit, "Users": [13]}, "agent@example.com")

    # The nightly drift check passes: nobody declared those fields.
    project.ok("preview", "--refresh", "--expect-no-changes")
    project.ok("refresh", "--yes")
    project.ok("preview", "--expect-no-changes")

    # A rename updates the room and keeps the visit time and the member.
    project.declare("dev", {"lobby": {"name": "Front lobby"}}, business=1001)
    up = project.ok("up", "--yes", "--refresh")
    assert "~ 1 updated" in up.output
    held = sandbox.store.get(room_id)
    assert held is not None
    assert (held["Name"], held["LastAgentVisit"], held["Users"]) == ("Front lobby", visit, [13])

    # Declaring `users` makes it managed: exactly the declared set.
    project.declare("dev", {"lobby": {"name": "Front lobby", "users": [11, 12]}}, business=1001)
    project.ok("up", "--yes")
    held = sandbox.store.get(room_id)
    assert held is not None and held["Users"] == [11, 12]
    assert held["LastAgentVisit"] == visit

    # A hand edit of a declared field is drift: the check fails, `up` puts the value back.
    sandbox.store.update(room_id, {"Users": [11, 12, 14]}, "someone")
    assert not project.run("preview", "--refresh", "--expect-no-changes").ok
    project.ok("up", "--yes", "--refresh")
    held = sandbox.store.get(room_id)
    assert held is not None and held["Users"] == [11, 12]

    # Removing the key hands the field back to Nexudus: no update is made to clear it.
    project.declare("dev", {"lobby": {"name": "Front lobby"}}, business=1001)
    project.ok("preview", "--expect-no-changes")


def test_a_plain_up_puts_a_hand_edit_back(project: PulumiProject, sandbox: Sandbox) -> None:
    """The README's promise, as a newcomer reads it: a hand edit of a declared field "is put
    back by the next `up`", with no flag to remember (Pulumi.yaml's `refresh: always`)."""
    project.init_stack("dev", business=1001, rooms={"lobby": {"name": "Lobby", "users": [11]}})
    project.ok("up", "--yes")
    room_id = int(project.room_ids()["lobby"])
    sandbox.store.update(room_id, {"Name": "Renamed in the admin UI", "Users": [11, 14]}, "someone")

    up = project.ok("up", "--yes")
    assert "~ 1 updated" in up.output, up.output
    held = sandbox.store.get(room_id)
    assert held is not None and (held["Name"], held["Users"]) == ("Lobby", [11])
    project.ok("preview", "--refresh", "--expect-no-changes")  # the drift check is green again
