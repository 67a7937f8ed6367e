"""Which Nexudus record a resource holds, and writing it: only from a fresh read, only while ours.

The rules, for every record type:
- **Every write from a fresh read.** A PUT or a DELETE is preceded, in the same operation, by a
  GET of that record by id: a PUT carries that record with the declared fields laid over it.
  Listings are projections (no `Users`/`Members`, maybe no `SystemId`) and snapshots age, so
  neither ever decides what a write sends.
- **Ownership checked when writing.** The record read must carry the resource's marker (or the
  one it had before a key rename), or none at all. One that another stack or integration took
  over (`takeOver`) is released: its delete is skipped, saying so; its update fails, naming the
  new owner and the way back; a refresh drops it from the stack.
- **Exactly-once creates.** A create first looks for a record that already carries the
  resource's marker (a run killed after Nexudus committed its create): one in the declared
  business is adopted; others are reported, never deleted, since a record kept by
  `retainOnDelete` or adopted earlier carries the marker too. After a POST whose answer was
  lost, the record is searched for until a slow commit would have landed.
- **One record, one key.** Two keys adopting one id, or an `importId` another key of the stack
  holds, fail at preview, naming both (`adoption.Adoption`, which adopts `importId`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .adoption import Adoption, Vet, changes
from .client import NexudusClient, Write
from .descriptor import RecordSpec
from .errors import NexudusError, NotFoundError, NotOursError
from .errors import RecordOperationError as OperationError
from .gateway import RecordGateway
from .listing import Snapshot
from .models import RecordInputs
from .ownership import Marker, describe_owner, foreign_owner

__all__ = ["Custody", "Outcome", "Vet"]

log = logging.getLogger(__name__)

RECENT_DAYS = 7
"""Where listings show no `SystemId`, the marker lookup reads by id every record of the business
created in this many days: a killed run's leftover, renamed in config since, is among them."""
MAX_CANDIDATE_READS = 500
"""At most this many records are read by id for one marker lookup (about a minute of requests
at the account's limits), the newest first."""
LOOKUP_REFRESH_SECONDS = 5.0
"""While a create sent by a run killed just before this one could still commit (the request
timeout after this process started), the marker lookup's listing is taken again when older
than this, so a late commit is found and adopted rather than created a second time."""


@dataclass(frozen=True)
class Outcome:
    """A record as a create or update left it: its id, its fields as far as Nexudus told us,
    its read-only fields."""

    id: int
    fields: dict[str, Any]
    read_only: dict[str, Any]


class Custody:
    """The records one provider process creates, adopts, updates and deletes for one type."""

    def __init__(self, spec: RecordSpec, client: NexudusClient) -> None:
        self.spec = spec
        self.client = client
        self.gateway = RecordGateway(spec, client)
        self.listing = self.gateway.listing
        self._started = time.monotonic()
        self._lock = threading.Lock()
        self._held: dict[str, set[int]] = {}
        """Marker text -> the ids the state holds for that resource, as `diff` saw them. When a
        business change replaces the resource, the record replaced carries the marker too, yet
        it is no leftover to adopt: Pulumi deletes it next, unless `retainOnDelete` keeps it."""
        self._adopted: set[int] = set()
        """Records this process adopted as left by an interrupted run. `pulumi up --replace`
        calls neither `diff` nor `check` with the old inputs, so its create takes the record it
        replaces for such a leftover; the delete of the original that follows, the same id,
        must then leave it alone."""
        self._markers: dict[int, Any] = {}
        """Record id -> `SystemId` as a read by id showed it, for the marker lookup: each
        candidate is read once per process, whatever the number of creates asking. Dropped
        for a record this process writes."""
        self.adoption = Adoption(self.gateway)
        """`importId`: what a declaration adopts, at preview and at `up`."""

    @property
    def model(self) -> type[RecordInputs]:
        return self.spec.inputs_model

    @property
    def noun(self) -> str:
        return self.spec.record_name

    def hold(self, marker: Marker, record_id: int) -> None:
        with self._lock:
            self._held.setdefault(marker.text, set()).add(record_id)

    def was_adopted(self, record_id: int) -> bool:
        return record_id in self._adopted

    # ----- reading ----------------------------------------------------------------------------

    def fetch(self, record_id: int) -> dict[str, Any] | None:
        """The record as Nexudus holds it now (GET by id), or None when it does not exist."""
        return self.gateway.fetch(record_id)

    def marked(
        self,
        marker: Marker,
        business: Any,
        name: Any,
        snapshot: Snapshot,
        exclude: frozenset[int] = frozenset(),
    ) -> list[dict[str, Any]]:
        """The records carrying `marker`, each as just read by id, oldest first.

        The listing narrows the search (`Snapshot.candidates`): where it shows a record's
        `SystemId`, it is taken at its word; where it leaves it out or shows null, the records
        of the same business that have the declared name or were created in the last
        `RECENT_DAYS` are read by id, which finds a leftover of a killed run even if it was
        renamed in config since. Each record is read once per process (`_markers` keeps what
        it showed), and at most `MAX_CANDIDATE_READS` of them, newest first.
        """
        since = (datetime.now(UTC) - timedelta(days=RECENT_DAYS)).strftime("%Y-%m-%dT%H:%M")
        name_field = self.model.wire_name(self.model.NAME_FIELD)
        candidates = [
            c
            for c in snapshot.candidates(marker, business, name, name_field, since)
            if int(c["Id"]) not in exclude
        ]
        unread = [c for c in candidates if int(c["Id"]) not in self._markers]
        if len(unread) > MAX_CANDIDATE_READS:
            log.warning(
                "%d %ss of business %s may carry the marker %s and were not read yet; the "
                "newest %d are read (the listing shows no SystemId to narrow them down)",
                len(unread),
                self.noun,
                business,
                marker.text,
                MAX_CANDIDATE_READS,
            )
            skipped = {int(c["Id"]) for c in unread[:-MAX_CANDIDATE_READS]}
            candidates = [c for c in candidates if int(c["Id"]) not in skipped]
        found = []
        for candidate in candidates:
            record_id = int(candidate["Id"])
            if record_id in self._markers and not marker.marks(
                {"SystemId": self._markers[record_id]}
            ):
                continue
            record = self.fetch(record_id)
            self._markers[record_id] = None if record is None else record.get("SystemId")
            if record is not None and marker.marks(record):
                found.append(record)
        return found

    def duplicates(self, marker: Marker, record: dict[str, Any]) -> list[int]:
        """Ids of other records carrying the marker of `record`'s resource (the drift check)."""
        snapshot = self.listing.get()
        itself = frozenset({int(record["Id"])})
        name = record.get(self.model.wire_name(self.model.NAME_FIELD))
        others = self.marked(marker, record.get("BusinessId"), name, snapshot, itself)
        # A record the user chose to keep (retainOnDelete) is theirs to keep, never a duplicate.
        return [int(o["Id"]) for o in others if not _retained(o)]

    def _lookup_snapshot(self) -> Snapshot:
        """The listing the marker lookup of a create reads: refreshed every few seconds until a
        create sent by a run killed just before this process could no longer commit, then once
        more, then kept."""
        window_ends = self._started + self.client.settings.timeout_seconds

        def acceptable(snapshot: Snapshot) -> bool:
            if snapshot.taken_at >= window_ends:
                return True
            now = time.monotonic()
            return now < window_ends and now - snapshot.taken_at <= LOOKUP_REFRESH_SECONDS

        return self.listing.get(acceptable)

    # ----- writing what is ours -----------------------------------------------------------------

    def ours(self, label: str, *ours: Marker | None, took_over: bool = False) -> Vet:
        """Refuse to write a record that another owner took over. `took_over`: this resource
        took it by `takeOver` earlier, which is spent once it has worked."""
        return lambda record: self.check_ours(record, label, *ours, took_over=took_over)

    def check_ours(
        self, record: dict[str, Any], label: str, *ours: Marker | None, took_over: bool = False
    ) -> None:
        owner = foreign_owner(record, *ours)
        if owner is not None and took_over:
            raise NotOursError(
                f"{label}: id {record['Id']} is now managed by {owner}, not by this resource, "
                "so it is left untouched. This resource took it over once (takeOver), and "
                "takeOver is spent: it is not taken back silently. Agree with the other owner "
                "which of you keeps it; to take it again, run `pulumi up --replace` on this "
                "resource, or remove it from the stack to let it go",
                record_id=int(record["Id"]),
                owner=owner,
            )
        if owner is not None:
            raise NotOursError(
                f"{label}: id {record['Id']} is now managed by {owner}, not by this resource, "
                "so it is left untouched. `pulumi refresh` drops it from this stack (the next "
                f"`up` then creates a {self.noun} of its own); to take it back instead, declare "
                f"importId: {record['Id']} and takeOver: true",
                record_id=int(record["Id"]),
                owner=owner,
            )

    def write_declared(self, inputs: RecordInputs, record_id: int, vet: Vet) -> Outcome:
        """PUT the record, as read by id in the write's own turn, with the declared fields laid
        over it and the marker; nothing when it already holds them. `vet` refuses (raises for)
        a record that may not be written: asked of every read, so a record another owner took
        while the write waited is never written. Raises `NotFoundError` when it is gone."""
        declared = inputs.declared()
        marker = inputs.marker

        def decide(record: dict[str, Any] | None) -> Write | None:
            if record is None:
                raise NotFoundError(f"{self.spec.collection}/{record_id} was not found")
            vet(record)
            self._refuse_projection(record)
            live = self.model.live_view(record)
            fields = {**live, **declared}
            if fields == live and (marker is None or record.get("SystemId") == marker.text):
                return None
            return Write("PUT", {"Id": record_id, **self.model.to_api(fields, marker)})

        result = self.client.fresh_write(self.spec.collection, record_id, decide)
        self._markers.pop(record_id, None)
        record = result.record
        assert record is not None  # decide raised otherwise
        fields = {**self.model.live_view(record), **declared}
        read_only = self.model.outputs_from_record(record)
        if result.written is not None:
            read_only = {**read_only, **result.written.audit}
            if marker is not None:
                read_only["SystemId"] = marker.text
        return Outcome(record_id, fields, read_only)

    def _missing(self, record: dict[str, Any]) -> list[str]:
        """The record's fields an answer leaves out (a listing's projection, a create's)."""
        return [
            self.model.wire_name(name)
            for name in self.model.record_fields()
            if self.model.wire_name(name) not in record
        ]

    def _refuse_projection(self, record: dict[str, Any]) -> None:
        missing = self._missing(record)
        if missing:  # a projection: writing it back would clear what it leaves out
            raise OperationError(
                f"refusing to write id {record.get('Id')}: Nexudus's answer for it lacks "
                f"{', '.join(missing)}, and a PUT without them would clear them",
                record_id=int(record["Id"]) if "Id" in record else None,
            )

    def delete(self, record_id: int, label: str, marker: Marker | None) -> None:
        """DELETE the record if it is still there and still ours, as read in the delete's own
        turn; say what happened otherwise."""
        released: list[str] = []

        def decide(record: dict[str, Any] | None) -> Write | None:
            released.clear()
            if record is None:
                return None
            owner = foreign_owner(record, marker)
            if owner is not None:
                released.append(owner)
                return None
            return Write("DELETE")

        result = self.client.fresh_write(self.spec.collection, record_id, decide)
        self._markers.pop(record_id, None)
        if released:
            log.warning(
                "%s: id %s is now managed by %s, so it is released from this stack, not deleted",
                label,
                record_id,
                released[0],
            )
        elif not result.sent:
            log.info("%s: id %s was already gone", label, record_id)
        self.listing.forget(record_id)

    # ----- creating exactly once ------------------------------------------------------------------

    def create(self, inputs: RecordInputs, label: str) -> Outcome:
        """Adopt `importId`, or a record this resource's interrupted create left, or POST once."""
        marker = inputs.marker
        if inputs.import_id is not None:
            record = self.fetch(inputs.import_id)
            if record is None or marker is None or not marker.marks(record):
                return self._adopt(inputs, record, label)
            # already this resource's: a replacement (a business change), not an adoption
        if marker is None:
            return self._post(inputs, label, set())
        marked = self.marked(marker, inputs.business, inputs.listed_name, self._lookup_snapshot())
        held = self._held.get(marker.text, set())
        leftovers = [r for r in marked if int(r["Id"]) not in held]
        for record in marked:
            if int(record["Id"]) in held:
                log.info(
                    "%s: id %s carries this resource's marker and is the %s being replaced; "
                    "Pulumi deletes it next, unless retainOnDelete keeps it",
                    label,
                    record["Id"],
                    self.noun,
                )
        adoptable = [r for r in leftovers if r.get("BusinessId") == inputs.business]
        if adoptable:
            record = adoptable[0]
            log.info(
                "%s: found id %s carrying this resource's marker (left by an interrupted run, or "
                "kept by retainOnDelete); adopting it instead of creating another",
                label,
                record["Id"],
            )
            outcome = self.write_declared(inputs, int(record["Id"]), self._still_left(marker))
            self._adopted.add(outcome.id)
            self._report_others(leftovers, outcome.id, label)
            return outcome
        outcome = self._post(inputs, label, {int(r["Id"]) for r in marked})
        self._report_others(leftovers, outcome.id, label)
        return outcome

    def _adopt(self, inputs: RecordInputs, record: dict[str, Any] | None, label: str) -> Outcome:
        """Adopt `importId` (`record`, as just read by id) after the checks preview made."""
        vet = self.adoption.vet(inputs, record, label)
        assert record is not None  # vet refused it otherwise
        before = self.model.live_view(record)
        outcome = self.write_declared(inputs, int(record["Id"]), vet)
        plan = changes(before, outcome.fields)
        log.info(
            "%s: adopted existing id %s%s",
            label,
            record["Id"],
            f"; changed {plan}" if plan else "; its fields already matched",
        )
        return outcome

    def _still_left(self, marker: Marker) -> Vet:
        """A leftover is adopted only while it still carries this resource's marker: one that
        another owner took while the adoption waited for its turn is no longer ours to write."""

        def vet(record: dict[str, Any]) -> None:
            if not marker.marks(record):
                owner = describe_owner(record.get("SystemId")) or "no one (its marker was removed)"
                raise NotOursError(
                    f"id {record['Id']}, left by an interrupted run of this resource, is now "
                    f"managed by {owner}; it is left untouched. Run `pulumi up` again: a "
                    f"{self.noun} of this resource's own is then created",
                    record_id=int(record["Id"]),
                    owner=owner,
                )

        return vet

    def _report_others(self, records: list[dict[str, Any]], kept: int, label: str) -> None:
        """Other records carrying the marker are reported, never deleted: a record kept by
        retainOnDelete, or adopted by an earlier run, carries it too."""
        for record in records:
            if _retained(record) and int(record["Id"]) != kept:
                log.info(
                    "%s: id %s (business %s), kept by retainOnDelete, also carries this "
                    "resource's marker; it stays as it is, and this resource holds id %s",
                    label,
                    record["Id"],
                    record.get("BusinessId"),
                    kept,
                )
            elif int(record["Id"]) != kept:
                log.warning(
                    "%s: id %s (business %s) also carries this resource's marker (kept by "
                    "retainOnDelete, or left by an interrupted run); it is left as it is, and "
                    "this resource holds id %s. Delete it in Nexudus if it is not wanted",
                    label,
                    record["Id"],
                    record.get("BusinessId"),
                    kept,
                )

    def _post(self, inputs: RecordInputs, label: str, known: set[int]) -> Outcome:
        """POST, searching after a lost answer (the client's `create`); the record found is one
        carrying the marker that was not there before (`known`): never the record a replacement
        replaces."""
        declared = inputs.declared()
        body = self.model.to_api(inputs.created(), inputs.marker)
        finder = None if inputs.marker is None else self._lost_create_finder(inputs, known)
        written = self.client.create(self.spec.collection, body, find_lost=finder, label=label)
        record_id, read_only, record = written.id, dict(written.audit), written.record
        # The state holds the read-only fields as Nexudus made them (`createdOn`, `uniqueId`,
        # `isNew`...), so that the first refresh (a drift check) shows only drift, not outputs
        # seen for the first time: a create's answer is only `{"Id": n}` (documented), so it is
        # read back by id. The record's own fields stay what was sent: a default nobody declared
        # is Nexudus's, and a value read now would hide a change made before the next diff.
        if record is None or self._missing(record):
            try:
                record = self.fetch(record_id)
            except NexudusError as exc:  # the record exists: the create stands, the read waits
                log.info("%s: id %s created; reading it back failed (%s)", label, record_id, exc)
                record = None
        if record is not None:
            read_only = {**self.model.outputs_from_record(record), **read_only}
        if inputs.marker is not None:
            read_only["SystemId"] = inputs.marker.text
        return Outcome(record_id, declared, read_only)

    def _lost_create_finder(
        self, inputs: RecordInputs, known: set[int]
    ) -> Callable[[], dict[str, Any] | None]:
        """One look for the record a POST with an unknown outcome created, for the client to
        take until a slow commit would have landed. It filters on the business and name just
        sent; each match is read by id, since a listing may not show `SystemId`, and a filter
        the API ignores returns every record."""
        marker = inputs.marker
        assert marker is not None

        def find() -> dict[str, Any] | None:
            listed = Snapshot(
                {
                    int(r["Id"]): r
                    for r in self.client.search(self.spec.collection, inputs.lookup_filters())
                }
            )
            for record in self.marked(marker, inputs.business, inputs.listed_name, listed):
                if int(record["Id"]) not in known:
                    return record
            return None

        return find


def _retained(record: dict[str, Any]) -> bool:
    marker = Marker.parse(record.get("SystemId"))
    return marker is not None and marker.retained
