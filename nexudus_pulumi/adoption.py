"""Adopting an existing record (`importId`): which record a declaration takes, what it will
change, or why it may not, said at preview and vetted at `up` by the same checks.

The rules: a record has one key (two keys adopting one id, or an id another key of the stack
holds, are refused, naming both); a record another owner manages is taken only with
`takeOver`; a field that cannot change in place must already match.

Adoption only reads (through the gateway) and vets; custody does the write it allows, so the
dependency runs one way: custody -> adoption -> gateway.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import NexudusError
from .errors import RecordOperationError as OperationError
from .gateway import RecordGateway
from .models import RecordInputs
from .ownership import Marker, describe_owner

log = logging.getLogger(__name__)

Vet = Callable[[dict[str, Any]], None]
"""Raises when the record, as just read, may not be written (it is not, or no longer, ours)."""


@dataclass(frozen=True)
class Failure:
    """A declaration refused before anything is sent: the input and why, as a front door
    reports it (`CheckFailure` for Pulumi)."""

    property: str
    reason: str


class Adoption:
    """The adoptions of one provider process, for one record type."""

    def __init__(self, gateway: RecordGateway) -> None:
        self.gateway = gateway
        self._lock = threading.Lock()
        self._import_keys: dict[int, str] = {}
        """importId -> the resource declaring it in this run: one record, one key."""

    @property
    def model(self) -> type[RecordInputs]:
        return self.gateway.spec.inputs_model

    def vet(self, inputs: RecordInputs, record: dict[str, Any] | None, label: str) -> Vet:
        """Refuse now what preview refused; the `Vet` refuses the record again as read in the
        write's own turn (custody's), so what changed while the write waited is caught."""
        obstacle = self.obstacle(inputs, record)
        if obstacle is not None:
            record_id = None if record is None else int(record["Id"])
            raise OperationError(f"{label}: {obstacle}", record_id=record_id)

        def vet(current: dict[str, Any]) -> None:
            refused = self.obstacle(inputs, current)
            if refused is not None:
                raise OperationError(f"{label}: {refused}", record_id=int(current["Id"]))

        return vet

    def preview(self, inputs: RecordInputs, label: str) -> list[Failure]:
        """At preview, before anything is sent: which record `importId` adopts and what it
        will change, or why it may not. The same checks as `up`, on one GET."""
        import_id = inputs.import_id
        if import_id is None:
            return []
        with self._lock:
            first = self._import_keys.setdefault(import_id, label)
        if first != label:
            return [
                Failure(
                    "importId",
                    f"importId {import_id} is also declared by {first}: a record has one key. "
                    "Keep importId on one of them",
                )
            ]
        if not self.gateway.has_credentials:
            return []
        try:
            record = self.gateway.fetch(import_id)
        except NexudusError as exc:
            return [Failure("importId", f"cannot look up id {import_id}: {exc}")]
        if record is not None and inputs.marker is not None and inputs.marker.marks(record):
            return []  # already this resource's: nothing to adopt
        obstacle = self.obstacle(inputs, record)
        if obstacle is not None:
            return [Failure("importId", obstacle)]
        assert record is not None
        plan = changes(self.model.live_view(record), inputs.declared())
        log.info(
            "%s: will adopt existing id %s instead of creating one; %s",
            label,
            record["Id"],
            f"it will change {plan}" if plan else "its fields already match",
        )
        return []

    def obstacle(self, inputs: RecordInputs, record: dict[str, Any] | None) -> str | None:
        """Why `importId` may not take this record, or None when it may."""
        import_id, noun = inputs.import_id, self.gateway.spec.record_name
        if record is None:
            return (
                f"importId {import_id}: no {noun} with that id exists in Nexudus (a typo?). "
                "If this stack adopted it earlier and it was deleted since, remove importId: the "
                f"next `pulumi up` creates a new {noun}"
            )
        if inputs.marker is not None and inputs.marker.marks(record):
            return None
        theirs = Marker.parse(record.get("SystemId"))
        ours = inputs.marker
        if (
            theirs is not None
            and ours is not None
            and theirs.stack_id == ours.stack_id
            and not inputs.take_over
        ):
            return (
                f"importId {import_id}: that {noun} is held by the key {theirs.key!r} of this "
                f"stack, and a record has one key. If you renamed {theirs.key!r}, remove importId "
                f"and declare aliases: [{theirs.key}] on the new key, so Pulumi moves the "
                "resource instead of adopting it twice"
            )
        if (
            theirs is not None
            and ours is not None
            and theirs.path == ours.path
            and not inputs.take_over
        ):
            return (
                f"importId {import_id}: that {noun} carries the marker of {theirs.path}, this "
                f"resource's own name, but the stack id {theirs.stack_id}, and this stack's "
                f"is {ours.stack_id}: a stack of the same name in another state backend (or "
                "one removed and made again) manages it. To go on with that stack, use its "
                "backend (PULUMI_BACKEND_URL) and passphrase; if its state is gone for good "
                "and this stack takes its place, set takeOver: true on this resource"
            )
        owner = describe_owner(record.get("SystemId"))
        if owner is not None and not inputs.take_over:
            return (
                f"importId {import_id}: that {noun} is managed by {owner}, and a record has "
                "one owner. Remove importId, or set takeOver: true on this resource to take it "
                "over (its marker is rewritten; the other owner then no longer manages it)"
            )
        business = record.get("BusinessId")
        if business != inputs.business:
            # A PUT could move it, but an importId with a typo would then take a record from
            # another location: adopting is never a move.
            return (
                f"cannot adopt id {import_id}: its businessId is {business!r}, the declaration "
                f"says {inputs.business!r}, and an adoption does not move a {noun} between "
                f"businesses; declare businessId: {business!r} (then change it, which moves "
                "it), or remove importId"
            )
        return None


def changes(before: dict[str, Any], after: dict[str, Any]) -> str:
    """`name 'Old' -> 'New', active False -> True`: what a write will change, for people."""
    return ", ".join(
        f"{k} {before.get(k)!r} -> {v!r}" for k, v in after.items() if before.get(k) != v
    )
