"""A local Nexudus over HTTP: the endpoints of every collection a `SandboxState` holds, token and
Basic auth, throttling and injected faults, answering as Nexudus really does (see
docs/nexudus-api.md).

It is what the demo and every test talk to, over real HTTP on loopback. A `Sandbox` is a
`SandboxState` (see `state.py`) that serves itself on a thread; faults (`Faults`) and the readings
of what the sources leave open (`Fidelity`) are plain attributes of the state, so tests turn them
on and off while the server runs. The handlers are generic: each collection is a
`SandboxCollection` (see `collections.py`) with a `RecordStore`, served by an `Endpoint` (see
`endpoints.py`) that answers through the request's `Responder`; nothing here is per record type.

By default: listings are a projection (the collection properties such as `Users` are absent;
GET by id shows them); a PUT needs the whole record and resets what it is not sent; unknown
query parameters are ignored; a business-rule refusal is HTTP 200 with `WasSuccessful: false`
(`undeletable`); a missing id is 404 "Not found"; a missing role is 401 "Access Denied.".

The server is hardened as a service on a developer's machine must be, since its demo credentials
are public: a request whose `Host` is not the sandbox's own is refused (DNS rebinding), the
caller is authenticated before its body is read, and a body's size is capped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import auth
from .endpoints import Endpoint, parse_json
from .faults import Faults
from .fidelity import Fidelity
from .limits import PublishedLimits
from .responder import Responder
from .state import DEFAULT_BUSINESSES, DEFAULT_USERS, TOKEN_LIFETIME_SECONDS, SandboxState

TOKEN_PATH = "/api/token"
TOKEN_BUDGET = "token-endpoint"
"""The throttle's key of token requests counted apart from any account
(`Fidelity.token_counts` off)."""
STOP_POLL_SECONDS = 0.02
"""How often the serving thread looks for `stop()`, which waits for it: socketserver's 0.5 s
default made every test with a sandbox half a second longer."""
MAX_BODY_BYTES = 1 << 20
"""A larger body is refused (413) unread: the biggest real record is a few kB."""
OOOPS = "Ooops! There was a problem while running this action. Please try again later."
"""The body of Nexudus's transient 500s, as seen live."""
ACCESS_DENIED = "Access Denied."
"""Nexudus's answer to a caller without the role an action needs (401, as for a bad token)."""
ACTIONS = {
    ("POST", False): "Create",
    ("PUT", False): "Edit",
    ("DELETE", True): "Delete",
    ("GET", True): "Read",
    ("GET", False): "List",
}
"""(method, whether the path names a record) -> the action whose role the caller needs."""


class Sandbox(SandboxState):
    """A `SandboxState` served over HTTP on `host:port` (0: a free port). `start()` serves on a
    thread, `serve_forever()` on the caller's."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        db: str = ":memory:",
        limits: PublishedLimits | None = None,
        faults: Faults | None = None,
        businesses: Iterable[int] | Mapping[int, str] = DEFAULT_BUSINESSES,
        users: Iterable[int] = DEFAULT_USERS,
        token_lifetime: float = TOKEN_LIFETIME_SECONDS,
        token_endpoint: bool = True,
        fidelity: Fidelity | None = None,
        allowed_hosts: Iterable[str] = (),
    ) -> None:
        super().__init__(
            db=db,
            limits=limits,
            faults=faults,
            businesses=businesses,
            users=users,
            token_lifetime=token_lifetime,
            token_endpoint=token_endpoint,
            fidelity=fidelity,
        )
        self._host = host
        self._server = ThreadingHTTPServer((host, port), _Handler)
        self._server.daemon_threads = True
        self._server.state = self  # type: ignore[attr-defined]
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


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "NexudusSandbox/1"
    disable_nagle_algorithm = True
    """Headers and body leave in separate writes; with Nagle's algorithm on, each answer would
    wait for the client's delayed ACK (about 40 ms), a latency no real API adds."""

    @property
    def sandbox(self) -> Sandbox:
        return self.server.state  # type: ignore[attr-defined,no-any-return]

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

    def _serve(self, method: str) -> None:
        sandbox = self.sandbox
        url = urlsplit(self.path)
        responder = Responder(self, sandbox, method, url.path)
        sandbox.begin_request()
        try:
            if sandbox.faults.latency_ms:
                time.sleep(sandbox.faults.latency_ms / 1000)
            self._gate(responder, method, url.path, parse_qs(url.query))
        finally:
            responder.unanswered()  # no answer was written (an exception); else a no-op
            sandbox.end_request()

    def _gate(
        self, responder: Responder, method: str, path: str, query: dict[str, list[str]]
    ) -> int:
        """What is refused before anything else, the body unread: a foreign `Host`, a body of
        unusable or excessive length, a caller who is not authenticated."""
        host = (self.headers.get("Host") or "").strip().lower()
        if host not in self.sandbox.allowed_hosts:
            return responder.refuse(
                421, f"this server does not serve the host {host or '(none)'!r}"
            )
        length = self._content_length()
        if length is None:
            return responder.refuse(400, "Content-Length must be a single whole number of bytes")
        if length > MAX_BODY_BYTES:
            return responder.refuse(413, f"the body may hold at most {MAX_BODY_BYTES} bytes")
        if path == TOKEN_PATH:
            return self._token_endpoint(responder, method, path, length)
        user = auth.caller(self.sandbox, self.headers.get("Authorization") or "")
        if user is None:
            return responder.refuse(401, "Authorization has been denied for this request.", length)
        return self._route(responder, method, path, query, user, length)

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

    def _token_endpoint(self, responder: Responder, method: str, path: str, length: int) -> int:
        sandbox = self.sandbox
        if not sandbox.token_endpoint:
            return responder.refuse(404, f"No HTTP resource was found for {path}.", length)
        if method != "POST":
            return responder.refuse(405, "The requested resource does not support this.", length)
        body = self._body(length)
        account = auth.token_account(sandbox, body) if sandbox.fidelity.token_counts else None
        wait = sandbox.throttle.admit(account or TOKEN_BUDGET, write=False)
        if wait:
            return responder.throttled(wait, 0)
        content_type = self.headers.get("Content-Type", "")
        return auth.token(responder, sandbox, content_type, body)

    def _route(
        self,
        responder: Responder,
        method: str,
        path: str,
        query: dict[str, list[str]],
        user: str,
        length: int,
    ) -> int:
        sandbox = self.sandbox
        wait = sandbox.throttle.admit(user, write=method != "GET")
        if wait:
            return responder.throttled(wait, length)
        faults = sandbox.faults
        if faults.roll(faults.error_rate, f"{method} error", faults.error_burst):
            return responder.refuse(503, "injected server error", length)
        if faults.roll(faults.transient_500_rate, "server error", faults.error_burst):
            return responder.refuse(500, OOOPS, length)
        target = sandbox.target(path)
        if target is None:
            return responder.refuse(404, f"No HTTP resource was found for {path}.", length)
        store, record_id = target
        action = ACTIONS.get((method, record_id is not None))
        if action is None:
            return responder.refuse(405, "The requested resource does not support this.", length)
        if store.collection.role(action) not in sandbox.accounts[user].roles:
            # Nexudus answers a missing role as it answers a bad token: 401 "Access Denied."
            return responder.refuse(401, ACCESS_DENIED, length)
        body = self._body(length)
        if method in ("POST", "PUT"):
            sandbox.log_write(method, path, parse_json(body))
        endpoint = Endpoint(responder, sandbox, store)
        if method == "POST":
            return endpoint.create(user, body)
        if method == "PUT":
            return endpoint.update(user, body)
        if record_id is None:
            return endpoint.search(query)
        if method == "DELETE":
            return endpoint.delete(record_id)
        return endpoint.read(record_id)
