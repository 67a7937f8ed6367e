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
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import math
import os
import stat
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import PaceFileError, TurnTooFar

if TYPE_CHECKING:
    from .paceledger import RedisLedger

MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0
LONGEST_WAIT_SECONDS = DAY
"""No limit of Nexudus ever asks for a longer wait (the daily quotas): a pause read from a pace
file beyond it (a clock stepped back, a corrupt value) is cut to it."""
INTERVAL_MARGIN_SECONDS = 0.02
"""Added to the minimum interval: the server times arrivals, and the path from our clock reading
to its own (preparing the request, the network, its accept thread) varies by a few ms."""
WINDOW_MARGIN_SECONDS = 0.25
"""Added to the minute and hour windows, for the same variation; costs under half a percent."""
PACE_FILE_VERSION = 2
DEFAULT_LOCK_WAIT_SECONDS = 30.0
"""How long the pace file's lock is waited for when the caller states no bound: a process
holds it for a check and a record, well under a millisecond."""
LOCK_RETRY_SECONDS = 0.005
BOOKING_AHEAD_SECONDS = 1.0
"""How far ahead of now a booked send time may lie (the write of a read-and-write turn, one
interval after its read): a time read from a pace file further ahead is taken for a clock
stepped back, and counted as this far ahead."""


@dataclass(frozen=True)
class Limits:
    """The client's view of the account's limits (seconds and counts; 0 turns one off)."""

    min_interval: float = 0.1
    requests_per_minute: int = 120
    writes_per_minute: int = 60
    requests_per_hour: int = 5_000
    writes_per_day: int = 5_000

    def share(self, fraction: float) -> Limits:
        """The `fraction` (0 to 1) of these limits one of several uncoordinated clients of the
        account may use: each count that share (at least one), the interval that much longer.
        A count of 0 (no limit) stays 0."""
        if fraction >= 1:
            return self

        def count(limit: int) -> int:
            return max(math.floor(limit * fraction), 1) if limit > 0 else 0

        return Limits(
            self.min_interval / fraction,
            count(self.requests_per_minute),
            count(self.writes_per_minute),
            count(self.requests_per_hour),
            count(self.writes_per_day),
        )


@dataclass
class History:
    """What the account has been sent recently: send times, and a pause the server asked for."""

    requests: deque[float] = field(default_factory=deque)
    """Send times of the last hour, oldest first."""
    writes: deque[float] = field(default_factory=deque)
    """Send times of the writes of the last day, oldest first."""
    paused_until: float = float("-inf")

    def forget_before(self, now: float) -> None:
        while self.requests and self.requests[0] <= now - HOUR - WINDOW_MARGIN_SECONDS:
            self.requests.popleft()
        while self.writes and self.writes[0] <= now - DAY - WINDOW_MARGIN_SECONDS:
            self.writes.popleft()

    def earliest(self, limits: Limits, *, write: bool, now: float) -> tuple[float, str]:
        """The first moment one more request (a write, or not) keeps within every limit, and
        the limit that sets it."""
        candidates = [(now, "interval"), (self.paused_until, "pause")]
        if self.requests and limits.min_interval > 0:
            last = self.requests[-1] + limits.min_interval + INTERVAL_MARGIN_SECONDS
            candidates.append((last, "interval"))
        candidates.append(
            (
                _window_opens(self.requests, limits.requests_per_minute, MINUTE),
                "requests_per_minute",
            )
        )
        candidates.append(
            (_window_opens(self.requests, limits.requests_per_hour, HOUR), "requests_per_hour")
        )
        if write:
            candidates.append(
                (_window_opens(self.writes, limits.writes_per_minute, MINUTE), "writes_per_minute")
            )
            candidates.append(
                (_window_opens(self.writes, limits.writes_per_day, DAY), "writes_per_day")
            )
        return max(candidates, key=lambda candidate: candidate[0])

    def record(self, sent: float, *, write: bool) -> None:
        self.requests.append(sent)
        if write:
            self.writes.append(sent)

    def unrecord(self, sent: float, *, write: bool) -> None:
        """Forget a booked send that never went (a plan cut short)."""
        with contextlib.suppress(ValueError):
            self.requests.remove(sent)
        if write:
            with contextlib.suppress(ValueError):
                self.writes.remove(sent)

    def plan(self, limits: Limits, plan: Sequence[bool], now: float) -> tuple[list[float], str]:
        """Send times for `plan` (one flag per request: a write or not) that keep within every
        limit with the requests going out back to back, each as soon as the one before allows;
        and the limit that sets the first. A plan whose write must wait for the write window
        starts its read that much later, so that the read is never older than one request."""
        step = limits.min_interval + INTERVAL_MARGIN_SECONDS if limits.min_interval > 0 else 0.0
        longest = step * (len(plan) - 1) + 1e-6
        start, reason = now, ""
        for _ in range(len(plan) + 2):
            trial = History(deque(self.requests), deque(self.writes), self.paused_until)
            times: list[float] = []
            limit = ""
            for write in plan:
                at, bound = trial.earliest(limits, write=write, now=times[-1] if times else start)
                limit = limit or bound
                trial.record(at, write=write)
                times.append(at)
            if times[-1] - times[0] <= longest:
                return times, reason or limit
            start, reason = times[-1] - step * (len(plan) - 1), bound
        return times, reason or limit

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": list(self.requests),
            "writes": list(self.writes),
            "paused_until": self.paused_until if self.paused_until > 0 else 0,
        }

    @classmethod
    def from_dict(cls, data: Any, now: float) -> History:
        """A history read from a pace file, every value checked: a time that is not a finite
        positive number is dropped, a time further ahead than a booking may lie (the clock
        stepped back) counts as that far, and a pause is cut to the longest wait any limit asks
        for. Nothing read can make a wait overflow or last longer than that."""
        if not isinstance(data, dict):
            return cls()
        paused = _times([data.get("paused_until")], now + LONGEST_WAIT_SECONDS)
        booked = now + BOOKING_AHEAD_SECONDS
        return cls(
            deque(_times(data.get("requests"), booked)),
            deque(_times(data.get("writes"), booked)),
            paused[0] if paused else float("-inf"),
        )


def _times(values: Any, latest: float) -> list[float]:
    """The finite positive numbers among `values`, each at most `latest`, sorted."""
    if not isinstance(values, list):
        return []
    kept = [
        min(float(v), latest)
        for v in values
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v > 0
    ]
    return sorted(kept)


def take_from(
    history: History, limits: Limits, plan: Sequence[bool], now: float
) -> tuple[list[float], str, bool]:
    """Send times for `plan` from `history`, the limit that sets the first, and whether they
    were booked in it (the first is now)."""
    history.forget_before(now)
    times, limit = history.plan(limits, plan, now)
    booked = times[0] <= now
    if booked:
        for at, write in zip(times, plan, strict=True):
            history.record(at, write=write)
    return times, limit, booked


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
    def open(self, now: float, lock_wait: float = math.inf) -> Iterator[History]:
        yield self._history


class _HistoryBook:
    """A ledger that hands out its whole `History` (this process's, or a pace file's), used
    as `paceledger.RedisLedger` is: book, release, pause, count the day's writes."""

    def __init__(self, ledger: _MemoryLedger | _FileLedger) -> None:
        self._ledger = ledger

    def take(
        self, limits: Limits, plan: Sequence[bool], now: float, lock_wait: float = math.inf
    ) -> tuple[list[float], str, bool]:
        with self._ledger.open(now, lock_wait=lock_wait) as history:
            return take_from(history, limits, plan, now)

    def release(self, booked: Sequence[tuple[float, bool]], now: float) -> None:
        with self._ledger.open(now) as history:
            for at, write in booked:
                history.unrecord(at, write=write)

    def pause(self, seconds: float, now: float) -> None:
        with self._ledger.open(now) as history:
            history.paused_until = max(history.paused_until, now + seconds)

    def writes_in_day(self, limits: Limits, now: float) -> int:
        with self._ledger.open(now) as history:
            history.forget_before(now)
            return len(history.writes)


class _FileLedger:
    """The history of every process naming this file, kept in it under an exclusive lock
    (`flock`), so a check and the record of the send that follows are one step for all of
    them. Only processes on one machine share it: a lock on a network file system is not to be
    trusted, and other machines' requests never reach this file.

    The file holds one history per account, so two accounts sharing one file never hold each
    other back. It is opened without following a symbolic link, and a file that holds
    anything but pace data is refused, never overwritten: the name may be a mistake, and the
    file someone's notes. So is a file another user owns, or one that the group or others may
    write: whoever can write it can plant a pause ("next turn is 86400 s away") or hold its
    lock. The lock is waited for at most as long as the caller may wait (`lock_wait`), never
    without end.
    """

    def __init__(self, path: Path, account: str) -> None:
        self.path = path
        self.account = account
        with self._locked(DEFAULT_LOCK_WAIT_SECONDS) as file:
            _accounts(file.read(), path)

    @contextlib.contextmanager
    def open(self, now: float, lock_wait: float = math.inf) -> Iterator[History]:
        with self._locked(lock_wait) as file:
            accounts = _accounts(file.read(), self.path)
            history = History.from_dict(accounts.get(self.account), now)
            yield history
            accounts[self.account] = history.to_dict()
            file.seek(0)
            file.truncate()
            file.write(
                json.dumps({"pace": PACE_FILE_VERSION, "accounts": accounts}, separators=(",", ":"))
            )

    @contextlib.contextmanager
    def _locked(self, lock_wait: float) -> Iterator[Any]:
        """The file, opened and checked, under the exclusive lock: taken without blocking,
        tried again until `lock_wait` seconds (`DEFAULT_LOCK_WAIT_SECONDS` if unbounded) have
        passed, then refused."""
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
        try:
            fd = os.open(self.path, flags, 0o600)
        except OSError as exc:
            raise _open_failure(self.path, exc) from None
        try:
            _check_owner_and_mode(self.path, os.fstat(fd))
            self._lock(fd, lock_wait if math.isfinite(lock_wait) else DEFAULT_LOCK_WAIT_SECONDS)
            with os.fdopen(os.dup(fd), "r+", encoding="utf-8", errors="replace") as file:
                yield file
        finally:
            os.close(fd)  # releases the lock

    def _lock(self, fd: int, lock_wait: float) -> None:
        give_up = time.monotonic() + max(lock_wait, LOCK_RETRY_SECONDS)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= give_up:
                    raise PaceFileError(
                        f"the pace file {self.path} stayed locked by another process for "
                        f"{max(lock_wait, LOCK_RETRY_SECONDS):g} s, longer than the request "
                        "may wait; find the process holding it (`fuser` names it), or name "
                        "a file of your own",
                        reason="locked",
                        path=self.path,
                    ) from None
                time.sleep(LOCK_RETRY_SECONDS)


def _check_owner_and_mode(path: Path, info: os.stat_result) -> None:
    """Refuse a pace file that is no regular file, that another user owns, or that the group
    or others may write: each message names the file and the fix."""
    if not stat.S_ISREG(info.st_mode):
        raise PaceFileError(
            f"the pace file {path} is not a regular file", reason="not-a-file", path=path
        )
    if info.st_uid != os.geteuid():
        raise PaceFileError(
            f"the pace file {path} belongs to another user (uid {info.st_uid}), who could "
            "hold back or stall every request through it; name a file of your own (e.g. in "
            "$RUNNER_TEMP or $XDG_RUNTIME_DIR), or delete that one",
            reason="foreign",
            path=path,
        )
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise PaceFileError(
            f"the pace file {path} may be written by the group or others (mode "
            f"{stat.S_IMODE(info.st_mode):04o}), who could plant a pause in it; make it "
            f"yours alone: chmod 600 {path}",
            reason="writable",
            path=path,
        )


def _open_failure(path: Path, exc: OSError) -> PaceFileError:
    if exc.errno == errno.ELOOP:
        return PaceFileError(
            f"the pace file {path} is a symbolic link, which is not followed; name the file itself",
            reason="symlink",
            path=path,
        )
    if exc.errno == errno.EISDIR:
        return PaceFileError(
            f"the pace file {path} is a folder; name a file in it, e.g. {path / 'nexudus.pace'}",
            reason="folder",
            path=path,
        )
    return PaceFileError(
        f"cannot open the pace file {path}: {exc.strerror}", reason="cannot-open", path=path
    )


def _accounts(text: str, path: Path) -> dict[str, Any]:
    """The per-account histories of a pace file's text; an empty file, or one of an older
    version of this module, is a fresh start; anything else is refused."""
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict) and data.get("pace") == PACE_FILE_VERSION:
        accounts = data.get("accounts")
        if isinstance(accounts, dict):
            return accounts
    if isinstance(data, dict) and set(data) == {"requests", "writes", "paused_until"}:
        return {}  # the single-account file of an earlier version
    raise PaceFileError(
        f"the pace file {path} holds something else than pace data, and is left as it is; "
        "name another file (or delete this one if it is an old pace file)",
        reason="not-pace",
        path=path,
    )


class Pacer:
    """Lets a request go once every limit allows it, and records when it went.

    A thread checks the history under the lock; if the moment has not come, it sleeps outside
    the lock and checks again (a 409 pause, another thread or another process may have moved
    the moment meanwhile). Checking and recording the send happen in one step under the lock,
    so no two senders take the same moment, even across processes sharing a pace file or a
    Redis pace ledger (`pace_url`). A write waiting for the write window does not hold back
    reads. With `quota_share` below 1 the pacer keeps to that fraction of the limits, for one
    of several clients of the account that share no ledger.
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
        if pace_url is not None:
            from .paceledger import RedisLedger  # here: paceledger imports this module

            self._ledger = RedisLedger(pace_url, account, self._clock, password=pace_password)
        else:
            self._ledger = _HistoryBook(
                _MemoryLedger() if pace_file is None else _FileLedger(pace_file, account)
            )
        self._sleep = sleep
        self._lock = threading.Lock()
        """Guards the ledger between this process's threads (`flock` is per process)."""

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

        Raises `TurnTooFar` at once when the first send is more than `max_wait` seconds away."""
        while True:
            with self._lock:
                now = self._clock()
                times, limit, booked = self._ledger.take(self.limits, plan, now, lock_wait=max_wait)
                if booked:
                    return times
            if times[0] - now > max_wait:
                raise TurnTooFar(times[0] - now, limit)
            self._sleep(times[0] - now)

    def release(self, booked: Sequence[tuple[float, bool]]) -> None:
        """Give back booked sends (time, write) that will not go: a write the fresh read showed
        was not needed, or one whose read must be taken again."""
        with self._lock:
            self._ledger.release(booked, self._clock())

    def sleep_until(self, at: float) -> None:
        """Sleep until a booked send time."""
        wait = at - self._clock()
        if wait > 0:
            self._sleep(wait)

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
