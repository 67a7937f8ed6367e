"""One room, one owner, with the real `pulumi` CLI: renamed and cloned stacks, a renamed key,
`importId` of a managed room, a create that commits late, a killed run followed by a rename,
and `importId` left in the config after the room was deleted in Nexudus."""

from __future__ import annotations

from collections import Counter
from typing import Any

from nexudus_pulumi.ownership import Marker
from nexudus_pulumi.sandbox import Sandbox
from tests.e2e.harness import PulumiProject, adopted_legacy_room

ROOMS: dict[str, Any] = {"lobby": {"name": "Lobby"}, "events": {"name": "Events desk"}}


def markers(sandbox: Sandbox) -> dict[int, Marker | None]:
    return {r["Id"]: Marker.parse(r["SystemId"]) for r in sandbox.store.all()}


def test_a_renamed_stack_keeps_its_rooms_and_a_new_stack_with_its_old_name_gets_its_own(
    project: PulumiProject, sandbox: Sandbox
) -> None:
    project.init_stack("dev", business=1001, rooms=ROOMS)
    project.ok("up", "--yes")
    prod_ids = set(project.room_ids("dev").values())
    project.ok("stack", "rename", "prod")
    # A new `dev` cloned from the renamed stack before the renamed one ran again: its rooms are
    # its own, nothing is adopted across stacks.
    project.ok("stack", "init", "dev", "--copy-config-from", "prod", stack=None)
    up = project.ok("up", "--yes", stack="dev")
    assert "adopting" not in up.output
    dev_ids = set(project.room_ids("dev").values())
    assert not dev_ids & prod_ids and len(sandbox.store.all()) == 4
    project.ok("destroy", "--yes", stack="dev")
    assert {str(i) for i in markers(sandbox)} == prod_ids  # the renamed stack's rooms stay
    # The renamed stack's next `up` rewrites its markers in place: an update, not a replace.
    up = project.ok("up", "--yes", stack="prod")
    assert "~ 2 updated" in up.output and "replaced" not in up.output
    assert all(
        m is not None and m.path.startswith("nexudus-rooms/prod/")
        for m in markers(sandbox).values()
    )
    project.ok("preview", "--expect-no-changes", stack="prod")


def test_a_renamed_key_with_its_old_key_in_aliases_is_the_same_room(
    project: PulumiProject, sandbox: Sandbox
) -> None:
    project.init_stack("dev", business=1001, rooms=ROOMS)
    project.ok("up", "--yes")
    before = project.room_ids()
    lobby = before["lobby"]
    # `lobby` becomes `front-desk`: without `aliases` Pulumi would delete the room and create
    # another (its messages gone); with it, the same room, its marker rewritten in place.
    renamed = {"front-desk": {"name": "Lobby", "aliases": ["lobby"]}, "events": ROOMS["events"]}
    project.declare("dev", renamed, business=1001)
    preview = project.ok("preview")
    assert "~ 1 to update" in preview.output and "delete" not in preview.output
    posts = sandbox.posts_committed
    project.ok("up", "--yes", "--skip-preview")
    assert project.room_ids() == {"front-desk": lobby, "events": before["events"]}
    marker = markers(sandbox)[int(lobby)]
    assert marker is not None and marker.key == "front-desk"
    assert sandbox.posts_committed == posts and len(sandbox.store.all()) == 2
    project.ok("preview", "--expect-no-changes")


def test_replacements_never_delete_the_room_the_state_keeps(
    project: PulumiProject, sandbox: Sandbox
) -> None:
    archive: dict[str, Any] = {"name": "Archive", "retainOnDelete": True}
    project.init_stack("dev", business=1001, rooms={"lobby": {"name": "Lobby"}, "archive": archive})
    project.ok("up", "--yes")
    before = project.room_ids()
    # Without a refresh, `pulumi up --replace` gives the provider a create with no sign of the
    # room it replaces, so the marker lookup adopts that room as an interrupted create's. The
    # delete of the original that follows would then delete the room the state points to: it
    # is skipped.
    resources = project.state()["deployment"]["resources"]
    urn = next(r["urn"] for r in resources if r.get("id") == before["lobby"])
    replaced = project.ok("up", "--yes", "--replace", urn, "--refresh=false")
    assert f"id {before['lobby']} was adopted by this resource's replacement" in replaced.output
    assert project.room_ids() == before
    assert {str(r["Id"]) for r in sandbox.store.all()} == set(before.values())
    # With the refresh Pulumi.yaml asks for, the provider has just read the room being replaced,
    # so the replacement is a new room and the original is deleted: one room, the state's.
    replaced = project.ok("up", "--yes", "--replace", urn)
    assert f"id {before['lobby']} carries this resource's marker and is the ChatRoom being" in (
        replaced.output
    )
    lobby = project.room_ids()["lobby"]
    assert lobby != before["lobby"]
    before = {**before, "lobby": lobby}
    assert {str(r["Id"]) for r in sandbox.store.all()} == set(before.values())
    # A business change moves `archive` in place: no replacement, nothing kept behind.
    moved = {"lobby": {"name": "Lobby"}, "archive": {**archive, "businessId": 1002}}
    project.declare("dev", moved, business=1001)
    up = project.ok("up", "--yes")
    assert "~ 1 updated" in up.output and "replaced" not in up.output
    assert project.room_ids() == before
    assert sandbox.store.get(int(before["archive"]))["BusinessId"] == 1002  # type: ignore[index]
    assert len(sandbox.store.all()) == 2
    project.ok("preview", "--expect-no-changes")


def test_import_id_of_a_room_another_resource_manages_is_refused_at_preview(
    project: PulumiProject, sandbox: Sandbox
) -> None:
    project.init_stack("dev", business=1001, rooms=ROOMS)
    project.ok("up", "--yes")
    lobby = project.room_ids()["lobby"]
    puts = sandbox.status_counts()[("PUT", 200)]
    project.declare(
        "dev", {**ROOMS, "lobbytwin": {"name": "Lobby", "importId": int(lobby)}}, business=1001
    )
    preview = project.run("preview")
    assert not preview.ok
    assert "property importId" in preview.output
    # the id as typed: the engine prints a number it carries as `{8.7654321e+07}`
    assert f"property importId value {{{lobby}}}" in preview.output, preview.output
    assert f"importId {lobby}: that ChatRoom is held by the key 'lobby'" in preview.output
    assert "e+07" not in preview.output
    assert "held by the key 'lobby' of this stack" in preview.output
    assert "aliases: [lobby]" in preview.output
    assert not project.run("up", "--yes").ok
    assert sandbox.status_counts()[("PUT", 200)] == puts  # nothing was written
    twin = {"name": "Lobby", "importId": int(lobby), "takeOver": True}
    project.declare("dev", {**ROOMS, "lobbytwin": twin}, business=1001)
    project.ok("up", "--yes")
    assert project.room_ids()["lobbytwin"] == lobby
    marker = markers(sandbox)[int(lobby)]
    assert marker is not None and marker.key == "lobbytwin"


def test_a_create_that_commits_after_the_client_timed_out_is_not_made_twice(
    project: PulumiProject, sandbox: Sandbox
) -> None:
    project.init_stack("dev", business=1001, rooms={"lobby": {"name": "Lobby"}}, timeoutSeconds="2")
    sandbox.faults.commit_delay_ms = 3000
    up = project.ok("up", "--yes", "--skip-preview")
    sandbox.wait_idle()
    assert len(sandbox.store.all()) == 1 and sandbox.posts_committed == 1
    assert "create answer lost" in up.output


def test_a_killed_run_then_renamed_rooms_end_with_exactly_the_declared_rooms(
    project: PulumiProject, sandbox: Sandbox
) -> None:
    rooms = {f"room-{n}": {"name": f"Room {n}"} for n in range(8)}
    project.init_stack("dev", business=1001, rooms=rooms)
    sandbox.faults.latency_ms = 400
    project.kill_up_once(lambda: sandbox.posts_committed >= 3)
    sandbox.wait_idle()
    sandbox.faults.latency_ms = 0
    # Before the next run, every room is renamed: the orphans must be found by marker alone.
    renamed = {key: {"name": f"Renamed {key}"} for key in rooms}
    project.declare("dev", renamed, business=1001)
    project.ok("cancel", "--yes")
    project.ok("refresh", "--yes", "--clear-pending-creates")
    project.ok("up", "--yes", "--skip-preview")
    held = sandbox.store.all()
    assert Counter(Marker.parse(r["SystemId"]).key for r in held) == Counter(list(rooms))  # type: ignore[union-attr]
    assert sorted(r["Name"] for r in held) == sorted(f"Renamed {key}" for key in rooms)
    project.ok("preview", "--expect-no-changes")


def test_import_id_of_a_room_deleted_in_nexudus_fails_preview_until_it_is_removed(
    project: PulumiProject, sandbox: Sandbox
) -> None:
    legacy = adopted_legacy_room(project)
    assert project.room_ids()["legacy"] == str(legacy) and sandbox.posts_committed == 0
    # A business change with importId still declared moves the room in place, as for any room.
    moved: dict[str, Any] = {"name": "Legacy", "importId": legacy, "businessId": 1002}
    project.declare("dev", {"legacy": moved}, business=1001)
    up = project.ok("up", "--yes")
    assert "~ 1 updated" in up.output and "replaced" not in up.output
    [held] = sandbox.store.all()
    assert held["BusinessId"] == 1002
    # Deleted in the admin UI, then forgotten by refresh: importId names nothing now, which
    # preview says (a typo would look the same) instead of quietly creating another room.
    sandbox.store.delete(held["Id"])
    project.ok("refresh", "--yes")
    preview = project.run("preview")
    assert not preview.ok and f"importId {legacy}: no ChatRoom with that id" in preview.output
    del moved["importId"]
    project.declare("dev", {"legacy": moved}, business=1001)
    project.ok("up", "--yes")
    [recreated] = sandbox.store.all()
    assert project.room_ids()["legacy"] == str(recreated["Id"])
