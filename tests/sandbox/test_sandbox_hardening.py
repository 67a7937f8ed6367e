"""The sandbox refuses what could abuse it, over a raw socket: a foreign `Host`
(DNS rebinding: the demo credentials are public), a body it would have to read before knowing who
sends it, a body too large, a Content-Length it cannot trust. Every refusal is answered at once,
without waiting for a body, and holds no thread."""

from __future__ import annotations

import base64
import http.client
import socket

import pytest

from nexudus_pulumi.sandbox import DEMO_PASSWORD, DEMO_USER, Sandbox

ROOMS = "/api/support/chatrooms"
BASIC = "Basic " + base64.b64encode(f"{DEMO_USER}:{DEMO_PASSWORD}".encode()).decode()


def port_of(sandbox: Sandbox) -> int:
    return int(sandbox.url.rsplit(":", 1)[1])


def exchange(
    sandbox: Sandbox, head: str, body: bytes = b"", host: str | None = None
) -> tuple[http.client.HTTPResponse, socket.socket]:
    """Send a request's head (request line and headers, without the Host line unless `host` is
    given) and `body`, and read the answer. A server that waited for more than was sent would
    time the socket out: the test fails instead of hanging."""
    connection = socket.create_connection(("127.0.0.1", port_of(sandbox)), timeout=10)
    lines = head.rstrip("\r\n") + "\r\n"
    if host is not None:
        lines += f"Host: {host}\r\n"
    connection.sendall((lines + "\r\n").encode() + body)
    answer = http.client.HTTPResponse(connection)
    answer.begin()
    return answer, connection


def test_a_foreign_host_is_refused(sandbox: Sandbox) -> None:
    port = port_of(sandbox)
    for host in (f"evil.example:{port}", f"127.0.0.1.evil.example:{port}", "127.0.0.1:1"):
        answer, connection = exchange(
            sandbox, f"GET {ROOMS} HTTP/1.1\r\nAuthorization: {BASIC}", host=host
        )
        assert answer.status == 421, host
        assert "host" in answer.read().decode().lower()
        connection.close()
    answer, connection = exchange(sandbox, f"GET {ROOMS} HTTP/1.0\r\nAuthorization: {BASIC}")
    assert answer.status == 421  # no Host at all
    connection.close()


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "LOCALHOST"])
def test_the_sandbox_s_own_names_are_served(sandbox: Sandbox, name: str) -> None:
    answer, connection = exchange(
        sandbox,
        f"GET {ROOMS} HTTP/1.1\r\nAuthorization: {BASIC}",
        host=f"{name}:{port_of(sandbox)}",
    )
    assert answer.status == 200
    connection.close()


def test_more_host_names_can_be_allowed() -> None:
    with Sandbox(allowed_hosts=["sandbox.test"]) as sandbox:
        host = f"sandbox.test:{port_of(sandbox)}"
        answer, connection = exchange(
            sandbox, f"GET {ROOMS} HTTP/1.1\r\nAuthorization: {BASIC}", host=host
        )
        assert answer.status == 200
        connection.close()


def test_an_unauthenticated_body_is_never_read(sandbox: Sandbox) -> None:
    # The head promises 100 bytes that never come: the 401 comes at once all the same, and the
    # connection closes (the unread body must not be taken for a next request).
    answer, connection = exchange(
        sandbox,
        f"POST {ROOMS} HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 100",
        host=f"127.0.0.1:{port_of(sandbox)}",
    )
    assert answer.status == 401
    assert answer.getheader("Connection") == "close"
    answer.read()
    assert connection.recv(1) == b""  # closed by the server
    connection.close()
    sandbox.wait_idle(timeout=5)
    assert sandbox.written == [] and sandbox.store.all() == []


@pytest.mark.parametrize("authorization", ["", f"\r\nAuthorization: {BASIC}"])
def test_a_body_too_large_is_refused_unread(sandbox: Sandbox, authorization: str) -> None:
    answer, connection = exchange(
        sandbox,
        f"POST {ROOMS} HTTP/1.1\r\nContent-Length: 99999999999{authorization}",
        host=f"127.0.0.1:{port_of(sandbox)}",
    )
    assert answer.status == 413
    connection.close()
    sandbox.wait_idle(timeout=5)


@pytest.mark.parametrize(
    "header",
    [
        "Content-Length: -1",
        "Content-Length: abc",
        "Content-Length: 1e3",
        "Content-Length: 5\r\nContent-Length: 6",
        "Transfer-Encoding: chunked",
    ],
)
def test_a_content_length_it_cannot_trust_is_400(sandbox: Sandbox, header: str) -> None:
    answer, connection = exchange(
        sandbox,
        f"PUT {ROOMS} HTTP/1.1\r\nAuthorization: {BASIC}\r\n{header}",
        host=f"127.0.0.1:{port_of(sandbox)}",
    )
    assert answer.status == 400
    assert "Content-Length" in answer.read().decode()
    connection.close()
    sandbox.wait_idle(timeout=5)  # no thread is left reading
    assert sandbox.written == []


def test_the_token_endpoint_is_behind_the_same_gates(sandbox: Sandbox) -> None:
    port = port_of(sandbox)
    form = f"grant_type=password&username={DEMO_USER}&password={DEMO_PASSWORD}".encode()
    head = (
        "POST /api/token HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(form)}"
    )
    answer, connection = exchange(sandbox, head, form, host=f"evil.example:{port}")
    assert answer.status == 421
    connection.close()
    answer, connection = exchange(sandbox, head, form, host=f"localhost:{port}")
    assert answer.status == 200
    connection.close()
