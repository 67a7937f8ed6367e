"""Every request counts (issue 12): what each operation costs, counted at the sandbox.

Nexudus allows 120 requests a minute and 5,000 an hour per account. A create is one POST, an
update one PUT, a delete one DELETE; reads and the owner-marker lookup come from paged listings
shared by the whole run, not one request per room.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from nexudus_pulumi import ChatRoomProvider
from nexudus_pulumi.sandbox import Sandbox
from tests.conftest import Created, MakeProvider, create, room

COLLECTION = "/api/support/chatrooms"
ROOMS = 50


def spent(sandbox: Sandbox, since: int = 0, collection: str = COLLECTION) -> Counter[str]:
    """Requests to the collection by kind: POST, PUT, DELETE, GET by id, LIST (paged search)."""
    kinds: Counter[str] = Counter()
    for method, path, _ in sandbox.requests[since:]:
        if path == collection:
            kinds["LIST" if method == "GET" else method] += 1
        elif path.startswith(collection + "/"):
            kinds[method if method != "GET" else "GET by id"] += 1
    return kinds


def create_rooms(provider: ChatRoomProvider, count: int = ROOMS) -> list[Created]:
    """As the engine runs them: four operations at a time."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda n: create(provider, room(f"room-{n:02d}")), range(count)))


def test_creating_fifty_rooms_costs_fifty_posts_and_one_listing(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    created = create_rooms(make_provider())
    assert len({c.id for c in created}) == ROOMS == len(sandbox.store.all())
    assert spent(sandbox) == Counter({"POST": ROOMS, "LIST": 1})


def test_refreshing_fifty_rooms_costs_one_listing(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    created = create_rooms(make_provider())
    refresher = make_provider()  # `pulumi refresh` is another run, another process
    before = len(sandbox.requests)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda c: refresher.read(c.id, c.outs), created))
    assert all(r.id == c.id for r, c in zip(results, created, strict=True))
    assert spent(sandbox, before) == Counter({"LIST": 1})


def test_a_refresh_still_sees_rooms_deleted_and_edited_out_of_band(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    gone, edited, *_ = create_rooms(make_provider(), 5)
    sandbox.store.delete(int(gone.id))
    sandbox.store.update(int(edited.id), {"Name": "Edited by hand"}, "someone")
    refresher = make_provider()
    before = len(sandbox.requests)
    assert refresher.read(gone.id, gone.outs).id is None
    outs = refresher.read(edited.id, edited.outs).outs
    assert outs is not None and outs["name"] == "Edited by hand"
    # the listing misses the deleted room, and a GET by id confirms it is gone (404)
    assert spent(sandbox, before) == Counter({"LIST": 1, "GET by id": 1})


def test_an_update_is_one_put_and_a_delete_one_delete(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    lobby, *others = create_rooms(make_provider(), 3)
    provider = make_provider()
    before = len(sandbox.requests)
    news = provider.check(lobby.outs, room("room-00", name="Front desk")).inputs
    provider.update(lobby.id, lobby.outs, news)
    for other in others:
        provider.update(other.id, other.outs, {**other.outs, "name": "Renamed"})
    assert spent(sandbox, before) == Counter({"PUT": 3, "LIST": 1})
    before = len(sandbox.requests)
    provider.delete(lobby.id, lobby.outs)
    assert spent(sandbox, before) == Counter({"DELETE": 1})
