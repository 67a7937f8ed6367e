"""Paged listings of a collection, shared by every operation of a provider process.

Nexudus allows 120 requests a minute and 5,000 an hour. Reading a stack's records one GET at a
time spends one request per record; one paged listing (100 records a page) answers for all of
them. So:
- the owner-marker lookup that protects creates against lost answers and killed runs reads one
  listing of the whole account per process, once, shared by every create of the run (records
  this process creates afterwards are known by their ids, so it never needs refreshing);
- reads (refresh) and the live values an update keeps are served from a listing of the record's
  business, fetched on first use and reused while it is younger than `max_age`.

Each listing is fetched by one thread while the others wait for it, never four times at once.
Our own writes are applied to the listings we hold, so they never contradict what we just did.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .ownership import Marker

READ_MAX_AGE_SECONDS = 60.0
"""How stale a listing may be when it serves a read or an update's unmanaged fields."""

Search = Callable[[Mapping[str, Any]], Iterator[dict[str, Any]]]


@dataclass
class Snapshot:
    records: dict[int, dict[str, Any]]
    taken_at: float = field(default_factory=time.monotonic)

    def age(self) -> float:
        return time.monotonic() - self.taken_at

    def marked(self, marker: Marker) -> list[dict[str, Any]]:
        """Records whose `SystemId` names the same resource as `marker`, oldest first."""
        return [self.records[i] for i in sorted(self.records) if marker.marks(self.records[i])]


class Listings:
    """The listings of one collection, for one provider process."""

    def __init__(self, search: Search, business_filter: str) -> None:
        self._search = search
        self._business_filter = business_filter
        self._lock = threading.Lock()
        self._fetching: dict[int | None, threading.Lock] = {}
        self._snapshots: dict[int | None, Snapshot] = {}

    def account(self) -> Snapshot:
        """Every record of the account, listed once per process (the owner-marker lookup)."""
        return self._snapshot(None, max_age=float("inf"))

    def business(self, business_id: int, max_age: float = READ_MAX_AGE_SECONDS) -> Snapshot:
        """The business's records as of at most `max_age` seconds ago. (Not cut from the
        account listing: that one is taken for creates, and a read wants its own, taken when
        the reads begin.)"""
        return self._snapshot(business_id, max_age=max_age)

    def remember(self, record: dict[str, Any]) -> None:
        """Apply our own write (the record's fields as we sent them) to the listings we hold."""
        record_id = int(record["Id"])
        with self._lock:
            for key, snapshot in self._snapshots.items():
                current = snapshot.records.get(record_id)
                merged = {**(current or {}), **record}
                if key is None or merged.get("BusinessId") == key:
                    snapshot.records[record_id] = merged
                else:
                    snapshot.records.pop(record_id, None)

    def forget(self, record_ids: Iterable[int]) -> None:
        """Drop records we deleted (or learned are gone) from the listings we hold."""
        with self._lock:
            for snapshot in self._snapshots.values():
                for record_id in record_ids:
                    snapshot.records.pop(record_id, None)

    def _snapshot(self, key: int | None, *, max_age: float) -> Snapshot:
        with self._lock:
            fetching = self._fetching.setdefault(key, threading.Lock())
        with fetching:  # one thread lists, the others wait and use its answer
            with self._lock:
                snapshot = self._snapshots.get(key)
            if snapshot is not None and snapshot.age() <= max_age:
                return snapshot
            filters = {} if key is None else {self._business_filter: key}
            fresh = Snapshot({int(r["Id"]): r for r in self._search(filters)})
            with self._lock:
                self._snapshots[key] = fresh
            return fresh
