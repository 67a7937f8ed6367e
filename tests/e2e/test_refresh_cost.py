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


def cost(project: PulumiProject, sandbox: Sandbox, *args: str) -> Counter[str]:
    """The room requests one successful command made."""
    since = len(sandbox.requests)
    project.ok(*args)
    settle()
    return spent(sandbox, since)


def test_a_plain_up_refreshes_in_its_preview_and_its_update(
    project: PulumiProject, sandbox: Sandbox
) -> None:
    rooms = {f"room-{n:02d}": {"name": f"Room {n}"} for n in range(ROOMS)}
    project.init_stack("dev", business=1001, rooms=rooms, minIntervalMs="0")
    # a new stack has nothing to refresh: its first `up` costs what it creates
    assert cost(project, sandbox, "up", "--yes") == Counter({"POST": ROOMS, "LIST": 1})
    unchanged = Counter({"GET by id": 2 * ROOMS, "LIST": 2})
    assert cost(project, sandbox, "up", "--yes") == unchanged
    assert cost(project, sandbox, "up", "--yes", "--skip-preview") == unchanged - Counter(
        {"GET by id": ROOMS, "LIST": 1}
    )
    assert cost(project, sandbox, "preview") == Counter({"GET by id": ROOMS, "LIST": 1})
    assert cost(project, sandbox, "up", "--yes", "--refresh=false") == Counter()


def test_vouched_for_an_unchanged_account_a_plain_up_costs_two_listings(
    project: PulumiProject, sandbox: Sandbox
) -> None:
    rooms = {f"room-{n:02d}": {"name": f"Room {n}"} for n in range(ROOMS)}
    project.init_stack(
        "dev", business=1001, rooms=rooms, minIntervalMs="0", membershipBumpsUpdatedOn="true"
    )
    project.ok("up", "--yes")
    # after a create the state lacks what only a read by id shows (createdOn): read once
    assert cost(project, sandbox, "up", "--yes") == Counter({"GET by id": 2 * ROOMS, "LIST": 2})
    assert cost(project, sandbox, "up", "--yes") == Counter({"LIST": 2})

    edited = int(project.room_ids()["room-03"])
    sandbox.store.update(edited, {"Name": "Renamed by hand"}, "someone")
    # the edited room is read by each pass and by its update, then written back
    put_back = Counter({"LIST": 2, "GET by id": 3, "PUT": 1})
    assert cost(project, sandbox, "up", "--yes") == put_back
    held = sandbox.store.get(edited)
    assert held is not None and held["Name"] == "Room 3"
    assert cost(project, sandbox, "up", "--yes") == Counter({"LIST": 2})
