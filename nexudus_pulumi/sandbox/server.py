"""A local Nexudus: the ChatRoom and CommunityGroup endpoints, token and Basic auth, throttling
and injected faults.

It is what the demo and every test talk to, over real HTTP on loopback. Faults are plain
attributes of `Faults`, so tests turn them on and off while the server runs. The handlers are
generic: each collection is a `CollectionSpec` (see `specs.py`) with a `RecordStore`.
"""

from __future__ import annotations

import base64
import contextlib
import json
import random
import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .limits import Limits, Throttle
from .specs import CHAT_ROOMS, COLLECTIONS, COMMUNITY_GROUPS, CollectionSpec
from .store import Database, RecordStore

TOKEN_PATH = "/api/token"
DEMO_USER = "admin@example.com"
DEMO_PASSWORD = "sandbox-demo-password"
READER_USER = "reader@example.com"
READER_PASSWORD = "sandbox-reader-password"
ALL_ROLES = frozenset().union(*(spec.roles for spec in COLLECTIONS))
READER_ROLES = frozenset(spec.role(a) for spec in COLLECTIONS for a in ("Read", "List"))
DEFAULT_BUSINESSES = (1001, 1002, 1003)
DEFAULT_USERS = tuple(range(11, 61))
"""The account's users (ids 11 to 60): group administrators and members must be among them."""
TOKEN_LIFETIME_SECONDS = 604_799
STOP_POLL_SECONDS = 0.02
"""How often the serving thread looks for `stop()`, which waits for it: socketserver's 0.5 s
default made every test with a sandbox half a second longer."""


@dataclass
class Faults:
    """Injected misbehaviour; rates are probabilities per request.

    Each draw is keyed by the seed, the kind of fault and the request's ordinal among those
    that could suffer it (the 7th POST that reached the error check, the 12th committed
    create), never by a shared random stream. Concurrent requests interleave differently from
    one run to the next; keyed draws keep the same faults on the same ordinals, so a run with a
    given seed sees the same number of each fault, whatever the thread timing.
    """

    latency_ms: float = 0.0
    error_rate: float = 0.0
    """Answer 503 instead of serving the request (nothing is written)."""
    drop_after_commit_rate: float = 0.0
    """On POST: commit the record, then close the connection without answering."""
    commit_delay_ms: float = 0.0
    """On POST: wait this long before committing the record, then answer. A client whose
    timeout is shorter gives up while the record still lands."""
    answer_delay_ms: float = 0.0
    """On POST: commit the record, then wait this long before answering. A run killed in
    that window leaves a record Nexudus holds and Pulumi never heard of."""
    seed: int = 0
    _ordinals: Counter[str] = field(default_factory=Counter, init=False, repr=False, compare=False)
    _lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )

    def roll(self, rate: float, kind: str) -> bool:
        """Whether the next request of `kind` (for example "GET error") suffers the fault."""
        if rate <= 0:
            return False
        with self._lock:
            self._ordinals[kind] += 1
            ordinal = self._ordinals[kind]
        return random.Random(f"{self.seed}/{kind}/{ordinal}").random() < rate


@dataclass
class Account:
    password: str
    roles: frozenset[str]


class Sandbox:
    """Owns the HTTP server, the records and the knobs. `start()` serves on a thread."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        db: str = ":memory:",
        limits: Limits | None = None,
        faults: Faults | None = None,
        businesses: Iterable[int] | Mapping[int, str] = DEFAULT_BUSINESSES,
        users: Iterable[int] = DEFAULT_USERS,
        token_lifetime: float = TOKEN_LIFETIME_SECONDS,
        token_endpoint: bool = True,
    ) -> None:
        self.throttle = Throttle(limits or Limits())
        self.faults = faults or Faults()
        self.businesses: dict[int, str] = (
            dict(businesses)
            if isinstance(businesses, Mapping)
            else {b: f"Business {b}" for b in businesses}
        )
        """Business id -> name: a record's `BusinessId` must be one of them."""
        self.users: set[int] = set(users)
        """User ids a group's `UserId` and `Members` must be among (room `Users` are not
        checked)."""
        database = Database(db)
        self.stores = {spec.path: RecordStore(database, spec, self) for spec in COLLECTIONS}
        self.store = self.stores[CHAT_ROOMS.path]
        """The chat rooms."""
        self.groups = self.stores[COMMUNITY_GROUPS.path]
        """The community groups."""
        self.token_lifetime = token_lifetime
        self.token_endpoint = token_endpoint
        """False answers 404 on /api/token, as an account where it is not offered would."""
        self.accounts = {
            DEMO_USER: Account(DEMO_PASSWORD, ALL_ROLES),
            READER_USER: Account(READER_PASSWORD, READER_ROLES),
        }
        self.tokens: dict[str, tuple[str, float]] = {}
        self.refresh_tokens: dict[str, str] = {}
        self.requests: list[tuple[str, str, int]] = []
        self.posts_by_record: Counter[str] = Counter()
        """Record name (`ChatRoom`, `CommunityGroup`) -> POSTs committed."""
        self.written: list[tuple[str, str, Any]] = []
        """(method, path, JSON body) of every POST and PUT to a collection, as it arrived: what
        a client sends is behaviour (a field it was not asked to manage must not be in it)."""
        self._lock = threading.Lock()
        self._idle = threading.Condition()
        self._in_flight = 0
        self._host = host
        self._server = ThreadingHTTPServer((host, port), _Handler)
        self._server.daemon_threads = True
        self._server.sandbox = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self._server.server_port}"

    def start(self) -> Sandbox:
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(STOP_POLL_SECONDS,), daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def posts_committed(self) -> int:
        """POSTs committed on any collection: a create that was answered, dropped or timed out."""
        with self._lock:
            return sum(self.posts_by_record.values())

    def target(self, path: str) -> tuple[RecordStore, int | None] | None:
        """The store of the collection a path names, and the record id if it names a record."""
        path = path.rstrip("/")
        parent, _, last = path.rpartition("/")
        if path in self.stores:
            return self.stores[path], None
        if parent in self.stores and last.isdigit():
            return self.stores[parent], int(last)
        return None

    def record(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self.requests.append((method, path, status))

    def begin_request(self) -> None:
        with self._idle:
            self._in_flight += 1

    def end_request(self) -> None:
        with self._idle:
            self._in_flight -= 1
            self._idle.notify_all()

    @property
    def in_flight(self) -> int:
        """Requests being served now (a test waits for creates to be under way)."""
        with self._idle:
            return self._in_flight

    def wait_idle(self, timeout: float = 60.0) -> None:
        """Wait until no request is being served: one a client gave up on (a timeout) may still
        be running here, and commit later. Tests call this before counting what was written."""
        with self._idle:
            if not self._idle.wait_for(lambda: self._in_flight == 0, timeout):
                raise TimeoutError(f"the sandbox still serves {self._in_flight} request(s)")

    def status_counts(self) -> Counter[tuple[str, int]]:
        with self._lock:
            return Counter((method, status) for method, _, status in self.requests)

    def expire_tokens(self) -> None:
        """Make every issued access token expire now (refresh tokens stay valid)."""
        with self._lock:
            self.tokens = {t: (user, 0.0) for t, (user, _) in self.tokens.items()}

    def issue_token(self, user: str) -> dict[str, Any]:
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        with self._lock:
            self.tokens[access] = (user, time.monotonic() + self.token_lifetime)
            self.refresh_tokens[refresh] = user
        return {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": int(self.token_lifetime),
            "refresh_token": refresh,
        }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "NexudusSandbox/1"
    disable_nagle_algorithm = True
    """Headers and body leave in separate writes; with Nagle's algorithm on, each answer would
    wait for the client's delayed ACK (about 40 ms), a latency no real API adds."""

    @property
    def sandbox(self) -> Sandbox:
        return self.server.sandbox  # type: ignore[attr-defined,no-any-return]

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the sandbox keeps its own request list."""

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    # ----- plumbing -------------------------------------------------------------------------

    _unrecorded: tuple[str, str] | None = None
    """The request being served (method, path) until it is in the sandbox's request list."""

    def _serve(self, method: str) -> None:
        sandbox = self.sandbox
        url = urlsplit(self.path)
        self._unrecorded = (method, url.path)
        sandbox.begin_request()
        try:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if method in ("POST", "PUT") and url.path != TOKEN_PATH:
                with sandbox._lock:
                    sandbox.written.append((method, url.path, self._json(body)))
            if sandbox.faults.latency_ms:
                time.sleep(sandbox.faults.latency_ms / 1000)
            self._route(method, url.path, parse_qs(url.query), body)
        finally:
            self._record(0)  # no answer was written (an exception); else a no-op
            sandbox.end_request()

    def _record(self, status: int) -> None:
        """Record the request before its answer leaves: a client that holds the answer (a test
        among them) must find the request in `sandbox.requests`, never a moment later."""
        if self._unrecorded is not None:
            self.sandbox.record(*self._unrecorded, status)
            self._unrecorded = None

    def _send(self, status: int, payload: Any = None, headers: dict[str, str] | None = None) -> int:
        data = b"" if payload is None else json.dumps(payload).encode()
        self._record(status)
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if data:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        return status

    def _drop(self) -> int:
        """Close the connection without a word, as a lost answer looks to the client."""
        self._record(0)
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
        return 0

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> int:
        sandbox = self.sandbox
        if path == TOKEN_PATH and not sandbox.token_endpoint:
            return self._send(404, {"Message": f"No HTTP resource was found for {path}."})
        if path == TOKEN_PATH and method == "POST":
            wait = sandbox.throttle.admit("token-endpoint", write=False)
            if wait:
                return self._send(409, None, {"Retry-After": str(wait)})
            return self._token(body)
        user = self._authenticate()
        if user is None:
            return self._send(401, {"Message": "Authorization has been denied for this request."})
        wait = sandbox.throttle.admit(user, write=method != "GET")
        if wait:
            return self._send(409, None, {"Retry-After": str(wait)})
        if sandbox.faults.roll(sandbox.faults.error_rate, f"{method} error"):
            return self._send(503, {"Message": "injected server error", "WasSuccessful": False})
        target = sandbox.target(path)
        if target is None:
            return self._send(404, {"Message": f"No HTTP resource was found for {path}."})
        store, record_id = target
        action = {
            ("POST", False): "Create",
            ("PUT", False): "Edit",
            ("DELETE", True): "Delete",
            ("GET", True): "Read",
            ("GET", False): "List",
        }.get((method, record_id is not None))
        if action is None:
            return self._send(405, {"Message": "The requested resource does not support this."})
        role = store.spec.role(action)
        if role not in sandbox.accounts[user].roles:
            return self._send(403, {"Message": f"You need the {role} role."})
        if method == "POST":
            return self._create(store, user, body)
        if method == "PUT":
            return self._update(store, user, body)
        if record_id is None:
            return self._search(store, query)
        if method == "DELETE":
            return self._delete(store, record_id)
        return self._read(store, record_id)

    def _authenticate(self) -> str | None:
        sandbox = self.sandbox
        header = self.headers.get("Authorization") or ""
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer":
            user, expires = sandbox.tokens.get(value, ("", 0.0))
            return user if user and expires > time.monotonic() else None
        if scheme.lower() == "basic":
            try:
                email, _, password = base64.b64decode(value).decode().partition(":")
            except ValueError:
                return None
            account = sandbox.accounts.get(email)
            if account is not None and secrets.compare_digest(account.password, password):
                return email
        return None

    # ----- endpoints ------------------------------------------------------------------------

    def _token(self, body: bytes) -> int:
        if not self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            return self._send(400, {"error": "unsupported_grant_type"})
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        sandbox = self.sandbox
        grant = form.get("grant_type")
        if grant == "password":
            account = sandbox.accounts.get(form.get("username", ""))
            if account is None or not secrets.compare_digest(
                account.password, form.get("password", "")
            ):
                return self._send(
                    400,
                    {
                        "error": "invalid_grant",
                        "error_description": "The user name or password is incorrect.",
                    },
                )
            return self._send(200, sandbox.issue_token(form["username"]))
        if grant == "refresh_token":
            user = sandbox.refresh_tokens.pop(form.get("refresh_token", ""), None)
            if user is None:
                return self._send(400, {"error": "invalid_grant"})
            return self._send(200, sandbox.issue_token(user))
        return self._send(400, {"error": "unsupported_grant_type"})

    def _json(self, body: bytes) -> Any:
        try:
            return json.loads(body or b"null")
        except ValueError:
            return None

    def _rejected(self, errors: list[tuple[str, Any, str]]) -> int:
        return self._send(
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

    def _written(self, spec: CollectionSpec, verb: str, record_id: int, user: str) -> int:
        return self._send(
            200,
            {
                "Status": 200,
                "Message": f"{spec.record} was successfully {verb}.",
                "Value": {"Id": record_id},
                "OpenInDialog": False,
                "OpenInWindow": False,
                "RedirectURL": None,
                "JavaScript": None,
                "UpdatedOn": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "UpdatedBy": user,
                "Errors": None,
                "WasSuccessful": True,
            },
        )

    def _not_found(self, spec: CollectionSpec, record_id: int) -> int:
        return self._send(404, {"Message": f"{spec.record} {record_id} was not found."})

    def _create(self, store: RecordStore, user: str, body: bytes) -> int:
        sandbox, spec = self.sandbox, store.spec
        fields, errors = spec.rules.validate(self._json(body), sandbox, for_update=False)
        if errors:
            return self._rejected(errors)
        if sandbox.faults.commit_delay_ms:
            time.sleep(sandbox.faults.commit_delay_ms / 1000)
        record_id = store.insert(fields, user)
        with sandbox._lock:
            sandbox.posts_by_record[spec.record] += 1
        if sandbox.faults.roll(sandbox.faults.drop_after_commit_rate, "drop after commit"):
            return self._drop()
        if sandbox.faults.answer_delay_ms:
            time.sleep(sandbox.faults.answer_delay_ms / 1000)
        return self._written(spec, "created", record_id, user)

    def _update(self, store: RecordStore, user: str, body: bytes) -> int:
        spec = store.spec
        payload = self._json(body)
        fields, errors = spec.rules.validate(payload, self.sandbox, for_update=True)
        if errors:
            return self._rejected(errors)
        record_id = payload["Id"]
        current = store.get(record_id)
        if current is None:
            return self._not_found(spec, record_id)
        # The reference does not say what a PUT does with an optional field it is not sent; the
        # sandbox takes the strict reading: the record is replaced, so the field goes back to its
        # default (and a client that sends only what changed wipes the rest).
        for writable in spec.fields:
            fields.setdefault(writable.name, None)
        fields.setdefault("SystemId", None)
        for name, (added_name, removed_name) in spec.list_deltas.items():
            added = fields.pop(added_name, None) or []
            removed = set(fields.pop(removed_name, None) or [])
            given = fields[name] if name in payload else (current[name] if added or removed else [])
            kept = dict.fromkeys([*(given or []), *added])
            fields[name] = [v for v in kept if v not in removed]
        store.update(record_id, fields, user)
        return self._written(spec, "updated", record_id, user)

    def _delete(self, store: RecordStore, record_id: int) -> int:
        if not store.delete(record_id):
            return self._not_found(store.spec, record_id)
        return self._written(store.spec, "deleted", record_id, "")

    def _read(self, store: RecordStore, record_id: int) -> int:
        record = store.get(record_id)
        if record is None:
            return self._not_found(store.spec, record_id)
        return self._send(200, record)

    def _search(self, store: RecordStore, query: dict[str, list[str]]) -> int:
        spec = store.spec
        q = {k: v[0] for k, v in query.items()}
        try:
            page = max(1, int(q.get("page", 1)))
            size = min(max(1, int(q.get("size", 25))), 1000)
        except ValueError:
            return self._rejected([("page", q.get("page"), "must be a number")])
        tests = [(test, q[name]) for name, test in spec.filters.items() if name in q]
        records = [r for r in store.all() if all(test(r, value) for test, value in tests)]
        order = q.get("orderBy", "Id")
        descending = q.get("dir", "").lower() in ("descending", "desc")
        if order in spec.sortable:
            records.sort(key=lambda r: (r[order] is None, r[order]), reverse=descending)
        total = len(records)
        start = (page - 1) * size
        chunk = records[start : start + size]
        pages = max(1, -(-total // size))
        return self._send(
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
