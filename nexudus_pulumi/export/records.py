"""A record as export sees it: what Nexudus holds, read by id, and who holds the record."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..client import NexudusClient
from ..display import cut, quoted, visible
from ..errors import ApiRejectedError, AuthorizationError, ExportError, NotFoundError
from ..kinds import KINDS
from ..models import why_refused
from ..ownership import Marker
from ..recordkind import BUSINESS, RecordKind


def owner_of(system_id: str | None) -> str | None:
    """The stack a marker names (`project/stack/key`), or None for a record no stack manages."""
    marker = Marker.parse(system_id)
    return marker.path if marker is not None else None


@dataclass(frozen=True)
class ExistingRecord:
    """One record as Nexudus lists it: what export needs to declare and adopt it."""

    kind: RecordKind[Any]
    id: int
    business_id: int
    fields: Mapping[str, Any]
    """Its fields as the record's model reads them (`live_view`): camelCase, normalised, coded
    values by name (`groupAccess: public`)."""
    system_id: str | None

    @classmethod
    def from_record(cls, kind: RecordKind[Any], record: Mapping[str, Any]) -> ExistingRecord:
        system_id = record.get("SystemId")
        return cls(
            kind=kind,
            id=int(record["Id"]),
            business_id=int(record["BusinessId"]),
            fields=kind.model.live_view(dict(record)),
            system_id=system_id if isinstance(system_id, str) and system_id else None,
        )

    @property
    def name(self) -> str | None:
        name = self.fields.get(self.kind.model.NAME_FIELD)
        return name if isinstance(name, str) and name else None

    @property
    def owner(self) -> str | None:
        return owner_of(self.system_id)

    @property
    def label(self) -> str:
        """`room 12 'Lobby'`: the name cut and escaped (`repr`), so it cannot drive a terminal."""
        noun = self.kind.noun
        return f"{noun} {self.id} {cut(self.name, 60)!r}" if self.name else f"{noun} {self.id}"

    def claimed_elsewhere(self, own_prefix: str) -> bool:
        """Its `SystemId` names another stack, or was set by another integration: adopting it
        takes it from them, which only `takeOver` (and `--include-owned`) may do."""
        owner = self.owner
        return self.system_id is not None and not (owner and owner.startswith(own_prefix))

    @property
    def claimant(self) -> str:
        """Who holds the record, for messages: the stack, or the other integration's SystemId,
        escaped (it is text from the API)."""
        if self.owner is not None:
            return f"the stack {visible(cut(self.owner, 80))}"
        return f"another integration (its SystemId is {quoted(self.system_id or '')})"

    def unwritable(self, name: str) -> str | None:
        """Why a declaration would refuse the value Nexudus holds in field `name`, if it would
        (a name that is a number, or holds an ESC): such a value is not written."""
        value = self.declared(name)
        return None if value is None else why_refused(self.kind.model, name, value)

    def declared(self, name: str) -> Any:
        """A field's value as a declaration writes it: a set of ids sorted, without repeats; a
        blank text is None (nothing to write)."""
        value = self.business_id if name == BUSINESS else self.fields.get(name)
        if value == "":
            return None
        if isinstance(value, list) and all(isinstance(item, int) for item in value):
            return sorted(set(value))
        return value


def fetch_records(
    client: NexudusClient, kind: RecordKind[Any], business: int
) -> list[ExistingRecord]:
    """Every record of the kind in the business, each as read by id, or an error that says
    what to check. A listing is a projection (no `Users`/`Members`, maybe no `SystemId`), so it
    only says which records exist: what export writes, and whose a record is, comes from a GET
    of each."""
    others = " ".join(f"--only {k.map_name}" for k in KINDS if k != kind)
    without = f"; to export without the {kind.plural}: {others}" if others else ""
    action = "list"
    try:
        listed = client.search(kind.spec.collection, {kind.spec.filter("Business"): business})
        ids = [int(r["Id"]) for r in listed if r.get("BusinessId") == business]
        action = "read"
        records = [record for i in ids if (record := _read(client, kind, i)) is not None]
    except ApiRejectedError as exc:
        raise ExportError(
            f"Nexudus refused to {action} the {kind.plural} of business {business}: {exc}",
            reason="refused",
            map_name=kind.map_name,
            business=business,
        ) from None
    except AuthorizationError as exc:
        role = exc.role_for(kind.spec.record_name)
        raise ExportError(
            f"{exc}: to {action} {kind.plural} needs the role {role}{without}",
            reason="no-role",
            map_name=kind.map_name,
            business=business,
            role=role,
        ) from None
    return [ExistingRecord.from_record(kind, r) for r in records if r.get("BusinessId") == business]


def _read(client: NexudusClient, kind: RecordKind[Any], record_id: int) -> dict[str, Any] | None:
    """The record by id; None when it was deleted since the listing named it."""
    try:
        return client.get(kind.spec.collection, record_id)
    except NotFoundError:
        return None
