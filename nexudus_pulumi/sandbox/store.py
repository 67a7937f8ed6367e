"""The sandbox's records: ChatRooms in SQLite, shaped as the Nexudus reference shows them."""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

FIRST_ID = 87654321

_COLUMNS = (
    "Id INTEGER PRIMARY KEY AUTOINCREMENT, BusinessId INTEGER NOT NULL, Name TEXT, "
    "Active INTEGER NOT NULL, LastAgentVisit TEXT, Users TEXT NOT NULL, "
    "UniqueId TEXT NOT NULL, CreatedOn TEXT NOT NULL, UpdatedOn TEXT NOT NULL, "
    "UpdatedBy TEXT, IsNew INTEGER NOT NULL, SystemId TEXT"
)
SORTABLE = ("Id", "BusinessId", "Name", "Active", "LastAgentVisit", "CreatedOn", "UpdatedOn")


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class ChatRoomStore:
    """Thread-safe; `path` ":memory:" (the default) keeps records for the process only."""

    def __init__(self, path: str = ":memory:") -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        with self._lock, self._db:
            self._db.execute(f"CREATE TABLE IF NOT EXISTS chatrooms ({_COLUMNS})")
            self._db.execute(  # ids start high and are never reused, as in Nexudus
                "INSERT INTO sqlite_sequence(name, seq) SELECT 'chatrooms', ? WHERE NOT EXISTS "
                "(SELECT 1 FROM sqlite_sequence WHERE name = 'chatrooms')",
                (FIRST_ID - 1,),
            )

    def insert(self, fields: dict[str, Any], user: str) -> int:
        stamp = now()
        with self._lock, self._db:
            cursor = self._db.execute(
                "INSERT INTO chatrooms VALUES (NULL,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    fields["BusinessId"],
                    fields.get("Name"),
                    int(bool(fields.get("Active"))),
                    fields.get("LastAgentVisit"),
                    json.dumps(fields.get("Users") or []),
                    str(uuid.uuid4()),
                    stamp,
                    stamp,
                    user,
                    1,
                    fields.get("SystemId"),
                ),
            )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def get(self, record_id: int) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM chatrooms WHERE Id = ?", (record_id,)).fetchone()
        return _record(row) if row else None

    def update(self, record_id: int, fields: dict[str, Any], user: str) -> bool:
        """Replace the given fields; `Users` is stored as given. False if there is no such id."""
        columns = {k: v for k, v in fields.items() if k in SORTABLE or k in ("Users", "SystemId")}
        if "Users" in columns:
            columns["Users"] = json.dumps(columns["Users"] or [])
        if "Active" in columns:
            columns["Active"] = int(bool(columns["Active"]))
        columns.update(UpdatedOn=now(), UpdatedBy=user, IsNew=0)
        assignments = ", ".join(f"{name} = ?" for name in columns)
        with self._lock, self._db:
            cursor = self._db.execute(
                f"UPDATE chatrooms SET {assignments} WHERE Id = ?", (*columns.values(), record_id)
            )
        return cursor.rowcount == 1

    def delete(self, record_id: int) -> bool:
        with self._lock, self._db:
            cursor = self._db.execute("DELETE FROM chatrooms WHERE Id = ?", (record_id,))
        return cursor.rowcount == 1

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM chatrooms ORDER BY Id").fetchall()
        return [_record(row) for row in rows]


def _record(row: sqlite3.Row) -> dict[str, Any]:
    record = dict(row)
    record["Active"] = bool(record["Active"])
    record["IsNew"] = bool(record["IsNew"])
    record["Users"] = json.loads(record["Users"])
    return record
