"""A misbehaving HTTP server on 127.0.0.1, for what neither the sandbox nor a polite stub does:
redirects, answers dripped a byte at a time, endless bodies, pages that never end.

A test gives it a function that answers each request by writing raw bytes to the connection
(`Reply`), so the answer can be anything, malformed included. Used as a context manager: on exit
every connection is closed and every thread joined, so no port or thread outlives the test.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

TOKEN_ANSWER = {"access_token": "issued-token", "expires_in": 3600, "refresh_token": "r"}


@dataclass
class Request:
    method: str
    path: str
    """Without the query string."""
    query: str
    headers: dict[str, str]
    """Names lower-cased."""
    body: bytes


@dataclass
class Reply:
    """The connection of one request, with helpers that write whole or partial answers."""

    sock: socket.socket
    stop: threading.Event
    extra_headers: dict[str, str] = field(default_factory=dict)

    def raw(self, data: builtins.bytes) -> None:
        self.sock.sendall(data)

    def json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self.bytes(status, json.dumps(body).encode(), headers)

    def bytes(
        self,
        status: int,
        data: builtins.bytes,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        self.raw(head(status, {"Content-Type": content_type, **(headers or {})}, len(data)) + data)

    def drip(self, data: builtins.bytes, every: float) -> None:
        """Send `data` one byte at a time, `every` seconds apart (until the server stops)."""
        for n in range(len(data)):
            if self.stop.wait(every):
                return
            self.raw(data[n : n + 1])


def head(status: int, headers: dict[str, str], length: int | None) -> bytes:
    """A status line and headers; `length` None sends no Content-Length."""
    lines = [f"HTTP/1.1 {status} Whatever"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


Answer = Callable[[Request, Reply], None]


class HostileServer:
    """Answers every request with `answer(request, reply)`; `requests` lists what it received."""

    def __init__(self, answer: Answer) -> None:
        self._answer = answer
        self.requests: list[Request] = []
        self.first_request_at: float | None = None
        """`time.monotonic()` when the first request was read: where a client's deadline starts."""
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = int(self._listener.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._lock = threading.Lock()
        self._connections: list[socket.socket] = []
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> HostileServer:
        self._spawn(self._accept_loop)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        with self._lock:
            for conn in self._connections:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
        for thread in list(self._threads):
            thread.join(timeout=10)
        self._listener.close()
        with self._lock:
            for conn in self._connections:
                conn.close()

    def seen(self) -> list[tuple[str, str]]:
        with self._lock:
            return [(r.method, r.path) for r in self.requests]

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            with self._lock:
                self._connections.append(conn)
            self._spawn(self._serve, conn)

    def _serve(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        try:
            while not self._stop.is_set():
                request = _read_request(reader)
                if request is None:
                    return
                with self._lock:
                    self.requests.append(request)
                    if self.first_request_at is None:
                        self.first_request_at = time.monotonic()
                self._answer(request, Reply(conn, self._stop))
        except OSError:
            return
        finally:
            reader.close()


def _read_request(reader: Any) -> Request | None:
    line = reader.readline(65536)
    if not line:
        return None
    method, target, _ = line.decode("latin-1").split(" ", 2)
    headers: dict[str, str] = {}
    while True:
        header = reader.readline(65536).decode("latin-1").rstrip("\r\n")
        if not header:
            break
        name, _, value = header.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = reader.read(int(headers.get("content-length") or 0))
    path, _, query = target.partition("?")
    return Request(method, path, query, headers, body)
