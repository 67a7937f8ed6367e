"""Client-side pacing under Nexudus's published per-account limits.

Nexudus allows one request per 100 ms, 120 requests and 60 writes a minute and 5,000 requests an
hour, and answers 409 to anything faster. One `Pacer` is shared by every thread of the provider
process, so four concurrent Pulumi operations together stay under the limits instead of each
burning the budget. With a pace file, every provider process on the machine that names the same
file (several stacks of one pipeline runner) shares one budget, as the account does.

Spacing is measured from the moments requests actually left, recorded after any oversleep, not
from planned send times: a thread woken late by a busy machine pushes the next request back
instead of letting it follow too closely.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

MINUTE = 60.0
HOUR = 3600.0
INTERVAL_MARGIN_SECONDS = 0.02
"""Added to the minimum interval: the server times arrivals, and the path from our clock reading
to its own (preparing the request, the network, its accept thread) varies by a few ms."""
WINDOW_MARGIN_SECONDS = 0.25
"""Added to the minute and hour windows, for the same variation; costs under half a percent."""


@dataclass(frozen=True)
class Limits:
    """The client's view of the account's limits (seconds and counts; 0 turns one off)."""

    min_interval: float = 0.1
    requests_per_minute: int = 120
    writes_per_minute: int = 60
    requests_per_hour: int = 5_000


@dataclass
class History:
    """What the account has been sent recently: send times, and a pause the server asked for."""

    requests: deque[float] = field(default_factory=deque)
    """Send times of the last hour, oldest first."""
    writes: deque[float] = field(default_factory=deque)
    """Send times of the writes of the last minute, oldest first."""
    paused_until: float = float("-inf")

    def forget_before(self, now: float) -> None:
        while self.requests and self.requests[0] <= now - HOUR - WINDOW_MARGIN_SECONDS:
            self.requests.popleft()
        while self.writes and self.writes[0] <= now - MINUTE - WINDOW_MARGIN_SECONDS:
            self.writes.popleft()

    def earliest(self, limits: Limits, *, write: bool, now: float) -> float:
        """The first moment one more request (a write, or not) keeps within every limit."""
        at = max(now, self.paused_until)
        if self.requests and limits.min_interval > 0:
            at = max(at, self.requests[-1] + limits.min_interval + INTERVAL_MARGIN_SECONDS)
        at = max(at, _window_opens(self.requests, limits.requests_per_minute, MINUTE))
        at = max(at, _window_opens(self.requests, limits.requests_per_hour, HOUR))
        if write:
            at = max(at, _window_opens(self.writes, limits.writes_per_minute, MINUTE))
        return at

    def record(self, sent: float, *, write: bool) -> None:
        self.requests.append(sent)
        if write:
            self.writes.append(sent)

    def to_json(self) -> str:
        return json.dumps(
            {
                "requests": list(self.requests),
                "writes": list(self.writes),
                "paused_until": self.paused_until if self.paused_until > 0 else 0,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> History:
        """A history read from a pace file; an empty or unreadable file is a fresh start."""
        try:
            data = json.loads(text)
            return cls(
                deque(sorted(float(t) for t in data["requests"])),
                deque(sorted(float(t) for t in data["writes"])),
                float(data["paused_until"]) or float("-inf"),
            )
        except (ValueError, TypeError, KeyError):
            return cls()


def _window_opens(sent: deque[float], limit: int, window: float) -> float:
    """When fewer than `limit` of the `sent` times fall in the `window` before it."""
    if limit <= 0 or len(sent) < limit:
        return float("-inf")
    return sent[-limit] + window + WINDOW_MARGIN_SECONDS


class _MemoryLedger:
    """The history of this process alone."""

    def __init__(self) -> None:
        self._history = History()

    @contextlib.contextmanager
    def open(self) -> Iterator[History]:
        yield self._history


class PaceFileError(OSError):
    """The pace file cannot be opened or locked."""


class _FileLedger:
    """The history of every process naming this file, kept in it under an exclusive lock
    (`flock`), so a check and the record of the send that follows are one step for all of
    them. Only processes on one machine share it: a lock on a network file system is not to be
    trusted, and other machines' requests never reach this file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise PaceFileError(f"cannot open the pace file {path}: {exc.strerror}") from None
        os.close(fd)

    @contextlib.contextmanager
    def open(self) -> Iterator[History]:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            with os.fdopen(os.dup(fd), "r+", encoding="utf-8") as file:
                history = History.from_json(file.read())
                yield history
                file.seek(0)
                file.truncate()
                file.write(history.to_json())
        finally:
            os.close(fd)  # releases the lock


class Pacer:
    """Lets a request go once every limit allows it, and records when it went.

    A thread checks the history under the lock; if the moment has not come, it sleeps outside
    the lock and checks again (a 409 pause, another thread or another process may have moved
    the moment meanwhile). Checking and recording the send happen in one step under the lock,
    so no two senders take the same moment, even across processes sharing a pace file. A write
    waiting for the write window does not hold back reads.
    """

    def __init__(
        self,
        *,
        min_interval: float,
        requests_per_minute: int,
        writes_per_minute: int,
        requests_per_hour: int = 5_000,
        pace_file: Path | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limits = Limits(
            min_interval, requests_per_minute, writes_per_minute, requests_per_hour
        )
        self._ledger: _MemoryLedger | _FileLedger = (
            _MemoryLedger() if pace_file is None else _FileLedger(pace_file)
        )
        # A shared file needs a clock every process reads alike; alone, one that never jumps.
        self._clock = clock or (time.monotonic if pace_file is None else time.time)
        self._sleep = sleep
        self._lock = threading.Lock()
        """Guards the ledger between this process's threads (`flock` is per process)."""

    def wait_turn(self, *, write: bool) -> float:
        """Block until one more request may be sent now; return the send time recorded."""
        while True:
            with self._lock, self._ledger.open() as history:
                now = self._clock()
                history.forget_before(now)
                at = history.earliest(self.limits, write=write, now=now)
                if at <= now:
                    history.record(now, write=write)
                    return now
            self._sleep(at - now)

    def pause(self, seconds: float) -> None:
        """Hold back every later request: the server asked us to wait (409 + Retry-After)."""
        with self._lock, self._ledger.open() as history:
            history.paused_until = max(history.paused_until, self._clock() + seconds)
