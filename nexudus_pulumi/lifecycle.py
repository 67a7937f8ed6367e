"""The lifecycle of one record type, for any front door: check, diff, create, read, update
and delete on plain dicts, onto `custody.Custody`, which decides what is written.

The core knows nothing of Pulumi: the dynamic providers (`provider.py`) and the plugin
(`plugin.py`) are adapters that translate their protocol's words into these calls and back, so
neither copies a rule. A value not known yet (an output of a resource still to create) is the
wire's `UNKNOWN` string, as both protocols carry it.

- `check` validates a declaration before any request, and shows at preview what adopting an
  existing record (`importId`) would change, or refuses it, as `up` would.
- `diff` compares only the fields the user declared: a field left out is Nexudus's to change.
- `create` costs one POST (exactly once: see `custody`); an adoption a GET and a PUT.
- `update` costs a GET by id and a PUT of that record with the declared fields laid over it,
  refused when another owner took the record over; `delete` a GET and a DELETE, skipped then.
- `read` costs a GET by id (a listing carries no `Users`/`Members`), plus one listing of the
  account per process that finds two records carrying one marker. Where the user vouches that
  every change moves `UpdatedOn` (`nexudus:membershipBumpsUpdatedOn`), a record the listing
  shows unchanged since the state saw it is not read again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from .adoption import Failure
from .client import shared_client
from .custody import Custody, Outcome
from .descriptor import RecordSpec
from .diagnostics import show_logs
from .errors import (
    AuthorizationError,
    NexudusError,
    NotFoundError,
    NotOursError,
    QuotaError,
    RecordOperationError,
    message_first,
)
from .models import STEERING, RecordInputs, normalise
from .ownership import Marker, foreign_owner
from .settings import Settings

__all__ = ["UNKNOWN", "Checked", "Failure", "RecordLifecycle", "Result"]

log = logging.getLogger(__name__)

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""How the Pulumi engine spells a value not known yet (an output of a resource still to create),
on the wire of both front doors."""

PROVIDER_KEY = "__provider"


@dataclass(frozen=True)
class Checked:
    """What `check` accepts as the declaration (only what was set), and what it refuses."""

    inputs: dict[str, Any]
    failures: list[Failure] = field(default_factory=list)


@dataclass(frozen=True)
class Result:
    """A record as an operation left it: its id (None: it is gone, or no longer ours), and its
    outputs."""

    id: str | None
    outputs: dict[str, Any]


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


def _marker_of(props: dict[str, Any]) -> Marker | None:
    tag = props.get("ownerTag")
    if not isinstance(tag, str) or not tag or _is_unknown(tag):
        return None
    return Marker.from_tag(tag)


class RecordLifecycle:
    """The lifecycle of one Nexudus record type in one provider process. The client, session
    and credentials exist only once `configure` has built them from the settings."""

    def __init__(self, spec: RecordSpec) -> None:
        self.spec = spec
        self._custody: Custody | None = None

    def configure(self, config_get: Callable[[str], Any]) -> None:
        """Validate the settings and prove them, so `pulumi preview` fails where `up` would.

        What is raised here stops preview: a bad value names its key; a wrong password or an
        unreachable address is found by one request (`NexudusClient.verify`, once per process).
        Without credentials, or with `nexudus:skipCredentialsValidation`, preview checks the
        declarations only. `config_get`: stack config by key (`nexudus:baseUrl`).
        """
        try:
            settings = Settings.load(config_get)
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
        self._custody = Custody(self.spec, client)

    @property
    def custody(self) -> Custody:
        if self._custody is None:
            raise RecordOperationError(
                "the Nexudus provider was not configured (no Configure call from the engine)"
            )
        return self._custody

    @property
    def model(self) -> type[RecordInputs]:
        return self.spec.inputs_model

    def fetch(self, record_id: int) -> dict[str, Any] | None:
        """The record by id as Nexudus holds it now, or None (an adapter's import by id)."""
        return self.custody.fetch(record_id)

    # ----- inputs ---------------------------------------------------------------------------

    def _input_props(self, props: dict[str, Any]) -> dict[str, Any]:
        ignored = {PROVIDER_KEY, *self.model.output_names()}
        return {k: v for k, v in props.items() if k not in ignored and v is not None}

    def _parse(self, props: dict[str, Any]) -> RecordInputs:
        return self.model.model_validate(self._input_props(props))

    def _label(self, props: dict[str, Any]) -> str:
        marker = _marker_of(props)
        key = marker.key if marker else None
        name = props.get(self.model.NAME_FIELD)
        label = f"{self.spec.record_name} {key or name or '(unnamed)'!r}"
        if key and isinstance(name, str) and name and name != key:
            label += f" ({self.model.NAME_FIELD} {name!r})"
        return label

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> Checked:
        props = self._input_props(news)
        unknown = {k for k, v in props.items() if _is_unknown(v)}
        known = {k: v for k, v in props.items() if k not in unknown}
        try:
            inputs = self.model.model_validate(known)
        except ValidationError as exc:
            # An unknown value (preview) is checked once it is known; a failure of a known one
            # is reported now, next to it.
            failures = [
                Failure(_property(err), _reason(err))
                for err in exc.errors(include_url=False)
                if _property(err) not in unknown
            ]
            return Checked(news, failures)
        is_new = not self._input_props(olds)
        # A new stack's first preview: its id is drawn at `up`, so the owner tag is unknown, and
        # no record can carry a marker with that id yet. What `importId` would adopt, or why it
        # may not, is known already, and the user reviews it now.
        previewable = is_new and unknown <= {"ownerTag"} and self._custody is not None
        failures = self.custody.adoption.preview(inputs, self._label(props)) if previewable else []
        if is_new and not failures:
            self._plan_writes(1, self._label(props))  # a POST, or an adoption's PUT
        if unknown:
            return Checked(props, failures)
        # Only what was set: a field the user left out stays Nexudus's (never diffed or sent).
        # The engine puts `__provider` back into whatever inputs check returns.
        return Checked(inputs.model_dump(by_alias=True, exclude_unset=True), failures)

    def replaces(self, changed: list[str]) -> list[str]:
        """The changed properties that force a replacement."""
        return [k for k in changed if k in self.spec.replace_on]

    def changed_properties(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> list[str]:
        """What `diff` finds changed, by property: only declared fields are compared (with the
        owner marker); `olds` are the outputs, which hold every field as Nexudus last showed
        it."""
        marker = _marker_of(news)
        if marker is not None and _id.isdigit() and self._custody is not None:
            self._custody.hold(marker, int(_id))
        compared = self._input_props(news)
        changed = []
        held = olds.get("systemId")
        if marker is not None and isinstance(held, str) and not marker.marks({"SystemId": held}):
            changed.append("ownerTag")  # the record carries another owner's marker (refresh)
        for key, new in sorted(compared.items()):
            if (key in STEERING and key != "ownerTag") or key in changed:
                continue
            old = olds.get(key)
            if key != "ownerTag" and not _is_unknown(new):
                old, new = normalise(self.model, key, old), normalise(self.model, key, new)
            if _is_unknown(new) or old != new:
                changed.append(key)
        replaces = self.replaces(changed)
        # The dynamic-provider protocol carries no detailed diff, and after a refresh the inputs
        # `--diff` shows are unchanged: name the fields, so a drift check says what drifted.
        # Names only: the values may be secret. A value unknown until apply is no drift.
        if fields := [k for k in changed if k != "ownerTag" and not _is_unknown(compared[k])]:
            label = self._label(news)
            log.info("%s: Nexudus differs from the declaration in %s", label, ", ".join(fields))
        if changed:  # a PUT; a replacement is a POST and a DELETE
            self._plan_writes(2 if replaces else 1, self._label(news))
        return changed

    def _plan_writes(self, count: int, label: str) -> None:
        """Count the writes this run plans; once they exceed what the day's quota still allows,
        stop at preview with the numbers instead of meeting hours of throttling at `up`.
        (Deletes are not counted: the engine plans them without asking the provider.)"""
        if self._custody is None:
            return
        client = self._custody.client
        planned, allowed = client.plan_writes(label, count)
        if planned > allowed:
            per_day = client.settings.writes_per_day
            raise message_first(
                QuotaError(
                    f"{label}: this run plans at least {planned:,} writes (creates, updates, "
                    f"replacements), and the account's daily quota of {per_day:,} writes "
                    f"({client.settings.name_of('writes_per_day')}) allows {allowed:,} more "
                    "today. Deploy part of the change now (pulumi up --target ...) and the rest "
                    "tomorrow, or set the quota your account has"
                )
            )

    # ----- operations -----------------------------------------------------------------------

    def create(self, props: dict[str, Any]) -> Result:
        label = self._label(props)
        try:
            inputs = self._parse(props)
            outcome = self.custody.create(inputs, label)
        except NexudusError as exc:
            raise message_first(self._failure(label, "create", exc, None))  # noqa: B904
        return Result(str(outcome.id), self._outputs(inputs, outcome))

    def read(self, id_: str, props: dict[str, Any]) -> Result:
        label = self._label(props)
        marker = _marker_of(props)
        try:
            if self._unchanged_since_state(int(id_), props):
                return Result(id_, props)
            record = self.custody.fetch(int(id_))
            if record is None:
                return Result(None, {})
            owner = foreign_owner(record, marker)
            taken_back = owner is not None and _took_over(props, id_)
            if owner is not None and not taken_back:
                log.warning(
                    "%s: id %s is now managed by %s; it is dropped from this stack (the record "
                    "stays in Nexudus)",
                    label,
                    id_,
                    owner,
                )
                return Result(None, {})
            if taken_back:
                # Dropping it would let the next `up` take it back by importId + takeOver, and
                # two stacks would take it from each other on every run: takeOver is spent.
                log.warning(
                    "%s: id %s, which this resource took over (takeOver), is now managed by %s; "
                    "it is not taken back: the next update fails naming that owner",
                    label,
                    id_,
                    owner,
                )
            twins = self.custody.duplicates(marker, record) if marker and not taken_back else []
        except NexudusError as exc:
            raise message_first(self._failure(label, f"read of id {id_}", exc, id_))  # noqa: B904
        if twins:
            ids = ", ".join(str(t) for t in twins)
            twice = RecordOperationError(
                f"{label}: ids {id_} and {ids} both carry this resource's marker; the stack "
                f"holds {id_}. The other was most likely created by a run that was killed and "
                f"landed late: delete id {ids} in Nexudus if it is not wanted",
                record_id=int(id_),
            )
            raise message_first(twice)
        steering = {k: props[k] for k in STEERING - {"ownerTag"} if props.get(k) is not None}
        theirs = None if taken_back else Marker.parse(record.get("SystemId"))
        outputs = {
            **steering,
            "ownerTag": theirs.text.removeprefix("pulumi:") if theirs else props.get("ownerTag"),
            **self.model.live_view(record),
            **self.model.outputs_from_record(record),
        }
        # No inputs: the engine keeps the declaration as it was, so a refresh never turns a field
        # the user left to Nexudus into a managed one.
        return Result(id_, outputs)

    def _unchanged_since_state(self, record_id: int, props: dict[str, Any]) -> bool:
        """Whether the account's listing shows the record as the state last saw it, which
        settles a read without a GET only where the user vouches that every change, membership
        included, moves `UpdatedOn` (undocumented, so off by default). A record the state
        knows only partly (after a create, whose answer has no `CreatedOn`) is always read."""
        custody = self.custody
        seen = props.get("updatedOn")
        if not custody.client.settings.membership_bumps_updated_on or not seen:
            return False
        if not props.get("createdOn"):  # only a read by id shows it: the state is not whole
            return False
        listed = custody.listing.get().records.get(record_id)
        return listed is not None and listed.get("UpdatedOn") == seen

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> Result:
        label = self._label(news)
        try:
            inputs = self._parse(news)
            took_over = _took_over(olds, id_)
            vet = self.custody.ours(label, inputs.marker, _marker_of(olds), took_over=took_over)
            outcome = self.custody.write_declared(inputs, int(id_), vet)
        except NotFoundError:
            gone = RecordOperationError(
                f"{label}: update of id {id_} failed: it no longer exists in Nexudus; run "
                "`pulumi refresh` so Pulumi forgets it, then `pulumi up` creates it again",
                record_id=int(id_),
            )
            raise message_first(gone)  # noqa: B904
        except NotOursError as exc:
            raise message_first(exc)  # noqa: B904
        except NexudusError as exc:
            raise message_first(self._failure(label, f"update of id {id_}", exc, id_))  # noqa: B904
        return Result(id_, self._outputs(inputs, outcome))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        label = self._label(props)
        if id_.isdigit() and self.custody.was_adopted(int(id_)):
            log.warning(
                "%s: id %s was adopted by this resource's replacement (`pulumi up --replace` "
                "looks like an interrupted create to the provider), so it is kept, not deleted. "
                "To get a new %s, remove the key, run `pulumi up`, then declare it again",
                label,
                id_,
                self.spec.record_name,
            )
            return
        try:
            self.custody.delete(int(id_), label, _marker_of(props))
        except NexudusError as exc:
            raise message_first(self._failure(label, f"delete of id {id_}", exc, id_))  # noqa: B904

    # ----- outputs and messages ---------------------------------------------------------------

    def _outputs(self, inputs: RecordInputs, outcome: Outcome) -> dict[str, Any]:
        declared = inputs.model_dump(by_alias=True, exclude_unset=True)
        steering = {k: v for k, v in declared.items() if k in STEERING}
        return {**steering, **outcome.fields, **_audit_outputs(outcome.read_only)}

    def _failure(
        self, label: str, action: str, exc: NexudusError, id_: str | None
    ) -> RecordOperationError:
        if isinstance(exc, RecordOperationError) and str(exc).startswith(label):
            return exc
        message = f"{label}: {action} failed: {exc}"
        if isinstance(exc, AuthorizationError):
            role = exc.role_for(self.spec.record_name)
            message += (
                f"; the Nexudus user lacks the role {role} (or full administrator rights), or "
                "the account has reached one of its limits"
            )
        record_id = int(id_) if id_ is not None and id_.isdigit() else None
        return RecordOperationError(message, record_id=record_id, failure=exc)


def _took_over(props: dict[str, Any], id_: str) -> bool:
    """Whether the state holds the record because its declaration took it over (`importId` of
    this very id, with `takeOver`): once that has worked, takeOver is spent."""
    import_id = props.get("importId")
    return bool(props.get("takeOver")) and import_id is not None and str(int(import_id)) == id_


def _audit_outputs(read_only: dict[str, Any]) -> dict[str, Any]:
    """Read-only fields as outputs: `UpdatedOn` from a write's answer becomes `updatedOn`."""
    return {k[:1].lower() + k[1:]: v for k, v in read_only.items()}
