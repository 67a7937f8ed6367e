"""Errors raised by the Nexudus client and provider.

Each error carries what a user needs to act on it, and never a credential: messages are built
from API field messages and our own text only, so they can reach Pulumi's output and logs as is.
"""

from __future__ import annotations

from dataclasses import dataclass


class NexudusError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigurationError(NexudusError):
    """The provider's configuration (stack config or environment) is unusable."""


class AuthenticationError(NexudusError):
    """Nexudus refused the credentials (HTTP 401). Retrying cannot help."""


class AuthorizationError(NexudusError):
    """The credentials are valid but the request is refused: the user lacks a role, or the
    account a limit. Nexudus says so with 401 "Access Denied." (a 403 in some documents), the
    same status as for a bad token, so the client tells them apart by whether the credentials
    were just accepted.

    Nexudus roles are named `<Record>-<Verb>` (ChatRoom-Create); the client knows the verb, the
    provider the record, so the provider completes the message with `role_for`.
    """

    def __init__(self, method: str, path: str, verb: str, status: int = 403) -> None:
        self.verb = verb
        super().__init__(
            f"Nexudus refused {method} {path} (HTTP {status}) although it accepts the credentials"
        )

    def role_for(self, record_name: str) -> str:
        return f"{record_name}-{self.verb}"


class RedirectRefusedError(NexudusError):
    """The API answered a redirect. Credentials go only to the configured origin, so none is
    followed: the message names the URL and where the redirect pointed."""


class InvalidAnswerError(NexudusError):
    """The API answered something we will not record or act on: an invalid record id, a page
    that is no page, a token answer that is no token, a body over the size cap."""


class NotFoundError(NexudusError):
    """The record does not exist (HTTP 404)."""


class RecordOperationError(NexudusError):
    """A lifecycle operation on one record failed or was refused; the message starts with the
    record it was about (`ChatRoom 'lobby': ...`)."""


class NotOursError(RecordOperationError):
    """The record now carries another owner's marker (a stack or integration took it over):
    this resource may no longer write it."""


@dataclass(frozen=True)
class FieldError:
    """One entry of the API's `Errors` list."""

    property_name: str
    message: str

    def __str__(self) -> str:
        return f"{self.property_name}: {self.message}" if self.property_name else self.message


class ApiRejectedError(NexudusError):
    """The API answered `WasSuccessful: false`, usually a 400 with field-level errors."""

    def __init__(self, status: int, summary: str, field_errors: list[FieldError]) -> None:
        self.status = status
        self.summary = summary
        self.field_errors = field_errors
        self.details = "; ".join(str(e) for e in field_errors) or summary or "no details given"
        """The API's own words: its field messages, else its `Message`."""
        super().__init__(f"the Nexudus API rejected the request (HTTP {status}): {self.details}")


class QuotaError(NexudusError):
    """What a run plans needs more of the account's daily quota than is left: said at preview,
    before any request is sent."""


class ThrottledError(NexudusError):
    """Nexudus kept answering 409 'wait before accessing this url again' past our deadline."""


class TransientError(NexudusError):
    """Server errors, dropped connections or timeouts outlasted the retries."""


class OutcomeUnknownError(TransientError):
    """A write was sent but no answer came back: it may or may not have been applied.

    Raised for POST only; callers resolve it by looking for the record (see the provider's
    create) instead of sending the POST again blindly.
    """

    def __init__(self, message: str, *, answered: bool) -> None:
        super().__init__(message)
        self.answered = answered
        """The server answered (a 5xx), so it has finished with the request: whatever it
        committed is visible now. Without an answer (a timeout, a dropped connection) the
        request may still be running, and may commit later."""


def message_first(exc: NexudusError) -> NexudusError:
    """`exc`, chained so that the traceback printed for it starts with its message.

    Pulumi's dynamic-provider host reports every exception as `traceback.format_exc()`
    (`_abort_with_traceback` in pulumi/dynamic/__main__.py; the SDK offers no way to leave the
    traceback out), and the engine shows that text's first line in the progress view. Python
    prints a chained cause first, and a cause that was never raised has no traceback, so its
    one line, `<type>: <message>`, leads. Use as `raise message_first(exc)`.
    """
    lead = type(exc).__new__(type(exc))
    lead.args = exc.args
    exc.__cause__ = lead
    exc.__suppress_context__ = True
    return exc


class ProbeError(NexudusError):
    """`nexudus-pulumi probe` cannot go on; the message says what to change."""


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived: raised where the work stands, so that its cleanup runs (a
    KeyboardInterrupt, so that no `except Exception` swallows it)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
