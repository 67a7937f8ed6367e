"""A local Nexudus: the endpoints of every collection in `COLLECTIONS`, token and Basic auth,
throttling and injected faults, answering as Nexudus really does (see docs/nexudus-api.md).

It is what the demo and every test talk to, over real HTTP on loopback. Faults (`Faults`) and
the readings of what the sources leave open (`Fidelity`) are plain attributes, so tests turn them
on and off while the server runs. The handlers are generic: each collection is a
`Collection` (see `collections.py`) with a `RecordStore`, served by an `Endpoint` (see
`endpoints.py`); nothing here is per record type.

By default: listings are a projection (the collection properties such as `Users` are absent;
GET by id shows them); a PUT needs the whole record and resets what it is not sent; unknown
query parameters are ignored; a business-rule refusal is HTTP 200 with `WasSuccessful: false`
(`undeletable`); a missing id is 404 "Not found"; a missing role is 401 "Access Denied.".

The server is hardened as a service on a developer's machine must be, since its demo credentials
are public: a request whose `Host` is not the sandbox's own is refused (DNS rebinding), the
caller is authenticated before its body is read, and a body's size is capped.
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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .collections import CHAT_ROOMS, COLLECTIONS, COMMUNITY_GROUPS
from .endpoints import Endpoint, parse_json
from .fidelity import Fidelity
from .limits import Limits, Throttle
from .store import Database, RecordStore

TOKEN_PATH = "/api/token"
DEMO_USER = "admin@example.com"
DEMO_PASSWORD = "sandbox-demo-password"
READER_USER = "reader@example.com"
READER_PASSWORD = "sandbox-reader-password"
ALL_ROLES = frozenset().union(*(collection.roles for collection in COLLECTIONS))
READER_ROLES = frozenset(collection.role(a) for collection in COLLECTIONS for a in ("Read", "List"))
DEFAULT_BUSINESSES = (1001, 1002, 1003)
UI_USER = "manager@example.com"
"""Who out-of-band edits (`Sandbox.edit`, `add_member`) are made by: a person in the admin UI."""
DEFAULT_USERS = tuple(range(11, 61))
"""The account's users (ids 11 to 60): group administrators and members must be among them."""
TOKEN_LIFETIME_SECONDS = 604_799
STOP_POLL_SECONDS = 0.02
"""How often the serving thread looks for `stop()`, which waits for it: socketserver's 0.5 s
default made every test with a sandbox half a second longer."""
MAX_BODY_BYTES = 1 << 20
"""A larger body is refused (413) unread: the biggest real record is a few kB."""
OOOPS = "Ooops! There was a problem while running this action. Please try again later."
"""The body of Nexudus's transient 500s, as seen live."""
ACCESS_DENIED = "Access Denied."
"""A larger `size` is served as this many (the older reference's maximum)."""


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
    """Answer 503 instead of serving the request (nothing is written); drawn per method."""
    transient_500_rate: float = 0.0
    """Answer Nexudus's transient 500, the plain body `{"Message": "Ooops! ..."}` without
    `WasSuccessful` (nothing is written); drawn over every request, whatever its method."""
    error_burst: int = 1
    """How many consecutive requests an error fault (503 or 500) hits once drawn: Nexudus's
    500s come in bursts. The ordinal `n` fails when any of the ordinals `n - error_burst + 1`
    to `n` drew the fault, so bursts stay keyed by ordinal (overlapping bursts merge)."""
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

    def roll(self, rate: float, kind: str, burst: int = 1) -> bool:
        """Whether the next request of `kind` (for example "GET error") suffers the fault: it
        did, or one of the `burst - 1` requests of that kind before it did."""
        if rate <= 0:
            return False
        with self._lock:
            self._ordinals[kind] += 1
            ordinal = self._ordinals[kind]
        first = max(1, ordinal - max(1, burst) + 1)
        return any(
            random.Random(f"{self.seed}/{kind}/{n}").random() < rate
            for n in range(first, ordinal + 1)
        )


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
        fidelity: Fidelity | None = None,
        allowed_hosts: Iterable[str] = (),
    ) -> None:
        self.throttle = Throttle(limits or Limits())
        self.faults = faults or Faults()
        self.fidelity = fidelity or Fidelity()
        """The reading of each open question the sandbox answers by; swap it at any time."""
        self.undeletable: dict[int, str] = {}
        """Record id -> why Nexudus refuses to delete it: DELETE answers HTTP 200 with
        `WasSuccessful: false` and that message, as a business-rule refusal does."""
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
        self.stores = {
            collection.path: RecordStore(database, collection, self) for collection in COLLECTIONS
        }
        self.store = self.stores[CHAT_ROOMS.path]
        """The chat rooms (named before there were groups; `stores[path]` for any collection)."""
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
        self.observers: list[Callable[[str, str, int], None]] = []
        """Called with (method, path, status) as each request is recorded, before its answer
        leaves: a test acts at a known point of a run (a person adds a member while a write
        waits out the 409 just answered), with no timing to guess."""
        self.posts_by_record: Counter[str] = Counter()
        """Record name (`ChatRoom`, `CommunityGroup`) -> POSTs committed."""
        self.written: list[tuple[str, str, Any]] = []
        """(method, path, JSON body) of every POST and PUT to a collection that was served
        (not refused by authentication, the throttle, an injected error or the role check), as
        it arrived: what a client sends is behaviour (a field it was not asked to manage must
        not be in it)."""
        self._lock = threading.Lock()
        self._idle = threading.Condition()
        self._in_flight = 0
        self._host = host
        self._server = ThreadingHTTPServer((host, port), _Handler)
        self._server.daemon_threads = True
        self._server.sandbox = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None
        port = self._server.server_port
        names = {host, "localhost", "127.0.0.1", "[::1]", *allowed_hosts}
        self.allowed_hosts = frozenset(f"{name}:{port}".lower() for name in names)
        """`Host` header values served; any other is refused (DNS rebinding: a web page on
        another origin must not reach the sandbox through a name that resolves to loopback)."""

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

    def holds(self, path: str, record_id: int) -> bool:
        return self.stores[path].get(record_id) is not None

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
            observers = list(self.observers)
        for observer in observers:
            observer(method, path, status)

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

    def apply(self, store: RecordStore, record_id: int, fields: dict[str, Any], user: str) -> bool:
        """Write `fields` to a stored record as Nexudus would, honouring `fidelity`: a change of
        the member list alone moves `UpdatedOn` only if `membership_bumps_updated_on`; any other
        write (even one that changes nothing) does. False if there is no such id."""
        current = store.get(record_id)
        if current is None:
            return False
        changed = store.changes(current, fields)
        membership_only = bool(changed) and changed <= set(store.collection.collections)
        touch = self.fidelity.membership_bumps_updated_on or not membership_only
        return store.update(record_id, fields, user, touch=touch)

    def edit(self, collection_path: str, record_id: int, **fields: Any) -> None:
        """Change a record out of band, as a person in the admin UI does (by `UI_USER`), with the
        API's field names: `edit(ROOMS, 7, Name="Renamed", Users=[11])`."""
        if not self.apply(self.stores[collection_path], record_id, fields, UI_USER):
            raise KeyError(f"no record {record_id} in {collection_path}")

    def add_member(self, collection_path: str, record_id: int, user_id: int) -> None:
        """Add a user to a record's member list out of band, as the admin UI does."""
        self._change_members(collection_path, record_id, lambda ids: [*ids, user_id])

    def remove_member(self, collection_path: str, record_id: int, user_id: int) -> None:
        """Remove a user from a record's member list out of band, as the admin UI does."""
        self._change_members(
            collection_path, record_id, lambda ids: [i for i in ids if i != user_id]
        )

    def _change_members(
        self, collection_path: str, record_id: int, change: Callable[[list[int]], list[int]]
    ) -> None:
        store = self.stores[collection_path]
        record = store.get(record_id)
        if record is None:
            raise KeyError(f"no record {record_id} in {collection_path}")
        members = store.collection.membership
        self.edit(
            collection_path, record_id, **{members: list(dict.fromkeys(change(record[members])))}
        )

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
            if sandbox.faults.latency_ms:
                time.sleep(sandbox.faults.latency_ms / 1000)
            self._gate(method, url.path, parse_qs(url.query))
        finally:
            self._record(0)  # no answer was written (an exception); else a no-op
            sandbox.end_request()

    def _gate(self, method: str, path: str, query: dict[str, list[str]]) -> int:
        """What is refused before anything else, the body unread: a foreign `Host`, a body of
        unusable or excessive length, a caller who is not authenticated."""
        host = (self.headers.get("Host") or "").strip().lower()
        if host not in self.sandbox.allowed_hosts:
            return self._refuse(421, f"this server does not serve the host {host or '(none)'!r}")
        length = self._content_length()
        if length is None:
            return self._refuse(400, "Content-Length must be a single whole number of bytes")
        if length > MAX_BODY_BYTES:
            return self._refuse(413, f"the body may hold at most {MAX_BODY_BYTES} bytes")
        if path == TOKEN_PATH:
            return self._token_endpoint(method, path, length)
        user = self._authenticate()
        if user is None:
            return self._refuse(401, "Authorization has been denied for this request.", length)
        return self._route(method, path, query, user, length)

    def _content_length(self) -> int | None:
        """The body's length, 0 when there is none; None when it cannot be trusted (not a
        number, negative, repeated with different values, or a chunked body, which the sandbox
        does not read)."""
        if self.headers.get("Transfer-Encoding"):
            return None
        values = {v.strip() for v in self.headers.get_all("Content-Length") or []}
        if not values:
            return 0
        if len(values) > 1 or not all(v.isdigit() and v.isascii() for v in values):
            return None
        return int(values.pop())

    def _body(self, length: int) -> bytes:
        return self.rfile.read(length) if length else b""

    def _refuse(self, status: int, message: str, unread: int = 1) -> int:
        """Answer without reading the body; a body left unread would be taken for the next
        request on this connection, so the connection closes (unless there was no body)."""
        if unread:
            self.close_connection = True
        return self._send(status, {"Message": message})

    def _record(self, status: int) -> None:
        """Record the request before its answer leaves: a client that holds the answer (a test
        among them) must find the request in `sandbox.requests`, never a moment later."""
        if self._unrecorded is not None:
            self.sandbox.record(*self._unrecorded, status)
            self._unrecorded = None

    def _send(self, status: int, payload: Any = None, headers: dict[str, str] | None = None) -> int:
        data = b"" if payload is None else json.dumps(payload).encode()
        return self._send_bytes(status, data, "application/json; charset=utf-8", headers)

    def _send_text(self, status: int, text: str) -> int:
        return self._send_bytes(status, text.encode(), "text/plain; charset=utf-8")

    def _send_bytes(
        self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> int:
        self._record(status)
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        if data:
            self.send_header("Content-Type", content_type)
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

    def _throttled(self, wait: int, unread: int) -> int:
        """Nexudus's throttle answer, in the reading `fidelity.throttle_status` picks."""
        if unread:
            self.close_connection = True
        if self.sandbox.fidelity.throttle_status == 429:
            return self._send_text(429, f"Wait {wait} seconds.")
        return self._send(409, None, {"Retry-After": str(wait)})

    def _token_endpoint(self, method: str, path: str, length: int) -> int:
        sandbox = self.sandbox
        if not sandbox.token_endpoint:
            return self._refuse(404, f"No HTTP resource was found for {path}.", length)
        if method != "POST":
            return self._refuse(405, "The requested resource does not support this.", length)
        wait = sandbox.throttle.admit("token-endpoint", write=False)
        if wait:
            return self._throttled(wait, length)
        return self._token(self._body(length))

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], user: str, length: int
    ) -> int:
        sandbox = self.sandbox
        wait = sandbox.throttle.admit(user, write=method != "GET")
        if wait:
            return self._throttled(wait, length)
        faults = sandbox.faults
        if faults.roll(faults.error_rate, f"{method} error", faults.error_burst):
            return self._refuse(503, "injected server error", length)
        if faults.roll(faults.transient_500_rate, "server error", faults.error_burst):
            return self._refuse(500, OOOPS, length)
        target = sandbox.target(path)
        if target is None:
            return self._refuse(404, f"No HTTP resource was found for {path}.", length)
        store, record_id = target
        action = {
            ("POST", False): "Create",
            ("PUT", False): "Edit",
            ("DELETE", True): "Delete",
            ("GET", True): "Read",
            ("GET", False): "List",
        }.get((method, record_id is not None))
        if action is None:
            return self._refuse(405, "The requested resource does not support this.", length)
        if store.collection.role(action) not in sandbox.accounts[user].roles:
            # Nexudus answers a missing role as it answers a bad token: 401 "Access Denied."
            return self._refuse(401, ACCESS_DENIED, length)
        body = self._body(length)
        if method in ("POST", "PUT"):
            with sandbox._lock:
                sandbox.written.append((method, path, parse_json(body)))
        endpoint = Endpoint(self, sandbox, store)
        if method == "POST":
            return endpoint.create(user, body)
        if method == "PUT":
            return endpoint.update(user, body)
        if record_id is None:
            return endpoint.search(query)
        if method == "DELETE":
            return endpoint.delete(record_id)
        return endpoint.read(record_id)

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
        try:
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        except UnicodeDecodeError:
            return self._send(400, {"error": "invalid_request"})
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
