"""The sandbox's records in SQLite, one table per collection, shaped as Nexudus shows them.

One generic store serves every `SandboxCollection`: scalar fields are columns, lists are JSON,
read-only GUIDs are drawn at insert and derived fields (a business's name) computed on read.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from .collections import Field, SandboxCollection
from .rules import Known

_SQL_TYPES = {"int": "INTEGER", "text": "TEXT", "bool": "INTEGER", "ids": "TEXT"}


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Database:
    """One SQLite connection and its lock, shared by the stores. `path` ":memory:" (the
    default) keeps records for the process only."""

    def __init__(self, path: str = ":memory:") -> None:
        self.lock = threading.Lock()
        self.connection = sqlite3.connect(path, check_same_thread=False)
        self.connection.row_factory = sqlite3.Row


class RecordStore:
    """The records of one collection. Thread-safe."""

    def __init__(self, database: Database, collection: SandboxCollection, known: Known) -> None:
        self.collection = collection
        self._known = known
        self._lock = database.lock
        self._db = database.connection
        self._fields = {f.name: f for f in collection.fields}
        columns = ", ".join(
            [
                "Id INTEGER PRIMARY KEY AUTOINCREMENT",
                *(f"{f.name} {_SQL_TYPES[f.storage]}" for f in collection.fields),
                "UniqueId TEXT NOT NULL, CreatedOn TEXT NOT NULL, UpdatedOn TEXT NOT NULL",
                "UpdatedBy TEXT, IsNew INTEGER NOT NULL, SystemId TEXT",
            ]
        )
        with self._lock, self._db:
            self._db.execute(f"CREATE TABLE IF NOT EXISTS {collection.table} ({columns})")
            self._db.execute(
                "INSERT INTO sqlite_sequence(name, seq) SELECT ?, ? WHERE NOT EXISTS "
                "(SELECT 1 FROM sqlite_sequence WHERE name = ?)",
                (collection.table, collection.first_id - 1, collection.table),
            )

    def insert(self, fields: dict[str, Any], user: str) -> int:
        """Store a new record; absent or null fields take their defaults. Returns its id."""
        stamp = now()
        columns = {f.name: _column(f, fields.get(f.name)) for f in self.collection.fields}
        columns.update(
            UniqueId=str(uuid.uuid4()),
            CreatedOn=stamp,
            UpdatedOn=stamp,
            UpdatedBy=user,
            IsNew=1,
            SystemId=fields.get("SystemId"),
        )
        names = ", ".join(columns)
        marks = ", ".join("?" for _ in columns)
        with self._lock, self._db:
            cursor = self._db.execute(
                f"INSERT INTO {self.collection.table} ({names}) VALUES ({marks})",
                tuple(columns.values()),
            )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def get(self, record_id: int) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT * FROM {self.collection.table} WHERE Id = ?", (record_id,)
            ).fetchone()
        return self._record(row) if row else None

    def update(
        self, record_id: int, fields: dict[str, Any], user: str, *, touch: bool = True
    ) -> bool:
        """Replace the given writable fields (others are ignored); lists are stored as given.
        `touch` stamps `UpdatedOn` and `UpdatedBy`; False leaves them as they were (a change
        Nexudus may not count as an update of the record). False if there is no such id."""
        columns = {
            name: _column(self._fields[name], value)
            for name, value in fields.items()
            if name in self._fields
        }
        if "SystemId" in fields:
            columns["SystemId"] = fields["SystemId"]
        if touch:
            columns.update(UpdatedOn=now(), UpdatedBy=user)
        columns["IsNew"] = 0
        assignments = ", ".join(f"{name} = ?" for name in columns)
        with self._lock, self._db:
            cursor = self._db.execute(
                f"UPDATE {self.collection.table} SET {assignments} WHERE Id = ?",
                (*columns.values(), record_id),
            )
        return cursor.rowcount == 1

    def changes(self, current: dict[str, Any], fields: dict[str, Any]) -> set[str]:
        """The names of the writable fields (and `SystemId`) whose stored value `fields` would
        change, a null read as the field's default as `update` stores it."""
        changed = {
            name
            for name, value in fields.items()
            if name in self._fields
            and _column(self._fields[name], value) != _column(self._fields[name], current[name])
        }
        if "SystemId" in fields and fields["SystemId"] != current["SystemId"]:
            changed.add("SystemId")
        return changed

    def delete(self, record_id: int) -> bool:
        with self._lock, self._db:
            cursor = self._db.execute(
                f"DELETE FROM {self.collection.table} WHERE Id = ?", (record_id,)
            )
        return cursor.rowcount == 1

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(f"SELECT * FROM {self.collection.table} ORDER BY Id").fetchall()
        return [self._record(row) for row in rows]

    def _record(self, row: sqlite3.Row) -> dict[str, Any]:
        record = dict(row)
        for f in self.collection.fields:
            if f.storage == "bool":
                record[f.name] = bool(record[f.name])
            elif f.storage == "ids":
                record[f.name] = json.loads(record[f.name])
        record["IsNew"] = bool(record["IsNew"])
        for name, derive in self.collection.derived.items():
            record[name] = derive(record, self._known)
        return record


def _column(field: Field, value: Any) -> Any:
    """A field's value as stored: null means the default; booleans as 0/1, lists as JSON."""
    if value is None:
        value = field.default
    if field.storage == "bool":
        return int(bool(value))
    if field.storage == "ids":
        return json.dumps(value)
    return value
