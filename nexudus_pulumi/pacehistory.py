"""The arithmetic of Nexudus's per-account limits over a history of sends: when the next
request may go, and how a history is kept, read and written (`pacing.Pacer` keeps one per
process, pace file or Redis pace ledger).
"""

from __future__ import annotations

import bisect
import contextlib
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

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


InFlight = tuple[float, bool, float]
"""A request whose answer has not arrived: its send time, whether it is a write, and the moment
it is taken as answered if its sender never says (the sender was killed)."""


@dataclass
class History:
    """What the account has been sent recently: send times, the requests among them still in
    flight, and a pause the server asked for."""

    requests: deque[float] = field(default_factory=deque)
    """Send times of the last hour, oldest first; an answered request's is its answer's."""
    writes: deque[float] = field(default_factory=deque)
    """Send times of the writes of the last day, oldest first."""
    paused_until: float = float("-inf")
    in_flight: dict[str, InFlight] = field(default_factory=dict)
    """Requests booked and not yet answered, by key; each is also among `requests` (and
    `writes`) at its send time, where a process of an earlier version reads it."""

    def forget_before(self, now: float) -> None:
        for key, (_, _, until) in list(self.in_flight.items()):
            if until <= now:
                self.answered(key, until)
        while self.requests and self.requests[0] <= now - HOUR - WINDOW_MARGIN_SECONDS:
            self.requests.popleft()
        while self.writes and self.writes[0] <= now - DAY - WINDOW_MARGIN_SECONDS:
            self.writes.popleft()

    def as_of(self, now: float) -> History:
        """The history as the server may count it at `now`: every request in flight as sent
        now (or at its send time, if later), since its answer, not its send, is the latest
        moment the server counts it; the result holds no request in flight."""
        if not self.in_flight:
            return self
        requests, writes = list(self.requests), list(self.writes)
        for at, write, _ in self.in_flight.values():
            if at < now:
                _replace(requests, at, now)
                if write:
                    _replace(writes, at, now)
        return History(deque(sorted(requests)), deque(sorted(writes)), self.paused_until)

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

    def book(self, key: str, sent: float, *, write: bool, until: float) -> None:
        """Record a send, in flight until `answered` (or `until`)."""
        self.record(sent, write=write)
        self.in_flight[key] = (sent, write, until)

    def answered(self, key: str, now: float) -> None:
        """The answer of a request in flight arrived at `now`: from now on it counts as sent
        then. A key no longer in flight (taken as answered, or released) changes nothing."""
        entry = self.in_flight.pop(key, None)
        if entry is not None:
            self._move(entry, max(entry[0], now))

    def release(self, key: str) -> None:
        """Forget a booked send that will not go."""
        entry = self.in_flight.pop(key, None)
        if entry is not None:
            self.unrecord(entry[0], write=entry[1])

    def hold_back(self, key: str, limits: Limits, now: float) -> float | None:
        """The send time of a booked request in flight, pushed back to keep the interval after
        every request before it as the server may count it (the read of its turn was answered
        later than booked); None if the key is not in flight. The requests of its own turn
        booked after it (`prefix:2` after `prefix:1`) do not count."""
        entry = self.in_flight.get(key)
        if entry is None:
            return None
        if limits.min_interval <= 0:
            return entry[0]
        before = History(deque(self.requests), deque(self.writes), in_flight=dict(self.in_flight))
        for later in _this_and_later(key, self.in_flight):
            before.release(later)
        requests = before.as_of(now).requests
        latest = requests[-1] if requests else float("-inf")
        return self.reschedule(key, latest + limits.min_interval + INTERVAL_MARGIN_SECONDS)

    def reschedule(self, key: str, at: float) -> float | None:
        """Move a booked request in flight to send at `at`, if that is later; its send time."""
        entry = self.in_flight.get(key)
        if entry is None:
            return None
        sent, write, until = entry
        if at <= sent:
            return sent
        self._move(entry, at)
        self.in_flight[key] = (at, write, until + at - sent)
        return at

    def _move(self, entry: InFlight, to: float) -> None:
        sent, write, _ = entry
        if to != sent:
            self.unrecord(sent, write=write)
            bisect.insort(self.requests, to)
            if write:
                bisect.insort(self.writes, to)

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
            "in_flight": {k: [at, int(w), until] for k, (at, w, until) in self.in_flight.items()},
        }

    @classmethod
    def from_dict(cls, data: Any, now: float) -> History:
        """A history read from a pace file, every value checked: a time that is not a finite
        positive number is dropped, a time further ahead than a booking may lie (the clock
        stepped back) counts as that far, and a pause, or a request in flight, is cut to the
        longest wait any limit asks for. Nothing read can make a wait overflow or last longer
        than that."""
        if not isinstance(data, dict):
            return cls()
        paused = _times([data.get("paused_until")], now + LONGEST_WAIT_SECONDS)
        booked = now + BOOKING_AHEAD_SECONDS
        in_flight: dict[str, InFlight] = {}
        raw = data.get("in_flight")
        for key, entry in raw.items() if isinstance(raw, dict) else ():
            if not (isinstance(entry, list) and len(entry) == 3 and entry[1] in (0, 1)):
                continue
            times = _times([entry[0]], booked) + _times([entry[2]], now + LONGEST_WAIT_SECONDS)
            if len(times) == 2:
                in_flight[str(key)] = (times[0], entry[1] == 1, times[1])
        return cls(
            deque(_times(data.get("requests"), booked)),
            deque(_times(data.get("writes"), booked)),
            paused[0] if paused else float("-inf"),
            in_flight,
        )


def _this_and_later(key: str, in_flight: dict[str, InFlight]) -> list[str]:
    """`key` and the keys of its turn's later requests: a turn's keys are `prefix:1`,
    `prefix:2`... in the order its requests go."""
    prefix = key.rpartition(":")[0]
    return [
        k
        for k in in_flight
        if k == key or (k.rpartition(":")[0] == prefix and _order(k) > _order(key))
    ]


def _order(key: str) -> int:
    number = key.rpartition(":")[2]
    return int(number) if number.isdigit() else 0


def _replace(times: list[float], old: float, new: float) -> None:
    with contextlib.suppress(ValueError):
        times.remove(old)
    times.append(new)


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
    history: History,
    limits: Limits,
    plan: Sequence[bool],
    now: float,
    keys: Sequence[str],
    answer_within: float,
) -> tuple[list[float], str, bool]:
    """Send times for `plan` from `history`, the limit that sets the first, and whether they
    were booked in it (the first is now), in flight under `keys` for at most `answer_within`
    seconds each."""
    history.forget_before(now)
    times, limit = history.as_of(now).plan(limits, plan, now)
    booked = times[0] <= now
    if booked:
        for key, at, write in zip(keys, times, plan, strict=True):
            history.book(key, at, write=write, until=at + answer_within)
    return times, limit, booked


def _window_opens(sent: deque[float], limit: int, window: float) -> float:
    """When fewer than `limit` of the `sent` times fall in the `window` before it."""
    if limit <= 0 or len(sent) < limit:
        return float("-inf")
    return sent[-limit] + window + WINDOW_MARGIN_SECONDS
