"""A write that waits changes nothing it did not read just before writing, with the real `pulumi`
CLI: the sandbox throttles writes to one per 6 s, and a person (or another integration) acts
while a write waits out the 409 (or 429) it was answered. Each walk once wiped a member or
deleted a room another integration had taken (the provider-level cases, over every reading, are
in tests/provider/test_reread_after_wait.py)."""

from __future__ import annotations

import pytest

from nexudus_pulumi.sandbox import DEMO_USER, Fidelity, PublishedLimits, Sandbox
from nexudus_pulumi.sandbox.collections import CHAT_ROOMS
from nexudus_pulumi.sandbox.limits import Throttle
from tests.e2e.harness import PulumiProject
from tests.helpers import act_once

ONE_WRITE_PER_6_S = PublishedLimits(
    min_interval=0, requests_per_window=100_000, writes_per_window=1, window_seconds=6.0
)
ONE_WRITE_PER_30_S = PublishedLimits(
    min_interval=0, requests_per_window=100_000, writes_per_window=1, window_seconds=30.0
)
CRM = "crm-sync:room-42"
READINGS = {
    name: Fidelity.variants()[name] for name in ("default", "adversarial", "listing_system_id_null")
}


@pytest.mark.parametrize("reading", sorted(READINGS))
def test_what_happens_while_a_write_waits_survives_the_write(
    project: PulumiProject, sandbox: Sandbox, reading: str
) -> None:
    sandbox.fidelity = READINGS[reading]
    throttled = (409, 429)
    rooms = {"a": {"name": "A"}, "b": {"name": "B"}}
    project.init_stack("dev", business=1001, rooms=rooms)
    project.ok("up", "--yes")
    ids = project.room_ids()
    sandbox.throttle.limits = ONE_WRITE_PER_6_S

    # 1. Both renamed in one `up`: the second PUT is throttled, and while it waits a member is
    #    added to both rooms in the admin UI. Once, the retried PUT carried the old body.
    def person_adds_member() -> None:
        for room_id in ids.values():
            sandbox.add_member(CHAT_ROOMS.path, int(room_id), 12)

    acted = act_once(sandbox, "PUT", throttled, person_adds_member)
    project.declare("dev", {"a": {"name": "Renamed A"}, "b": {"name": "Renamed B"}}, business=1001)
    project.ok("up", "--yes")
    assert acted, "no PUT was throttled"
    for key, room_id in ids.items():
        record = sandbox.store.get(int(room_id))
        assert record is not None
        assert (record["Name"], record["Users"]) == (f"Renamed {key.upper()}", [12])
    project.ok("preview", "--refresh", "--expect-no-changes")

    # 2. `a` removed: its DELETE is throttled, and another integration takes the room during
    #    the wait. Once, the retried DELETE deleted it.
    # The account's write of the next 30 s is spent by another client as the run starts (a
    # read by id of room a may come earlier, from the census, so it cannot be the trigger). A
    # new throttle forgets part 1's writes: one of them, still in the window, would refuse this
    # write, and let the DELETE through unthrottled once it left the window.
    sandbox.throttle = Throttle(ONE_WRITE_PER_30_S)
    assert sandbox.throttle.admit(DEMO_USER, write=True) == 0
    taken = act_once(
        sandbox,
        "DELETE",
        throttled,
        lambda: sandbox.edit(CHAT_ROOMS.path, int(ids["a"]), SystemId=CRM, Users=[14]),
    )
    project.declare("dev", {"b": {"name": "Renamed B"}}, business=1001)
    up = project.ok("up", "--yes", "--refresh=false")
    assert taken, "the DELETE was not throttled"
    assert "so it is released from this stack, not deleted" in up.output
    record = sandbox.store.get(int(ids["a"]))
    assert record is not None and (record["SystemId"], record["Users"]) == (CRM, [14])
