"""The Nexudus REST client: HTTP, authentication, pacing and retries, and nothing else.

It knows the API's envelopes and failure modes, not what a chat room is: record shapes live in
`models`, Pulumi's lifecycle in `provider`.

What is retried, and why:
- 409 + `Retry-After` (Nexudus's documented throttle answer) and 429 + "Wait N seconds." (what
  one tool saw live) on any request: wait as asked, then again, until the operation's deadline.
  The wait also pauses every other thread's requests.
- 5xx, dropped connections and timeouts on GET, PUT and DELETE: these are idempotent, so they are
  retried up to `max_retries` times with exponential backoff and full jitter. That includes a 500
  carrying the API's envelope (`WasSuccessful: false` and a message) and the plain
  `{"Message": "Ooops! ..."}` body: Nexudus's transient faults come in bursts of a few, and the
  default budget outlasts one. When the tries run out, the API's reason is shown.
- POST is never re-sent here: when its outcome is unknown (a 5xx, a lost answer) the caller gets
  `OutcomeUnknownError` and must look for the record first (see `RecordProvider.create`).
- POST is re-sent only when it certainly never left: the connection could not be opened.
- What cannot heal fails at once, whatever the method: a host name that does not resolve, a
  port (or proxy) that refuses the connection.
- 401 with a token we obtained ourselves: renew the token once. Any other 401/403: fail at once.

What is trusted: nothing the API hands us. No redirect is followed (credentials go only to the
configured origin); one exchange ends by `timeout_seconds` of wall-clock time however slowly
the answer drips, an operation by `deadline_seconds`; an answer over `MAX_RESPONSE_BYTES` is
refused unread; ids are checked to be record ids, pages to be pages that advance, a token answer
to hold a token. Each refusal is an error naming the URL.

Every failure names the URL and the cause in words, and where a setting can fix it, the stack
config key or variable it came from.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json as jsonlib
import logging
import math
import os
import random
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from pydantic import SecretStr
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NameResolutionError, NewConnectionError

from .display import visible
from .errors import (
    ApiRejectedError,
    AuthenticationError,
    AuthorizationError,
    ConfigurationError,
    FieldError,
    InvalidAnswerError,
    NexudusError,
    NotFoundError,
    OutcomeUnknownError,
    PaceFileError,
    PaceLedgerError,
    RedirectRefusedError,
    ThrottledError,
    TransientError,
    TurnTooFar,
)
from .models import MAX_ID
from .pacing import LONGEST_WAIT_SECONDS, Pacer
from .settings import DEFAULT_BASE_URL, KEY_OF, Settings, is_header_safe

log = logging.getLogger(__name__)

WRITE_METHODS = frozenset({"POST", "PUT", "DELETE"})
TOKEN_PATH = "/api/token"
SEARCH_PAGE_SIZE = 1000
"""The largest page the reference allows: a listing of 1,000 records is one request."""
BACKOFF_CAP_SECONDS = 8.0
DEFAULT_RETRY_AFTER_SECONDS = 1.0
TOKEN_RENEW_MARGIN_SECONDS = 60.0
QUOTA_WAIT_SECONDS = 60.0
"""A `Retry-After` longer than this is no per-minute limit: an hourly or daily quota is spent."""
THROTTLE_STATUSES = frozenset({409, 429})
MAX_RESPONSE_BYTES = 64 * 2**20
"""The largest answer read. A page of 100 records is well under 1 MiB and Nexudus's largest page
(1,000) a few MiB: anything bigger is a fault or a hostile server, refused before it is read
whole (a 300 MB listing once took the provider to 965 MB)."""
READ_CHUNK_BYTES = 64 * 1024
MAX_JSON_DEPTH = 64
"""The deepest JSON read: Nexudus's answers nest a few levels (an envelope, its records, a list
of ids); a body 200,000 deep crashed Python's parser (`RecursionError`)."""
MAX_LISTED_RECORDS = 200_000
"""The most records one listing holds (in memory): pages of ever new ids without `TotalPages`
once ran 600 s and 4.4 million records before the deadline stopped them."""
_WAIT_IN_WORDS = re.compile(r"wait\s+(\d+(?:\.\d+)?)\s*s", re.IGNORECASE)
"""'Wait 5 seconds.': how a 429 asks for a wait when it sends no Retry-After."""


@dataclass(frozen=True)
class Written:
    """What a write's answer tells: the record's id and the envelope's audit fields."""

    id: int
    audit: dict[str, Any]
    """`UpdatedOn` and `UpdatedBy`, as the answer gave them (outputs without a GET)."""
    record: dict[str, Any] | None = None
    """The whole record, where the answer's `Value` carries it (some accounts answer a create
    so; documented is `{"Id": n}`)."""

    @classmethod
    def from_envelope(cls, envelope: dict[str, Any], request: str) -> Written:
        """`request` (`POST https://...`) names the operation in an error."""
        value = envelope.get("Value")
        if not isinstance(value, dict):
            raise InvalidAnswerError(f"{request} answered no Value.Id: {_NOT_AN_ID}")
        record_id = _record_id(value.get("Id"), f"{request} answered Value.Id")
        audit = {k: envelope[k] for k in ("UpdatedOn", "UpdatedBy") if envelope.get(k) is not None}
        whole = "CreatedOn" in value and "UniqueId" in value
        return cls(record_id, audit, dict(value) if whole else None)


@dataclass(frozen=True)
class Write:
    """What `fresh_write` sends, decided from the record as read in the same turn."""

    method: str
    """`PUT` (to the collection, `body` carrying the record's `Id`) or `DELETE` (by id)."""
    body: dict[str, Any] | None = None


@dataclass(frozen=True)
class FreshWrite:
    """How a `fresh_write` ended: the record as read just before the write decided from it
    (None: there was none), and the write's answer (None when none was sent, or a DELETE)."""

    record: dict[str, Any] | None
    written: Written | None
    sent: bool
    """Whether the last decision was a write that Nexudus then took."""


class _Again(Exception):  # noqa: N818 - a signal between the client's loops, never raised out
    """A request of a fresh write met a wait (a throttle, a backoff, a token renewal), already
    taken: the record must be read again before anything is written."""


@dataclass
class _Attempts:
    """The failures and token renewal of one operation, across the reads a fresh write takes
    again: its retry budget is one, whatever the number of turns."""

    failures: int = 0
    renewed: bool = False


@dataclass
class _Token:
    access: str
    refresh: str | None
    expires_at: float


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        return self._end - time.monotonic()


@dataclass(frozen=True)
class _Answer:
    """An HTTP answer read whole (within the size cap and the exchange's time)."""

    url: str
    status_code: int
    headers: Mapping[str, str]
    """Case-insensitive, as requests gives them."""
    content: bytes


_current = threading.local()
"""The exchange this thread is in, for the connection it uses to find (see `_Exchange`)."""


class _Exchange:
    """One HTTP exchange under one wall-clock deadline.

    requests' timeout bounds each socket read, not the exchange: headers or a body dripped a
    byte at a time never time out. A timer cuts the exchange's connection (a shutdown of its
    socket) when the time is up, so whatever read is blocked returns at once, in any phase
    (connecting, sending, headers, body). The connection makes itself known through the
    thread-local `_current` when it is used (`_WatchedHTTPConnection`).
    """

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._done = False
        self._lock = threading.Lock()
        self._connection: HTTPConnection | None = None
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Exchange:
        _current.exchange = self
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._done = True
        self._timer.cancel()
        _current.exchange = None

    def watch(self, connection: HTTPConnection) -> None:
        with self._lock:
            self._connection = connection
            if self.expired:
                _cut(connection)

    def _expire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.expired = True
            if self._connection is not None:
                _cut(self._connection)


def _cut(connection: HTTPConnection) -> None:
    """Shut the connection's socket down under whoever reads it (through a twin of the file
    descriptor, so a TLS socket's Python state is left to its reader)."""
    sock = connection.sock
    if sock is None:
        return
    with (
        contextlib.suppress(OSError, ValueError),
        socket.fromfd(sock.fileno(), socket.AF_INET, socket.SOCK_STREAM) as twin,
    ):
        twin.shutdown(socket.SHUT_RDWR)


def _watch(connection: HTTPConnection) -> None:
    exchange: _Exchange | None = getattr(_current, "exchange", None)
    if exchange is not None:
        exchange.watch(connection)


class _WatchedHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _watch(self)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch(self)
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(_WatchedHTTPConnection, HTTPSConnection):
    """The same watch over TLS: the methods above run first, then HTTPSConnection's."""


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_WATCHED_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class _WatchedAdapter(HTTPAdapter):
    """requests' adapter, with connections that an `_Exchange` can cut."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _WATCHED_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS brings connection classes of its own
            manager.pool_classes_by_scheme = _WATCHED_POOLS
        return manager


def _pace_file_error(settings: Settings, exc: PaceFileError) -> ConfigurationError:
    name = dict(settings.sources).get("pace_file") or settings.name_of("pace_file")
    return ConfigurationError(f"invalid Nexudus settings: {name}: {exc}")


class _Transport:
    """One request and everything around it, for every thread of a client: the pacer's turn,
    the operation's deadline, the whole answer read within the timeout, no redirect followed,
    throttling waited out as Nexudus asks, failures retried with backoff."""

    def __init__(self, settings: Settings, session: requests.Session, pacer: Pacer) -> None:
        self.settings = settings
        self.session = session
        self.pacer = pacer

    def exchange(
        self,
        method: str,
        path: str,
        *,
        deadline: _Deadline,
        headers: Mapping[str, str] | None = None,
        json: dict[str, Any] | None = None,
        data: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> _Answer:
        """One request and its whole answer, within `timeout_seconds` of wall-clock time (or
        what is left of the operation's deadline), never following a redirect."""
        url = self.settings.base_url + path
        seconds = max(min(self.settings.timeout_seconds, deadline.remaining()), 0.001)
        with _Exchange(seconds) as exchange:
            try:
                response = self.session.request(
                    method,
                    url,
                    headers=headers,
                    json=json,
                    data=data,
                    params=params,
                    timeout=seconds,
                    allow_redirects=False,
                    stream=True,
                )
                with contextlib.closing(response):
                    content = _read_capped(response, f"{method} {url}")
            except requests.RequestException as exc:
                if exchange.expired:
                    raise requests.ReadTimeout(f"no complete answer within {seconds:g} s") from exc
                raise
        return _Answer(url, response.status_code, response.headers, content)

    def take_turn(self, method: str, path: str, deadline: _Deadline, *, write: bool) -> None:
        """Wait for the pacer's turn, or fail at once if it comes after the deadline."""
        try:
            self.pacer.wait_turn(write=write, max_wait=max(deadline.remaining(), 0.0))
        except TurnTooFar as far:
            raise ThrottledError(self._too_far(far, method, path, deadline)) from None
        except PaceFileError as exc:
            raise _pace_file_error(self.settings, exc) from None

    def book(self, path: str, deadline: _Deadline) -> list[float]:
        """One turn for a read and the write decided from it: their send times, back to back."""
        try:
            return self.pacer.book([False, True], max_wait=max(deadline.remaining(), 0.0))
        except TurnTooFar as far:
            raise ThrottledError(self._too_far(far, "PUT", path, deadline)) from None
        except PaceFileError as exc:
            raise _pace_file_error(self.settings, exc) from None

    def _too_far(self, far: TurnTooFar, method: str, path: str, deadline: _Deadline) -> str:
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

    def check_deadline(self, method: str, path: str, deadline: _Deadline) -> None:
        if deadline.remaining() <= 0:
            raise TransientError(
                f"{method} {self.settings.base_url}{path} did not finish within the "
                f"{deadline.seconds:g} s deadline of one operation "
                f"({self.settings.name_of('deadline_seconds')})"
            )

    def redirect_refused(self, method: str, answer: _Answer) -> RedirectRefusedError:
        target = _origin(urljoin(answer.url, answer.headers.get("Location", "")))
        return RedirectRefusedError(
            f"{method} {answer.url} answered HTTP {answer.status_code}, a redirect to {target}: "
            f"the provider sends credentials only to {self.settings.base_url} and follows no "
            f"redirect; if the API has moved, set {self.settings.name_of('base_url')} to its "
            "new address"
        )

    def wait_throttled(self, answer: _Answer, deadline: _Deadline, method: str, path: str) -> None:
        """Wait as long as a 409/429 asks, or fail saying which limit bites and what can help."""
        wait, asked = _retry_after(answer)
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
        self.pacer.pause(wait)

    def backoff_or_raise(
        self, method: str, path: str, failure: _Failure, failures: int, deadline: _Deadline
    ) -> None:
        if failure.permanent:
            raise TransientError(
                self._gave_up(method, path, failure, "not retried: it cannot heal")
            )
        self.check_deadline(method, path, deadline)
        if failures > self.settings.max_retries:
            raise TransientError(self._gave_up(method, path, failure, f"{failures} tries"))
        delay = self.backoff_delay(failures)
        if delay > deadline.remaining():
            out_of = f"{failures} tries within the {deadline.seconds:.0f} s deadline"
            raise TransientError(self._gave_up(method, path, failure, out_of))
        log.info("%s on %s %s; retry %d in %.2f s", failure.reason, method, path, failures, delay)
        time.sleep(delay)

    def _gave_up(self, method: str, path: str, failure: _Failure, out_of: str) -> str:
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

    def backoff_delay(self, attempt: int) -> float:
        """Exponential backoff with full jitter, so retrying clients spread out."""
        ceiling = self.settings.backoff_base_ms / 1000 * 2**attempt
        return random.uniform(0, min(BACKOFF_CAP_SECONDS, ceiling))


class _Credentials:
    """The `Authorization` of every request of a client: the settings' pre-issued token, or a
    bearer token obtained with the username and password (refreshed, renewed after a 401), or
    Basic where Nexudus does not offer /api/token. A refusal is kept: every later call fails at
    once with it, so a stack of many records makes one failed login, not one per record."""

    def __init__(self, settings: Settings, transport: _Transport) -> None:
        self.settings = settings
        self.transport = transport
        self._lock = threading.Lock()
        self.token: _Token | None = None
        self._use_basic = False
        self.refused: AuthenticationError | None = None

    def authorization(self, deadline: _Deadline) -> str:
        if self.refused is not None:
            raise self.refused
        settings = self.settings
        if settings.token is not None:
            return "Bearer " + settings.token.get_secret_value()
        if settings.username is None or settings.password is None:
            raise AuthenticationError(f"no Nexudus credentials: {settings.credentials_hint()}")
        with self._lock:
            if self.refused is not None:  # refused while this thread waited for the lock
                raise self.refused
            token = self.token
            if not self._use_basic and (token is None or time.monotonic() >= token.expires_at):
                token = self.token = self._obtain_token(token, deadline)
            if self._use_basic or token is None:
                return _basic_authorization(settings.username, settings.password.get_secret_value())
            return "Bearer " + token.access

    def refusal(self, what: str) -> AuthenticationError:
        """Nexudus said no to our credentials: name which ones and where they came from."""
        settings = self.settings
        advice = "check them"
        if settings.token is not None:
            advice = "check it"
            if settings.from_environment("token"):
                advice += f", or unset {KEY_OF['token'].env_var} if it is a leftover"
        elif settings.stack_config:
            advice += "; an account with two-factor authentication needs nexudus:token instead"
        return AuthenticationError(
            f"Nexudus authentication failed at {settings.base_url}: {what}. The provider used "
            f"{settings.credentials_origin()}: {advice}"
        )

    def _obtain_token(self, previous: _Token | None, deadline: _Deadline) -> _Token | None:
        """Get a bearer token (refreshing when we can); `None` means use Basic from now on."""
        assert self.settings.username is not None and self.settings.password is not None
        forms: list[dict[str, str]] = []
        if previous is not None and previous.refresh:
            forms.append({"grant_type": "refresh_token", "refresh_token": previous.refresh})
        forms.append(
            {
                "grant_type": "password",
                "username": self.settings.username,
                "password": self.settings.password.get_secret_value(),
            }
        )
        answer: _Answer | None = None
        for form in forms:
            answer = self._post_token_form(form, deadline)
            if answer is None:
                self._use_basic = True
                return None
            if answer.status_code == 200:
                return _token_from(answer)
        assert answer is not None
        self.refused = self.refusal(
            f"POST {TOKEN_PATH} answered HTTP {answer.status_code}{_token_error(answer)}"
        )
        raise self.refused

    def _post_token_form(self, form: dict[str, str], deadline: _Deadline) -> _Answer | None:
        """POST /api/token (form-encoded), waiting out throttling and retrying a connection
        that failed; `None` if Nexudus does not offer the endpoint (404) or it is failing (5xx).
        A redirect is refused: the form holds the password.
        """
        failures = 0
        while True:
            self.transport.check_deadline("POST", TOKEN_PATH, deadline)
            self.transport.take_turn(
                "POST", TOKEN_PATH, deadline, write=False
            )  # not a record write
            try:
                answer = self.transport.exchange("POST", TOKEN_PATH, deadline=deadline, data=form)
            except requests.RequestException as exc:
                failures += 1
                failure = _network_failure(exc, self.settings)
                self.transport.backoff_or_raise("POST", TOKEN_PATH, failure, failures, deadline)
                continue
            status = answer.status_code
            log.debug("POST %s -> %s", TOKEN_PATH, status)
            if 300 <= status < 400:
                raise self.transport.redirect_refused("POST", answer)
            if status in THROTTLE_STATUSES:
                self.transport.wait_throttled(answer, deadline, "POST", TOKEN_PATH)
                continue
            if status == 404 or status >= 500:
                log.info(
                    "POST %s answered HTTP %d (%s); using Basic authentication",
                    TOKEN_PATH,
                    status,
                    "not offered here" if status == 404 else "failing",
                )
                return None
            return answer

    def can_renew(self) -> bool:
        return self.settings.token is None and not self._use_basic

    def expire_token(self) -> None:
        """Treat our token as expired, so the next request renews it (refresh grant first)."""
        with self._lock:
            if self.token is not None:
                self.token.expires_at = float("-inf")


class NexudusClient:
    """One per provider process: a pooled session, one token and one pacer shared by all threads."""

    def __init__(self, settings: Settings, session: requests.Session | None = None) -> None:
        self.settings = settings
        self._session = session or requests.Session()
        self._session.headers["Accept"] = "application/json"
        self._session.headers["User-Agent"] = "nexudus-pulumi"
        for prefix in ("http://", "https://"):
            self._session.mount(prefix, _WatchedAdapter())
        try:
            pacer = Pacer(
                min_interval=settings.min_interval_ms / 1000,
                requests_per_minute=settings.requests_per_minute,
                writes_per_minute=settings.writes_per_minute,
                writes_per_day=settings.writes_per_day,
                pace_file=Path(settings.pace_file) if settings.pace_file else None,
                pace_url=_secret(settings.pace_url),
                pace_password=_secret(settings.pace_password),
                quota_share=settings.quota_share,
                account=_account_key(settings),
            )
        except PaceFileError as exc:
            raise _pace_file_error(settings, exc) from None
        except PaceLedgerError as exc:
            name = dict(settings.sources).get("pace_url") or settings.name_of("pace_url")
            raise ConfigurationError(f"invalid Nexudus settings: {name}: {exc}") from None
        self._transport = _Transport(settings, self._session, pacer)
        self._credentials = _Credentials(settings, self._transport)
        self._verify_lock = threading.Lock()
        self._verified = False
        self._verify_error: NexudusError | None = None
        self._accepted = False
        """Whether Nexudus has answered an authenticated request: a 401 after that is a
        refusal of the request (a role, a limit), not of the credentials."""
        self._plan_lock = threading.Lock()
        self._planned: dict[str, int] = {}
        self._plan_allows: int | None = None

    # ----- proving the settings ----------------------------------------------------------

    def verify(self, probe_path: str) -> None:
        """Prove that Nexudus answers at the base URL and accepts the credentials.

        One request, once per client whatever the outcome (the provider process shares one
        client per settings, and the engine configures a provider once per resource until it
        succeeds). With a username and password it is the token request every operation needs
        anyway; with a pre-issued token (or Basic) it is a one-record search of `probe_path`.
        """
        with self._verify_lock:
            if self._verify_error is not None:
                raise self._verify_error
            if self._verified:
                return
            try:
                self._probe(probe_path)
            except TransientError as exc:
                self._verify_error = type(exc)(
                    f"{exc}. (The provider checks the address and credentials when it starts; "
                    f"to preview without reaching Nexudus set "
                    f"{self.settings.name_of('skip_credentials_validation')} to true.)"
                )
                raise self._verify_error from None
            except NexudusError as exc:
                self._verify_error = exc
                raise
            self._verified = True

    def _probe(self, probe_path: str) -> None:
        self._credentials.authorization(_Deadline(self.settings.deadline_seconds))
        if self._credentials.token is not None:
            return  # the token endpoint accepted the username and password
        try:
            self._call("GET", probe_path, params={"page": 1, "size": 1})
        except AuthorizationError:
            return  # the credentials work; an operation lacking a role names the role
        except NotFoundError:
            raise ConfigurationError(
                f"{self.settings.base_url} ({self.settings.origin('base_url')}) does not look "
                f"like the Nexudus API: GET {probe_path} answered HTTP 404; check "
                f"{self.settings.name_of('base_url')} (e.g. {DEFAULT_BASE_URL})"
            ) from None

    # ----- for `nexudus-pulumi probe` -------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The API's whole answer to one request, paced and retried as every other: for
        `nexudus-pulumi probe`, which reads what the methods above leave out (a create's
        whole `Value`, one page of a listing)."""
        return self._call(method, path, json=json, params=params)

    def send_unpaced(self, path: str, params: Mapping[str, Any]) -> _Answer:
        """One GET sent at once, outside the pacer, without retries or throttle handling: for
        `nexudus-pulumi probe` alone, which meets the account's limit on purpose to see how
        Nexudus answers it. Only the pacer is skipped: the answer is read within the timeout
        and the size cap, and a redirect is refused, as for every other request."""
        deadline = _Deadline(self.settings.deadline_seconds)
        headers = {"Authorization": self._credentials.authorization(deadline)}
        try:
            answer = self._transport.exchange(
                "GET", path, deadline=deadline, headers=headers, params=params
            )
        except requests.RequestException as exc:
            failure = _network_failure(exc, self.settings)
            raise TransientError(
                f"GET {self.settings.base_url}{path} failed: {failure.reason}"
            ) from None
        if 300 <= answer.status_code < 400:
            raise self._transport.redirect_refused("GET", answer)
        return answer

    # ----- record operations -------------------------------------------------------------

    def create(self, collection: str, body: Mapping[str, Any]) -> Written:
        """POST a record; its new id is the answer's `Value.Id`."""
        request = f"POST {self.settings.base_url}{collection}"
        return Written.from_envelope(self._call("POST", collection, json=dict(body)), request)

    def get(self, collection: str, record_id: int | str) -> dict[str, Any]:
        """The record by id; an answer holding another record (or none) is refused."""
        path = f"{collection}/{record_id}"
        return self._the_record(self._call("GET", path), path)

    def update(self, collection: str, body: Mapping[str, Any]) -> Written:
        request = f"PUT {self.settings.base_url}{collection}"
        return Written.from_envelope(self._call("PUT", collection, json=dict(body)), request)

    def delete(self, collection: str, record_id: int | str) -> None:
        self._call("DELETE", f"{collection}/{record_id}")

    def fresh_write(
        self,
        collection: str,
        record_id: int,
        decide: Callable[[dict[str, Any] | None], Write | None],
    ) -> FreshWrite:
        """Read the record by id and send the write `decide` makes of it, in one pacer turn.

        The turn comes first: the GET and the write are booked back to back, so only one
        request's time separates the read from the write, however long the account's limits
        hold the turn back. After any wait between them (a 409/429 `Retry-After`, a 5xx
        backoff, a lost answer, a token renewal), the record is read again and `decide` asked
        again before anything is sent: nothing is written from a read older than the last
        wait. `decide` gets None when the record does not exist, and may raise to refuse the
        write (a record another owner took meanwhile); None from it sends nothing.
        """
        deadline = _Deadline(self.settings.deadline_seconds)
        attempts = _Attempts()
        path = f"{collection}/{record_id}"
        pacer = self._transport.pacer
        while True:
            self._transport.check_deadline("GET", path, deadline)
            self._credentials.authorization(deadline)  # a token request, if due, before the turn
            read_at, write_at = self._transport.book(path, deadline)
            booked = [(write_at, True)]
            try:
                try:
                    answer = self._call(
                        "GET", path, deadline=deadline, attempts=attempts, booked=read_at
                    )
                    record: dict[str, Any] | None = self._the_record(answer, path)
                except NotFoundError:
                    record = None
                write = decide(record)
                if write is None:
                    return FreshWrite(record, None, sent=False)
                booked = []
                if write.method == "DELETE":
                    try:
                        self._call(
                            "DELETE", path, deadline=deadline, attempts=attempts, booked=write_at
                        )
                    except NotFoundError:
                        return FreshWrite(None, None, sent=False)
                    return FreshWrite(record, None, sent=True)
                envelope = self._call(
                    "PUT",
                    collection,
                    json=write.body,
                    deadline=deadline,
                    attempts=attempts,
                    booked=write_at,
                )
                request = f"PUT {self.settings.base_url}{collection}"
                return FreshWrite(record, Written.from_envelope(envelope, request), sent=True)
            except _Again:
                continue
            finally:
                if booked:
                    pacer.release(booked)

    def _the_record(self, record: dict[str, Any], path: str) -> dict[str, Any]:
        request = f"GET {self.settings.base_url}{path}"
        found = _record_id(record.get("Id"), f"{request} answered a record with Id")
        if f"{path.rsplit('/', 1)[0]}/{found}" != path:
            raise InvalidAnswerError(f"{request} answered the record with Id {found} instead")
        return record

    def search(self, collection: str, filters: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """Every record matching the filters, page after page, oldest first.

        Every page is checked before its records are handed on: a page of records with valid
        ids. The listing is bounded three ways, since a `HasNextPage: true` forever is no
        reason to go on: by the page's own `TotalPages`, by a repeat check (a page that says
        more follow but brings no record not listed already), by `MAX_LISTED_RECORDS`, and by
        one deadline for the whole listing.
        """
        deadline = _Deadline(self.settings.deadline_seconds)
        seen: set[int] = set()
        page = 1
        while True:
            params = {"page": page, "size": SEARCH_PAGE_SIZE, "orderBy": "Id", "dir": "Ascending"}
            result = self._call("GET", collection, params={**params, **filters}, deadline=deadline)
            where = f"GET {self.settings.base_url}{collection} (page {page})"
            records = _page_records(result, where)
            ids = {_record_id(r.get("Id"), f"{where} listed a record with Id") for r in records}
            more = result.get("HasNextPage") is True
            if more and ids <= seen:
                raise InvalidAnswerError(
                    f"{where} says more pages follow but holds only records already listed (or "
                    "none): the listing does not advance"
                )
            total = result.get("TotalPages")
            if more and isinstance(total, int) and not isinstance(total, bool) and page >= total:
                raise InvalidAnswerError(
                    f"{where}: page {page} of TotalPages {total} still says HasNextPage"
                )
            seen |= ids
            if len(seen) > MAX_LISTED_RECORDS:
                raise InvalidAnswerError(
                    f"{where} takes the listing past {MAX_LISTED_RECORDS:,} records, more than "
                    "one listing may hold (a Nexudus account's records of one kind are far "
                    "fewer); the listing is stopped"
                )
            yield from records
            if not more:
                return
            page += 1

    def close(self) -> None:
        """Close the pooled connections: a process that ends closes them anyway; one that goes
        on (a test, a long-lived program) should not keep the server's side of them open."""
        self._session.close()

    def writes_left_today(self) -> int:
        """Writes the daily quota (`writes_per_day`) still allows, as far as this process (or
        every process sharing its pace file) has seen: for a plan that needs more."""
        return self._transport.pacer.writes_left_today()

    def plan_writes(self, step: str, count: int) -> tuple[int, int]:
        """Count the `count` writes one step of this run (a resource's create, update or
        replacement) plans: (writes planned so far, writes the day allowed when planning
        began). A step counted again (the preview and the update of one `pulumi up`) counts
        once. The provider counts at check and diff, before any write is sent, so a plan the
        daily quota cannot carry is said at preview."""
        with self._plan_lock:
            if self._plan_allows is None:
                self._plan_allows = self.writes_left_today()
            self._planned[step] = count
            return sum(self._planned.values()), self._plan_allows

    # ----- one request, with everything around it ----------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        deadline: _Deadline | None = None,
        attempts: _Attempts | None = None,
        booked: float | None = None,
    ) -> dict[str, Any]:
        """One request and its retries. With `booked` (a send time of a fresh write's turn),
        the first send goes at that time, and any wait it meets raises `_Again` once waited,
        for the fresh write to read the record again."""
        deadline = deadline or _Deadline(self.settings.deadline_seconds)
        tried = attempts or _Attempts()
        once = booked is not None
        while True:
            self._transport.check_deadline(method, path, deadline)
            try:
                answer = self._send(
                    method, path, json=json, params=params, deadline=deadline, booked=booked
                )
            except requests.RequestException as exc:
                failure = _network_failure(exc, self.settings)
                if method == "POST" and not failure.never_sent:
                    raise OutcomeUnknownError(
                        f"{failure.reason} on POST {self.settings.base_url}{path}: the POST may "
                        "or may not have landed",
                        answered=False,
                    ) from None
                tried.failures += 1
                self._transport.backoff_or_raise(method, path, failure, tried.failures, deadline)
                if once:
                    raise _Again from None
                continue

            status = answer.status_code
            if 300 <= status < 400:
                raise self._transport.redirect_refused(method, answer)
            if status in THROTTLE_STATUSES:
                self._transport.wait_throttled(answer, deadline, method, path)
                if once:
                    raise _Again from None
                continue
            if status >= 500:
                reason = f"HTTP {status} from Nexudus"
                said = _server_reason(answer)
                if method == "POST":
                    raise OutcomeUnknownError(
                        f"{reason}{said} on POST {self.settings.base_url}{path}: the POST may "
                        "or may not have landed",
                        answered=True,
                    )
                tried.failures += 1
                self._transport.backoff_or_raise(
                    method, path, _Failure(reason, said), tried.failures, deadline
                )
                if once:
                    raise _Again from None
                continue
            if status == 401:
                if not tried.renewed and self._credentials.can_renew():
                    tried.renewed = True
                    self._credentials.expire_token()
                    if once:
                        raise _Again from None
                    continue
                if tried.renewed or self._accepted:
                    # The credentials were accepted (a fresh token, an earlier answer): Nexudus
                    # answers 401 "Access Denied." for a missing role or an account limit too.
                    raise AuthorizationError(method, path, _verb(method, path), status)
                credentials = self._credentials
                credentials.refused = credentials.refusal(f"{method} {path} answered HTTP 401")
                raise credentials.refused
            if status == 403:
                raise AuthorizationError(method, path, _verb(method, path))
            if status == 404:
                raise NotFoundError(f"{path} was not found (HTTP 404)")
            self._accepted = True
            return _envelope(answer, f"{method} {answer.url}")

    def _send(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None,
        params: Mapping[str, Any] | None,
        deadline: _Deadline,
        booked: float | None = None,
    ) -> _Answer:
        headers = {"Authorization": self._credentials.authorization(deadline)}
        if booked is None:
            self._transport.take_turn(method, path, deadline, write=method in WRITE_METHODS)
        else:
            self._transport.pacer.sleep_until(booked)
        answer = self._transport.exchange(
            method, path, deadline=deadline, headers=headers, json=json, params=params
        )
        log.debug("%s %s -> %s", method, path, answer.status_code)
        return answer

    def backoff_delay(self, attempt: int) -> float:
        """Exponential backoff with full jitter, so retrying clients spread out."""
        return self._transport.backoff_delay(attempt)


@dataclass(frozen=True)
class _Failure:
    """One failed attempt: what went wrong, in words."""

    reason: str
    detail: str = ""
    """The API's own words, when it gave any."""
    network: bool = False
    """No answer at all (the connection failed), as opposed to an error answer."""
    never_sent: bool = False
    """The connection could not be opened, so even a POST is safe to send again."""
    permanent: bool = False
    """Retrying cannot mend it (a name that does not resolve, a port that refuses)."""


_NOT_AN_ID = f"not a record id (a whole number from 1 to {MAX_ID})"


def _record_id(value: Any, what: str) -> int:
    """`value` if it is a record id (an int from 1 to 2^31-1, not a bool), else an error that
    starts with `what` (`POST https://... answered Value.Id`)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise InvalidAnswerError(f"{what} {_shown(value)}: {_NOT_AN_ID}")
    return value


def _shown(value: Any) -> str:
    """A value from the API, as a short printable repr."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _page_records(result: dict[str, Any], where: str) -> list[dict[str, Any]]:
    records = result.get("Records")
    if not isinstance(records, list):
        raise InvalidAnswerError(f"{where} answered no Records list (Records: {_shown(records)})")
    for record in records:
        if not isinstance(record, dict):
            raise InvalidAnswerError(
                f"{where} listed a record that is not a JSON object: {_shown(record)}"
            )
    return records


def _read_capped(response: requests.Response, request: str) -> bytes:
    """The body, read in chunks and refused past `MAX_RESPONSE_BYTES` (announced or read)."""
    declared = response.headers.get("Content-Length", "")
    too_big = InvalidAnswerError(
        f"{request} answered a body larger than {MAX_RESPONSE_BYTES / 2**20:g} MiB; no Nexudus "
        "answer is that large, so it is refused unread"
    )
    if declared.isdigit() and int(declared) > MAX_RESPONSE_BYTES:
        raise too_big
    body = bytearray()
    for chunk in response.iter_content(READ_CHUNK_BYTES):
        body += chunk
        if len(body) > MAX_RESPONSE_BYTES:
            raise too_big
    return bytes(body)


class _TooDeepError(ValueError):
    """A JSON body nested deeper than `MAX_JSON_DEPTH`."""


def _json(answer: _Answer) -> Any:
    """The parsed body; `ValueError` if it is not JSON, `_TooDeepError` if it nests deeper than any
    Nexudus answer does (which Python's parser and Pulumi's serializer would crash on)."""
    try:
        body = jsonlib.loads(answer.content)
    except RecursionError:
        raise _TooDeepError from None
    todo: list[tuple[Any, int]] = [(body, 1)]
    while todo:
        value, depth = todo.pop()
        if depth > MAX_JSON_DEPTH:
            raise _TooDeepError
        inner = value.values() if isinstance(value, dict) else value
        if isinstance(value, dict | list):
            todo += [(v, depth + 1) for v in inner if isinstance(v, dict | list)]
    return body


def _not_json(answer: _Answer, exc: ValueError) -> str:
    """What a body that `_json` refused is, in words."""
    if isinstance(exc, _TooDeepError):
        return f"its body nests JSON deeper than {MAX_JSON_DEPTH} levels, as no Nexudus answer does"
    return (
        f"its body is not JSON ({_said(answer.headers.get('Content-Type')) or 'no content type'})"
    )


def _envelope(answer: _Answer, request: str) -> dict[str, Any]:
    """The JSON object of a success answer (empty for an empty body), raising for any
    `WasSuccessful: false` and for a body that is not a JSON object."""
    if not answer.content.strip():
        return {}
    try:
        body = _json(answer)
    except ValueError as exc:
        raise InvalidAnswerError(
            f"{request} answered HTTP {answer.status_code} but {_not_json(answer, exc)}"
        ) from None
    if not isinstance(body, dict):
        raise InvalidAnswerError(
            f"{request} answered HTTP {answer.status_code} but its body is not a JSON object"
        )
    rejected = _rejection(answer.status_code, body)
    if rejected is not None:
        raise rejected
    return body


def _loose_body(answer: _Answer) -> dict[str, Any]:
    """An error answer's JSON object, or {} for anything else: read for words only."""
    try:
        body = _json(answer)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _rejection(status: int, body: dict[str, Any]) -> ApiRejectedError | None:
    """The API's failure envelope as an error, or None when it reports no failure."""
    if status < 400 and body.get("WasSuccessful") is not False:
        return None
    listed = body.get("Errors")
    errors = [
        FieldError(_said(e.get("PropertyName")), _said(e.get("Message")))
        for e in (listed if isinstance(listed, list) else [])
        if isinstance(e, dict)
    ]
    return ApiRejectedError(status, _said(body.get("Message")), errors)


def _said(value: Any) -> str:
    """A text of the API's (a message, a field name) as it may reach a terminal or a log: every
    control character escaped (`display.visible`), so an ESC in it cannot drive the terminal."""
    return visible(str(value or ""))


def _server_reason(answer: _Answer) -> str:
    """`: <the API's reason>` when a server error carries the API's envelope (`WasSuccessful:
    false` and a message), for the message when the tries run out; else "". A bare message
    from the web server around the API ("An error has occurred.") is no reason."""
    body = _loose_body(answer)
    if body.get("WasSuccessful") is not False:
        return ""
    rejected = _rejection(answer.status_code, body)
    if rejected is None or not (rejected.summary or rejected.field_errors):
        return ""
    return f": {rejected.details}"


def _token_from(answer: _Answer) -> _Token:
    """The token of a 200 from the token endpoint, or one line saying what it held instead
    (never the token itself)."""

    def invalid(what: str) -> InvalidAnswerError:
        return InvalidAnswerError(f"POST {answer.url} answered HTTP 200 but {what}")

    try:
        body = _json(answer)
    except ValueError as exc:
        raise invalid(_not_json(answer, exc)) from None
    if not isinstance(body, dict):
        raise invalid("its body is not a JSON object")
    access = body.get("access_token")
    if not isinstance(access, str) or not access:
        raise invalid("it holds no access_token")
    if not is_header_safe(access):
        raise invalid("its access_token is not a token (a space, control or non-ASCII character)")
    lifetime = body.get("expires_in")
    if lifetime is None:
        lifetime = 3600
    if (
        isinstance(lifetime, bool)
        or not isinstance(lifetime, int | float)
        or not math.isfinite(lifetime)
        or lifetime <= 0
    ):
        raise invalid(f"its expires_in {_shown(lifetime)} is not a number of seconds")
    refresh = body.get("refresh_token")
    return _Token(
        access=access,
        refresh=refresh if isinstance(refresh, str) and refresh else None,
        expires_at=time.monotonic() + max(float(lifetime) - TOKEN_RENEW_MARGIN_SECONDS, 1.0),
    )


def _token_error(answer: _Answer) -> str:
    """`: invalid_grant (The user name or password is incorrect.)` from an OAuth error body."""
    body = _loose_body(answer)
    words = [_said(body[k]) for k in ("error", "error_description") if body.get(k)]
    if not words:
        return ""
    return ": " + words[0] + (f" ({words[1]})" if len(words) > 1 else "")


def _retry_after(answer: _Answer) -> tuple[float, str]:
    """How long a throttled answer asks us to wait, and how it asked: `Retry-After`, else
    the 429 body's "Wait N seconds.", else a second."""
    header = answer.headers.get("Retry-After", "")
    with contextlib.suppress(ValueError):
        wait = float(header)
        if math.isfinite(wait):
            return _bounded_wait(wait), f"Retry-After: {_said(header[:40])}"
    said = _WAIT_IN_WORDS.search(answer.content[:1000].decode("utf-8", "replace"))
    if said is not None:
        return _bounded_wait(float(said[1])), _said(repr(said[0][:60]))
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


def _network_failure(exc: requests.RequestException, settings: Settings) -> _Failure:
    """What went wrong with the connection, in words; whether the request certainly never
    left (the connection could not be opened), which makes even a POST safe to send again;
    and whether it cannot heal (a name that does not resolve, a port that refuses)."""
    chain = _exception_chain(exc)
    parts = urlsplit(settings.base_url)
    host = parts.hostname or settings.base_url
    timeout = f"{settings.timeout_seconds:g} s ({settings.name_of('timeout_seconds')})"
    unresolved = any(isinstance(e, NameResolutionError | socket.gaierror) for e in chain)
    refused = any(isinstance(e, ConnectionRefusedError) for e in chain)

    def failure(reason: str, *, never_sent: bool, permanent: bool = False) -> _Failure:
        return _Failure(reason, network=True, never_sent=never_sent, permanent=permanent)

    if isinstance(exc, requests.exceptions.ProxyError):
        proxy = _proxy_named(settings.base_url)
        what = "refused the connection" if refused else f"failed ({_last_words(chain)})"
        return failure(
            f"the proxy {proxy} {what}", never_sent=True, permanent=refused or unresolved
        )
    if unresolved:
        reason = f"the host name {host!r} does not resolve (DNS: {_last_words(chain)})"
        return failure(reason, never_sent=True, permanent=True)
    if isinstance(exc, requests.ConnectTimeout):
        return failure(f"no connection to {host} within {timeout}", never_sent=True)
    if refused:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        reason = f"{host} refused the connection on port {port} (nothing listens there)"
        return failure(reason, never_sent=True, permanent=True)
    if isinstance(exc, requests.exceptions.SSLError):
        return failure(
            f"the TLS handshake with {host} failed ({_last_words(chain)})", never_sent=True
        )
    if isinstance(exc, requests.ReadTimeout):
        return failure(f"no answer within {timeout}", never_sent=False)
    if any(isinstance(e, NewConnectionError) for e in chain):
        return failure(f"cannot connect to {host} ({_last_words(chain)})", never_sent=True)
    reason = f"the connection broke without an answer ({_last_words(chain)})"
    return failure(reason, never_sent=False)


def _proxy_named(url: str) -> str:
    """The proxy requests uses for `url`, without credentials, and the variable naming it."""
    proxy = requests.utils.select_proxy(url, requests.utils.get_environ_proxies(url)) or ""
    scheme = urlsplit(url).scheme
    names = (f"{scheme}_proxy", f"{scheme.upper()}_PROXY", "all_proxy", "ALL_PROXY")
    variable = next((name for name in names if os.environ.get(name) == proxy), None)
    shown = _origin(proxy if "://" in proxy else f"http://{proxy}")
    return f"{shown} ({variable})" if variable else shown


def _origin(url: str) -> str:
    """`scheme://host:port` of a URL, without credentials, path or anything unprintable."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "an unreadable address"
    origin = f"{parts.scheme}://{parts.hostname or ''}{port}"
    return "".join(c for c in origin if c.isprintable() and c != " ")


def _exception_chain(exc: BaseException) -> list[BaseException]:
    """The exception and everything it wraps (`args`, urllib3's `reason`, causes), outermost
    first."""
    seen: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo and len(seen) < 20:
        current = todo.pop(0)
        if any(current is known for known in seen):
            continue
        seen.append(current)
        inner = [*current.args, getattr(current, "reason", None)]
        inner += [current.__cause__, current.__context__]
        todo += [e for e in inner if isinstance(e, BaseException)]
    return seen


_OBJECT_REPR = re.compile(r"<[^<>]* at 0x[0-9a-f]+>: |\w+\(host='[^']*', port=\d+\): ")


def _last_words(chain: list[BaseException]) -> str:
    """The innermost message, without urllib3's object and pool prefixes."""
    return _OBJECT_REPR.sub("", str(chain[-1])) or type(chain[-1]).__name__


def _verb(method: str, path: str) -> str:
    """The verb of the Nexudus role a request needs (roles are `<Record>-<Verb>`)."""
    verb = {"POST": "Create", "PUT": "Edit", "DELETE": "Delete"}.get(method)
    if verb is not None:
        return verb
    return "Read" if path.rstrip("/").split("/")[-1].isdigit() else "List"


def _basic_authorization(username: str, password: str) -> str:
    pair = f"{username}:{password}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


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


_shared_lock = threading.Lock()
_shared: dict[Settings, NexudusClient] = {}


def shared_client(settings: Settings) -> NexudusClient:
    """The process's client for these settings, so every operation reuses one session and pacer."""
    with _shared_lock:
        client = _shared.get(settings)
        if client is None:
            client = _shared[settings] = NexudusClient(settings)
        return client
