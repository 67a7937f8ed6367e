"""The account's listing of one collection, shared by the operations of a provider process.

A listing is a search: Nexudus answers it with a projection of each record (no `Users`, no
`Members`, maybe no `SystemId`), so it is evidence of which records exist and of their scalar
fields, never of a record's whole content. Nothing is ever written from it: every write reads
its record by id first (see `custody`). What a listing is good for:
- finding the records that carry a resource's owner marker (a run killed after Nexudus
  committed a create), where the listing carries `SystemId`, or else narrowing the search to
  the records of the same business and name, which are then read by id;
- telling a refresh which records moved since the state last saw them (`UpdatedOn`), when the
  user vouches that every change moves it (`nexudus:membershipBumpsUpdatedOn`);
- finding two records that carry one marker (the drift check names both).

One thread lists while the others wait for its answer, never four lists at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .ownership import Marker

Search = Callable[[Mapping[str, Any]], Iterator[dict[str, Any]]]


@dataclass
class Snapshot:
    """Every record of the account as one listing showed it, by id."""

    records: dict[int, dict[str, Any]]
    taken_at: float = field(default_factory=time.monotonic)

    def candidates(
        self, marker: Marker, business: Any, name: Any, name_field: str, since: str
    ) -> list[dict[str, Any]]:
        """The records that may carry `marker`, oldest first, to be read by id.

        A listed `SystemId` that holds text is taken at its word: the record is a candidate if
        it names the same resource. One the listing leaves out, or shows as null (listings may
        do either; undocumented), tells nothing, so the record is a candidate if it is of the
        same business and either has the declared name or was created `since` (a leftover of
        a killed run that was renamed in config since: the next create looks for the new
        name).
        """
        found = []
        for record_id in sorted(self.records):
            record = self.records[record_id]
            shown = record.get("SystemId")
            if isinstance(shown, str) and shown:
                if marker.marks(record):
                    found.append(record)
            elif record.get("BusinessId") == business and (
                record.get(name_field) == name or str(record.get("CreatedOn") or "") >= since
            ):
                found.append(record)
        return found


class AccountListing:
    """The account's listing of one collection, for one provider process: taken on first use
    and again whenever the caller finds the one held too old."""

    def __init__(self, search: Search) -> None:
        self._search = search
        self._lock = threading.Lock()
        self._fetching = threading.Lock()
        self._snapshot: Snapshot | None = None

    def get(self, acceptable: Callable[[Snapshot], bool] = lambda _: True) -> Snapshot:
        """The listing held, or a new one when there is none or `acceptable` refuses it."""
        with self._fetching:  # one thread lists, the others wait and use its answer
            with self._lock:
                snapshot = self._snapshot
            if snapshot is not None and acceptable(snapshot):
                return snapshot
            fresh = Snapshot({int(r["Id"]): r for r in self._search({})})
            with self._lock:
                self._snapshot = fresh
            return fresh

    def forget(self, record_id: int) -> None:
        """Drop a record we deleted, so no later lookup of this process finds it."""
        with self._lock:
            if self._snapshot is not None:
                self._snapshot.records.pop(record_id, None)
