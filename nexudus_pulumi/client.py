"""The Nexudus REST client: HTTP, authentication, pacing and retries, and nothing else.

It knows the API's envelopes and failure modes, not what a chat room is: record shapes live in
`models`, Pulumi's lifecycle in `provider`.

What is retried, and why:
- 409 (Nexudus's throttle answer) on any request: wait `Retry-After`, then again, until the
  operation's deadline. The wait also pauses every other thread's requests.
- 5xx, dropped connections and timeouts on GET, PUT and DELETE: these are idempotent, so they are
  retried up to `max_retries` times with exponential backoff and full jitter.
- POST is never re-sent here: when its outcome is unknown the caller gets `OutcomeUnknownError`
  and must look for the record first (see `RecordProvider.create`).
- POST is re-sent only when it certainly never left: the connection could not be opened (the
  host name does not resolve, the port refuses, TLS fails).
- A 500 that carries the API's own reason (`WasSuccessful: false` and a `Message`) is not
  retried: Nexudus has said why, and saying it again five times later helps nobody.
- 401 with a token we obtained ourselves: renew the token once. Any other 401/403: fail at once.

Every failure names the URL and the cause in words, and where a setting can fix it, the stack
config key or variable it came from.
"""

from __future__ import annotations

import base64
import logging
import random
import re
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import NameResolutionError, NewConnectionError

from .errors import (
    ApiRejectedError,
    AuthenticationError,
    AuthorizationError,
    ConfigurationError,
    FieldError,
    NexudusError,
    NotFoundError,
    OutcomeUnknownError,
    ThrottledError,
    TransientError,
)
from .pacing import Pacer
from .settings import DEFAULT_BASE_URL, KEY_OF, Settings

log = logging.getLogger(__name__)

WRITE_METHODS = frozenset({"POST", "PUT", "DELETE"})
TOKEN_PATH = "/api/token"
SEARCH_PAGE_SIZE = 100
BACKOFF_CAP_SECONDS = 8.0
DEFAULT_RETRY_AFTER_SECONDS = 1.0
TOKEN_RENEW_MARGIN_SECONDS = 60.0
QUOTA_WAIT_SECONDS = 60.0
"""A `Retry-After` longer than this is no per-minute limit: an hourly or daily quota is spent."""
TRANSIENT_SERVER_ERRORS = frozenset({502, 503, 504})
"""Gateway and availability errors: retried even when they carry a message."""


@dataclass(frozen=True)
class Written:
    """What a write's answer tells: the record's id and the envelope's audit fields."""

    id: int
    audit: dict[str, Any]
    """`UpdatedOn` and `UpdatedBy`, as the answer gave them (outputs without a GET)."""

    @classmethod
    def from_envelope(cls, envelope: dict[str, Any]) -> Written:
        value = envelope.get("Value")
        if not isinstance(value, dict) or not isinstance(value.get("Id"), int):
            raise ApiRejectedError(200, f"a write answered without Value.Id: {envelope!r}", [])
        audit = {k: envelope[k] for k in ("UpdatedOn", "UpdatedBy") if envelope.get(k) is not None}
        return cls(int(value["Id"]), audit)


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


class NexudusClient:
    """One per provider process: a pooled session, one token and one pacer shared by all threads."""

    def __init__(self, settings: Settings, session: requests.Session | None = None) -> None:
        self.settings = settings
        self._session = session or requests.Session()
        self._session.headers["Accept"] = "application/json"
        self._session.headers["User-Agent"] = "nexudus-pulumi"
        self._pacer = Pacer(
            min_interval=settings.min_interval_ms / 1000,
            requests_per_minute=settings.requests_per_minute,
            writes_per_minute=settings.writes_per_minute,
            pace_file=Path(settings.pace_file) if settings.pace_file else None,
        )
        self._auth_lock = threading.Lock()
        self._token: _Token | None = None
        self._use_basic = False
        self._refused: AuthenticationError | None = None
        """Set once Nexudus refused our credentials: every later call fails at once with it,
        so a stack of many rooms makes one failed login, not one per room."""
        self._verify_lock = threading.Lock()
        self._verified = False
        self._verify_error: NexudusError | None = None

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
        self._authorization(_Deadline(self.settings.deadline_seconds))
        if self._token is not None:
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

    def send_unpaced(self, path: str, params: Mapping[str, Any]) -> requests.Response:
        """One GET sent at once, outside the pacer, without retries or throttle handling: for
        `nexudus-pulumi probe` alone, which meets the account's limit on purpose to see how
        Nexudus answers it."""
        headers = {"Authorization": self._authorization(_Deadline(self.settings.deadline_seconds))}
        return self._session.get(
            self.settings.base_url + path,
            params=params,
            headers=headers,
            timeout=self.settings.timeout_seconds,
        )

    # ----- record operations -------------------------------------------------------------

    def create(self, collection: str, body: Mapping[str, Any]) -> Written:
        """POST a record; its new id is the answer's `Value.Id`."""
        return Written.from_envelope(self._call("POST", collection, json=dict(body)))

    def get(self, collection: str, record_id: int | str) -> dict[str, Any]:
        return self._call("GET", f"{collection}/{record_id}")

    def update(self, collection: str, body: Mapping[str, Any]) -> Written:
        return Written.from_envelope(self._call("PUT", collection, json=dict(body)))

    def delete(self, collection: str, record_id: int | str) -> None:
        self._call("DELETE", f"{collection}/{record_id}")

    def search(self, collection: str, filters: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """Every record matching the filters, page after page, oldest first."""
        page = 1
        while True:
            params = {"page": page, "size": SEARCH_PAGE_SIZE, "orderBy": "Id", "dir": "Ascending"}
            result = self._call("GET", collection, params={**params, **filters})
            yield from result.get("Records") or []
            if not result.get("HasNextPage"):
                return
            page += 1

    # ----- one request, with everything around it ----------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        deadline = _Deadline(self.settings.deadline_seconds)
        failures = 0
        renewed = False
        while True:
            try:
                response = self._send(method, path, json=json, params=params, deadline=deadline)
            except requests.RequestException as exc:
                cause, never_sent = _network_cause(exc, self.settings)
                if method == "POST" and not never_sent:
                    raise OutcomeUnknownError(
                        f"{cause} on POST {self.settings.base_url}{path}: the POST may or may "
                        "not have landed",
                        answered=False,
                    ) from None
                failures += 1
                self._backoff_or_raise(
                    method, path, _Failure(cause, network=True), failures, deadline
                )
                continue

            status = response.status_code
            if status == 409:
                self._wait_throttled(response, deadline, method, path)
                continue
            if status >= 500:
                rejected = _api_reason(response)
                if rejected is not None and status not in TRANSIENT_SERVER_ERRORS:
                    raise rejected  # the API said why: retrying will not change its mind
                said = f": {rejected.details}" if rejected is not None else ""
                reason = f"HTTP {status} from Nexudus"
                if method == "POST":
                    raise OutcomeUnknownError(
                        f"{reason}{said} on POST {self.settings.base_url}{path}: the POST may "
                        "or may not have landed",
                        answered=True,
                    )
                failures += 1
                self._backoff_or_raise(method, path, _Failure(reason, said), failures, deadline)
                continue
            if status == 401:
                if not renewed and self._can_renew():
                    renewed = True
                    self._expire_token()
                    continue
                self._refused = self._refusal(f"{method} {path} answered HTTP 401")
                raise self._refused
            if status == 403:
                raise AuthorizationError(method, path, _verb(method, path))
            if status == 404:
                raise NotFoundError(f"{path} was not found (HTTP 404)")
            return _envelope(response)

    def _send(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None,
        params: Mapping[str, Any] | None,
        deadline: _Deadline,
    ) -> requests.Response:
        headers = {"Authorization": self._authorization(deadline)}
        self._pacer.wait_turn(write=method in WRITE_METHODS)
        response = self._session.request(
            method,
            self.settings.base_url + path,
            json=json,
            params=params,
            headers=headers,
            timeout=self.settings.timeout_seconds,
        )
        log.debug("%s %s -> %s", method, path, response.status_code)
        return response

    def _wait_throttled(
        self, response: requests.Response, deadline: _Deadline, method: str, path: str
    ) -> None:
        """Wait as long as a 409 asks, or fail saying which limit bites and what can help."""
        wait = _retry_after(response)
        settings = self.settings
        write = method in WRITE_METHODS
        if wait > QUOTA_WAIT_SECONDS:
            quota = _quota(wait, write=write)
            if wait > deadline.remaining():
                until = datetime.now(UTC) + timedelta(seconds=wait)
                raise ThrottledError(
                    f"Nexudus asks to wait {_duration(wait)} before {method} {path} (HTTP 409, "
                    f"Retry-After: {wait:.0f}): {quota} of the account is used up. Lowering "
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
                f"Nexudus kept throttling {method} {path} (HTTP 409, 'wait before accessing this "
                f"url again') for longer than the {deadline.seconds:.0f} s deadline of one request "
                f"({settings.name_of('deadline_seconds')}): the account's limit of {limit} bites, "
                "shared with every other client of the account. Lower "
                f"{settings.name_of(knob)} (now {getattr(settings, knob)}) or raise "
                f"{settings.name_of('deadline_seconds')}"
            )
        else:
            log.info("throttled on %s %s; waiting %.1f s", method, path, wait)
        self._pacer.pause(wait)

    def _backoff_or_raise(
        self, method: str, path: str, failure: _Failure, failures: int, deadline: _Deadline
    ) -> None:
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
        if failure.network:
            return (
                f"cannot reach Nexudus at {settings.base_url} ({settings.origin('base_url')}): "
                f"{failure.reason}; {method} {path} gave up after {out_of}"
            )
        return (
            f"{method} {settings.base_url}{path} failed after {out_of}, last: "
            f"{failure.reason}{failure.detail}"
        )

    def backoff_delay(self, attempt: int) -> float:
        """Exponential backoff with full jitter, so retrying clients spread out."""
        ceiling = self.settings.backoff_base_ms / 1000 * 2**attempt
        return random.uniform(0, min(BACKOFF_CAP_SECONDS, ceiling))

    # ----- authentication ----------------------------------------------------------------

    def _authorization(self, deadline: _Deadline) -> str:
        if self._refused is not None:
            raise self._refused
        settings = self.settings
        if settings.token is not None:
            return "Bearer " + settings.token.get_secret_value()
        if settings.username is None or settings.password is None:
            raise AuthenticationError(f"no Nexudus credentials: {settings.credentials_hint()}")
        with self._auth_lock:
            if self._refused is not None:  # refused while this thread waited for the lock
                raise self._refused
            token = self._token
            if not self._use_basic and (token is None or time.monotonic() >= token.expires_at):
                token = self._token = self._obtain_token(token, deadline)
            if self._use_basic or token is None:
                return _basic_authorization(settings.username, settings.password.get_secret_value())
            return "Bearer " + token.access

    def _refusal(self, what: str) -> AuthenticationError:
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
        response: requests.Response | None = None
        for form in forms:
            response = self._post_token_form(form, deadline)
            if response is None:
                self._use_basic = True
                return None
            if response.status_code == 200:
                body = response.json()
                lifetime = float(body.get("expires_in") or 3600)
                return _Token(
                    access=str(body["access_token"]),
                    refresh=body.get("refresh_token"),
                    expires_at=time.monotonic() + max(lifetime - TOKEN_RENEW_MARGIN_SECONDS, 1.0),
                )
        assert response is not None
        self._refused = self._refusal(
            f"POST {TOKEN_PATH} answered HTTP {response.status_code}{_token_error(response)}"
        )
        raise self._refused

    def _post_token_form(
        self, form: dict[str, str], deadline: _Deadline
    ) -> requests.Response | None:
        """POST /api/token (form-encoded), waiting out throttling and retrying a connection
        that failed; `None` if Nexudus does not offer the endpoint (404) or it is failing (5xx).
        """
        failures = 0
        while True:
            self._pacer.wait_turn(write=False)
            try:
                response = self._session.post(
                    self.settings.base_url + TOKEN_PATH,
                    data=form,
                    timeout=self.settings.timeout_seconds,
                )
            except requests.RequestException as exc:
                cause, _ = _network_cause(exc, self.settings)
                failures += 1
                failure = _Failure(cause, network=True)
                self._backoff_or_raise("POST", TOKEN_PATH, failure, failures, deadline)
                continue
            log.debug("POST %s -> %s", TOKEN_PATH, response.status_code)
            if response.status_code == 409:
                self._wait_throttled(response, deadline, "POST", TOKEN_PATH)
                continue
            if response.status_code == 404 or response.status_code >= 500:
                log.info(
                    "POST %s answered HTTP %d (%s); using Basic authentication",
                    TOKEN_PATH,
                    response.status_code,
                    "not offered here" if response.status_code == 404 else "failing",
                )
                return None
            return response

    def _can_renew(self) -> bool:
        return self.settings.token is None and not self._use_basic

    def _expire_token(self) -> None:
        """Treat our token as expired, so the next request renews it (refresh grant first)."""
        with self._auth_lock:
            if self._token is not None:
                self._token.expires_at = float("-inf")


@dataclass(frozen=True)
class _Failure:
    """One failed attempt: what went wrong, in words."""

    reason: str
    detail: str = ""
    """The API's own words, when it gave any."""
    network: bool = False
    """No answer at all (the connection failed), as opposed to an error answer."""


def _envelope(response: requests.Response) -> dict[str, Any]:
    """The JSON body of an answer, raising for any `WasSuccessful: false`."""
    body = _body(response)
    rejected = _rejection(response.status_code, body)
    if rejected is not None:
        raise rejected
    return body


def _body(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json() if response.content else {}
    except ValueError:
        body = {}
    return body if isinstance(body, dict) else {"Records": body}


def _rejection(status: int, body: dict[str, Any]) -> ApiRejectedError | None:
    """The API's failure envelope as an error, or None when it reports no failure."""
    if status < 400 and body.get("WasSuccessful") is not False:
        return None
    errors = [
        FieldError(str(e.get("PropertyName") or ""), str(e.get("Message") or ""))
        for e in body.get("Errors") or []
        if isinstance(e, dict)
    ]
    return ApiRejectedError(status, str(body.get("Message") or ""), errors)


def _api_reason(response: requests.Response) -> ApiRejectedError | None:
    """A server error's own explanation, if it gave one: the API's envelope with
    `WasSuccessful: false` and a message. A bare `{"Message": "An error has occurred."}` from the
    web server around the API is no reason and stays retryable."""
    body = _body(response)
    if body.get("WasSuccessful") is not False:
        return None
    rejected = _rejection(response.status_code, body)
    if rejected is None or not (rejected.summary or rejected.field_errors):
        return None
    return rejected


def _token_error(response: requests.Response) -> str:
    """`: invalid_grant (The user name or password is incorrect.)` from an OAuth error body."""
    body = _body(response)
    words = [str(body[k]) for k in ("error", "error_description") if body.get(k)]
    if not words:
        return ""
    return ": " + words[0] + (f" ({words[1]})" if len(words) > 1 else "")


def _retry_after(response: requests.Response) -> float:
    try:
        return max(float(response.headers.get("Retry-After", "")), 0.0)
    except ValueError:
        return DEFAULT_RETRY_AFTER_SECONDS


def _quota(wait: float, *, write: bool) -> str:
    """Which published limit makes Nexudus ask for a wait of more than a minute."""
    if wait > 3600:
        return (
            "the daily quota of 5,000 writes (or of 200,000 requests)"
            if write
            else ("the daily quota of 200,000 requests")
        )
    return "the hourly quota of 5,000 requests" + (
        " (or the daily one of 5,000 writes)" if write else ""
    )


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h {minutes % 60:02d} min"


def _network_cause(exc: requests.RequestException, settings: Settings) -> tuple[str, bool]:
    """What went wrong with the connection, in words, and whether the request certainly never
    left (the connection could not be opened), which makes even a POST safe to send again."""
    chain = _exception_chain(exc)
    parts = urlsplit(settings.base_url)
    host = parts.hostname or settings.base_url
    timeout = f"{settings.timeout_seconds:g} s ({settings.name_of('timeout_seconds')})"
    if any(isinstance(e, NameResolutionError | socket.gaierror) for e in chain):
        return f"the host name {host!r} does not resolve (DNS: {_last_words(chain)})", True
    if isinstance(exc, requests.ConnectTimeout):
        return f"no connection to {host} within {timeout}", True
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return f"{host} refused the connection on port {port} (nothing listens there)", True
    if isinstance(exc, requests.exceptions.SSLError):
        return f"the TLS handshake with {host} failed ({_last_words(chain)})", True
    if isinstance(exc, requests.ReadTimeout):
        return f"no answer within {timeout}", False
    if any(isinstance(e, NewConnectionError) for e in chain):
        return f"cannot connect to {host} ({_last_words(chain)})", True
    return f"the connection broke without an answer ({_last_words(chain)})", False


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


_shared_lock = threading.Lock()
_shared: dict[Settings, NexudusClient] = {}


def shared_client(settings: Settings) -> NexudusClient:
    """The process's client for these settings, so every operation reuses one session and pacer."""
    with _shared_lock:
        client = _shared.get(settings)
        if client is None:
            client = _shared[settings] = NexudusClient(settings)
        return client
