"""The floors: how long the API's limits alone make a step's requests take, whoever sends them.

A step is a sequence of requests, each a write or a read: `up` is N writes (POSTs), a refresh N
reads (one GET per room, since listings carry no `Users`), a `destroy` N reads and N writes
(every delete reads its record first). The listings and the token request add a handful and are
left out, so the floor is a little below what any client can reach.
"""

from __future__ import annotations

from collections.abc import Sequence

from nexudus_pulumi.sandbox import PublishedLimits


def floor(requests: Sequence[bool], limits: PublishedLimits) -> float:
    """Seconds from the first request to the last when each is sent as early as the sandbox
    admits it (`True` marks a write).

    The sandbox (nexudus_pulumi/sandbox/limits.py) admits a request once the one before it is
    `min_interval` old and the request `per_window` places back is `window_seconds` old, counting
    writes among writes and every request among requests. With the published limits 150 writes
    need 122.9 s, 155 reads 63.4 s, and deleting 300 rooms (300 GETs, 300 DELETEs) 251.9 s.
    """
    sent: list[float] = []
    writes: list[float] = []
    for is_write in requests:
        at = sent[-1] + limits.min_interval if sent else 0.0
        if len(sent) >= limits.requests_per_window:
            at = max(at, sent[-limits.requests_per_window] + limits.window_seconds)
        if is_write and len(writes) >= limits.writes_per_window:
            at = max(at, writes[-limits.writes_per_window] + limits.window_seconds)
        sent.append(at)
        if is_write:
            writes.append(at)
    return sent[-1] if sent else 0.0


def step_floors(rooms: int, limits: PublishedLimits) -> dict[str, float]:
    """The floor of each step that the limits bind, for N rooms."""
    return {
        "up": floor([True] * rooms, limits),
        "refresh": floor([False] * rooms, limits),
        "destroy": floor([False, True] * rooms, limits),
    }
