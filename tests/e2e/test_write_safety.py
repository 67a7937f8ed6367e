"""Never write over what is not ours, with the real `pulumi` CLI: each walk is a reproduction that
deleted or rewrote a record its user meant to keep (a stack that lost a room to `takeOver`, an
`importId` left in config across a key rename, one `importId` under two keys, a room kept by
`retainOnDelete`, an adoption across businesses, a killed run whose creates landed late)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from nexudus_pulumi.ownership import Marker
from nexudus_pulumi.sandbox import Sandbox
from tests.e2e.harness import FAST, PulumiProject, adopted_legacy_room, cli


def marker_of(sandbox: Sandbox, record_id: str | int) -> Marker | None:
    record = sandbox.store.get(int(record_id))
    assert record is not None, f"room {record_id} is gone"
    return Marker.parse(record["SystemId"])


def test_a_stack_that_lost_a_room_to_take_over_lets_it_go(
    project: PulumiProject, sandbox: Sandbox
) -> None:
    project.init_stack("sa", business=1001, rooms={"lobby": {"name": "Lobby"}})
    project.ok("up", "--yes", stack="sa")
    lobby = project.room_ids("sa")["lobby"]
    taking = {"lobby": {"name": "Lobby", "importId": int(lobby), "takeOver": True}}
    project.init_stack("sb", business=1001, rooms=taking)
    preview = project.ok("preview", stack="sb")
    assert f"will adopt existing id {lobby}" in preview.output
    project.ok("up", "--yes", stack="sb")
    # sa's next run neither rewrites the room back nor, at destroy, deletes it
    up = project.ok("up", "--yes", "--refresh", stack="sa")
    assert "is now managed by the Pulumi resource nexudus-rooms/sb/lobby" in up.output
    theirs = marker_of(sandbox, lobby)
    assert theirs is not None and theirs.path == "nexudus-rooms/sb/lobby"
    assert project.room_ids("sa")["lobby"] != lobby  # sa declared a lobby: it has its own now
    project.ok("destroy", "--yes", stack="sa")
    assert marker_of(sandbox, lobby) == theirs and len(sandbox.store.all()) == 1
    project.ok("preview", "--expect-no-changes", "--refresh", stack="sb")


def test_import_id_left_in_config_across_a_key_rename_never_deletes_the_room(
    project: PulumiProject, sandbox: Sandbox
) -> None:
    legacy = adopted_legacy_room(project)
    renamed: dict[str, Any] = {"lobby": {"name": "Legacy", "importId": legacy}}
    project.declare("dev", renamed, business=1001)
    preview = project.run("preview")
    assert not preview.ok and "aliases: [legacy]" in preview.output
    # Following the other way out, takeOver: the new key adopts it, the old key lets it go.
    renamed["lobby"]["takeOver"] = True
    project.declare("dev", renamed, business=1001)
    project.ok("up", "--yes")
    assert project.room_ids() == {"lobby": str(legacy)}
    assert sandbox.status_counts()[("DELETE", 200)] == 0
    project.ok("preview", "--expect-no-changes", "--refresh")


def test_one_import_id_under_two_keys_fails_at_preview_naming_both(
    project: PulumiProject, sandbox: Sandbox
) -> None:
    legacy = sandbox.store.insert({"BusinessId": 1001, "Name": "Legacy"}, "ui")
    both = {key: {"name": "Legacy", "importId": legacy} for key in ("lobby", "hall")}
    project.init_stack("dev", business=1001, rooms=both)
    preview = project.run("preview")
    assert not preview.ok
    assert f"importId {legacy} is declared by hall and lobby" in preview.output
    assert not project.run("up", "--yes").ok
    assert sandbox.status_counts()[("PUT", 200)] == 0


def test_adoption_across_businesses_fails_at_preview(
    project: PulumiProject, sandbox: Sandbox
) -> None:
    elsewhere = sandbox.store.insert({"BusinessId": 1003, "Name": "Elsewhere"}, "ui")
    project.init_stack("dev", business=1001, rooms={"hall": {"importId": elsewhere}})
    preview = project.run("preview")
    assert not preview.ok and "its businessId is 1003" in preview.output
    assert "will adopt" not in preview.output


def test_a_room_kept_by_retain_on_delete_is_never_deleted_later(
    project: PulumiProject, sandbox: Sandbox
) -> None:
    hall = {"name": "Hall"}
    kept: dict[str, Any] = {"lobby": {"name": "Lobby", "retainOnDelete": True}, "hall": hall}
    project.init_stack("dev", business=1001, rooms=kept)
    project.ok("up", "--yes")
    lobby = project.room_ids()["lobby"]
    project.declare("dev", {"hall": hall}, business=1001)
    project.ok("up", "--yes")  # Pulumi forgets it; Nexudus keeps it
    # later, `lobby` is declared again elsewhere: a new room, the kept one named, never deleted
    again = {"lobby": {"name": "Lobby", "businessId": 1002}, "hall": hall}
    project.declare("dev", again, business=1001)
    project.ok("up", "--yes")
    assert project.room_ids()["lobby"] != lobby
    # the kept room is never reported as a duplicate to delete: the drift check holds
    project.ok("preview", "--refresh", "--expect-no-changes")
    # and moved again: in place, the kept room still untouched
    project.declare("dev", {**again, "lobby": {"name": "Lobby", "businessId": 1003}}, business=1001)
    project.ok("up", "--yes")
    kept_room = sandbox.store.get(int(lobby))
    assert kept_room is not None and kept_room["BusinessId"] == 1001
    project.ok("preview", "--refresh", "--expect-no-changes")


def test_a_killed_run_whose_creates_land_late_fails_the_drift_check_naming_both_ids(
    project: PulumiProject, sandbox: Sandbox
) -> None:
    rooms = {f"room-{n}": {"name": f"Room {n}"} for n in range(4)}
    # Pacing without a minimum interval: under the default one, a request leaves 100 ms after
    # the previous one's answer, so a 15 s commit would hold back the other creates.
    project.init_stack("dev", business=1001, rooms=rooms, **FAST)
    sandbox.faults.commit_delay_ms = 15_000  # each create commits 15 s after it arrives
    project.kill_up_once(lambda: sandbox.in_flight >= 4)
    sandbox.faults.commit_delay_ms = 0  # the creates already sent still land 15 s late
    project.ok("cancel", "--yes")
    project.ok("up", "--yes", "--skip-preview")
    sandbox.wait_idle()
    held = project.room_ids()
    keys = Counter(m.key for r in sandbox.store.all() if (m := Marker.parse(r["SystemId"])))
    twice = sorted(key for key, count in keys.items() if count == 2)
    assert twice, "no create of the killed run landed late"
    drift = project.run("preview", "--refresh", "--expect-no-changes")
    assert not drift.ok
    first = twice[0]
    assert f"ids {held[first]} and " in drift.output
    assert "both carry this resource's marker" in drift.output


def test_records_of_the_stack_no_resource_holds_fail_the_drift_check_and_destroy_names_them(
    project: PulumiProject, sandbox: Sandbox
) -> None:
    """A run killed after Nexudus committed a create whose key was then removed: the record
    carries the stack's marker, and once no drift check saw it and destroy left it behind."""
    project.init_stack("dev", business=1001, rooms={"lobby": {"name": "Lobby"}})
    project.ok("up", "--yes")
    resources = project.state()["deployment"]["resources"]
    [stack_id] = [r["id"] for r in resources if r["type"].endswith("StackIdentity")]
    orphan = sandbox.store.insert(
        {
            "BusinessId": 1001,
            "Name": "Old hall",
            "SystemId": f"pulumi:nexudus-rooms/dev/hall#{stack_id}",
        },
        "killed run",
    )
    drift = project.run("preview", "--refresh", "--expect-no-changes")
    assert not drift.ok
    assert f"ChatRoom {orphan} (key 'hall', business 1001) carry this stack's markers" in (
        drift.output
    )
    destroyed = project.ok("destroy", "--yes")
    assert f"ChatRoom {orphan} (key 'hall', business 1001) are left behind by this destroy" in (
        destroyed.output
    )
    assert [r["Id"] for r in sandbox.store.all()] == [orphan]  # reported, never deleted


def test_export_force_keeps_the_key_of_a_room_that_lost_its_marker(
    project: PulumiProject, sandbox: Sandbox
) -> None:
    """A managed room's SystemId cleared (by another client): `export --force` once declared it
    again under a new key (`lobby-2`) and dropped `lobby`, so the next `up` replaced it. The
    stack's outputs say which key holds the id."""
    project.init_stack("dev", business=1001, rooms={"lobby": {"name": "Lobby"}})
    project.ok("up", "--yes")
    lobby = project.room_ids()["lobby"]
    sandbox.edit("/api/support/chatrooms", int(lobby), SystemId=None)
    cli(project, "export", "--business", "1001", "--stack", "dev", "--force")
    assert list(project.rooms()) == ["lobby"]
    project.ok("up", "--yes")  # the same room, no replacement
    assert project.room_ids() == {"lobby": lobby} and len(sandbox.store.all()) == 1
    project.ok("preview", "--expect-no-changes")
