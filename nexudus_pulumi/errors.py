"""Every error this package raises on purpose, in one place.

Each error carries what a user needs to act on it, and never a credential: messages are built
from API field messages and our own text only, so they can reach Pulumi's output and logs as is.
Its attributes say what it is about (the record, the file, the status, `reason`), so a caller
or a test tells cases apart without reading the message, which is for people.

    Exception
    +-- NexudusError
    |   +-- ConfigurationError
    |   |   +-- MissingCredentialsError       a command found no credentials to run with
    |   +-- AuthenticationError
    |   +-- AuthorizationError                method, path, verb, status
    |   +-- RedirectRefusedError
    |   +-- InvalidAnswerError
    |   +-- NotFoundError
    |   +-- RecordOperationError              record_id, failure (the client's error)
    |   |   +-- NotOursError                  owner
    |   +-- ApiRejectedError                  status, summary, field_errors
    |   +-- QuotaError
    |   +-- ThrottledError
    |   +-- TransientError
    |   |   +-- OutcomeUnknownError           answered
    |   +-- StackFileError                    reason, path, key, line
    |   +-- ExportError                       reason, path, map, key, record_id, business, ...
    |   +-- CloneError                        reason, path, stack, key, business, ...
    |   +-- ProbeError                        reason, noun, marker, business
    +-- OSError
    |   +-- PaceFileError                     reason, path
    |   +-- PaceLedgerError                   url (without its password)
    +-- TurnTooFar                            wait, limit (an outcome the client acts on)
    +-- KeyboardInterrupt
        +-- Interrupted                       signum

`reason` is a short fixed word per case (`already-declared`, `symlink`...), listed with each
class as a `Literal`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal


class NexudusError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigurationError(NexudusError):
    """The provider's configuration (stack config or environment) is unusable."""


class MissingCredentialsError(ConfigurationError):
    """A command run from the environment (export, probe) found no credentials in it."""


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
        self.method = method
        self.path = path
        self.verb = verb
        self.status = status
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

    def __init__(
        self, message: str, *, record_id: int | None = None, failure: NexudusError | None = None
    ) -> None:
        super().__init__(message)
        self.record_id = record_id
        """The Nexudus id of the record, when there is one."""
        self.failure = failure
        """The client's error this one reports (an `ApiRejectedError` with the API's status and
        field errors, an `AuthorizationError`...), when the API refused or failed."""


class NotOursError(RecordOperationError):
    """The record now carries another owner's marker (a stack or integration took it over):
    this resource may no longer write it."""

    def __init__(self, message: str, *, record_id: int, owner: str) -> None:
        super().__init__(message, record_id=record_id)
        self.owner = owner
        """Who holds it, in words: `the Pulumi resource nexudus-rooms/sa/lobby (stack id ...)`,
        `another integration (its SystemId is 'crm:42')`."""


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


StackFileProblem = Literal[
    "no-project",
    "no-name",
    "missing",
    "not-a-mapping",
    "too-many-values",
    "too-deep",
    "invalid-yaml",
    "duplicate-key",
]


class StackFileError(NexudusError):
    """A project or stack file is missing, is not YAML, or is not shaped as Pulumi expects."""

    def __init__(
        self,
        message: str,
        *,
        reason: StackFileProblem,
        path: Path,
        key: str | None = None,
        line: int | None = None,
    ) -> None:
        super().__init__(message)
        self.reason: StackFileProblem = reason
        self.path = path
        self.key = key
        """The config key whose value is wrong (`config`, `nexudus-rooms:rooms`)."""
        self.line = line
        """Where the YAML stops being readable (1-based), when the parser says."""


ExportProblem = Literal[
    "already-declared",
    "encrypted-map",
    "other-business",
    "no-records",
    "bad-import-id",
    "adopted-twice",
    "refused",
    "no-role",
    "no-pulumi",
    "encryption-failed",
    "no-stack",
]


class ExportError(NexudusError):
    """Export cannot go on; the message says what to change. Nothing was written."""

    def __init__(
        self,
        message: str,
        *,
        reason: ExportProblem,
        path: Path | None = None,
        map_name: str | None = None,
        keys: tuple[str, ...] = (),
        record_id: int | None = None,
        business: int | None = None,
        declared: Mapping[str, int] | None = None,
        stack: str | None = None,
        role: str | None = None,
    ) -> None:
        super().__init__(message)
        self.reason: ExportProblem = reason
        self.path = path
        """The stack file."""
        self.map_name = map_name
        """The record type's map (`rooms`)."""
        self.keys = keys
        """The keys of that map the error is about."""
        self.record_id = record_id
        self.business = business
        self.declared = dict(declared or {})
        """Config key -> how many records the file declares there already."""
        self.stack = stack
        self.role = role
        """The Nexudus role the credentials lack (`ChatRoom-List`)."""


CloneProblem = Literal[
    "bad-business-map",
    "bad-business",
    "not-a-mapping",
    "unmapped-business",
    "no-secret",
    "no-source",
    "target-exists",
    "no-pulumi",
    "pulumi-failed",
    "wrong-passphrase",
]


class CloneError(NexudusError):
    """The clone cannot be made; the message says what to change. Nothing was created (what
    could not be undone is said in the message, and in `undone`)."""

    def __init__(
        self,
        message: str,
        *,
        reason: CloneProblem,
        path: Path | None = None,
        stack: str | None = None,
        key: str | None = None,
        businesses: tuple[int, ...] = (),
        command: tuple[str, ...] = (),
        undone: str | None = None,
    ) -> None:
        super().__init__(message)
        self.reason: CloneProblem = reason
        self.path = path
        """The stack file (the source's, or the target's that is in the way)."""
        self.stack = stack
        self.key = key
        """Where in the file: `nexudus-rooms:rooms.events`, `nexudus:password`."""
        self.businesses = businesses
        """The business ids the error is about (unmapped, or named twice)."""
        self.command = command
        """The Pulumi command that failed, without the path of the CLI."""
        self.undone = undone
        """After a failure once the stack was made: how the clone was undone, or what is left."""

    def after_undo(self, undone: str) -> CloneError:
        """This error, told how the failed clone was undone (`undone`, a line for the user)."""
        return CloneError(
            f"{self}\n{undone}",
            reason=self.reason,
            path=self.path,
            stack=self.stack,
            key=self.key,
            businesses=self.businesses,
            command=self.command,
            undone=undone,
        )


ProbeProblem = Literal["no-administrator", "no-record-id"]


class ProbeError(NexudusError):
    """`nexudus-pulumi probe` cannot go on; the message says what to change."""

    def __init__(
        self,
        message: str,
        *,
        reason: ProbeProblem,
        business: int | None = None,
        noun: str | None = None,
        marker: str | None = None,
    ) -> None:
        super().__init__(message)
        self.reason: ProbeProblem = reason
        self.business = business
        self.noun = noun
        """The record type the error is about (`room`)."""
        self.marker = marker
        """The `SystemId` of a record the probe may have left behind."""


PaceFileProblem = Literal[
    "cannot-open", "symlink", "folder", "not-a-file", "foreign", "writable", "locked", "not-pace"
]


class PaceFileError(OSError):
    """The pace file cannot be opened or locked, or holds something that is not pace data."""

    def __init__(self, message: str, *, reason: PaceFileProblem, path: Path) -> None:
        super().__init__(message)
        self.reason: PaceFileProblem = reason
        self.path = path


class PaceLedgerError(OSError):
    """The Redis pace ledger cannot be reached when the provider starts, or refuses it."""

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message)
        self.url = url
        """The ledger's URL as messages show it: without its password."""


class TurnTooFar(Exception):  # noqa: N818 - an outcome, not a failure of the pacer
    """The next turn comes later than the caller may wait: `wait` seconds, set by `limit`."""

    def __init__(self, wait: float, limit: str) -> None:
        super().__init__(f"the next turn is {wait:.0f} s away ({limit})")
        self.wait = wait
        self.limit = limit
        """`pause`, `interval`, or the `Limits` field that sets the turn."""


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived: raised where the work stands, so that its cleanup runs (a
    KeyboardInterrupt, so that no `except Exception` swallows it)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
