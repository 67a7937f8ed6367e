"""Every request counts: what each operation costs, counted at the sandbox.

Nexudus allows 120 requests a minute and 5,000 an hour per account. A create is one POST (the
owner-marker lookup is one listing of the account for the run); an update is a GET by id and a
PUT, a delete a GET and a DELETE: every write from a fresh read. A listing carries no `Users`,
so a refresh reads each room by id, plus one listing that finds two rooms carrying one marker;
where the user vouches that membership changes move `UpdatedOn`, a refresh of an unchanged
account costs that listing alone.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from nexudus_pulumi import ChatRoomProvider
from nexudus_pulumi.errors import QuotaError
from nexudus_pulumi.sandbox import Sandbox
from tests.helpers import Created, MakeProvider, create, room, spent

ROOMS = 50


def create_rooms(provider: ChatRoomProvider, count: int = ROOMS) -> list[Created]:
    """As the engine runs them: four operations at a time."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda n: create(provider, room(f"room-{n:02d}")), range(count)))


def test_creating_fifty_rooms_costs_fifty_posts_fifty_reads_and_one_listing(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    created = create_rooms(make_provider())
    assert len({c.id for c in created}) == ROOMS == len(sandbox.store.all())
    # each create is read back once, so the state holds the read-only fields and the first
    # drift check shows only drift (a create's answer is only {"Id": n})
    assert spent(sandbox) == Counter({"POST": ROOMS, "GET by id": ROOMS, "LIST": 1})
    assert all(c.outs["createdOn"] and c.outs["uniqueId"] for c in created)


def refresh_all(provider: ChatRoomProvider, rooms: list[Created]) -> list[Created]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda c: provider.read(c.id, c.outs), rooms))
    assert [r.id for r in results] == [c.id for c in rooms]
    return [Created(c.id, r.outs) for r, c in zip(results, rooms, strict=True) if r.outs]


def test_refreshing_fifty_rooms_costs_a_get_each_and_one_listing(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    created = create_rooms(make_provider())
    before = len(sandbox.requests)
    refresh_all(make_provider(), created)  # `pulumi refresh` is another run, another process
    assert spent(sandbox, before) == Counter({"GET by id": ROOMS, "LIST": 1})


def test_with_membership_vouched_for_an_unchanged_account_refreshes_from_one_listing(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    created = refresh_all(make_provider(), create_rooms(make_provider()))
    hand_edited = created[7]
    sandbox.store.update(int(hand_edited.id), {"Name": "By hand"}, "someone")
    before = len(sandbox.requests)
    again = refresh_all(make_provider(membershipBumpsUpdatedOn=True), created)
    assert spent(sandbox, before) == Counter({"LIST": 1, "GET by id": 1})
    assert again[7].outs["name"] == "By hand"


def test_a_refresh_still_sees_rooms_deleted_and_edited_out_of_band(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    gone, edited, *_ = create_rooms(make_provider(), 5)
    sandbox.store.delete(int(gone.id))
    sandbox.store.update(int(edited.id), {"Name": "Edited by hand", "Users": [15]}, "someone")
    refresher = make_provider()
    before = len(sandbox.requests)
    assert refresher.read(gone.id, gone.outs).id is None
    outs = refresher.read(edited.id, edited.outs).outs
    assert outs is not None and (outs["name"], outs["users"]) == ("Edited by hand", [15])
    assert spent(sandbox, before) == Counter({"LIST": 1, "GET by id": 2})


def test_an_update_is_a_get_and_a_put_and_a_delete_a_get_and_a_delete(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    lobby, *others = create_rooms(make_provider(), 3)
    provider = make_provider()
    before = len(sandbox.requests)
    news = provider.check(lobby.outs, room("room-00", name="Front desk")).inputs
    provider.update(lobby.id, lobby.outs, news)
    for other in others:
        provider.update(other.id, other.outs, {**other.outs, "name": "Renamed"})
    assert spent(sandbox, before) == Counter({"GET by id": 3, "PUT": 3})
    before = len(sandbox.requests)
    provider.delete(lobby.id, lobby.outs)
    assert spent(sandbox, before) == Counter({"GET by id": 1, "DELETE": 1})


def test_a_plan_beyond_the_days_write_quota_stops_at_preview_with_the_numbers(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    provider = make_provider(writesPerDay=3)
    lobby = create(provider, room("lobby"))
    # the next run's preview, in this process, whose pacer saw today's first write
    planner = make_provider(writesPerDay=3)
    news = planner.check(lobby.outs, room("lobby", name="Renamed")).inputs
    assert planner.diff(lobby.id, lobby.outs, news).changes  # 1 write planned
    assert planner.check({}, room("hall")).failures == []  # 2
    assert planner.check({}, room("hall")).failures == []  # the same step again: still 2
    with pytest.raises(QuotaError) as caught:
        planner.check({}, room("desk"))  # 3, where 2 are left
    said = str(caught.value)
    assert "plans at least 3 writes" in said and "daily quota of 3 writes" in said
    assert "nexudus:writesPerDay" in said and "allows 2 more today" in said
    # nothing else was sent than the first create (its POST and read-back) and listing
    assert spent(sandbox, 1) == Counter({"POST": 1, "GET by id": 1, "LIST": 1})
