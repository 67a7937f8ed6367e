"""What a request to one collection does once the server has authenticated and admitted it:
create, update (a whole-record PUT), delete, read by id, search. Each answers as Nexudus does,
through the request's `Responder`; which fields are kept, shown or cleared is the collection's
and the state's `fidelity`'s to say.
"""

from __future__ import annotations

import json
import time
from typing import Any

from .collections import Filter
from .responder import Responder
from .state import SandboxState
from .store import RecordStore, now

MAX_PAGE_SIZE = 1000


def parse_json(body: bytes) -> Any:
    """The body's JSON, or None when it is none (the rules then name what is missing)."""
    try:
        return json.loads(body or b"null")
    except ValueError:
        return None


class Endpoint:
    """One collection's endpoints, for one request."""

    def __init__(self, responder: Responder, state: SandboxState, store: RecordStore) -> None:
        self.responder = responder
        self.state = state
        self.store = store

    def _rejected(self, errors: list[tuple[str, Any, str]]) -> int:
        return self.responder.send(
            400,
            {
                "Message": "\n".join(f"{p}: {m}" if p else m for p, _, m in errors),
                "Value": None,
                "WasSuccessful": False,
                "Errors": [
                    {"AttemptedValue": v, "Message": m, "PropertyName": p} for p, v, m in errors
                ],
            },
        )

    def _envelope(
        self, message: str, value: Any, updated_on: str | None, user: str, *, ok: bool = True
    ) -> int:
        """The write envelope, HTTP 200 whether the write happened or a business rule refused
        it (`ok` False: `WasSuccessful: false`, as Nexudus answers a refused DELETE)."""
        return self.responder.send(
            200,
            {
                "Status": 200,
                "Message": message,
                "Value": value,
                "OpenInDialog": False,
                "OpenInWindow": False,
                "RedirectURL": None,
                "JavaScript": None,
                "UpdatedOn": updated_on,
                "UpdatedBy": user or None,
                "Errors": None,
                "WasSuccessful": ok,
            },
        )

    def _written(self, verb: str, record_id: int, user: str) -> int:
        """A successful write's answer, with the record's `UpdatedOn` as it now stands."""
        record = self.store.get(record_id)
        updated_on = record["UpdatedOn"] if record is not None else now()
        value: Any = {"Id": record_id}
        if verb == "created" and self.state.fidelity.create_answers_record:
            value = record
        return self._envelope(
            f"{self.store.collection.record} was successfully {verb}.", value, updated_on, user
        )

    def _not_found(self) -> int:
        return self.responder.send_text(404, "Not found")

    def create(self, user: str, body: bytes) -> int:
        state, collection = self.state, self.store.collection
        fields, errors = collection.rules.validate(parse_json(body), state, for_update=False)
        if errors:
            return self._rejected(errors)
        if state.faults.commit_delay_ms:
            time.sleep(state.faults.commit_delay_ms / 1000)
        record_id = self.store.insert(fields, user)
        state.count_post(collection.record)
        if state.faults.roll(state.faults.drop_after_commit_rate, "drop after commit"):
            return self.responder.drop()
        if state.faults.answer_delay_ms:
            time.sleep(state.faults.answer_delay_ms / 1000)
        return self._written("created", record_id, user)

    def update(self, user: str, body: bytes) -> int:
        collection = self.store.collection
        payload = parse_json(body)
        fields, errors = collection.rules.validate(payload, self.state, for_update=True)
        if errors:
            return self._rejected(errors)
        record_id = payload["Id"]
        current = self.store.get(record_id)
        if current is None:
            return self._not_found()
        self.state.apply(self.store, record_id, self._put_fields(fields, current), user)
        return self._written("updated", record_id, user)

    def _put_fields(self, fields: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
        """What a PUT writes. A field it is not sent goes back to its default when
        `fidelity.put_clears_omitted` (a client that sends only what changed wipes the rest),
        else keeps its stored value. `Added*` / `Removed*` apply to the list sent, or to the
        stored list when none is sent."""
        collection = self.store.collection
        clears = self.state.fidelity.put_clears_omitted
        written = dict(fields)
        for name in (*(f.name for f in collection.fields), "SystemId"):
            if name not in written and name not in collection.list_deltas:
                written[name] = None if clears else current[name]
        for name, (added_name, removed_name) in collection.list_deltas.items():
            added = written.pop(added_name, None) or []
            removed = set(written.pop(removed_name, None) or [])
            if name in written:
                given = written[name] or []
            else:
                given = current[name] if (added or removed or not clears) else []
            kept = dict.fromkeys([*given, *added])
            written[name] = [v for v in kept if v not in removed]
        return written

    def delete(self, record_id: int) -> int:
        if self.store.get(record_id) is None:
            return self._not_found()
        reason = self.state.undeletable.get(record_id)
        if reason is not None:
            return self._envelope(reason, None, None, "", ok=False)
        if not self.store.delete(record_id):
            return self._not_found()
        return self._written("deleted", record_id, "")

    def read(self, record_id: int) -> int:
        record = self.store.get(record_id)
        if record is None:
            return self._not_found()
        return self.responder.send(200, record)

    def _listed(self, record: dict[str, Any]) -> dict[str, Any]:
        """A record as a listing shows it: without the collection properties, and without
        `SystemId` unless `fidelity.listing_system_id`."""
        collection = self.store.collection
        hidden = set(collection.collections)
        fidelity = self.state.fidelity
        if not fidelity.listing_system_id:
            hidden.add("SystemId")
        listed = {k: v for k, v in record.items() if k not in hidden}
        if "SystemId" in listed and fidelity.listing_system_id_null:
            listed["SystemId"] = None
        return listed

    def _filters(self) -> dict[str, Filter]:
        """The query parameters search honours; any other is ignored (every record kept)."""
        collection = self.store.collection
        filters = dict(collection.filters)
        if self.state.fidelity.system_id_filter:
            filters[f"{collection.record}_SystemId"] = lambda record, value: (
                record["SystemId"] == value
            )
        return filters

    def search(self, query: dict[str, list[str]]) -> int:
        collection = self.store.collection
        q = {k: v[0] for k, v in query.items()}
        try:
            page = max(1, int(q.get("page", 1)))
            size = min(max(1, int(q.get("size", 25))), MAX_PAGE_SIZE)
        except ValueError:
            return self._rejected([("page", q.get("page"), "must be a number")])
        tests = [(test, q[name]) for name, test in self._filters().items() if name in q]
        records = [r for r in self.store.all() if all(test(r, value) for test, value in tests)]
        order = q.get("orderBy", "Id")
        descending = q.get("dir", "").lower() in ("descending", "desc")
        if order in collection.sortable:
            records.sort(key=lambda r: (r[order] is None, r[order]), reverse=descending)
        total = len(records)
        start = (page - 1) * size
        chunk = [self._listed(r) for r in records[start : start + size]]
        pages = max(1, -(-total // size))
        return self.responder.send(
            200,
            {
                "Records": chunk,
                "CurrentPage": page,
                "CurrentPageSize": size,
                "CurrentOrderField": order,
                "CurrentSortDirection": 1 if descending else 0,
                "FirstItem": start + 1 if chunk else 0,
                "LastItem": start + len(chunk),
                "TotalItems": total,
                "TotalPages": pages,
                "HasNextPage": page < pages,
                "HasPreviousPage": page > 1,
            },
        )
