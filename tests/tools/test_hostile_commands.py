"""Every hostile answer against every command that reads from the API: the provider (a read, as
`pulumi refresh` makes it), `rooms`, `groups`, `export` and `probe`. Each ends within its
deadline with one line of error, no traceback and nothing raw from the server on the terminal.
(`clone` sends no request: it rewrites a stack file and runs `pulumi stack init`.)

The commands run as a user runs them, `python -m nexudus_pulumi.cli` in a process of its own,
against tests/hostile.py's server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from nexudus_pulumi.errors import NexudusError
from tests.helpers import configured
from tests.hostile import HostileServer, Reply, Request, head

pytestmark = pytest.mark.timeout(120)

TIMEOUT_SECONDS = 2
DEADLINE_SECONDS = 4
PWNED = "\x1b]0;PWNED\x07"


@dataclass(frozen=True)
class Hostile:
    name: str
    answer: Callable[[Request, Reply], None]
    says: str
    """What the error says of it, whichever request met it."""


def dripped(request: Request, reply: Reply) -> None:
    body = json.dumps({"Records": [], "HasNextPage": False}).encode()
    reply.raw(head(200, {"Content-Type": "application/json"}, len(body)))
    reply.drip(body, 1.0)


def endless_page(request: Request, reply: Reply) -> None:
    """A page of the same record that says more follow; by id, a record that is another."""
    reply.json(200, {"Id": 5, "Records": [{"Id": 5, "BusinessId": 1001}], "HasNextPage": True})


HOSTILE = [
    Hostile(
        "redirect",
        lambda q, r: r.json(302, {}, {"Location": "http://127.0.0.1:9/api/token"}),
        "a redirect to http://127.0.0.1:9",
    ),
    Hostile("dripped", dripped, f"no answer within {TIMEOUT_SECONDS} s"),
    Hostile(
        "huge",
        lambda q, r: r.raw(head(200, {"Content-Type": "application/json"}, 10**12) + b"{"),
        "larger than 64 MiB",
    ),
    Hostile(
        "deep JSON",
        lambda q, r: r.bytes(200, b"[" * 200_000 + b"]" * 200_000),
        "deeper than 64 levels",
    ),
    Hostile(
        "Retry-After 1e300",
        lambda q, r: r.json(409, {}, {"Retry-After": "1e300"}),
        "wait 24 h 00 min",
    ),
    Hostile(
        "429 in words",
        lambda q, r: r.bytes(429, b"Wait 99999999999999999999 seconds.", None, "text/plain"),
        "wait 24 h 00 min",
    ),
    Hostile(
        "HTML",
        lambda q, r: r.bytes(200, b"<html>Welcome</html>", None, "text/html"),
        "not JSON (text/html)",
    ),
    Hostile(
        "500 with an escape",
        lambda q, r: r.json(500, {"WasSuccessful": False, "Message": f"Oops {PWNED}"}),
        "HTTP 500 from Nexudus: Oops \\x1b]0;PWNED\\x07",
    ),
    Hostile(
        "true as an id",
        lambda q, r: r.json(200, {"Id": True, "Records": [{"Id": True}], "HasNextPage": False}),
        "True: not a record id",
    ),
    Hostile("a page that never ends", endless_page, ""),
]


@pytest.fixture(params=HOSTILE, ids=lambda h: h.name)
def hostile(request: pytest.FixtureRequest) -> Iterator[tuple[Hostile, HostileServer]]:
    kind: Hostile = request.param
    with HostileServer(kind.answer) as server:
        yield kind, server


def environment(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEXUDUS_")}
    env.update(
        {
            "NEXUDUS_BASE_URL": url,
            "NEXUDUS_TOKEN": "t0ken",
            "NEXUDUS_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS),
            "NEXUDUS_DEADLINE_SECONDS": str(DEADLINE_SECONDS),
            "NEXUDUS_MAX_RETRIES": "0",
        }
    )
    return env


COMMANDS = {
    "rooms": ["rooms"],
    "groups": ["groups"],
    "export": ["export", "--business", "1001", "--stack", "prod", "--output", "-"],
    "probe": ["probe", "--business", "1001", "--user-id", "12"],
}


def assert_one_clear_line(error: str, says: str) -> None:
    assert "Traceback" not in error, error
    assert "\x1b" not in error and "\x07" not in error, repr(error)
    assert error.count("\n") <= 1, error
    assert says in error, error


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_each_command_ends_in_one_line_within_its_deadline(
    hostile: tuple[Hostile, HostileServer], command: str, tmp_path: Path
) -> None:
    kind, server = hostile
    (tmp_path / "Pulumi.yaml").write_text("name: nexudus-rooms\nruntime: python\n")
    done = subprocess.run(
        [sys.executable, "-m", "nexudus_pulumi.cli", *COMMANDS[command]],
        cwd=tmp_path,
        env=environment(server.url),
        capture_output=True,
        text=True,
        timeout=60,
    )
    ended = time.monotonic()
    assert done.returncode == 1, (done.stdout, done.stderr)
    error = done.stderr.strip()
    assert error.startswith("error: "), done.stderr
    assert_one_clear_line(error, kind.says)
    assert "\x1b" not in done.stdout
    # from the first request, so that the interpreter's start on a busy machine is not counted
    assert server.first_request_at is not None
    elapsed = ended - server.first_request_at
    assert elapsed < DEADLINE_SECONDS + 6, elapsed


def test_the_provider_read_ends_in_one_line_within_its_deadline(
    hostile: tuple[Hostile, HostileServer],
) -> None:
    kind, server = hostile
    provider = configured(
        {
            "nexudus:baseUrl": server.url,
            "nexudus:token": "t0ken",
            "nexudus:timeoutSeconds": TIMEOUT_SECONDS,
            "nexudus:deadlineSeconds": DEADLINE_SECONDS,
            "nexudus:maxRetries": 0,
            "nexudus:skipCredentialsValidation": True,
        }
    )
    started = time.monotonic()
    with pytest.raises(NexudusError) as caught:
        provider.read("7", {"name": "Lobby", "businessId": 1001})
    assert time.monotonic() - started < DEADLINE_SECONDS + 2
    assert_one_clear_line(str(caught.value), kind.says)
