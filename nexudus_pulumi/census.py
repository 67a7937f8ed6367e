"""The records that carry a stack's markers but that no resource of the stack holds.

A run killed after Nexudus committed its creates leaves records Pulumi never heard of. If the key
is declared again, its next create adopts the record (`custody`); if the key was removed from
the stack meanwhile, nothing ever looks for it again: it carries the stack's marker, no drift
check saw it, and `pulumi destroy` left it behind. The census finds them, for the stack's
identity resource (`identity.StackIdentityProvider`) to report at every preview and at destroy.

It reads what a listing shows, and by id what it cannot tell: a listed `SystemId` that holds text
is taken at its word; one left out or shown null makes the records created in the last
`RECENT_DAYS` candidates, read by id, at most `MAX_READS` of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .client import NexudusClient
from .descriptor import RecordSpec
from .errors import NotFoundError
from .ownership import Marker

RECENT_DAYS = 7
MAX_READS = 500


@dataclass(frozen=True)
class Orphan:
    record_name: str
    """`ChatRoom`."""
    id: int
    key: str
    """The key whose marker it carries."""
    business: Any


def orphans(
    client: NexudusClient,
    stack_id: str,
    declared: Mapping[str, Sequence[str]],
    types: Sequence[RecordSpec],
) -> list[Orphan]:
    """Records of `types` carrying a marker of stack `stack_id` whose key is not among
    `declared` (record name -> keys), or that was kept by `retainOnDelete` (never reported)."""
    since = (datetime.now(UTC) - timedelta(days=RECENT_DAYS)).strftime("%Y-%m-%dT%H:%M")
    found: list[Orphan] = []
    reads = 0
    for spec in types:
        keys = set(declared.get(spec.record_name, ()))
        collection = spec.collection
        for listed in client.search(collection, {}):
            shown = listed.get("SystemId")
            if not (isinstance(shown, str) and shown):
                if str(listed.get("CreatedOn") or "")[:16] < since or reads >= MAX_READS:
                    continue
                reads += 1
                try:
                    shown = client.get(collection, int(listed["Id"])).get("SystemId")
                except NotFoundError:
                    continue
            marker = Marker.parse(shown)
            if marker is None or marker.stack_id != stack_id or marker.retained:
                continue
            if marker.key not in keys:
                business = listed.get("BusinessId")
                found.append(Orphan(spec.record_name, int(listed["Id"]), marker.key, business))
    return found


def report(found: Sequence[Orphan], *, destroying: bool = False) -> str:
    """What to tell the user, naming each record and how to delete it."""
    shown = ", ".join(
        f"{o.record_name} {o.id} (key {o.key!r}, business {o.business})" for o in found
    )
    why = (
        "are left behind by this destroy: they carry this stack's markers, but no resource of "
        "the stack held them (a run killed after Nexudus committed them)"
        if destroying
        else "carry this stack's markers, but no resource of the stack holds them (left by a "
        "run killed after Nexudus committed them, whose key was removed since)"
    )
    return (
        f"{shown} {why}. Delete them in the Nexudus admin UI (or DELETE "
        "/api/<collection>/<id>) if they are not wanted, or declare the key again: its next "
        "create adopts the record"
    )
