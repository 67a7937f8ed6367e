"""What the sandbox says it saw is complete the moment the client holds the answer.

Tests assert on `sandbox.requests`, `status_counts()` and `posts_committed` right after a call
returns; if the sandbox recorded a request only after answering it, such a read could run
before the record and fail at random on a busy machine.
"""

from __future__ import annotations

import socket

import requests

from nexudus_pulumi.sandbox import DEMO_PASSWORD, DEMO_USER, Faults, Sandbox

ROUNDS = 300
COLLECTION = "/api/support/chatrooms"


def test_every_answer_is_recorded_before_the_client_gets_it(sandbox: Sandbox) -> None:
    auth = (DEMO_USER, DEMO_PASSWORD)
    with requests.Session() as http:
        for n in range(ROUNDS):
            if n % 3 == 0:
                response = http.post(sandbox.url + "/api/token", data={"grant_type": "password"})
                expected = ("POST", "/api/token", 400)
            elif n % 3 == 1:
                response = http.get(sandbox.url + COLLECTION, auth=auth)
                expected = ("GET", COLLECTION, 200)
            else:
                response = http.get(f"{sandbox.url}{COLLECTION}/{n}", auth=auth)
                expected = ("GET", f"{COLLECTION}/{n}", 404)
            assert response.status_code == expected[2]
            # read at once, as tests do: no sleep, no polling
            assert len(sandbox.requests) == n + 1, f"round {n}: the answer came before its record"
            assert sandbox.requests[-1] == expected


def test_a_dropped_answer_is_recorded_before_the_connection_closes(sandbox: Sandbox) -> None:
    sandbox.faults = Faults(drop_after_commit_rate=1.0)
    body = b'{"BusinessId": 1001, "Name": "Dropped"}'
    port = int(sandbox.url.rsplit(":", 1)[1])
    for n in range(ROUNDS // 10):
        with socket.create_connection(("127.0.0.1", port)) as raw:
            raw.sendall(
                f"POST {COLLECTION} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                "Content-Type: application/json\r\n"
                f"Authorization: Basic YWRtaW5AZXhhbXBsZS5jb206c2FuZGJveC1kZW1vLXBhc3N3b3Jk\r\n"
                f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            assert raw.recv(1024) == b""  # closed without an answer
        assert sandbox.posts_committed == n + 1
        assert sandbox.requests[-1] == ("POST", COLLECTION, 0)
        assert sandbox.status_counts()[("POST", 0)] == n + 1
