"""Pulumi's dynamic-provider lifecycle mapped onto the Nexudus client, for any record type.

A record type is a `RecordSpec` (where it lives, its inputs model, what forces a replacement);
`RecordProvider` does the rest:

- `check` validates a declaration before any request, and shows at preview what adopting an
  existing record (`importId`) would change, or refuses it when another resource owns it.
- `diff` compares only the fields the user declared: a field left out is Nexudus's to change.
- `create` costs one POST. It first looks for a record carrying this resource's owner marker in
  the process's one listing of the account (a run killed after Nexudus committed a create), and
  after a POST whose outcome is unknown it searches again, long enough for a slow create to land.
- `update` costs one PUT carrying the whole record: declared fields as declared, the others as
  Nexudus holds them (the reference does not say what a PUT does with a field it is not sent).
- `read` is served from one listing of the record's business per process, not a GET per record.
"""

from __future__ import annotations

import contextlib
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
from pulumi.output import Unknown
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
from .listing import Listings
from .models import RecordInputs, api_name, normalise
from .ownership import Marker, describe_owner
from .settings import Settings

log = logging.getLogger(__name__)

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""How the Pulumi engine spells a value not known yet (an output of a resource still to create);
the SDK hands it to check and diff as `pulumi.output.Unknown` during a preview."""

PROVIDER_KEY = "__provider"
CREATE_ATTEMPTS = 5
LOST_ANSWER_FIRST_WAIT_SECONDS = 0.5
LOST_ANSWER_MAX_WAIT_SECONDS = 4.0


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


@dataclass(frozen=True)
class _Outcome:
    """A record as a create or update left it: its id, its fields, its read-only fields."""

    id: int
    fields: dict[str, Any]
    read_only: dict[str, Any]


class RecordOperationError(NexudusError):
    """A lifecycle operation failed; the message starts with the record it was about."""


def _is_unknown(value: Any) -> bool:
    if isinstance(value, Unknown) or value == UNKNOWN:
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


def _changes(before: dict[str, Any], after: dict[str, Any]) -> str:
    """`name 'Old' -> 'New', active False -> True`: what a write will change, for people."""
    return ", ".join(
        f"{k} {before.get(k)!r} -> {v!r}" for k, v in after.items() if before.get(k) != v
    )


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
        self._listings: Listings | None = None
        self._held: dict[str, set[int]] = {}
        """Marker text -> the ids the state holds for that resource, as `diff` saw them. When a
        business change replaces the resource, the record replaced carries the marker too, yet
        it is no orphan to adopt or delete: Pulumi deletes it next, unless `retainOnDelete`
        keeps it."""
        self._adopted: set[int] = set()
        """Records this process adopted as left by an interrupted run: each is now some
        resource's record. `pulumi up --replace` calls neither `diff` nor `check` with the old
        inputs, so its create takes the record it replaces for such an orphan; the delete of
        the original that follows, the same id, must then leave it alone."""

    def __getstate__(self) -> dict[str, Any]:
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__()  # type: ignore[misc]

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
        self._listings = Listings(
            lambda filters: client.search(self.spec.collection, filters),
            self.model.BUSINESS_FILTER,
        )

    @property
    def client(self) -> NexudusClient:
        if self._client is None:
            raise _not_configured()
        return self._client

    @property
    def listings(self) -> Listings:
        if self._listings is None:
            raise _not_configured()
        return self._listings

    @property
    def model(self) -> type[RecordInputs]:
        return self.spec.inputs_model

    # ----- inputs ---------------------------------------------------------------------------

    def _input_props(self, props: dict[str, Any]) -> dict[str, Any]:
        ignored = {PROVIDER_KEY, *self.model.output_names()}
        return {k: v for k, v in props.items() if k not in ignored and v is not None}

    def _parse(self, props: dict[str, Any]) -> RecordInputs:
        return self.model.model_validate(self._input_props(props))

    def _label(self, props: dict[str, Any]) -> str:
        tag = props.get("ownerTag")
        key = Marker.from_tag(tag).key if isinstance(tag, str) and tag else None
        name = props.get("name")
        label = f"{self.spec.record_name} {key or name or '(unnamed)'!r}"
        if key and isinstance(name, str) and name and name != key:
            label += f" (name {name!r})"
        return label

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        props = self._input_props(news)
        unknown = {k for k, v in props.items() if _is_unknown(v)}
        known = {k: v for k, v in props.items() if k not in unknown}
        try:
            inputs = self.model.model_validate(known)
        except ValidationError as exc:
            # An unknown value (preview) is checked once it is known; a failure of a known one
            # is reported now, next to it.
            failures = [
                CheckFailure(_property(err), _reason(err))
                for err in exc.errors(include_url=False)
                if _property(err) not in unknown
            ]
            return CheckResult(news, failures)
        is_new = not self._input_props(olds)
        if unknown:
            # A new stack's first preview: its id is drawn at `up`, so the owner tag is unknown,
            # and no record can carry a marker with that id yet. What `importId` would adopt,
            # or why it may not, is known already, and the user reviews it now.
            failures = (
                self._preview_adoption(inputs, self._label(props))
                if is_new and unknown == {"ownerTag"}
                else []
            )
            return CheckResult(props, failures)
        # Only what was set: a field the user left out stays Nexudus's (never diffed or sent).
        # The engine puts `__provider` back into whatever inputs check returns.
        checked = inputs.model_dump(by_alias=True, exclude_unset=True)
        failures = self._preview_adoption(inputs, self._label(props)) if is_new else []
        return CheckResult(checked, failures)

    def _preview_adoption(self, inputs: RecordInputs, label: str) -> list[CheckFailure]:
        """At preview, before anything is sent: which record `importId` adopts and what it
        will change, or why it may not (another owner). Needs the API; skipped without it."""
        if (
            inputs.import_id is None
            or self._client is None
            or not self._client.settings.has_credentials
        ):
            return []
        try:
            record = self._record_by_id(inputs.import_id)
        except NexudusError as exc:
            return [CheckFailure("importId", f"cannot look up id {inputs.import_id}: {exc}")]
        if record is None:
            log.info(
                "%s: importId %s: no such %s in Nexudus (deleted?); a new one will be created",
                label,
                inputs.import_id,
                self.spec.record_name,
            )
            return []
        if inputs.marker is not None and inputs.marker.marks(record):
            return []  # already this resource's: nothing to adopt
        refusal = self._refusal(inputs, record)
        if refusal is not None:
            return [CheckFailure("importId", refusal)]
        plan = _changes(self.model.live_view(record), inputs.declared())
        log.info(
            "%s: will adopt existing id %s instead of creating one; %s",
            label,
            record["Id"],
            f"it will change {plan}" if plan else "its fields already match",
        )
        return []

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Only declared fields are compared (with the owner marker); `olds` are the outputs,
        which hold every field as Nexudus last showed it."""
        tag = news.get("ownerTag")
        if isinstance(tag, str) and tag and _id.isdigit():
            self._held.setdefault(Marker.from_tag(tag).text, set()).add(int(_id))
        compared = self._input_props(news)
        changed = []
        for key, new in sorted(compared.items()):
            if key in self.model.BOOKKEEPING and key != "ownerTag":
                continue
            old = olds.get(key)
            if key != "ownerTag" and not _is_unknown(new):
                old, new = normalise(self.model, key, old), normalise(self.model, key, new)
            if _is_unknown(new) or old != new:
                changed.append(key)
        replaces = [k for k in changed if k in self.spec.replace_on]
        return DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=False)

    # ----- operations -----------------------------------------------------------------------

    def create(self, props: dict[str, Any]) -> CreateResult:
        label = self._label(props)
        try:
            inputs = self._parse(props)
            outcome = self._create_exactly_once(inputs, label)
        except NexudusError as exc:
            raise message_first(self._failure(label, "create", exc))  # noqa: B904
        return CreateResult(str(outcome.id), self._outputs(inputs, outcome))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        label = self._label(props)
        try:
            record = self._live_record(int(id_), props.get("businessId"))
        except NotFoundError:
            return ReadResult(None, {})
        except NexudusError as exc:
            raise message_first(self._failure(label, f"read of id {id_}", exc))  # noqa: B904
        kept = {k: props[k] for k in ("importId", "takeOver") if props.get(k) is not None}
        theirs = Marker.parse(record.get("SystemId"))
        outputs = {
            **kept,
            "ownerTag": theirs.text.removeprefix("pulumi:") if theirs else None,
            **self.model.live_view(record),
            **self.model.outputs_from_record(record),
        }
        # No inputs: the engine keeps the declaration as it was, so a refresh never turns a field
        # the user left to Nexudus into a managed one.
        return ReadResult(id_, outputs)

    def update(self, id_: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        label = self._label(news)
        try:
            inputs = self._parse(news)
            record = self._live_record(int(id_), inputs.business)
            outcome = self._write_declared(inputs, record)
            self._remove_duplicates(inputs, outcome.id, label, whole_account=False)
        except NotFoundError:
            gone = RecordOperationError(
                f"{label}: update of id {id_} failed: it no longer exists in Nexudus; run "
                "`pulumi refresh` so Pulumi forgets it, then `pulumi up` creates it again"
            )
            raise message_first(gone)  # noqa: B904
        except NexudusError as exc:
            raise message_first(self._failure(label, f"update of id {id_}", exc))  # noqa: B904
        return UpdateResult(self._outputs(inputs, outcome))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        if id_.isdigit() and int(id_) in self._adopted:
            log.warning(
                "%s: id %s was adopted by this resource's replacement (`pulumi up --replace` "
                "looks like an interrupted create to the provider), so it is kept, not deleted. "
                "To get a new %s, remove the key, run `pulumi up`, then declare it again",
                self._label(props),
                id_,
                self.spec.record_name,
            )
            return
        try:
            self.client.delete(self.spec.collection, id_)
        except NotFoundError:
            log.info("%s: id %s was already gone", self._label(props), id_)
        except NexudusError as exc:
            raise message_first(self._failure(self._label(props), f"delete of id {id_}", exc))  # noqa: B904
        self.listings.forget([int(id_)])

    # ----- creating exactly once --------------------------------------------------------------

    def _create_exactly_once(self, inputs: RecordInputs, label: str) -> _Outcome:
        """POST the record once; never a second record for one resource, never another's.

        The record carries this resource's owner marker in `SystemId`. One listing of the account
        per process shows any record already carrying it (an earlier run was killed after Nexudus
        committed the create but before Pulumi saved its id): one in the declared business is
        adopted instead of posting. After a POST whose outcome is unknown we search again, long
        enough for a slow create to land, and adopt what we find; only a record certainly absent
        is posted again. A second record carrying the marker is deleted, and the run says so.
        """
        if inputs.import_id is not None:
            adopted = self._adopt_import(inputs, label)
            if adopted is not None:
                return adopted
        marker = inputs.marker
        known: set[int] = set()
        if marker is not None:
            marked = self.listings.account().marked(marker)
            known = {int(record["Id"]) for record in marked}
            orphans = self._orphans(marker, marked)
            for record in marked:
                if record not in orphans:
                    log.info(
                        "%s: id %s carries this resource's marker and is the %s being replaced;"
                        " Pulumi deletes it next, unless retainOnDelete keeps it",
                        label,
                        record["Id"],
                        self.spec.record_name,
                    )
            for record in orphans:
                if record.get("BusinessId") == inputs.business:
                    log.info(
                        "%s: found id %s carrying this resource's marker (its create was "
                        "interrupted); adopting it instead of creating another",
                        label,
                        record["Id"],
                    )
                    outcome = self._write_declared(inputs, record)
                    self._adopted.add(outcome.id)
                    self._remove_duplicates(inputs, outcome.id, label, whole_account=True)
                    return outcome
        outcome = self._post(inputs, label, known)
        self._remove_duplicates(inputs, outcome.id, label, whole_account=True)
        return outcome

    def _post(self, inputs: RecordInputs, label: str, known: set[int]) -> _Outcome:
        """POST once; after a lost answer, the record found is one carrying the marker that
        was not there before (`known`): never the record a replacement replaces."""
        fields = inputs.declared()
        body = self.model.to_api(fields, inputs.marker)
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            try:
                written = self.client.create(self.spec.collection, body)
                record_id, read_only = written.id, written.audit
                break
            except OutcomeUnknownError as exc:
                if inputs.marker is None or attempt == CREATE_ATTEMPTS:
                    raise
                found = self._find_lost_create(inputs, exc, label, known)
                if found is not None:
                    log.info("%s: create answer lost; found id %s, adopting", label, found["Id"])
                    record_id, read_only = int(found["Id"]), self.model.outputs_from_record(found)
                    break
                time.sleep(self.client.backoff_delay(attempt))
        # What the record now holds without a GET: the declaration, the API's defaults for the
        # rest; read-only fields only a read gives (uniqueId, createdOn) wait for a refresh.
        fields = inputs.with_defaults()
        self.listings.remember({"Id": record_id, **self.model.to_api(fields, inputs.marker)})
        if inputs.marker is not None:
            read_only = {**read_only, "systemId": inputs.marker.text}
        return _Outcome(record_id, fields, read_only)

    def _find_lost_create(
        self, inputs: RecordInputs, lost: OutcomeUnknownError, label: str, known: set[int]
    ) -> dict[str, Any] | None:
        """The record a POST with an unknown outcome created, if it did.

        A server that answered (a 5xx) has finished with the request, so one search tells. A
        POST that timed out or lost its connection may still be running and commit later:
        search until the request timeout has passed again, or we would post a second record.
        """
        assert inputs.marker is not None
        wait_until = time.monotonic() + (
            0 if lost.answered else self.client.settings.timeout_seconds
        )
        pause = LOST_ANSWER_FIRST_WAIT_SECONDS
        while True:
            for record in self.client.search(self.spec.collection, inputs.lookup_filters()):
                if inputs.marker.marks(record) and int(record["Id"]) not in known:
                    return record
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

    def _remove_duplicates(
        self, inputs: RecordInputs, keep: int, label: str, *, whole_account: bool
    ) -> None:
        """Delete every other record carrying this resource's marker, saying so."""
        if inputs.marker is None:
            return
        listing = (
            self.listings.account() if whole_account else self.listings.business(inputs.business)
        )
        marked = [r for r in listing.marked(inputs.marker) if int(r["Id"]) != keep]
        extra = self._orphans(inputs.marker, marked)
        for record in extra:
            log.warning(
                "%s: deleting id %s (business %s), a second %s carrying this resource's marker "
                "(left by an interrupted run); keeping id %s",
                label,
                record["Id"],
                record.get("BusinessId"),
                self.spec.record_name,
                keep,
            )
            with contextlib.suppress(NotFoundError):
                self.client.delete(self.spec.collection, record["Id"])
        self.listings.forget(int(r["Id"]) for r in extra)

    def _orphans(self, marker: Marker, marked: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The records carrying `marker` that no state holds: left by an interrupted run. The
        record a replacement replaces is the resource's own, and stays Pulumi's to delete."""
        held = self._held.get(marker.text, set())
        return [record for record in marked if int(record["Id"]) not in held]

    # ----- adopting ---------------------------------------------------------------------------

    def _adopt_import(self, inputs: RecordInputs, label: str) -> _Outcome | None:
        """Adopt `importId`, once. None: nothing to adopt, create as for any resource."""
        assert inputs.import_id is not None
        record = self._record_by_id(inputs.import_id)
        if record is None:
            log.warning(
                "%s: importId %s no longer exists in Nexudus; creating a new %s",
                label,
                inputs.import_id,
                self.spec.record_name,
            )
            return None
        if inputs.marker is not None and inputs.marker.marks(record):
            return None  # already ours: a replacement or a recreation, not an adoption
        refusal = self._refusal(inputs, record)
        if refusal is not None:
            raise RecordOperationError(refusal)
        before, declared = self.model.live_view(record), inputs.declared()
        for name in sorted(self.spec.replace_on):
            if before.get(name) != declared.get(name):
                raise RecordOperationError(
                    f"cannot adopt id {record['Id']}: its {name} is {before.get(name)!r}, the "
                    f"declaration says {declared.get(name)!r}, and {name} cannot change in place"
                )
        outcome = self._write_declared(inputs, record)
        plan = _changes(before, outcome.fields)
        log.info(
            "%s: adopted existing id %s%s",
            label,
            record["Id"],
            f"; changed {plan}" if plan else "; its fields already matched",
        )
        return outcome

    def _refusal(self, inputs: RecordInputs, record: dict[str, Any]) -> str | None:
        """Why `importId` may not take this record: another owner, unless `takeOver` says so."""
        owner = describe_owner(record.get("SystemId"))
        if owner is None or inputs.take_over:
            return None
        return (
            f"importId {record['Id']}: that {self.spec.record_name} is managed by {owner}, and a "
            "record has one owner. Remove importId, or set takeOver: true on this resource to "
            "take it over (its marker is rewritten; the other owner then no longer manages it)"
        )

    # ----- reading and writing whole records ------------------------------------------------

    def _record_by_id(self, record_id: int) -> dict[str, Any] | None:
        """The record, from the process's account listing, else a GET (it may be newer)."""
        record = self.listings.account().records.get(record_id)
        if record is not None:
            return record
        try:
            return self.client.get(self.spec.collection, record_id)
        except NotFoundError:
            return None

    def _live_record(self, record_id: int, business: Any) -> dict[str, Any]:
        """The record as Nexudus holds it: from a fresh listing of its business when that lists
        it with every field, else by id (NotFoundError when it is gone)."""
        if isinstance(business, int | float) and not isinstance(business, bool):
            record = self.listings.business(int(business)).records.get(record_id)
            wanted = {api_name(f) for f in self.model.record_fields()}
            if record is not None and wanted <= record.keys():
                return record
        record = self.client.get(self.spec.collection, record_id)
        self.listings.remember(record)
        return record

    def _write_declared(self, inputs: RecordInputs, record: dict[str, Any]) -> _Outcome:
        """PUT the whole record: declared fields as declared, the rest as Nexudus holds them."""
        live = self.model.live_view(record)
        fields = {**live, **inputs.declared()}
        marker = inputs.marker
        read_only = self.model.outputs_from_record(record)
        if fields != live or (marker is not None and record.get("SystemId") != marker.text):
            body = {"Id": int(record["Id"]), **self.model.to_api(fields, marker)}
            written = self.client.update(self.spec.collection, body)
            self.listings.remember(body)
            read_only = {**read_only, **written.audit}
            if marker is not None:
                read_only["systemId"] = marker.text
        return _Outcome(int(record["Id"]), fields, read_only)

    def _outputs(self, inputs: RecordInputs, outcome: _Outcome) -> dict[str, Any]:
        steering = inputs.model_dump(by_alias=True, exclude_unset=True, include=_STEERING)
        return {**steering, **outcome.fields, **_audit_outputs(outcome.read_only)}

    def _failure(self, label: str, action: str, exc: NexudusError) -> RecordOperationError:
        message = f"{label}: {action} failed: {exc}"
        if isinstance(exc, AuthorizationError):
            role = exc.role_for(self.spec.record_name)
            message += f"; the Nexudus user lacks the role {role} (or full administrator rights)"
        return RecordOperationError(message)


_STEERING = {"owner_tag", "import_id", "take_over"}


def _not_configured() -> RecordOperationError:
    return RecordOperationError(
        "the Nexudus provider was not configured (no Configure call from the engine)"
    )


def _audit_outputs(read_only: dict[str, Any]) -> dict[str, Any]:
    """Read-only fields as outputs: `UpdatedOn` from a write's answer becomes `updatedOn`."""
    return {k[:1].lower() + k[1:]: v for k, v in read_only.items()}
