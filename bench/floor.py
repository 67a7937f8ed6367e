"""The floors: how long the API's limits alone make N writes, or N reads, take, whoever sends
them."""

from __future__ import annotations

from nexudus_pulumi.sandbox import Limits


def write_floor(writes: int, limits: Limits) -> float:
    """Seconds from the first write to the last when each goes as early as the sandbox admits it.

    The sandbox (nexudus_pulumi/sandbox/limits.py) admits a request once the one before it is
    `min_interval` old and the request `per_window` places back is `window_seconds` old; every
    write is also a request. So with the published limits the first 60 writes take 5.9 s and
    the 61st waits for the first to leave the minute: 150 writes need 122.9 s.
    """
    sent: list[float] = []
    for k in range(writes):
        at = sent[-1] + limits.min_interval if sent else 0.0
        for per_window in (limits.writes_per_window, limits.requests_per_window):
            if k >= per_window:
                at = max(at, sent[k - per_window] + limits.window_seconds)
        sent.append(at)
    return sent[-1] if sent else 0.0


def read_floor(reads: int, limits: Limits) -> float:
    """Seconds from the first read to the last, each going as early as the sandbox admits it:
    one per `min_interval`, `requests_per_window` a window. 155 reads take 63.4 s; 300, 125.9 s.
    """
    sent: list[float] = []
    for k in range(reads):
        at = sent[-1] + limits.min_interval if sent else 0.0
        if k >= limits.requests_per_window:
            at = max(at, sent[k - limits.requests_per_window] + limits.window_seconds)
        sent.append(at)
    return sent[-1] if sent else 0.0
