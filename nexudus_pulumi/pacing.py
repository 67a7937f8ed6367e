"""Client-side pacing under Nexudus's published per-account limits.

Nexudus allows one request per 100 ms, 120 requests and 60 writes a minute, and answers 409 to
anything faster. One `Pacer` is shared by every thread of the provider process, so four
concurrent Pulumi operations together stay under the limits instead of each burning the budget.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

WINDOW_SECONDS = 60.0
SAFETY_MARGIN_SECONDS = 0.02
"""Added to every spacing: the server times arrivals, and two requests sent 100 ms apart can
arrive closer than that when the first one was slowed down on its way."""


class Pacer:
    """Hands out send times ("slots") that respect every limit at once.

    A caller reserves a slot under the lock, then sleeps outside it, so waiting threads never
    block one another's bookkeeping. Slots are handed out in increasing order, which keeps the
    sliding windows sorted.
    """

    def __init__(
        self,
        *,
        min_interval: float,
        requests_per_minute: int,
        writes_per_minute: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._min_interval = min_interval + SAFETY_MARGIN_SECONDS if min_interval else 0.0
        self._requests_per_minute = requests_per_minute
        self._writes_per_minute = writes_per_minute
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._last_slot = float("-inf")
        self._paused_until = float("-inf")
        self._requests: deque[float] = deque()
        self._writes: deque[float] = deque()

    def reserve(self, *, write: bool) -> float:
        """Book the earliest slot allowed for one more request and return its time."""
        with self._lock:
            slot = max(self._clock(), self._last_slot + self._min_interval, self._paused_until)
            slot = self._after_window(self._requests, self._requests_per_minute, slot)
            if write:
                slot = self._after_window(self._writes, self._writes_per_minute, slot)
                self._writes.append(slot)
            self._requests.append(slot)
            self._last_slot = slot
            return slot

    def wait_turn(self, *, write: bool) -> None:
        """Block until this request may be sent."""
        delay = self.reserve(write=write) - self._clock()
        if delay > 0:
            self._sleep(delay)

    def pause(self, seconds: float) -> None:
        """Hold back every later request: the server asked us to wait (409 + Retry-After)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    @staticmethod
    def _after_window(window: deque[float], limit: int, slot: float) -> float:
        while window and window[0] <= slot - WINDOW_SECONDS:
            window.popleft()
        if len(window) >= limit:
            slot = max(slot, window[-limit] + WINDOW_SECONDS + SAFETY_MARGIN_SECONDS)
        return slot
