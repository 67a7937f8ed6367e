"""Client-side pacing under Nexudus's published per-account limits.

Nexudus allows one request per 100 ms, 120 requests and 60 writes a minute, 5,000 requests an
hour and 5,000 writes a day (2,500 on older accounts), and answers 409 to anything faster.
Against the hourly and daily quotas waiting is rarely an option: a caller states how long it may
wait (`max_wait`) and learns at once when the turn is further away (`TurnTooFar`).

One `Pacer` is shared by every thread of the provider process, so four concurrent Pulumi
operations together stay under the limits instead of each burning the budget. With a pace file,
every provider process on the machine that names the same file (several stacks of one pipeline
runner) shares one budget per account, as the account does; two accounts sharing a file keep
separate budgets in it.

Spacing is measured from the moments requests actually left, recorded after any oversleep, not
from planned send times: a thread woken late by a busy machine pushes the next request back
instead of letting it follow too closely.

A request counts until its answer arrived. The server counts it when it reaches its turn, which
on a busy machine (a thread descheduled between the clock reading and the send, a server slow to
read) can be hundreds of milliseconds after the send; the answer is the latest moment it can
have been counted. So a request is booked in flight when it is sent, counted as sent at every
moment until the caller says its answer arrived (`answered`), then as sent at that moment: no
request goes out within the interval of one whose answer is awaited, and none counts a window
as open before the answer that closed it arrived. A request whose sender never says (killed) is
taken as answered once its timeout has passed.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import PaceFileError, TurnTooFar
from .pacehistory import (
    BOOKING_AHEAD_SECONDS,
    DAY,
    HOUR,
    INTERVAL_MARGIN_SECONDS,
    LONGEST_WAIT_SECONDS,
    MINUTE,
    WINDOW_MARGIN_SECONDS,
    History,
    Limits,
    take_from,
)

if TYPE_CHECKING:
    from .pacefile import FileLedger
    from .paceledger import RedisLedger

__all__ = [  # the limits' names too, where callers have always found them
    "ANSWER_SLACK_SECONDS",
    "BOOKING_AHEAD_SECONDS",
    "DAY",
    "HOUR",
    "INTERVAL_MARGIN_SECONDS",
    "LONGEST_WAIT_SECONDS",
    "MINUTE",
    "WINDOW_MARGIN_SECONDS",
    "History",
    "Limits",
    "PaceFileError",
    "Pacer",
    "TurnTooFar",
]

ANSWER_SLACK_SECONDS = 10.0
"""Added to a request's timeout before a request in flight whose sender never said it was
answered (a killed process) is taken as answered: the sender may be slow to say it too."""


class _MemoryLedger:
    """The history of this process alone."""

    def __init__(self) -> None:
        self._history = History()

    @contextlib.contextmanager
    def open(self, now: float, lock_wait: float = math.inf) -> Iterator[History]:
        yield self._history


class _HistoryBook:
    """A ledger that hands out its whole `History` (this process's, or a pace file's), used
    as `paceledger.RedisLedger` is: book, answer, hold back, release, pause, count the day's
    writes."""

    def __init__(self, ledger: _MemoryLedger | FileLedger) -> None:
        self._ledger = ledger

    def take(
        self,
        limits: Limits,
        plan: Sequence[bool],
        now: float,
        keys: Sequence[str],
        answer_within: float,
        lock_wait: float = math.inf,
    ) -> tuple[list[float], str, bool]:
        with self._ledger.open(now, lock_wait=lock_wait) as history:
            return take_from(history, limits, plan, now, keys, answer_within)

    def answered(self, key: str, now: float) -> None:
        with self._ledger.open(now) as history:
            history.answered(key, now)

    def hold_back(self, key: str, limits: Limits, now: float) -> float | None:
        with self._ledger.open(now) as history:
            history.forget_before(now)
            return history.hold_back(key, limits, now)

    def release(self, keys: Sequence[str], now: float) -> None:
        with self._ledger.open(now) as history:
            for key in keys:
                history.release(key)

    def pause(self, seconds: float, now: float) -> None:
        with self._ledger.open(now) as history:
            history.paused_until = max(history.paused_until, now + seconds)

    def writes_in_day(self, limits: Limits, now: float) -> int:
        with self._ledger.open(now) as history:
            history.forget_before(now)
            return len(history.writes)


class Pacer:
    """Lets a request go once every limit allows it, and records when it went and when its
    answer arrived.

    A thread checks the history under the lock; if the moment has not come, it sleeps outside
    the lock and checks again (a 409 pause, another thread or another process may have moved
    the moment meanwhile, or answered the request it waited for). Checking and recording the
    send happen in one step under the lock, so no two senders take the same moment, even across
    processes sharing a pace file or a Redis pace ledger (`pace_url`). A write waiting for the
    write window does not hold back reads. With `quota_share` below 1 the pacer keeps to that
    fraction of the limits, for one of several clients of the account that share no ledger.

    Every turn handed out is in flight until the caller says its answer arrived (`answered`,
    or `until_answered` around the exchange) or gives it back (`release`); `answer_timeout` is
    the longest a request waits for its answer, after which a turn nobody answered is taken as
    answered.
    """

    def __init__(
        self,
        *,
        min_interval: float,
        requests_per_minute: int,
        writes_per_minute: int,
        requests_per_hour: int = 5_000,
        writes_per_day: int = 5_000,
        pace_file: Path | None = None,
        pace_url: str | None = None,
        pace_password: str | None = None,
        quota_share: float = 1.0,
        account: str = "",
        answer_timeout: float = 30.0,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limits = Limits(
            min_interval, requests_per_minute, writes_per_minute, requests_per_hour, writes_per_day
        ).share(quota_share)
        # A shared file needs a clock every process reads alike; alone, one that never jumps.
        # Redis keeps its own clock, and its answers are moved to this one.
        self._clock = clock or (time.time if pace_file is not None else time.monotonic)
        self._ledger: _HistoryBook | RedisLedger
        # here, not at the top: both modules import this one
        if pace_url is not None:
            from .paceledger import RedisLedger

            self._ledger = RedisLedger(pace_url, account, self._clock, password=pace_password)
        elif pace_file is not None:
            from .pacefile import FileLedger

            self._ledger = _HistoryBook(FileLedger(pace_file, account))
        else:
            self._ledger = _HistoryBook(_MemoryLedger())
        self._answer_within = answer_timeout + ANSWER_SLACK_SECONDS
        self._sleep = sleep
        self._lock = threading.Lock()
        """Guards the ledger between this process's threads (`flock` is per process)."""
        self._keys: dict[tuple[float, bool], list[str]] = {}
        """The ledger's keys of the turns in flight, by what the caller holds: (time, write)."""

    def wait_turn(self, *, write: bool, max_wait: float = math.inf) -> float:
        """Block until one more request may be sent now; return the send time recorded.

        Raises `TurnTooFar` at once, without waiting, when the turn is more than `max_wait`
        seconds away (the caller's deadline would pass first)."""
        return self.book([write], max_wait=max_wait)[0]

    def book(self, plan: Sequence[bool], *, max_wait: float = math.inf) -> list[float]:
        """Block until the requests of `plan` (a write or not, each) may go out back to back,
        the first now; record and return their send times. The caller sends each at its time
        (`sleep_until`): a GET and the PUT decided from it take one turn, so no wait of this
        pacer ever falls between the read and the write.

        Raises `TurnTooFar` as soon as the first send is known to come more than `max_wait`
        seconds after the call: at once when the history says so, or after waiting for
        answers that moved it there."""
        give_up = math.inf
        while True:
            with self._lock:
                now = self._clock()
                give_up = min(give_up, now + max_wait)
                prefix = uuid.uuid4().hex
                keys = [f"{prefix}:{n}" for n in range(1, len(plan) + 1)]
                times, limit, booked = self._ledger.take(
                    self.limits, plan, now, keys, self._answer_within, lock_wait=give_up - now
                )
                if booked:
                    for at, write, key in zip(times, plan, keys, strict=True):
                        self._keys.setdefault((at, write), []).append(key)
                    return times
            if times[0] > give_up:
                raise TurnTooFar(times[0] - now, limit)
            self._sleep(times[0] - now)

    def answered(self, sent: float, *, write: bool) -> None:
        """The answer of the request booked at `sent` arrived (or it failed without one): it
        counts as sent now, and no longer holds back the next request."""
        with self._lock:
            key = self._key(sent, write)
            if key is not None:
                self._ledger.answered(key, self._clock())

    @contextlib.contextmanager
    def until_answered(self, sent: float, *, write: bool) -> Iterator[None]:
        """Around the exchange of the request booked at `sent`: it is answered when the
        exchange ends, whatever way."""
        try:
            yield
        finally:
            self.answered(sent, write=write)

    def release(self, booked: Sequence[tuple[float, bool]]) -> None:
        """Give back booked sends (time, write) that will not go: a write the fresh read showed
        was not needed, or one whose read must be taken again."""
        with self._lock:
            keys = [k for sent, write in booked if (k := self._key(sent, write)) is not None]
            self._ledger.release(keys, self._clock())

    def sleep_until(self, at: float, *, write: bool) -> float:
        """Sleep until a booked send time, pushed back as long as a request booked before it
        awaits its answer, or was answered less than the interval before; return the send time
        the turn now has (what `answered` is then told)."""
        while True:
            with self._lock:
                now = self._clock()
                keys = self._keys.get((at, write))
                moved = self._ledger.hold_back(keys[-1], self.limits, now) if keys else None
                if moved is not None and moved != at:
                    key = self._key(at, write)
                    assert key is not None
                    self._keys.setdefault((moved, write), []).append(key)
                    at = moved
            if at <= now:
                return at
            self._sleep(at - now)

    def pause(self, seconds: float) -> None:
        """Hold back every later request: the server asked us to wait (409 + Retry-After)."""
        seconds = min(max(seconds, 0.0), LONGEST_WAIT_SECONDS) if math.isfinite(seconds) else 0.0
        with self._lock:
            self._ledger.pause(seconds, self._clock())

    def writes_left_today(self) -> int:
        """How many writes the daily quota still allows, as far as this pacer has seen (this
        process, or every process sharing its pace file or pace ledger)."""
        with self._lock:
            written = self._ledger.writes_in_day(self.limits, self._clock())
            return max(self.limits.writes_per_day - written, 0)

    def _key(self, sent: float, write: bool) -> str | None:
        """Takes the ledger's key of a turn in flight off the caller's (time, write)."""
        keys = self._keys.get((sent, write))
        if not keys:
            return None
        key = keys.pop()
        if not keys:
            del self._keys[(sent, write)]
        return key
