"""Pulumi's dynamic-provider lifecycle mapped onto the Nexudus client, for any record type.

A record type is a `RecordSpec` (where it lives, its inputs model, what forces a replacement);
`RecordProvider` does the rest. `chatroom.py` is the only record type today.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, ClassVar

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)
from pydantic import ValidationError

from .client import NexudusClient, shared_client
from .diagnostics import show_logs
from .errors import (
    AuthorizationError,
    NexudusError,
    NotFoundError,
    OutcomeUnknownError,
    message_first,
)
from .models import RecordInputs
from .settings import Settings

log = logging.getLogger(__name__)

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""How the Pulumi engine spells a value not known yet (an output of a resource still to create)."""

PROVIDER_KEY = "__provider"
CREATE_ATTEMPTS = 5


@dataclass(frozen=True)
class RecordSpec:
    """Everything the provider needs to know about one Nexudus record type."""

    record_name: str
    """As in role names and messages: `ChatRoom`."""
    collection: str
    """The REST collection: `/api/support/chatrooms`."""
    inputs_model: type[RecordInputs]
    replace_on: frozenset[str]
    """Inputs (camelCase) that cannot change in place: a change creates a new record."""


class RecordOperationError(NexudusError):
    """A lifecycle operation failed; the message starts with the record it was about."""


def _is_unknown(value: Any) -> bool:
    if value == UNKNOWN:
        return True
    if isinstance(value, list):
        return any(_is_unknown(v) for v in value)
    if isinstance(value, dict):
        return any(_is_unknown(v) for v in value.values())
    return False


def _property(error: Any) -> str:
    """The input a pydantic error is about, as Pulumi should name it.

    A key that is the empty string is shown quoted so the failure still names something; an
    error about the record as a whole (a model validator) has no location and names no input.
    """
    loc = error["loc"]
    if not loc:
        return ""
    return str(loc[0]) or '""'


def _reason(error: Any) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "missing":
        message = "is required"
    elif error["type"] == "extra_forbidden":
        message = "is not a known property"
    rest = [str(part) for part in error["loc"][1:]]
    return f"item {'.'.join(rest)}: {message}" if rest else message


class RecordProvider(ResourceProvider):
    """The Pulumi lifecycle of one Nexudus record type; subclasses set `spec`.

    Instances are pickled into every resource's state by reference (the class is importable), and
    `__getstate__` keeps them empty: the client, session and credentials exist only in the
    provider process, built in `configure` from stack config and the environment.
    """

    spec: ClassVar[RecordSpec]
    serialize_as_secret_always = False

    def __init__(self) -> None:
        super().__init__()
        self._client: NexudusClient | None = None
        self._settings_error: NexudusError | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._client = None
        self._settings_error = None

    def configure(self, req: ConfigureRequest) -> None:
        """Validate the settings and prove them, so `pulumi preview` fails where `up` would.

        The engine configures a provider in the provider process just before its first check
        (`get_provider` in pulumi/dynamic/__main__.py), so what is raised here stops preview:
        a bad value names its key; a wrong password or an unreachable address is found by one
        request (`NexudusClient.verify`, once per process). Without credentials, or with
        `nexudus:skipCredentialsValidation`, preview checks the declarations only.
        """
        try:
            settings = Settings.load(req.config.get)
            show_logs(settings.log_level)
            client = shared_client(settings)
            if not settings.has_credentials:
                log.warning(
                    "no Nexudus credentials, so only the declarations are checked; operations "
                    "that need the API will fail: %s",
                    settings.credentials_hint(),
                )
            elif settings.skip_credentials_validation:
                log.info("address and credentials not checked (skipCredentialsValidation)")
            else:
                client.verify(self.spec.collection)
        except NexudusError as exc:
            raise message_first(exc)  # noqa: B904 - the chained cause is the message itself
        self._client = client

    @property
    def client(self) -> NexudusClient:
        if self._client is None:
            raise RecordOperationError(
                "the Nexudus provider was not configured (no Configure call from the engine)"
            )
        return self._client

    # ----- inputs ---------------------------------------------------------------------------

    def _input_props(self, props: dict[str, Any]) -> dict[str, Any]:
        ignored = {PROVIDER_KEY, *self.spec.inputs_model.output_names()}
        return {k: v for k, v in props.items() if k not in ignored}

    def _parse(self, props: dict[str, Any]) -> RecordInputs:
        return self.spec.inputs_model.model_validate(self._input_props(props))

    def _label(self, props: dict[str, Any]) -> str:
        tag = props.get("ownerTag")
        key = tag.rsplit("/", 1)[-1] if isinstance(tag, str) and tag else None
        name = props.get("name")
        label = f"{self.spec.record_name} {key or name or '(unnamed)'!r}"
        if key and isinstance(name, str) and name and name != key:
            label += f" (name {name!r})"
        return label

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        props = self._input_props(news)
        unknown = {k for k, v in props.items() if _is_unknown(v)}
        known = {k: v for k, v in props.items() if k not in unknown}
        try:
            inputs = self.spec.inputs_model.model_validate(known)
        except ValidationError as exc:
            # An unknown value (preview) is checked once it is known; a failure of a known one
            # is reported now, next to it.
            failures = [
                CheckFailure(_property(err), _reason(err))
                for err in exc.errors(include_url=False)
                if _property(err) not in unknown
            ]
            return CheckResult(news, failures)
        if unknown:
            return CheckResult(news, [])
        # The engine puts `__provider` back into whatever inputs check returns.
        return CheckResult(inputs.model_dump(by_alias=True, exclude_none=True), [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        old = self._comparable(olds)
        new = self._comparable(news)
        changed = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
        replaces = [k for k in changed if k in self.spec.replace_on]
        return DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=False)

    def _comparable(self, props: dict[str, Any]) -> dict[str, Any]:
        """Inputs with defaults and normal forms applied, bookkeeping left out."""
        raw = self._input_props(props)
        if any(_is_unknown(v) for v in raw.values()):
            declared = raw
        else:
            try:
                declared = self.spec.inputs_model.model_validate(raw, strict=False).declared()
            except ValidationError:
                declared = raw
        bookkeeping = self.spec.inputs_model.BOOKKEEPING
        return {k: v for k, v in declared.items() if k not in bookkeeping and v is not None}

    # ----- operations -----------------------------------------------------------------------

    def create(self, props: dict[str, Any]) -> CreateResult:
        label = self._label(props)
        try:
            inputs = self._parse(props)
            record_id = self._create_exactly_once(inputs, label)
            record = self.client.get(self.spec.collection, record_id)
        except NexudusError as exc:
            raise self._failure(label, "create", exc) from None
        return CreateResult(str(record_id), self._outputs(inputs, record))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        label = self._label(props)
        try:
            record = self.client.get(self.spec.collection, id_)
        except NotFoundError:
            return ReadResult(None, {})
        except NexudusError as exc:
            raise self._failure(label, f"read of id {id_}", exc) from None
        tag = props.get("ownerTag") if isinstance(props.get("ownerTag"), str) else None
        inputs = self.spec.inputs_model.from_record(record, tag)
        outputs = self._outputs(inputs, record)
        return ReadResult(id_, outputs, inputs.model_dump(by_alias=True, exclude_none=True))

    def update(self, id_: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        label = self._label(news)
        try:
            inputs = self._parse(news)
            self.client.update(self.spec.collection, {"Id": int(id_), **inputs.to_api()})
            record = self.client.get(self.spec.collection, id_)
        except NotFoundError:
            raise RecordOperationError(
                f"{label}: update of id {id_} failed: it no longer exists in Nexudus; run "
                "`pulumi refresh` so Pulumi forgets it, then `pulumi up` creates it again"
            ) from None
        except NexudusError as exc:
            raise self._failure(label, f"update of id {id_}", exc) from None
        return UpdateResult(self._outputs(inputs, record))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        try:
            self.client.delete(self.spec.collection, id_)
        except NotFoundError:
            log.info("%s: id %s was already gone", self._label(props), id_)
        except NexudusError as exc:
            raise self._failure(self._label(props), f"delete of id {id_}", exc) from None

    # ----- helpers ----------------------------------------------------------------------------

    def _create_exactly_once(self, inputs: RecordInputs, label: str) -> int:
        """POST the record once, finding it again instead of re-posting when an answer is lost.

        The record carries a marker in `SystemId` (`pulumi:<project>/<stack>/<key>`). Before the
        first POST we look for a record with our marker: one is there when an earlier run was
        killed after Nexudus committed the create but before Pulumi saved its id. After a POST
        whose outcome is unknown we look again and adopt what we find; only when the record is
        certainly absent is the POST sent again.
        """
        if inputs.import_id is not None:
            return self._adopt(inputs, self.client.get(self.spec.collection, inputs.import_id))
        found = self._find_marked(inputs)
        if found is not None:
            log.info("%s: adopting id %s, created earlier by this stack", label, found["Id"])
            return self._adopt(inputs, found)
        last: OutcomeUnknownError | None = None
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            try:
                return self.client.create(self.spec.collection, inputs.to_api())
            except OutcomeUnknownError as exc:
                if inputs.marker is None:
                    raise
                last = exc
                found = self._find_marked(inputs)
                if found is not None:
                    log.info("%s: create answer lost; found id %s, adopting", label, found["Id"])
                    return int(found["Id"])
                time.sleep(self.client.backoff_delay(attempt))
        assert last is not None
        raise last

    def _adopt(self, inputs: RecordInputs, record: dict[str, Any]) -> int:
        """Take an existing record under management: bring it to the declared state and mark it.

        A replacement-only input (the business) that differs is refused rather than changed in
        place: adopting must not move a room the API would not move.
        """
        current = self.spec.inputs_model.from_record(record, None).declared()
        wanted = inputs.declared()
        for name in sorted(self.spec.replace_on):
            if current.get(name) != wanted.get(name):
                raise RecordOperationError(
                    f"cannot adopt id {record['Id']}: its {name} is {current.get(name)!r}, "
                    f"the declaration says {wanted.get(name)!r}"
                )
        if current != wanted or record.get("SystemId") != inputs.marker:
            self.client.update(self.spec.collection, {"Id": record["Id"], **inputs.to_api()})
        return int(record["Id"])

    def _find_marked(self, inputs: RecordInputs) -> dict[str, Any] | None:
        marker = inputs.marker
        if marker is None:
            return None
        for record in self.client.search(self.spec.collection, inputs.search_filters()):
            if record.get("SystemId") == marker:
                return record
        return None

    def _outputs(self, inputs: RecordInputs, record: dict[str, Any]) -> dict[str, Any]:
        declared = inputs.model_dump(by_alias=True, exclude_none=True)
        return {**declared, **self.spec.inputs_model.outputs_from_record(record)}

    def _failure(self, label: str, action: str, exc: NexudusError) -> RecordOperationError:
        message = f"{label}: {action} failed: {exc}"
        if isinstance(exc, AuthorizationError):
            role = exc.role_for(self.spec.record_name)
            message += f"; the Nexudus user lacks the role {role} (or full administrator rights)"
        return RecordOperationError(message)
