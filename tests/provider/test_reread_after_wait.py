"""A write goes out from a read taken after its last wait, and carries every field it may carry.

Each test is a reproduction that wiped or took what a run did not own, at the provider: under the
account's limits a write waits (its pacer turn, a 409/429 `Retry-After`, a 5xx backoff), and
whatever a person or another integration did during that wait must survive it. The sandbox acts
at a known point of the run (`Sandbox.observers`: as a 409 is answered, as a PUT lands), so no
timing is guessed. The walks with the real engine: tests/e2e/test_write_after_wait.py.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from nexudus_pulumi.errors import NotOursError
from nexudus_pulumi.provider import RecordOperationError
from nexudus_pulumi.sandbox import Faults, Fidelity, PublishedLimits, Sandbox
from tests.helpers import (
    ROOMS_PATH,
    MakeProvider,
    act_once,
    create,
    group,
    group_provider,
)

SA = "aaaaaaaaaaaaaaaa"
GROUPS_PATH = "/api/community/communitygroups"
CRM = "crm-sync:room-42"
"""The marker another integration writes when it takes a room over."""
CRM_OWNER = f"another integration (its SystemId holds {CRM!r})"

ONE_WRITE_PER_SECOND = PublishedLimits(
    min_interval=0, requests_per_window=100_000, writes_per_window=1, window_seconds=1.0
)
"""The sandbox throttles every second write within a second: a write that follows another waits
out a 409 (or 429) with `Retry-After: 1`."""

READINGS = Fidelity.variants()


@pytest.fixture(params=sorted(READINGS), ids=str)
def reading(request: pytest.FixtureRequest, sandbox: Sandbox) -> Iterator[Fidelity]:
    """Every reading the sandbox offers of the open questions (429 without `Retry-After`, PUT
    keeping what it is not sent, listings without `SystemId`...)."""
    sandbox.fidelity = READINGS[request.param]
    yield sandbox.fidelity


def room(key: str, **fields: Any) -> dict[str, Any]:
    props: dict[str, Any] = {
        "businessId": 1001.0,
        "name": key.title(),
        "ownerTag": f"nexudus-rooms/dev/{key}#{SA}",
    }
    return {**props, **fields}


def throttled(sandbox: Sandbox) -> None:
    """From now on the sandbox throttles a write that follows another within a second."""
    sandbox.throttle.limits = ONE_WRITE_PER_SECOND


def users(sandbox: Sandbox, room_id: str) -> list[int]:
    record = sandbox.store.get(int(room_id))
    assert record is not None
    return list(record["Users"])


# ----- a person acts while the write waits ----------------------------------------------------


def test_a_member_added_while_a_put_waits_for_its_turn_behind_another_survives(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    """Two renames in one `up`, run at once as the engine runs them, paced 1.5 s apart: the
    second rename waits for the first one's turn, and a member added in the admin UI meanwhile
    is on the room afterwards (once, both GETs went first, and the member was wiped)."""
    provider = make_provider(minIntervalMs=1500)
    a, b = create(provider, room("a")), create(provider, room("b"))
    first_put: list[str] = []

    def person_adds_member(method: str, path: str, status: int) -> None:
        if method == "PUT" and status == 200 and not first_put:
            [written] = [body["Id"] for m, _, body in sandbox.written[-1:] if m == "PUT"]
            first_put.append(str(written))
            waiting = b if str(written) == a.id else a  # the other one waits for its turn
            sandbox.add_member(ROOMS_PATH, int(waiting.id), 12)

    sandbox.observers.append(person_adds_member)
    with ThreadsAtOnce() as run:
        run(provider.update, a.id, a.outs, room("a", name="Renamed a"))
        run(provider.update, b.id, b.outs, room("b", name="Renamed b"))
    assert first_put, "no PUT went out"
    waited = b if first_put[0] == a.id else a
    assert users(sandbox, waited.id) == [12]
    for created, name in ((a, "Renamed a"), (b, "Renamed b")):
        record = sandbox.store.get(int(created.id))
        assert record is not None and record["Name"] == name


def test_a_member_added_while_a_put_waits_out_a_throttle_answer_survives(
    sandbox: Sandbox, make_provider: MakeProvider, reading: Fidelity
) -> None:
    provider = make_provider()
    lobby = create(provider, room("lobby"))
    throttled(sandbox)
    sandbox.store.update(int(lobby.id), {"IsNew": False}, "ui")  # a write of the UI: counted
    acted = act_once(
        sandbox,
        "PUT",
        (reading.throttle_status,),
        lambda: sandbox.add_member(ROOMS_PATH, int(lobby.id), 12),
    )
    _ = provider.create(room("warm-up"))  # the account's one write of this second
    provider.update(lobby.id, lobby.outs, room("lobby", name="Great lobby"))
    assert acted, "the PUT was never throttled"
    record = sandbox.store.get(int(lobby.id))
    assert record is not None and (record["Name"], record["Users"]) == ("Great lobby", [12])


def test_a_member_added_while_a_put_backs_off_a_5xx_survives(
    sandbox: Sandbox, make_provider: MakeProvider, reading: Fidelity
) -> None:
    provider = make_provider()
    lobby = create(provider, room("lobby"))
    path = f"{ROOMS_PATH}/{lobby.id}"
    failed: list[str] = []

    def observer(method: str, seen: str, status: int) -> None:
        if method == "GET" and seen == path and not failed:
            sandbox.faults = Faults(error_rate=1.0)  # the PUT after this read fails ...
        elif method == "PUT" and status == 503 and not failed:
            failed.append(seen)
            sandbox.faults = Faults()  # ... once; during its backoff a person adds a member
            sandbox.add_member(ROOMS_PATH, int(lobby.id), 12)

    sandbox.observers.append(observer)
    provider.update(lobby.id, lobby.outs, room("lobby", name="Great lobby"))
    assert failed, "the PUT never failed"
    record = sandbox.store.get(int(lobby.id))
    assert record is not None and (record["Name"], record["Users"]) == ("Great lobby", [12])


# ----- another integration takes the record during the wait -----------------------------------


def crm_takes(sandbox: Sandbox, room_id: str) -> Callable[[], None]:
    return lambda: sandbox.edit(ROOMS_PATH, int(room_id), SystemId=CRM, Name="CRM room", Users=[14])


def test_a_room_taken_over_while_its_put_waits_is_not_written(
    sandbox: Sandbox, make_provider: MakeProvider, reading: Fidelity
) -> None:
    provider = make_provider()
    lobby = create(provider, room("lobby"))
    throttled(sandbox)
    acted = act_once(sandbox, "PUT", (reading.throttle_status,), crm_takes(sandbox, lobby.id))
    _ = provider.create(room("warm-up"))
    with pytest.raises(RecordOperationError) as refused:
        provider.update(lobby.id, lobby.outs, room("lobby", name="Great lobby"))
    assert acted, "the PUT was never throttled"
    assert isinstance(refused.value, NotOursError) and refused.value.owner == CRM_OWNER
    assert f"is now managed by {CRM_OWNER}" in str(refused.value)
    record = sandbox.store.get(int(lobby.id))
    assert record is not None
    assert (record["SystemId"], record["Name"], record["Users"]) == (CRM, "CRM room", [14])


def test_a_room_taken_over_while_its_delete_waits_is_released_not_deleted(
    sandbox: Sandbox,
    make_provider: MakeProvider,
    reading: Fidelity,
    caplog: pytest.LogCaptureFixture,
) -> None:
    provider = make_provider()
    lobby = create(provider, room("lobby"))
    throttled(sandbox)
    acted = act_once(sandbox, "DELETE", (reading.throttle_status,), crm_takes(sandbox, lobby.id))
    _ = provider.create(room("warm-up"))
    provider.delete(lobby.id, lobby.outs)
    assert acted, "the DELETE was never throttled"
    record = sandbox.store.get(int(lobby.id))
    assert record is not None and record["SystemId"] == CRM
    assert (
        f"now managed by {CRM_OWNER}, so it is released from this stack, not deleted" in caplog.text
    )


# ----- every field the reference lets a write carry -------------------------------------------


TEAM, COURSE = "5b0c2f2e-team", "9d1e7a40-course"


def test_an_update_keeps_the_team_and_course_a_group_belongs_to(
    sandbox: Sandbox, reading: Fidelity
) -> None:
    """Nexudus makes a group for a Team or a Course; a PUT that leaves `TeamGuid`/`CourseGuid`
    out may clear them, unlinking the group."""
    provider = group_provider(sandbox)
    makers = create(provider, group("makers"))
    sandbox.edit(GROUPS_PATH, int(makers.id), TeamGuid=TEAM, CourseGuid=COURSE)
    provider.update(makers.id, makers.outs, group("makers", name="Makers' guild"))
    record = sandbox.groups.get(int(makers.id))
    assert record is not None
    assert (record["Name"], record["TeamGuid"], record["CourseGuid"]) == (
        "Makers' guild",
        TEAM,
        COURSE,
    )


def test_adopting_a_teams_group_keeps_it_linked(sandbox: Sandbox, reading: Fidelity) -> None:
    team_group = sandbox.groups.insert(
        {"BusinessId": 1001, "UserId": 11, "Name": "Team A", "TeamGuid": TEAM}, "nexudus"
    )
    adopted = create(group_provider(sandbox), group("team-a", importId=float(team_group)))
    assert adopted.id == str(team_group)
    record = sandbox.groups.get(team_group)
    assert record is not None and record["TeamGuid"] == TEAM
    assert adopted.outs["teamGuid"] == TEAM


def test_a_group_declared_without_an_access_level_is_created_with_the_apis_default(
    sandbox: Sandbox,
) -> None:
    """`GroupAccess` is required on create: a group that does not declare it still sends one."""
    created = create(group_provider(sandbox), group("makers"))
    [(_, _, body)] = [w for w in sandbox.written if w[0] == "POST"]
    assert body["GroupAccess"] == 1
    record = sandbox.groups.get(int(created.id))
    assert record is not None and record["GroupAccess"] == 1
    assert "groupAccess" not in created.outs  # not declared: Nexudus's to change


def test_a_room_moved_to_another_business_is_moved_back_in_place_with_its_members(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    """Another client moved the room to business 1002; `up --refresh` once deleted room
    87654321 with its users and created an empty 87654322."""
    provider = make_provider()
    lobby = create(provider, room("lobby", users=[20.0, 21.0]))
    sandbox.edit(ROOMS_PATH, int(lobby.id), BusinessId=1002)
    refreshed = provider.read(lobby.id, lobby.outs)
    assert refreshed.outs is not None and refreshed.outs["businessId"] == 1002
    diff = provider.diff(lobby.id, refreshed.outs, room("lobby", users=[20.0, 21.0]))
    assert (diff.changes, diff.replaces) == (True, [])
    provider.update(lobby.id, refreshed.outs, room("lobby", users=[20.0, 21.0]))
    record = sandbox.store.get(int(lobby.id))
    assert record is not None and (record["BusinessId"], record["Users"]) == (1001, [20, 21])
    assert sandbox.posts_committed == 1 and len(sandbox.store.all()) == 1


# ----- leftovers of a killed run, whatever the listing shows ---------------------------------


@pytest.mark.parametrize(
    "listing",
    [
        Fidelity(listing_system_id=False),
        Fidelity(listing_system_id_null=True),
        Fidelity(),
    ],
    ids=["no SystemId in listings", "SystemId always null", "SystemId listed"],
)
def test_a_killed_runs_leftover_renamed_in_config_since_is_adopted_not_duplicated(
    sandbox: Sandbox, make_provider: MakeProvider, listing: Fidelity
) -> None:
    """`kill -9` during creates, then the room renamed in config: the leftover keeps the old
    name and the stack's marker, and the next create must find it anyway."""
    sandbox.fidelity = listing
    marker = f"pulumi:nexudus-rooms/dev/lobby#{SA}"
    leftover = sandbox.store.insert(
        {"BusinessId": 1001, "Name": "Old lobby", "SystemId": marker}, "x"
    )
    sandbox.store.insert({"BusinessId": 1001, "Name": "Someone else's"}, "ui")
    adopted = create(make_provider(), room("lobby", name="New lobby"))
    assert adopted.id == str(leftover)
    assert sandbox.posts_committed == 0
    record = sandbox.store.get(leftover)
    assert record is not None and record["Name"] == "New lobby"
    assert len(sandbox.store.all()) == 2


# ----- helpers ------------------------------------------------------------------------------


class ThreadsAtOnce:
    """Run calls on threads at once, as the engine runs four operations at a time; re-raise the
    first failure when the block ends."""

    def __init__(self) -> None:
        self._threads: list[threading.Thread] = []
        self._errors: list[BaseException] = []

    def __enter__(self) -> Callable[..., None]:
        def run(call: Callable[..., Any], *args: Any) -> None:
            def target() -> None:
                try:
                    call(*args)
                except BaseException as exc:
                    self._errors.append(exc)

            thread = threading.Thread(target=target)
            self._threads.append(thread)
            thread.start()

        return run

    def __exit__(self, *exc: object) -> None:
        for thread in self._threads:
            thread.join(timeout=120)
        if self._errors:
            raise self._errors[0]
