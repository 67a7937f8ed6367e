"""The retry policy: when a request is sent (the pacer's turn), how long it waits, when it gives
up, and what the error then says. Every loop of the client takes it: a request's own retries,
the token POST, a fresh write's turns and a create's search for a record whose answer was lost.

What is retried, and why:
- 409 + `Retry-After` (Nexudus's documented throttle answer) and 429 + "Wait N seconds." (what
  one tool saw live): wait as asked, then again, until the operation's deadline. The wait also
  pauses every other thread's requests, and spends none of the budget below.
- A failure that may heal (a 5xx, a dropped connection, a timeout): `max_retries` retries with
  exponential backoff and full jitter, within the operation's deadline. Nexudus's transient
  faults come in bursts of a few, and the default budget outlasts one.
- What cannot heal fails at once: a host name that does not resolve, a port (or proxy) that
  refuses the connection.
- A create whose answer was lost and whose record a search does not find: re-sent, at most
  `CREATE_ATTEMPTS` times in all, a budget of its own.

The budget of one operation is an `Attempts`, immutable in the shape of urllib3's `Retry`: each
failure makes a new one (`increment`), so an operation that spans several requests (a fresh
write's read and write, taken again after a wait) hands the one it has on, and a request's
retries never leak into another operation's.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import random
import re
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from ..errors import (
    ConfigurationError,
    PaceFileError,
    PaceLedgerError,
    ThrottledError,
    TransientError,
    TurnTooFar,
)
from ..pacing import LONGEST_WAIT_SECONDS, Pacer
from ..settings import Settings
from .envelope import said
from .failures import Failure
from .wire import Answer, Deadline

log = logging.getLogger(__name__)

WRITE_METHODS = frozenset({"POST", "PUT", "DELETE"})
THROTTLE_STATUSES = frozenset({409, 429})
BACKOFF_CAP_SECONDS = 8.0
DEFAULT_RETRY_AFTER_SECONDS = 1.0
QUOTA_WAIT_SECONDS = 60.0
"""A `Retry-After` longer than this is no per-minute limit: an hourly or daily quota is spent."""
CREATE_ATTEMPTS = 5
"""POSTs of one create, at most, while each one's answer is lost and its record not found."""
LOST_ANSWER_FIRST_WAIT_SECONDS = 0.5
LOST_ANSWER_MAX_WAIT_SECONDS = 4.0
_WAIT_IN_WORDS = re.compile(r"wait\s+(\d+(?:\.\d+)?)\s*s", re.IGNORECASE)
"""'Wait 5 seconds.': how a 429 asks for a wait when it sends no Retry-After."""


@dataclass(frozen=True)
class Attempts:
    """What one operation may still try, as urllib3's `Retry` counts it: budgets left, each
    spent by `increment` into a new object, `exhausted` once one is overspent."""

    total: int
    """Failures of a request that may still be retried (`max_retries` to start)."""
    lost: int = CREATE_ATTEMPTS - 1
    """Creates that may still be re-sent after an answer lost and a record not found."""
    backoff_base: float = 0.25
    """Seconds: the n-th retry waits up to `backoff_base * 2**n` (`backoff_base_ms`)."""
    renewed: bool = False
    """Whether a 401 already made the token be renewed: once per operation (`auth`)."""
    history: tuple[Failure, ...] = ()

    def increment(self, failure: Failure) -> Attempts:
        """The attempts left after `failure`: a lost create spends `lost`, any other `total`."""
        history = (*self.history, failure)
        if failure.lost:
            return replace(self, lost=self.lost - 1, history=history)
        return replace(self, total=self.total - 1, history=history)

    def renewing(self) -> Attempts:
        return replace(self, renewed=True)

    @property
    def exhausted(self) -> bool:
        return self.total < 0 or self.lost < 0

    @property
    def failures(self) -> int:
        """The failures so far (lost creates apart), for the words of the error."""
        return sum(not failure.lost for failure in self.history)

    def delay(self, answer: Answer | None = None) -> float:
        """The wait before the next try. A throttled answer is waited out as it asks
        (`Retry-After`, a 429's "Wait N seconds.", else a second); after anything else the wait
        is exponential with full jitter, so clients retrying together spread out."""
        if answer is not None and answer.status_code in THROTTLE_STATUSES:
            return retry_after(answer)[0]
        ceiling = self.backoff_base * 2 ** len(self.history)
        return random.uniform(0, min(BACKOFF_CAP_SECONDS, ceiling))


class Policy:
    """The pacing and retry policy of every thread of a client: the pacer's turns, the
    operation's deadline, throttling waited out as Nexudus asks, failures backed off."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        try:
            self.pacer = Pacer(
                min_interval=settings.min_interval_ms / 1000,
                requests_per_minute=settings.requests_per_minute,
                writes_per_minute=settings.writes_per_minute,
                writes_per_day=settings.writes_per_day,
                pace_file=Path(settings.pace_file) if settings.pace_file else None,
                pace_url=_secret(settings.pace_url),
                pace_password=_secret(settings.pace_password),
                quota_share=settings.quota_share,
                account=_account_key(settings),
                answer_timeout=settings.timeout_seconds,
            )
        except PaceFileError as exc:
            raise _pace_file_error(settings, exc) from None
        except PaceLedgerError as exc:
            name = dict(settings.sources).get("pace_url") or settings.name_of("pace_url")
            raise ConfigurationError(f"invalid Nexudus settings: {name}: {exc}") from None

    def attempts(self) -> Attempts:
        """The budget of a new operation."""
        settings = self.settings
        return Attempts(total=settings.max_retries, backoff_base=settings.backoff_base_ms / 1000)

    def deadline(self) -> Deadline:
        return Deadline(self.settings.deadline_seconds)

    # ----- the pacer: every call to it is here -------------------------------------------

    def take_turn(self, method: str, path: str, deadline: Deadline, *, write: bool) -> float:
        """Wait for the pacer's turn, or fail at once if it comes after the deadline: the send
        time, which the request answers with `until_answered`."""
        try:
            return self.pacer.wait_turn(write=write, max_wait=max(deadline.remaining(), 0.0))
        except TurnTooFar as far:
            raise ThrottledError(self._too_far(far, method, path, deadline)) from None
        except PaceFileError as exc:
            raise _pace_file_error(self.settings, exc) from None

    def book(self, path: str, deadline: Deadline) -> list[float]:
        """One turn for a read and the write decided from it: their send times, back to back."""
        try:
            return self.pacer.book([False, True], max_wait=max(deadline.remaining(), 0.0))
        except TurnTooFar as far:
            raise ThrottledError(self._too_far(far, "PUT", path, deadline)) from None
        except PaceFileError as exc:
            raise _pace_file_error(self.settings, exc) from None

    def sleep_until(self, booked: float, *, write: bool) -> float:
        return self.pacer.sleep_until(booked, write=write)

    def until_answered(self, sent: float, *, write: bool) -> AbstractContextManager[None]:
        """Around an exchange: the request counts against the limits as sent until its answer
        arrived, the latest moment the server can have counted it."""
        return self.pacer.until_answered(sent, write=write)

    def release(self, booked: list[tuple[float, bool]]) -> None:
        self.pacer.release(booked)

    def _pause(self, seconds: float) -> None:
        self.pacer.pause(seconds)

    def writes_left_today(self) -> int:
        return self.pacer.writes_left_today()

    # ----- waiting and giving up -----------------------------------------------------------

    def check_deadline(self, method: str, path: str, deadline: Deadline) -> None:
        if deadline.remaining() <= 0:
            raise TransientError(
                f"{method} {self.settings.base_url}{path} did not finish within the "
                f"{deadline.seconds:g} s deadline of one operation "
                f"({self.settings.name_of('deadline_seconds')})"
            )

    def wait_throttled(
        self, answer: Answer, attempts: Attempts, deadline: Deadline, method: str, path: str
    ) -> None:
        """Wait as long as a 409/429 asks, or fail saying which limit bites and what can help."""
        wait = attempts.delay(answer)
        asked = retry_after(answer)[1]
        status = answer.status_code
        settings = self.settings
        write = method in WRITE_METHODS
        if wait > QUOTA_WAIT_SECONDS:
            quota = _quota(wait, write=write, writes_per_day=settings.writes_per_day)
            if wait > deadline.remaining():
                until = datetime.now(UTC) + timedelta(seconds=wait)
                raise ThrottledError(
                    f"Nexudus asks to wait {_duration(wait)} before {method} {path} (HTTP "
                    f"{status}, {asked}): {quota} of the account is used up. Lowering "
                    f"{settings.name_of('writes_per_minute')} or "
                    f"{settings.name_of('requests_per_minute')} cannot help; run again after "
                    f"{until:%Y-%m-%d %H:%M} UTC, or raise {settings.name_of('deadline_seconds')} "
                    f"(now {deadline.seconds:.0f} s) above {wait:.0f} to wait it out"
                )
            log.info(
                "throttled on %s %s: %s is used up; waiting %s as Nexudus asks",
                method,
                path,
                quota,
                _duration(wait),
            )
        elif wait > deadline.remaining():
            limit, knob = (
                ("60 writes a minute", "writes_per_minute")
                if write
                else ("120 requests a minute", "requests_per_minute")
            )
            raise ThrottledError(
                f"Nexudus kept throttling {method} {path} (HTTP {status}, {asked}) for longer "
                f"than the {deadline.seconds:.0f} s deadline of one request "
                f"({settings.name_of('deadline_seconds')}): the account's limit of {limit} bites, "
                "shared with every other client of the account. Lower "
                f"{settings.name_of(knob)} (now {getattr(settings, knob)}) or raise "
                f"{settings.name_of('deadline_seconds')}"
            )
        else:
            log.info("throttled on %s %s; waiting %.1f s", method, path, wait)
        self._pause(wait)

    def backoff(self, attempts: Attempts, method: str, path: str, deadline: Deadline) -> None:
        """Wait before retrying the failure `attempts` last counted, or raise if it may not
        be retried: it cannot heal, the budget is spent, or the wait passes the deadline."""
        failure = attempts.history[-1]
        if failure.permanent:
            raise TransientError(
                self._gave_up(method, path, failure, "not retried: it cannot heal")
            )
        self.check_deadline(method, path, deadline)
        tries = attempts.failures
        if attempts.exhausted:
            raise TransientError(self._gave_up(method, path, failure, f"{tries} tries"))
        delay = attempts.delay()
        if delay > deadline.remaining():
            out_of = f"{tries} tries within the {deadline.seconds:.0f} s deadline"
            raise TransientError(self._gave_up(method, path, failure, out_of))
        log.info("%s on %s %s; retry %d in %.2f s", failure.reason, method, path, tries, delay)
        time.sleep(delay)

    def search_lost(
        self, find: Callable[[], dict[str, Any] | None], *, answered: bool, label: str
    ) -> dict[str, Any] | None:
        """The record a POST with an unknown outcome created, if `find` finds it.

        A server that answered (a 5xx) has finished with the request, so one search tells. A
        POST that timed out or lost its connection may still be running and commit later:
        search until the request timeout has passed again, or we would post a second record.
        """
        wait_until = time.monotonic() + (0 if answered else self.settings.timeout_seconds)
        pause = LOST_ANSWER_FIRST_WAIT_SECONDS
        while True:
            found = find()
            if found is not None:
                return found
            remaining = wait_until - time.monotonic()
            if remaining <= 0:
                return None
            log.info(
                "%s: create answer lost and the record is not there yet; looking again in %.1f s "
                "(a slow create may still land)",
                label,
                min(pause, remaining),
            )
            time.sleep(min(pause, remaining))
            pause = min(pause * 2, LOST_ANSWER_MAX_WAIT_SECONDS)

    def _gave_up(self, method: str, path: str, failure: Failure, out_of: str) -> str:
        settings = self.settings
        outcome = out_of if failure.permanent else f"gave up after {out_of}"
        if failure.network:
            return (
                f"cannot reach Nexudus at {settings.base_url} ({settings.origin('base_url')}): "
                f"{failure.reason}; {method} {path} {outcome}"
            )
        return (
            f"{method} {settings.base_url}{path} failed after {out_of}, last: "
            f"{failure.reason}{failure.detail}"
        )

    def _too_far(self, far: TurnTooFar, method: str, path: str, deadline: Deadline) -> str:
        settings = self.settings
        until = datetime.now(UTC) + timedelta(seconds=far.wait)
        if settings.pace_url is not None:
            seen_by = f"the processes sharing {settings.name_of('pace_url')}"
        elif settings.pace_file:
            seen_by = f"this machine's processes sharing {settings.name_of('pace_file')}"
        else:
            seen_by = "this process"
        if far.limit == "writes_per_day":
            return (
                f"{method} {path} is refused before it is sent: the daily quota of "
                f"{self.pacer.limits.writes_per_day:,} writes ({settings.name_of('writes_per_day')}"
                + (
                    f" x {settings.name_of('quota_share')} {settings.quota_share:g}"
                    if settings.quota_share < 1
                    else ""
                )
                + ") is "
                f"used up by the writes {seen_by} sent in the last 24 hours; the next write is "
                f"possible after {until:%Y-%m-%d %H:%M} UTC (in {_duration(far.wait)}). Run "
                "again then, or set the key to the account's real quota if it is higher"
            )
        if far.limit == "requests_per_hour":
            what = f"the hourly quota of 5,000 requests is used up by the requests {seen_by} sent"
        elif far.limit == "pause":
            what = "Nexudus asked every request of the account to wait (throttling)"
        else:
            what = f"the pace of {settings.name_of(far.limit)} holds it back"
        return (
            f"{method} {path} would have to wait {_duration(far.wait)}: {what}; that is past the "
            f"{deadline.seconds:g} s deadline ({settings.name_of('deadline_seconds')}). Run again "
            f"after {until:%Y-%m-%d %H:%M} UTC, or raise the deadline above {far.wait:.0f}"
        )


def retry_after(answer: Answer) -> tuple[float, str]:
    """How long a throttled answer asks us to wait, and how it asked: `Retry-After`, else
    the 429 body's "Wait N seconds.", else a second."""
    header = answer.headers.get("Retry-After", "")
    with contextlib.suppress(ValueError):
        wait = float(header)
        if math.isfinite(wait):
            return _bounded_wait(wait), f"Retry-After: {said(header[:40])}"
    words = _WAIT_IN_WORDS.search(answer.content[:1000].decode("utf-8", "replace"))
    if words is not None:
        return _bounded_wait(float(words[1])), said(repr(words[0][:60]))
    return DEFAULT_RETRY_AFTER_SECONDS, "no wait given"


def _bounded_wait(seconds: float) -> float:
    """A wait the API asked for, from 0 to a day (no limit of Nexudus asks longer): `1e300`
    or `99999999999999999999` would overflow every date computed from it."""
    if not math.isfinite(seconds):
        return LONGEST_WAIT_SECONDS
    return min(max(seconds, 0.0), LONGEST_WAIT_SECONDS)


def _quota(wait: float, *, write: bool, writes_per_day: int) -> str:
    """Which published limit makes Nexudus ask for a wait of more than a minute."""
    if wait > 3600:
        return (
            f"the daily quota of {writes_per_day:,} writes (or of 200,000 requests)"
            if write
            else ("the daily quota of 200,000 requests")
        )
    return "the hourly quota of 5,000 requests" + (
        f" (or the daily one of {writes_per_day:,} writes)" if write else ""
    )


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h {minutes % 60:02d} min"


def _pace_file_error(settings: Settings, exc: PaceFileError) -> ConfigurationError:
    name = dict(settings.sources).get("pace_file") or settings.name_of("pace_file")
    return ConfigurationError(f"invalid Nexudus settings: {name}: {exc}")


def _secret(value: SecretStr | None) -> str | None:
    return None if value is None else value.get_secret_value()


def _account_key(settings: Settings) -> str:
    """Who the pace file's budget belongs to: the base URL and the user (or a hash of the
    token), hashed, so two accounts sharing a file keep apart and the file names nobody."""
    if settings.username is not None:
        who = "user:" + settings.username.strip().lower()
    elif settings.token is not None:
        who = "token:" + hashlib.sha256(settings.token.get_secret_value().encode()).hexdigest()
    else:
        who = ""
    return hashlib.sha256(f"{settings.base_url}\n{who}".encode()).hexdigest()[:16]
