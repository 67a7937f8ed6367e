"""Nothing lost, duplicated or taken, at the provider, under every reading of what the Nexudus
sources leave open (`Fidelity.variants()`: the default, each switch flipped alone, and every switch
at its hardest and at its easiest for a client).

Whatever the reading, the provider loses nothing, duplicates nothing, takes nothing another owner
holds, and reports no false drift: adopting keeps the members a record has, a refresh shows the
members GET shows, an update keeps what was not declared (and what a person changed meanwhile),
a lost create answer or a killed run leaves exactly one record, an export followed by `up` adopts
without wiping, and throttling in either form is waited out.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from nexudus_pulumi import ChatRoomProvider
from nexudus_pulumi.export import ExportOptions, run_export
from nexudus_pulumi.ownership import Marker
from nexudus_pulumi.provider import RecordOperationError, RecordProvider
from nexudus_pulumi.sandbox import DEMO_PASSWORD, DEMO_USER, Fidelity, PublishedLimits, Sandbox
from tests.helpers import (
    MakeProvider,
    configure,
    create,
    group,
    group_provider,
    room,
    sandbox_config,
)

ROOMS = "/api/support/chatrooms"
GROUPS = "/api/community/communitygroups"
VARIANTS = sorted(Fidelity.variants())
OTHER_STACK = "pulumi:nexudus-rooms/staging/theirs#1a2b3c4d5e6f7a8b"


@pytest.fixture(params=VARIANTS, autouse=True)
def fidelity(request: pytest.FixtureRequest, sandbox: Sandbox) -> Iterator[Fidelity]:
    """Every test here runs under each reading; the sandbox answers by it from the start."""
    sandbox.fidelity = Fidelity.variants()[request.param]  # fresh: a test may change it
    yield sandbox.fidelity


def checked(provider: RecordProvider, props: dict[str, Any], olds: Any = None) -> dict[str, Any]:
    """The inputs `check` makes of a declaration, as the engine hands them to create/update."""
    result = provider.check(olds or {}, props)
    assert result.failures == [], result.failures
    return dict(result.inputs)


def stored(sandbox: Sandbox, path: str, record_id: int | str) -> dict[str, Any]:
    record = sandbox.stores[path].get(int(record_id))
    assert record is not None, f"record {record_id} is gone"
    return record


def marked(sandbox: Sandbox, path: str, marker: str) -> list[int]:
    return [r["Id"] for r in sandbox.stores[path].all() if r["SystemId"] == marker]


# ----- adoption keeps what the record holds -----------------------------------------------------


def test_adopting_a_room_keeps_its_users(sandbox: Sandbox, make_provider: MakeProvider) -> None:
    legacy = sandbox.store.insert({"BusinessId": 1001, "Name": "Legacy", "Users": [11, 12]}, "ui")
    provider = make_provider()
    adopted = create(provider, checked(provider, room("legacy", importId=float(legacy))))
    assert adopted.id == str(legacy) and sandbox.posts_committed == 0
    assert stored(sandbox, ROOMS, legacy)["Users"] == [11, 12]
    assert stored(sandbox, ROOMS, legacy)["SystemId"] == "pulumi:p/t/legacy"
    assert adopted.outs["users"] == [11, 12]  # the state says what Nexudus holds


def test_adopting_a_group_keeps_its_members_and_description(sandbox: Sandbox) -> None:
    legacy = sandbox.groups.insert(
        {
            "BusinessId": 1001,
            "UserId": 11,
            "Name": "Makers",
            "Description": "3D printing",
            "GroupAccess": 3,
            "Members": [12, 13],
        },
        "ui",
    )
    provider = group_provider(sandbox)
    adopted = create(provider, checked(provider, group("makers", importId=float(legacy))))
    assert adopted.id == str(legacy) and sandbox.posts_committed == 0
    after = stored(sandbox, GROUPS, legacy)
    assert (after["Members"], after["Description"], after["GroupAccess"]) == (
        [12, 13],
        "3D printing",
        3,
    )
    assert adopted.outs["members"] == [12, 13]


def test_import_id_of_a_record_another_owner_marked_is_refused(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    theirs = sandbox.store.insert(
        {"BusinessId": 1001, "Name": "Theirs", "Users": [11], "SystemId": OTHER_STACK}, "ui"
    )
    provider = make_provider()
    props = room("theirs", importId=float(theirs))
    failures = provider.check({}, props).failures  # at preview, before anything is written
    assert [f.property for f in failures] == ["importId"], "check did not see the other owner"
    assert "nexudus-rooms/staging/theirs" in failures[0].reason
    with pytest.raises(RecordOperationError, match="managed by"):
        provider.create(props)  # and at `up`, should check have been skipped
    after = stored(sandbox, ROOMS, theirs)
    assert (after["SystemId"], after["Users"]) == (OTHER_STACK, [11])


def test_export_then_up_adopts_without_wiping_and_skips_what_another_stack_owns(
    sandbox: Sandbox, make_provider: MakeProvider, tmp_path: Path
) -> None:
    lobby = sandbox.store.insert({"BusinessId": 1001, "Name": "Lobby", "Users": [11, 12]}, "ui")
    theirs = sandbox.store.insert(
        {"BusinessId": 1001, "Name": "Theirs", "Users": [13], "SystemId": OTHER_STACK}, "ui"
    )
    (tmp_path / "Pulumi.yaml").write_text("name: nexudus-rooms\nruntime: python\n")
    environ = {
        "NEXUDUS_BASE_URL": sandbox.url,
        "NEXUDUS_USERNAME": DEMO_USER,
        "NEXUDUS_PASSWORD": DEMO_PASSWORD,
        "NEXUDUS_MIN_INTERVAL_MS": "0",
    }
    run_export(tmp_path, "prod", ExportOptions(1001), environ=environ)
    config = yaml.safe_load((tmp_path / "Pulumi.prod.yaml").read_text())["config"]
    exported = config["nexudus-rooms:rooms"]
    assert [entry["importId"] for entry in exported.values()] == [lobby]  # theirs skipped
    provider = make_provider()
    for key, entry in exported.items():
        declared = {k: v for k, v in entry.items() if k != "protect"}
        create(provider, checked(provider, {**room(key), **declared}))
    assert stored(sandbox, ROOMS, lobby)["Users"] == [11, 12]
    assert stored(sandbox, ROOMS, theirs)["SystemId"] == OTHER_STACK
    assert sandbox.posts_committed == 0


# ----- refresh and drift ------------------------------------------------------------------------


def test_refresh_shows_the_users_get_shows_and_drift_only_where_declared(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    provider = make_provider()
    declared = checked(provider, room("lobby", users=[11.0]))
    undeclared = checked(provider, room("hall"))
    lobby, hall = create(provider, declared), create(provider, undeclared)
    sandbox.add_member(ROOMS, int(lobby.id), 13)  # by hand, in the admin UI
    sandbox.add_member(ROOMS, int(hall.id), 14)
    refresher = make_provider()  # `pulumi refresh`: another process
    seen = {}
    for created in (lobby, hall):
        result = refresher.read(created.id, created.outs)
        assert result.id == created.id and result.outs is not None
        seen[created.id] = dict(result.outs)
    assert seen[lobby.id]["users"] == [11, 13] and seen[hall.id]["users"] == [14]
    assert provider.diff(lobby.id, seen[lobby.id], declared).changes is True  # a hand-added user
    assert provider.diff(hall.id, seen[hall.id], undeclared).changes is False  # not declared


def test_refresh_shows_a_groups_members_as_get_shows_them(sandbox: Sandbox) -> None:
    provider = group_provider(sandbox)
    declared = checked(provider, group("makers", members=[12.0]))
    makers = create(provider, declared)
    sandbox.add_member(GROUPS, int(makers.id), 13)
    result = group_provider(sandbox).read(makers.id, makers.outs)
    assert result.outs is not None and result.outs["members"] == [12, 13]
    assert provider.diff(makers.id, dict(result.outs), declared).changes is True


def test_no_false_drift_after_create_and_refresh(sandbox: Sandbox) -> None:
    rooms, groups = configure(ChatRoomProvider(), sandbox_config(sandbox)), group_provider(sandbox)
    declared_room = checked(
        rooms, room("lobby", active=True, users=[12.0, 11.0], lastAgentVisit="2025-01-15T10:30:00Z")
    )
    declared_group = checked(
        groups, group("makers", description="3D", groupAccess="private", members=[13.0, 12.0])
    )
    for provider, declared in ((rooms, declared_room), (groups, declared_group)):
        created = create(provider, declared)
        refresher = configure(type(provider)(), sandbox_config(sandbox))
        result = refresher.read(created.id, created.outs)
        assert result.outs is not None
        assert provider.diff(created.id, dict(result.outs), declared).changes is False


# ----- updates keep what was not declared -------------------------------------------------------


def test_an_update_keeps_undeclared_fields_and_users_a_person_added(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    provider = make_provider()
    lobby = create(provider, checked(provider, room("lobby")))
    sandbox.edit(ROOMS, int(lobby.id), Active=True, LastAgentVisit="2026-11-26T09:00:00Z")
    sandbox.add_member(ROOMS, int(lobby.id), 12)
    olds = make_provider().read(lobby.id, lobby.outs).outs  # `up --refresh`
    assert olds is not None
    updater = make_provider()  # the next `up`
    news = checked(updater, room("lobby", name="Front desk"), olds)
    assert updater.diff(lobby.id, dict(olds), news).changes is True
    updater.update(lobby.id, dict(olds), news)
    after = stored(sandbox, ROOMS, lobby.id)
    assert after["Name"] == "Front desk"
    assert (after["Active"], after["LastAgentVisit"]) == (True, "2026-11-26T09:00:00Z")
    assert after["Users"] == [12]
    assert after["SystemId"] == "pulumi:p/t/lobby"


def test_an_update_without_a_refresh_keeps_members_added_since(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    provider = make_provider()
    lobby = create(provider, checked(provider, room("lobby", active=True)))
    sandbox.add_member(ROOMS, int(lobby.id), 12)  # the state does not know
    updater = make_provider()
    news = checked(updater, room("lobby", active=False), lobby.outs)
    updater.update(lobby.id, lobby.outs, news)
    after = stored(sandbox, ROOMS, lobby.id)
    assert (after["Active"], after["Users"]) == (False, [12])


def test_a_group_update_keeps_members_and_undeclared_fields(sandbox: Sandbox) -> None:
    provider = group_provider(sandbox)
    makers = create(provider, checked(provider, group("makers")))
    sandbox.edit(GROUPS, int(makers.id), Description="3D printing", GroupAccess=2)
    sandbox.add_member(GROUPS, int(makers.id), 13)
    updater = group_provider(sandbox)
    news = checked(updater, group("makers", name="Makers' guild"), makers.outs)
    updater.update(makers.id, makers.outs, news)
    after = stored(sandbox, GROUPS, makers.id)
    assert after["Name"] == "Makers' guild"
    assert (after["Description"], after["GroupAccess"], after["Members"]) == (
        "3D printing",
        2,
        [13],
    )


# ----- exactly one record -----------------------------------------------------------------------


def seed_dropping_only_the_first_create(rate: float = 0.5) -> int:
    """A fault seed whose first POST loses its answer and whose next ones do not (the draws are
    keyed by seed and ordinal: see `Faults`)."""
    for seed in range(1000):
        draws = [random.Random(f"{seed}/drop after commit/{n}").random() for n in (1, 2, 3, 4)]
        if draws[0] < rate and all(d >= rate for d in draws[1:]):
            return seed
    raise AssertionError("no such seed")


def test_a_lost_create_answer_leaves_exactly_one_record(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    sandbox.faults.seed = seed_dropping_only_the_first_create()
    sandbox.faults.drop_after_commit_rate = 0.5
    provider = make_provider(timeoutSeconds=2)
    lobby = create(provider, checked(provider, room("lobby", users=[11.0])))
    sandbox.wait_idle()
    assert sandbox.status_counts()[("POST", 0)] == 1  # the answer was lost indeed
    assert marked(sandbox, ROOMS, "pulumi:p/t/lobby") == [int(lobby.id)]
    assert stored(sandbox, ROOMS, lobby.id)["Users"] == [11]
    # the state holds the record found as Nexudus made it: a drift check shows no first sight
    assert lobby.outs["createdOn"] == stored(sandbox, ROOMS, lobby.id)["CreatedOn"]


def test_a_killed_runs_leftover_is_adopted_not_duplicated(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    marker = Marker.from_tag("p/t/lobby").text
    leftover = sandbox.store.insert(
        {"BusinessId": 1001, "Name": "Lobby", "Users": [11], "SystemId": marker}, "x"
    )
    sandbox.add_member(ROOMS, leftover, 12)  # a person found it and added someone
    provider = make_provider()
    lobby = create(provider, checked(provider, room("lobby", active=True)))
    assert lobby.id == str(leftover) and sandbox.posts_committed == 0
    assert marked(sandbox, ROOMS, marker) == [leftover]
    after = stored(sandbox, ROOMS, leftover)
    assert (after["Active"], after["Users"]) == (True, [11, 12])


def test_a_killed_runs_leftover_group_is_adopted_not_duplicated(sandbox: Sandbox) -> None:
    marker = Marker.from_tag("p/t/makers").text
    leftover = sandbox.groups.insert(
        {"BusinessId": 1001, "UserId": 11, "Name": "Makers", "Members": [12], "SystemId": marker},
        "x",
    )
    provider = group_provider(sandbox)
    makers = create(provider, checked(provider, group("makers")))
    assert makers.id == str(leftover) and sandbox.posts_committed == 0
    assert marked(sandbox, GROUPS, marker) == [leftover]
    assert stored(sandbox, GROUPS, leftover)["Members"] == [12]


# ----- throttling, in either form ---------------------------------------------------------------


def test_a_burst_of_writes_past_the_limit_is_waited_out(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    provider = make_provider()  # paces for 100,000 writes a minute: the sandbox disagrees
    sandbox.throttle.limits = PublishedLimits(
        min_interval=0, requests_per_window=100_000, writes_per_window=2, window_seconds=1
    )
    created = [create(provider, checked(provider, room(f"r{n}"))) for n in range(4)]
    sandbox.wait_idle()
    assert sandbox.throttle.refusals["writes per window"] >= 1  # it was throttled
    assert sorted(r["Id"] for r in sandbox.store.all()) == sorted(int(c.id) for c in created)
    assert sandbox.posts_committed == 4


# ----- refusals ---------------------------------------------------------------------------------


def test_a_delete_refused_by_a_business_rule_fails_naming_the_reason(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    provider = make_provider()
    lobby = create(provider, checked(provider, room("lobby")))
    sandbox.undeletable[int(lobby.id)] = "This chat room has messages and cannot be deleted."
    with pytest.raises(RecordOperationError, match="has messages and cannot be deleted"):
        provider.delete(lobby.id, lobby.outs)  # HTTP 200, WasSuccessful false: not a success
    assert stored(sandbox, ROOMS, lobby.id)["SystemId"] == "pulumi:p/t/lobby"
