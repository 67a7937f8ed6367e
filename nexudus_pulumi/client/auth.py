"""Authentication: the `Authorization` of every request, and what a 401 means.

The settings' pre-issued token is sent as it is. A username and password get a bearer token
from `/api/token` (refreshed before it expires, renewed after a 401), or Basic where Nexudus
does not offer the endpoint. A 401 is decided in one place, `Credentials.unauthorized`: with a
token we obtained ourselves, renew it once per operation; after a renewal, or once Nexudus has
accepted these credentials, it refuses the request (a role, a limit), not the credentials; any
other 401 refuses the credentials, for good.
"""

from __future__ import annotations

import base64
import logging
import math
import threading
import time
from dataclasses import dataclass

import requests

from ..errors import AuthenticationError, AuthorizationError, InvalidAnswerError
from ..settings import KEY_OF, Settings, is_header_safe
from .envelope import loose_body, not_json, parse_json, said, shown
from .failures import network_failure, verb
from .policy import THROTTLE_STATUSES, Attempts, Policy
from .wire import Answer, Deadline, Wire

log = logging.getLogger(__name__)

TOKEN_PATH = "/api/token"
TOKEN_RENEW_MARGIN_SECONDS = 60.0


@dataclass
class _Token:
    access: str
    refresh: str | None
    expires_at: float


class Credentials:
    """The credentials of every thread of a client. A refusal is kept: every later call fails
    at once with it, so a stack of many records makes one failed login, not one per record."""

    def __init__(self, settings: Settings, wire: Wire, policy: Policy) -> None:
        self.settings = settings
        self.wire = wire
        self.policy = policy
        self._lock = threading.Lock()
        self.token: _Token | None = None
        self._use_basic = False
        self.refused: AuthenticationError | None = None
        self._accepted = False
        """Whether Nexudus has answered an authenticated request: a 401 after that is a
        refusal of the request (a role, a limit), not of the credentials."""

    def authorization(self, deadline: Deadline) -> str:
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

    def accepted(self) -> None:
        """Nexudus answered a request with these credentials (not with a 401 or 403)."""
        self._accepted = True

    def unauthorized(self, method: str, path: str, attempts: Attempts) -> Attempts:
        """What a 401 to `method path` means: the attempts to send it again with a renewed
        token, or the error to fail with."""
        if not attempts.renewed and self.settings.token is None and not self._use_basic:
            with self._lock:  # the next request renews it (refresh grant first)
                if self.token is not None:
                    self.token.expires_at = float("-inf")
            return attempts.renewing()
        if attempts.renewed or self._accepted:
            # The credentials were accepted (a fresh token, an earlier answer): Nexudus
            # answers 401 "Access Denied." for a missing role or an account limit too.
            raise AuthorizationError(method, path, verb(method, path), 401)
        self.refused = self.refused_credentials(f"{method} {path} answered HTTP 401")
        raise self.refused

    def refused_credentials(self, what: str) -> AuthenticationError:
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

    def _obtain_token(self, previous: _Token | None, deadline: Deadline) -> _Token | None:
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
        answer: Answer | None = None
        for form in forms:
            answer = self._post_token_form(form, deadline)
            if answer is None:
                self._use_basic = True
                return None
            if answer.status_code == 200:
                return _token_from(answer)
        assert answer is not None
        self.refused = self.refused_credentials(
            f"POST {TOKEN_PATH} answered HTTP {answer.status_code}{_token_error(answer)}"
        )
        raise self.refused

    def _post_token_form(self, form: dict[str, str], deadline: Deadline) -> Answer | None:
        """POST /api/token (form-encoded), waiting out throttling and retrying a connection
        that failed, on the budget of any request; `None` if Nexudus does not offer the
        endpoint (404) or it is failing (5xx). A redirect is refused: the form holds the
        password."""
        policy = self.policy
        attempts = policy.attempts()
        while True:
            policy.check_deadline("POST", TOKEN_PATH, deadline)
            sent = policy.take_turn("POST", TOKEN_PATH, deadline, write=False)
            try:
                with policy.until_answered(sent, write=False):  # not a record write
                    answer = self.wire.exchange("POST", TOKEN_PATH, deadline=deadline, data=form)
            except requests.RequestException as exc:
                attempts = attempts.increment(network_failure(exc, self.settings))
                policy.backoff(attempts, "POST", TOKEN_PATH, deadline)
                continue
            status = answer.status_code
            log.debug("POST %s -> %s", TOKEN_PATH, status)
            if status in THROTTLE_STATUSES:
                policy.wait_throttled(answer, attempts, deadline, "POST", TOKEN_PATH)
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


def _token_from(answer: Answer) -> _Token:
    """The token of a 200 from the token endpoint, or one line saying what it held instead
    (never the token itself)."""

    def invalid(what: str) -> InvalidAnswerError:
        return InvalidAnswerError(f"POST {answer.url} answered HTTP 200 but {what}")

    try:
        body = parse_json(answer)
    except ValueError as exc:
        raise invalid(not_json(answer, exc)) from None
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
        raise invalid(f"its expires_in {shown(lifetime)} is not a number of seconds")
    refresh = body.get("refresh_token")
    return _Token(
        access=access,
        refresh=refresh if isinstance(refresh, str) and refresh else None,
        expires_at=time.monotonic() + max(float(lifetime) - TOKEN_RENEW_MARGIN_SECONDS, 1.0),
    )


def _token_error(answer: Answer) -> str:
    """`: invalid_grant (The user name or password is incorrect.)` from an OAuth error body."""
    body = loose_body(answer)
    words = [said(body[k]) for k in ("error", "error_description") if body.get(k)]
    if not words:
        return ""
    return ": " + words[0] + (f" ({words[1]})" if len(words) > 1 else "")


def _basic_authorization(username: str, password: str) -> str:
    pair = f"{username}:{password}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")
