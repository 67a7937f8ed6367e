"""What Pulumi.yaml's `refresh: always` costs a plain `pulumi up`, counted at the sandbox with
the real engine: every `up` refreshes in its preview and again in its update, so the price of
putting hand edits back without a flag is a GET per record per pass, and, where the user vouches
that every change moves `UpdatedOn`, one listing per pass on an unchanged account."""

from __future__ import annotations

from collections import Counter

from nexudus_pulumi.sandbox import Sandbox
from tests.e2e.harness import PulumiProject, settle
from tests.helpers import spent

ROOMS = 10


CENSUS = Counter({"LIST": 1})
"""Per pass of a preview or update of an existing stack (its preview, its update): the stack
identity lists the rooms once (and the groups and threads, not counted here) to name records
carrying the stack's markers that no resource holds (`census`)."""


def cost(project: PulumiProject, sandbox: Sandbox, *args: str) -> Counter[str]:
    """The room requests one successful command made."""
    since = len(sandbox.requests)
    project.ok(*args)
    settle(sandbox)
    return spent(sandbox, since)


def test_a_plain_up_refreshes_in_its_preview_and_its_update(
    project: PulumiProject, sandbox: Sandbox
) -> None:
    rooms = {f"room-{n:02d}": {"name": f"Room {n}"} for n in range(ROOMS)}
    project.init_stack("dev", business=1001, rooms=rooms, minIntervalMs="0")
    # a new stack has nothing to refresh: its first `up` costs what it creates, each create
    # read back once (the state holds the read-only fields Nexudus made)
    created = Counter({"POST": ROOMS, "GET by id": ROOMS, "LIST": 1})
    assert cost(project, sandbox, "up", "--yes") == created
    unchanged = Counter({"GET by id": 2 * ROOMS, "LIST": 2}) + CENSUS + CENSUS
    assert cost(project, sandbox, "up", "--yes") == unchanged
    assert (
        cost(project, sandbox, "up", "--yes", "--skip-preview")
        == unchanged - Counter({"GET by id": ROOMS, "LIST": 1}) - CENSUS
    )
    assert cost(project, sandbox, "preview") == Counter({"GET by id": ROOMS, "LIST": 1}) + CENSUS
    # without a refresh, only the census: one listing per pass
    assert cost(project, sandbox, "up", "--yes", "--refresh=false") == CENSUS + CENSUS


def test_vouched_for_an_unchanged_account_a_plain_up_costs_two_listings(
    project: PulumiProject, sandbox: Sandbox
) -> None:
    rooms = {f"room-{n:02d}": {"name": f"Room {n}"} for n in range(ROOMS)}
    project.init_stack(
        "dev", business=1001, rooms=rooms, minIntervalMs="0", membershipBumpsUpdatedOn="true"
    )
    project.ok("up", "--yes")
    # the creates were read back, so the state is whole: the first up is already the cheap one
    assert cost(project, sandbox, "up", "--yes") == Counter({"LIST": 2}) + CENSUS + CENSUS

    edited = int(project.room_ids()["room-03"])
    sandbox.store.update(edited, {"Name": "Renamed by hand"}, "someone")
    # the edited room is read by each pass and by its update, then written back
    put_back = Counter({"LIST": 2, "GET by id": 3, "PUT": 1}) + CENSUS + CENSUS
    assert cost(project, sandbox, "up", "--yes") == put_back
    held = sandbox.store.get(edited)
    assert held is not None and held["Name"] == "Room 3"
    assert cost(project, sandbox, "up", "--yes") == Counter({"LIST": 2}) + CENSUS + CENSUS
