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
- 401 with a token we obtained ourselves: renew the token once. Any other 401/403: fail at once.
"""

from __future__ import annotations

import base64
import logging
import random
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from .errors import (
    ApiRejectedError,
    AuthenticationError,
    AuthorizationError,
    FieldError,
    NotFoundError,
    OutcomeUnknownError,
    ThrottledError,
    TransientError,
)
from .pacing import Pacer
from .settings import Settings

log = logging.getLogger(__name__)

WRITE_METHODS = frozenset({"POST", "PUT", "DELETE"})
TOKEN_PATH = "/api/token"
SEARCH_PAGE_SIZE = 100
BACKOFF_CAP_SECONDS = 8.0
DEFAULT_RETRY_AFTER_SECONDS = 1.0
TOKEN_RENEW_MARGIN_SECONDS = 60.0


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

    # ----- record operations -------------------------------------------------------------

    def create(self, collection: str, body: Mapping[str, Any]) -> int:
        """POST a record and return its new id (`Value.Id`)."""
        envelope = self._call("POST", collection, json=dict(body))
        value = envelope.get("Value")
        if not isinstance(value, dict) or not isinstance(value.get("Id"), int):
            raise ApiRejectedError(200, f"create answered without Value.Id: {envelope!r}", [])
        return int(value["Id"])

    def get(self, collection: str, record_id: int | str) -> dict[str, Any]:
        return self._call("GET", f"{collection}/{record_id}")

    def update(self, collection: str, body: Mapping[str, Any]) -> None:
        self._call("PUT", collection, json=dict(body))

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
                reason = f"{type(exc).__name__} talking to Nexudus"
                if method == "POST":
                    raise OutcomeUnknownError(
                        f"{reason}: the POST may or may not have landed"
                    ) from None
                failures += 1
                self._backoff_or_raise(method, path, reason, failures, deadline)
                continue

            status = response.status_code
            if status == 409:
                self._wait_throttled(response, deadline, method, path)
                continue
            if status >= 500:
                reason = f"HTTP {status} from Nexudus"
                if method == "POST":
                    raise OutcomeUnknownError(f"{reason}: the POST may or may not have landed")
                failures += 1
                self._backoff_or_raise(method, path, reason, failures, deadline)
                continue
            if status == 401:
                if not renewed and self._can_renew():
                    renewed = True
                    self._expire_token()
                    continue
                self._refused = AuthenticationError(
                    "Nexudus authentication failed (HTTP 401): check nexudus:username and "
                    "nexudus:password, or nexudus:token"
                )
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
        wait = _retry_after(response)
        if wait > deadline.remaining():
            raise ThrottledError(
                f"Nexudus kept throttling {method} {path} (HTTP 409, 'wait before accessing this "
                f"url again') for longer than the {deadline.seconds:.0f} s deadline: lower "
                "nexudus:writesPerMinute or raise nexudus:deadlineSeconds"
            )
        log.info("throttled on %s %s; waiting %.1f s", method, path, wait)
        self._pacer.pause(wait)

    def _backoff_or_raise(
        self, method: str, path: str, reason: str, failures: int, deadline: _Deadline
    ) -> None:
        if failures > self.settings.max_retries:
            raise TransientError(f"{method} {path} failed {failures} times, last: {reason}")
        delay = self.backoff_delay(failures)
        if delay > deadline.remaining():
            raise TransientError(f"{method} {path} ran out of its deadline, last: {reason}")
        log.info("%s on %s %s; retry %d in %.2f s", reason, method, path, failures, delay)
        time.sleep(delay)

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
            raise AuthenticationError(
                "no Nexudus credentials: set nexudus:username and nexudus:password (secret), or "
                "nexudus:token, or the NEXUDUS_USERNAME/NEXUDUS_PASSWORD/NEXUDUS_TOKEN variables"
            )
        with self._auth_lock:
            if self._refused is not None:  # refused while this thread waited for the lock
                raise self._refused
            token = self._token
            if not self._use_basic and (token is None or time.monotonic() >= token.expires_at):
                token = self._token = self._obtain_token(token, deadline)
            if self._use_basic or token is None:
                return _basic_authorization(settings.username, settings.password.get_secret_value())
            return "Bearer " + token.access

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
        for form in forms:
            response = self._post_token_form(form, deadline)
            if response is None:
                self._use_basic = True
                log.info("token endpoint unavailable; using Basic authentication")
                return None
            if response.status_code == 200:
                body = response.json()
                lifetime = float(body.get("expires_in") or 3600)
                return _Token(
                    access=str(body["access_token"]),
                    refresh=body.get("refresh_token"),
                    expires_at=time.monotonic() + max(lifetime - TOKEN_RENEW_MARGIN_SECONDS, 1.0),
                )
        self._refused = AuthenticationError(
            "Nexudus authentication failed: the token endpoint refused nexudus:username / "
            "nexudus:password (check them; an account with two-factor auth needs nexudus:token)"
        )
        raise self._refused

    def _post_token_form(
        self, form: dict[str, str], deadline: _Deadline
    ) -> requests.Response | None:
        """POST /api/token (form-encoded), waiting out throttling; `None` if it is unavailable."""
        while True:
            self._pacer.wait_turn(write=False)
            try:
                response = self._session.post(
                    self.settings.base_url + TOKEN_PATH,
                    data=form,
                    timeout=self.settings.timeout_seconds,
                )
            except requests.RequestException:
                return None
            log.debug("POST %s -> %s", TOKEN_PATH, response.status_code)
            if response.status_code == 409:
                self._wait_throttled(response, deadline, "POST", TOKEN_PATH)
                continue
            if response.status_code == 404 or response.status_code >= 500:
                return None
            return response

    def _can_renew(self) -> bool:
        return self.settings.token is None and not self._use_basic

    def _expire_token(self) -> None:
        """Treat our token as expired, so the next request renews it (refresh grant first)."""
        with self._auth_lock:
            if self._token is not None:
                self._token.expires_at = float("-inf")


def _envelope(response: requests.Response) -> dict[str, Any]:
    """The JSON body of an answer, raising for any `WasSuccessful: false`."""
    try:
        body = response.json() if response.content else {}
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {"Records": body}
    if response.status_code >= 400 or body.get("WasSuccessful") is False:
        errors = [
            FieldError(str(e.get("PropertyName") or ""), str(e.get("Message") or ""))
            for e in body.get("Errors") or []
            if isinstance(e, dict)
        ]
        raise ApiRejectedError(response.status_code, str(body.get("Message") or ""), errors)
    return body


def _retry_after(response: requests.Response) -> float:
    try:
        return max(float(response.headers.get("Retry-After", "")), 0.0)
    except ValueError:
        return DEFAULT_RETRY_AFTER_SECONDS


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
