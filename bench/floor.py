"""The floors: how long the API's limits alone make a sequence of requests take, whoever sends
them.

Two floors per step. The records' floor counts what the records themselves need: `up` N writes
(POSTs), a refresh N reads (one GET per room, since listings carry no `Users`), a `destroy` N
reads and N writes (every delete reads its record first). The floor of what was sent counts
every request the sandbox counted against the account during the step, in the order it
counted them: the records' requests and also a create's read-back, the marker lookups and the
census's listings (the token request is throttled apart by the sandbox, so it is left out).

The two differ by more than a handful of requests' time where a step's requests fill the
account's minutes exactly: 300 deletes are 600 requests, five minutes of 120, and one more
request (a listing) needs a sixth minute, 48 s more. The records' floor is the target; the
floor of what was sent tells the pacer's own cost apart from the cost of the requests the
provider chose to send.
"""

from __future__ import annotations

from collections.abc import Sequence

from nexudus_pulumi.sandbox import PublishedLimits
from nexudus_pulumi.sandbox.server import TOKEN_PATH

Turn = tuple[bool, ...]
"""Requests sent back to back, each a write (`True`) or not: one request, or a read and the
write decided from it, which a correct client never lets a wait fall between."""

READ: Turn = (False,)
WRITE: Turn = (True,)
FRESH_WRITE: Turn = (False, True)

WRITE_METHODS = frozenset({"POST", "PUT", "DELETE"})


def floor(turns: Sequence[Turn], limits: PublishedLimits) -> float:
    """Seconds from the first request to the last when each turn is sent as early as the
    sandbox admits all of its requests one `min_interval` apart.

    The sandbox (nexudus_pulumi/sandbox/limits.py) admits a request once the one before it is
    `min_interval` old and the request `per_window` places back is `window_seconds` old, counting
    writes among writes and every request among requests. With the published limits 150 writes
    need 122.9 s, 155 reads 63.4 s, and deleting 300 rooms (300 reads, each with its delete)
    251.9 s.
    """
    sent: list[float] = []
    writes: list[float] = []

    def earliest(at: float, is_write: bool, requests: list[float], written: list[float]) -> float:
        if requests:
            at = max(at, requests[-1] + limits.min_interval)
        if len(requests) >= limits.requests_per_window:
            at = max(at, requests[-limits.requests_per_window] + limits.window_seconds)
        if is_write and len(written) >= limits.writes_per_window:
            at = max(at, written[-limits.writes_per_window] + limits.window_seconds)
        return at

    for turn in turns:
        start = 0.0
        while True:  # move the turn's start until no request of it waits after the one before
            requests, written, times = list(sent), list(writes), list[float]()
            for is_write in turn:
                at = earliest(times[-1] if times else start, is_write, requests, written)
                times.append(at)
                requests.append(at)
                if is_write:
                    written.append(at)
            if times[-1] - times[0] <= limits.min_interval * (len(turn) - 1) + 1e-9:
                break
            start = times[-1] - limits.min_interval * (len(turn) - 1)
        sent, writes = requests, written
    return sent[-1] if sent else 0.0


def records_floors(rooms: int, limits: PublishedLimits) -> dict[str, float]:
    """The floor of each step that the limits bind, for the records' own requests, N rooms."""
    return {
        "up": floor([WRITE] * rooms, limits),
        "refresh": floor([READ] * rooms, limits),
        "destroy": floor([FRESH_WRITE] * rooms, limits),
    }


def turns_sent(requests: Sequence[tuple[str, str, int]]) -> list[Turn]:
    """The turns of the requests the sandbox counted against the account, in its order: every
    (method, path, status) but the token request and the throttled (counted by none of the
    limits), a GET by id directly followed by the PUT or DELETE of that record taken as one
    turn."""
    counted = [
        (method, path)
        for method, path, status in requests
        if path != TOKEN_PATH and status not in (409, 429)
    ]
    turns: list[Turn] = []
    index = 0
    while index < len(counted):
        method, path = counted[index]
        following = counted[index + 1] if index + 1 < len(counted) else None
        if method == "GET" and following is not None and _writes_what_was_read(path, following):
            turns.append(FRESH_WRITE)
            index += 2
            continue
        turns.append(WRITE if method in WRITE_METHODS else READ)
        index += 1
    return turns


def _writes_what_was_read(read_path: str, request: tuple[str, str]) -> bool:
    """A PUT (sent to the collection) or a DELETE (to the record) of the record read at
    `read_path`, a record's own path (`collection/id`)."""
    collection, _, record_id = read_path.rstrip("/").rpartition("/")
    if not record_id.isdigit():
        return False
    method, path = request
    path = path.rstrip("/")
    return (method == "DELETE" and path == read_path.rstrip("/")) or (
        method == "PUT" and path == collection
    )
