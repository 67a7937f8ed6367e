"""What export does to each record type's map: which records, under which keys, with which
fields, and what the user must read about it. Decided in memory, before anything is written."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..display import cut, visible
from ..errors import ExportError
from ..kinds import KINDS
from ..recordkind import BUSINESS, RecordKind
from ..stackconfig import holds_encrypted, is_encrypted
from ..stackkeys import IMPORT_KEY, PROTECT_KEY, TAKE_OVER_KEY, take_over_note
from .keys import derive_keys
from .records import ExistingRecord


@dataclass(frozen=True)
class ExportOptions:
    business: int
    protect: bool = True
    include_owned: bool = False
    with_fields: frozenset[str] = frozenset()
    """Fields written only on request (a kind's `on_request`, such as `lastAgentVisit`)."""
    kinds: tuple[RecordKind[Any], ...] = KINDS
    """The maps to write (`--only`)."""
    keep_unmatched: bool = False
    """Keep keys of the file that match no record (`--keep-unmatched`) instead of removing them."""

    def written(self, kind: RecordKind[Any]) -> tuple[str, ...]:
        """The fields of `kind` export may write, in the stack file's order."""
        return tuple(
            name for name in kind.fields if name not in kind.on_request or name in self.with_fields
        )


@dataclass
class Entry:
    """One record as it will stand in its map."""

    key: str
    record: ExistingRecord
    fields: dict[str, Any]
    in_file: bool
    """The key was already in the file: it keeps its place and comments."""
    note: str = ""
    """Written as a comment above a new key."""
    encrypted: tuple[str, ...] = ()
    """Fields the file holds encrypted (`secure:`): left as they are."""
    withheld: dict[str, str] = field(default_factory=dict)
    """Secret fields (`RecordKind.secret`) not written, as they could not be encrypted -> why."""


@dataclass
class ExportPlan:
    """What export does to one kind's map."""

    kind: RecordKind[Any]
    entries: list[Entry] = field(default_factory=list)
    skipped: list[ExistingRecord] = field(default_factory=list)
    """Records another stack manages, left out (no --include-owned)."""
    dropped: list[str] = field(default_factory=list)
    """Keys in the file that match no record of the business (with --force they go, unless
    --keep-unmatched)."""
    unmatched: list[str] = field(default_factory=list)
    """The same keys, kept (--keep-unmatched)."""
    encrypted: list[str] = field(default_factory=list)
    """Keys whose whole entry is encrypted (`secure:`): left as they are, never matched."""
    contested: dict[str, ExistingRecord] = field(default_factory=dict)
    """Keys in the file adopting a record another stack manages: left as they are, and named."""

    @property
    def taken_over(self) -> list[Entry]:
        return [e for e in self.entries if e.fields.get(TAKE_OVER_KEY)]

    def warnings(self, options: ExportOptions) -> list[str]:
        """What the user must read. Text from the API or the file (names, SystemIds, keys) is
        escaped: it never reaches the terminal raw."""
        kind = self.kind
        lines = [
            f"skipped {record.label}: managed by {record.claimant} (--include-owned writes it "
            "with takeOver: true)"
            for record in self.skipped
        ]
        lines += [
            f"warning: {visible(key)} adopts {record.label}, which {record.claimant} manages; left "
            "as it is, and `pulumi up` will refuse it (--include-owned adds takeOver: true)"
            for key, record in self.contested.items()
        ]
        lines += [
            f"warning: {visible(e.key)} ({e.record.label}) is managed by {e.record.claimant}; "
            "written with takeOver: true, so `pulumi up` makes it this stack's (its SystemId is "
            "replaced with this stack's marker)"
            for e in self.taken_over
        ]
        lines += [
            f"warning: {visible(e.key)} ({e.record.label}): its {name} from Nexudus, "
            f"{visible(cut(repr(e.record.declared(name)), 60))}, is not written: a declaration "
            f"refuses it ({visible(reason)}); fix it in Nexudus, or declare the value you want"
            for e in self.entries
            for name in options.written(kind)
            if (reason := e.record.unwritable(name))
        ]
        lines += [
            f"warning: {visible(e.key)}.{name} is encrypted (secure:): left as it is, not compared "
            "with Nexudus"
            for e in self.entries
            for name in e.encrypted
        ]
        lines += [
            f"warning: {visible(e.key)}.{name} from Nexudus is not written: it may hold a "
            f"passcode, and export writes it only encrypted (secure:), which failed: {why}"
            for e in self.entries
            for name, why in e.withheld.items()
        ]
        lines += [
            f"warning: {visible(key)} is encrypted (secure:): left as it is, not matched to a "
            f"{kind.noun}"
            for key in self.encrypted
        ]
        lines += [
            f"warning: removed {visible(key)} and the comments above it: no {kind.noun} of "
            f"business {options.business} matches it (--keep-unmatched keeps such keys)"
            for key in self.dropped
        ]
        lines += [
            f"kept {visible(key)}: no {kind.noun} of business {options.business} matches it; "
            "`pulumi up` creates it unless its resource exists already"
            for key in self.unmatched
        ]
        return lines


def managed_fields(
    record: ExistingRecord, stack_business: int, options: ExportOptions
) -> dict[str, Any]:
    """The fields worth managing; the others are left to Nexudus.

    A field is written when Nexudus holds something in it other than the API's default (a
    required field always; a field the kind pins even at its default), `businessId` only where
    it differs from the stack's, and a field Nexudus moves by itself only on request.
    """
    kind = record.kind
    fields: dict[str, Any] = {}
    for name in options.written(kind):
        value = record.declared(name)
        if record.unwritable(name):
            continue  # not written; named in `ExportPlan.warnings`
        if name == BUSINESS:
            wanted = value != stack_business
        else:
            wanted = value is not None and (name in kind.pinned or value != kind.default(name))
        if wanted:
            fields[name] = value
    return fields


def _import_ids(kind: RecordKind[Any], declared: Mapping[str, Any]) -> dict[int, str]:
    """importId -> key of the records already declared; one record may not have two keys."""
    seen: dict[int, str] = {}
    for key, entry in declared.items():
        value = entry.get(IMPORT_KEY) if isinstance(entry, Mapping) else None
        if value is None or is_encrypted(value):
            continue
        try:
            record_id = int(value)
        except (TypeError, ValueError):
            raise ExportError(
                f"{kind.map_name}.{key}.importId must be a {kind.noun} id, got {value!r}",
                reason="bad-import-id",
                map_name=kind.map_name,
                keys=(key,),
            ) from None
        if record_id in seen:
            raise ExportError(
                f"{kind.map_name} {seen[record_id]!r} and {key!r} both adopt {kind.noun} "
                f"{record_id} (importId): two keys would manage one {kind.noun}; keep one of them",
                reason="adopted-twice",
                map_name=kind.map_name,
                keys=(seen[record_id], key),
                record_id=record_id,
            )
        seen[record_id] = key
    return seen


def plan_export(
    kind: RecordKind[Any],
    records: Iterable[ExistingRecord],
    declared: Mapping[str, Any],
    *,
    project: str,
    stack: str,
    options: ExportOptions,
    held: Mapping[int, str] | None = None,
) -> ExportPlan:
    """Decide each record's key and fields in its kind's map, and what is left out.

    A record already declared (by its importId, by the stack's outputs `held` (id -> key), or
    because its marker names this stack and a key of the map) keeps its key: so does one that
    lost its marker since. A record whose `SystemId` names another stack, or was set by
    another integration, is skipped, or written with `takeOver: true` when `include_owned`: no
    one's record is taken without asking. New keys follow in id order.
    """
    by_import = _import_ids(kind, declared)
    own_prefix = f"{project}/{stack}/"
    plan = ExportPlan(kind)
    matched: dict[int, str] = {}
    fresh: list[ExistingRecord] = []
    ordered = sorted(records, key=lambda record: record.id)
    for record in ordered:
        owner = record.owner
        ours = owner is not None and owner.startswith(own_prefix)
        key = by_import.get(record.id)
        if key is None and record.system_id is None and (held or {}).get(record.id) in declared:
            key = (held or {})[record.id]
        if key is None and ours and owner is not None and owner[len(own_prefix) :] in declared:
            key = owner[len(own_prefix) :]
        claimed = record.system_id is not None and not (ours and key is not None)
        if claimed and not options.include_owned:
            if key is None:
                plan.skipped.append(record)
            else:
                plan.contested[key] = record
        elif key is not None:
            matched[record.id] = key
        else:
            fresh.append(record)
    new_keys = derive_keys(fresh, taken=declared.keys())
    for record in ordered:
        if record.id in matched:
            key = matched[record.id]
            fields = managed_fields(record, options.business, options)
            if record.claimed_elsewhere(own_prefix):
                fields[TAKE_OVER_KEY] = True
            written = declared[key] if isinstance(declared[key], Mapping) else {}
            encrypted = tuple(name for name, value in written.items() if holds_encrypted(value))
            plan.entries.append(Entry(key, record, fields, in_file=True, encrypted=encrypted))
        elif record.id in new_keys:
            plan.entries.append(_new_entry(new_keys[record.id], record, options))
    kept = {entry.key for entry in plan.entries}
    plan.encrypted = [key for key, entry in declared.items() if is_encrypted(entry)]
    unmatched = [
        key
        for key in declared
        if key not in kept
        and key not in plan.contested
        and key not in plan.encrypted
        and _in_business(declared[key], options)
    ]
    if options.keep_unmatched:
        plan.unmatched = unmatched
    else:
        plan.dropped = unmatched
    return plan


def _in_business(entry: Any, options: ExportOptions) -> bool:
    """Whether a declared record lives in the exported business: one declared elsewhere (its
    own `businessId`) matches none of the business's records, yet removing its key would make
    the next `up` delete it."""
    business = entry.get(BUSINESS) if isinstance(entry, Mapping) else None
    return business is None or str(business) == str(options.business)


def _new_entry(key: str, record: ExistingRecord, options: ExportOptions) -> Entry:
    fields = managed_fields(record, options.business, options)
    fields[IMPORT_KEY] = record.id
    if options.protect:
        fields[PROTECT_KEY] = True
    note = ""
    if record.owner is not None:
        fields[TAKE_OVER_KEY] = True
        note = take_over_note(stack=record.owner)
    elif record.system_id:
        fields[TAKE_OVER_KEY] = True  # the provider refuses another owner's record without it
        note = take_over_note(system_id=record.system_id)
    return Entry(key, record, fields, in_file=False, note=note)


def link_references(plans: Sequence[ExportPlan]) -> None:
    """An entry whose field holds the id of a record exported under a key of the same stack
    names that key instead (`group: makers`, not `communityGroupId: 65432101`): the stack then
    holds the link, so a clone links to the clone's group, not the source's. An entry already
    in the file keeps the form it has there (`_fill_map`)."""
    keys = {plan.kind.map_name: {e.record.id: e.key for e in plan.entries} for plan in plans}
    for plan in plans:
        for setting, reference in plan.kind.references.items():
            targets = keys.get(reference.map_name, {})
            for entry in plan.entries:
                key = targets.get(entry.fields.get(reference.field, 0))
                if key is not None:  # in its place, for the same order
                    entry.fields = {
                        setting if name == reference.field else name: value
                        for name, value in {**entry.fields, reference.field: key}.items()
                    }
