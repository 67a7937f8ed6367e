"""How the answer to one request leaves the sandbox, for the server's gates and the endpoints
alike: logged in the state's request list first, then written; or the connection dropped
unanswered, as a lost answer looks to the client.

Logging first matters: a client that holds an answer (a test among them) must find its
request in `SandboxState.requests`, never a moment later.
"""

from __future__ import annotations

import contextlib
import json
import socket
from http.server import BaseHTTPRequestHandler
from typing import Any

from .state import SandboxState


class Responder:
    """The one way to answer a request; each answer names its status, which is logged."""

    def __init__(
        self, handler: BaseHTTPRequestHandler, state: SandboxState, method: str, path: str
    ) -> None:
        self._handler = handler
        self._state = state
        self._unlogged: tuple[str, str] | None = (method, path)
        """The request (method, path) until it is in the state's request list."""

    def send(self, status: int, payload: Any = None, headers: dict[str, str] | None = None) -> int:
        """Answer JSON (no body when `payload` is None)."""
        data = b"" if payload is None else json.dumps(payload).encode()
        return self._send_bytes(status, data, "application/json; charset=utf-8", headers)

    def send_text(self, status: int, text: str) -> int:
        return self._send_bytes(status, text.encode(), "text/plain; charset=utf-8")

    def refuse(self, status: int, message: str, unread: int = 1) -> int:
        """Answer without reading the body; a body left unread would be taken for the next
        request on this connection, so the connection closes (unless there was no body)."""
        if unread:
            self.close_after()
        return self.send(status, {"Message": message})

    def throttled(self, wait: int, unread: int) -> int:
        """Nexudus's throttle answer, in the reading `fidelity.throttle_status` picks."""
        if unread:
            self.close_after()
        if self._state.fidelity.throttle_status == 429:
            return self.send_text(429, f"Wait {wait} seconds.")
        return self.send(409, None, {"Retry-After": str(wait)})

    def drop(self) -> int:
        """Close the connection without a word, as a lost answer looks to the client."""
        self.unanswered()
        self.close_after()
        with contextlib.suppress(OSError):
            self._handler.connection.shutdown(socket.SHUT_RDWR)
        return 0

    def close_after(self) -> None:
        """Close the connection once this answer is out."""
        self._handler.close_connection = True

    def unanswered(self) -> None:
        """Log the request as unanswered (status 0) unless an answer already logged it: the
        serving raised, or the connection is dropped."""
        self._log(0)

    def _log(self, status: int) -> None:
        if self._unlogged is not None:
            self._state.log_request(*self._unlogged, status)
            self._unlogged = None

    def _send_bytes(
        self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> int:
        self._log(status)
        handler = self._handler
        handler.send_response(status)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        if handler.close_connection:
            handler.send_header("Connection", "close")
        if data:
            handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
        return status
