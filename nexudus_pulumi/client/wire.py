"""The wire: one HTTP exchange and its whole answer, or an exception, and nothing else.

What the wire trusts of a server: nothing. One exchange ends by its wall-clock time however
slowly the answer drips (a watchdog cuts the connection under whatever read is blocked), an
answer over `MAX_RESPONSE_BYTES` is refused unread, and no redirect is followed (credentials go
only to the configured origin). Retrying, pacing and reading the answer are the callers'.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from ..errors import InvalidAnswerError, RedirectRefusedError
from ..settings import Settings

MAX_RESPONSE_BYTES = 64 * 2**20
"""The largest answer read. A page of 100 records is well under 1 MiB and Nexudus's largest page
(1,000) a few MiB: anything bigger is a fault or a hostile server, refused before it is read
whole (a 300 MB listing once took the provider to 965 MB)."""
READ_CHUNK_BYTES = 64 * 1024


class Deadline:
    """The wall-clock end of one operation, however many exchanges and waits it takes."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        return self._end - time.monotonic()


@dataclass(frozen=True)
class Answer:
    """An HTTP answer read whole (within the size cap and the exchange's time)."""

    url: str
    status_code: int
    headers: Mapping[str, str]
    """Case-insensitive, as requests gives them."""
    content: bytes


_current = threading.local()
"""The exchange this thread is in, for the connection it uses to find (see `_Watchdog`)."""


class _Watchdog:
    """One HTTP exchange under one wall-clock deadline.

    requests' timeout bounds each socket read, not the exchange: headers or a body dripped a
    byte at a time never time out. A timer cuts the exchange's connection (a shutdown of its
    socket) when the time is up, so whatever read is blocked returns at once, in any phase
    (connecting, sending, headers, body). The connection makes itself known through the
    thread-local `_current` when it is used (`_WatchedHTTPConnection`).
    """

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._done = False
        self._lock = threading.Lock()
        self._connection: HTTPConnection | None = None
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Watchdog:
        _current.exchange = self
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._done = True
        self._timer.cancel()
        _current.exchange = None

    def watch(self, connection: HTTPConnection) -> None:
        with self._lock:
            self._connection = connection
            if self.expired:
                _cut(connection)

    def _expire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.expired = True
            if self._connection is not None:
                _cut(self._connection)


def _cut(connection: HTTPConnection) -> None:
    """Shut the connection's socket down under whoever reads it (through a twin of the file
    descriptor, so a TLS socket's Python state is left to its reader)."""
    sock = connection.sock
    if sock is None:
        return
    with (
        contextlib.suppress(OSError, ValueError),
        socket.fromfd(sock.fileno(), socket.AF_INET, socket.SOCK_STREAM) as twin,
    ):
        twin.shutdown(socket.SHUT_RDWR)


def _watch(connection: HTTPConnection) -> None:
    exchange: _Watchdog | None = getattr(_current, "exchange", None)
    if exchange is not None:
        exchange.watch(connection)


class _WatchedHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _watch(self)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch(self)
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(_WatchedHTTPConnection, HTTPSConnection):
    """The same watch over TLS: the methods above run first, then HTTPSConnection's."""


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_WATCHED_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class _WatchedAdapter(HTTPAdapter):
    """requests' adapter, with connections that a `_Watchdog` can cut."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _WATCHED_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS brings connection classes of its own
            manager.pool_classes_by_scheme = _WATCHED_POOLS
        return manager


class Wire:
    """The session of a client, every connection of it watched."""

    def __init__(self, settings: Settings, session: requests.Session | None = None) -> None:
        self.settings = settings
        self.session = session or requests.Session()
        self.session.headers["Accept"] = "application/json"
        self.session.headers["User-Agent"] = "nexudus-pulumi"
        for prefix in ("http://", "https://"):
            self.session.mount(prefix, _WatchedAdapter())

    def exchange(
        self,
        method: str,
        path: str,
        *,
        deadline: Deadline,
        headers: Mapping[str, str] | None = None,
        json: dict[str, Any] | None = None,
        data: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Answer:
        """One request and its whole answer, within `timeout_seconds` of wall-clock time (or
        what is left of the operation's deadline); a redirect is refused, never followed.
        `requests.RequestException` when no answer came."""
        url = self.settings.base_url + path
        seconds = max(min(self.settings.timeout_seconds, deadline.remaining()), 0.001)
        with _Watchdog(seconds) as watchdog:
            try:
                response = self.session.request(
                    method,
                    url,
                    headers=headers,
                    json=json,
                    data=data,
                    params=params,
                    timeout=seconds,
                    allow_redirects=False,
                    stream=True,
                )
                with contextlib.closing(response):
                    content = _read_capped(response, f"{method} {url}")
            except requests.RequestException as exc:
                if watchdog.expired:
                    raise requests.ReadTimeout(f"no complete answer within {seconds:g} s") from exc
                raise
        answer = Answer(url, response.status_code, response.headers, content)
        if 300 <= answer.status_code < 400:
            raise self._redirect_refused(method, answer)
        return answer

    def _redirect_refused(self, method: str, answer: Answer) -> RedirectRefusedError:
        target = origin(urljoin(answer.url, answer.headers.get("Location", "")))
        return RedirectRefusedError(
            f"{method} {answer.url} answered HTTP {answer.status_code}, a redirect to {target}: "
            f"the provider sends credentials only to {self.settings.base_url} and follows no "
            f"redirect; if the API has moved, set {self.settings.name_of('base_url')} to its "
            "new address"
        )

    def close(self) -> None:
        self.session.close()


def _read_capped(response: requests.Response, request: str) -> bytes:
    """The body, read in chunks and refused past `MAX_RESPONSE_BYTES` (announced or read)."""
    declared = response.headers.get("Content-Length", "")
    too_big = InvalidAnswerError(
        f"{request} answered a body larger than {MAX_RESPONSE_BYTES / 2**20:g} MiB; no Nexudus "
        "answer is that large, so it is refused unread"
    )
    if declared.isdigit() and int(declared) > MAX_RESPONSE_BYTES:
        raise too_big
    body = bytearray()
    for chunk in response.iter_content(READ_CHUNK_BYTES):
        body += chunk
        if len(body) > MAX_RESPONSE_BYTES:
            raise too_big
    return bytes(body)


def origin(url: str) -> str:
    """`scheme://host:port` of a URL, without credentials, path or anything unprintable."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "an unreadable address"
    shown = f"{parts.scheme}://{parts.hostname or ''}{port}"
    return "".join(c for c in shown if c.isprintable() and c != " ")
