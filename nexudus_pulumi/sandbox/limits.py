"""The sandbox's throttle: Nexudus's published per-account limits, answered as
`Fidelity.throttle_status` says (409 with `Retry-After`, or 429 with "Wait N seconds.")."""

from __future__ import annotations

import math
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass


@dataclass
class PublishedLimits:
    """Nexudus's published limits per account, as the sandbox enforces them (not the client's
    view of them, which its pacer keeps). Defaults are the published ones; `window_seconds`
    lets tests shrink the per-minute windows (e.g. 5 writes per 2 s) without waiting for real
    minutes."""

    min_interval: float = 0.1
    requests_per_window: int = 120
    writes_per_window: int = 60
    window_seconds: float = 60.0
    requests_per_hour: int = 5_000
    requests_per_day: int = 200_000
    writes_per_day: int = 5_000


class Throttle:
    """Sliding windows per account; `admit` answers the seconds to wait, or 0 to go ahead."""

    def __init__(self, limits: PublishedLimits) -> None:
        self.limits = limits
        self.refusals: Counter[str] = Counter()
        """Refusals by the limit that bound ("min interval", "writes per window"...). Nexudus's
        409 does not say which; the sandbox tells tests, which must tell a client that overran
        the account's minute from one whose request arrived a few ms early."""
        self._lock = threading.Lock()
        self._requests: dict[str, deque[float]] = {}
        self._writes: dict[str, deque[float]] = {}

    def admit(self, account: str, *, write: bool) -> int:
        limits = self.limits
        now = time.monotonic()
        with self._lock:
            requests = self._requests.setdefault(account, deque())
            writes = self._writes.setdefault(account, deque())
            _expire(requests, now - 86_400)
            _expire(writes, now - 86_400)
            waits = {
                "min interval": _wait(requests, 1, limits.min_interval, now),
                "requests per window": _wait(
                    requests, limits.requests_per_window, limits.window_seconds, now
                ),
                "requests per hour": _wait(requests, limits.requests_per_hour, 3_600, now),
                "requests per day": _wait(requests, limits.requests_per_day, 86_400, now),
            }
            if write:
                waits["writes per window"] = _wait(
                    writes, limits.writes_per_window, limits.window_seconds, now
                )
                waits["writes per day"] = _wait(writes, limits.writes_per_day, 86_400, now)
            bound = max(waits, key=waits.__getitem__)
            if waits[bound] > 0:
                self.refusals[bound] += 1
                return max(1, math.ceil(waits[bound]))
            requests.append(now)
            if write:
                writes.append(now)
            return 0


def _expire(window: deque[float], before: float) -> None:
    while window and window[0] <= before:
        window.popleft()


def _wait(window: deque[float], limit: int, span: float, now: float) -> float:
    """Seconds until fewer than `limit` of the window's entries fall within `span`."""
    if limit <= 0 or span <= 0 or len(window) < limit:
        return 0.0
    return max(0.0, window[-limit] + span - now)
