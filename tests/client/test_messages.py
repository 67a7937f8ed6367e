"""What a user reads when something goes wrong: the URL and the cause, which credentials were
used and where they came from, the API's own reason, and which quota bites."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from nexudus_pulumi.client import NexudusClient
from nexudus_pulumi.errors import (
    AuthenticationError,
    OutcomeUnknownError,
    ThrottledError,
    TransientError,
)
from nexudus_pulumi.sandbox import DEMO_PASSWORD, DEMO_USER, PublishedLimits, Sandbox
from nexudus_pulumi.settings import Settings
from tests.helpers import FAST_CLIENT, configured, create, room, sandbox_config, settled_requests

COLLECTION = "/api/support/chatrooms"
Answer = tuple[int, dict[str, Any] | None]


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def stub_api() -> Iterator[Callable[[dict[tuple[str, str], Answer]], str]]:
    """A stand-in for the hosted Nexudus answering canned replies, for failures the sandbox
    does not produce. Returns its URL; `seen` lists (method, path) of every request."""
    servers: list[ThreadingHTTPServer] = []

    def start(answers: dict[tuple[str, str], Answer]) -> str:
        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                path = self.path.split("?")[0]
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                seen.append((self.command, path))
                status, body = answers.get((self.command, path), (404, {"Message": "nothing"}))
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    seen: list[tuple[str, str]] = []
    start.seen = seen  # type: ignore[attr-defined]
    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


TOKEN_OK: Answer = (200, {"access_token": "a", "expires_in": 3600, "refresh_token": "r"})


def client_for(url: str, **settings: Any) -> NexudusClient:
    config = {
        "nexudus:baseUrl": url,
        "nexudus:username": DEMO_USER,
        "nexudus:password": DEMO_PASSWORD,
        **FAST_CLIENT,
        **{f"nexudus:{k}": v for k, v in settings.items()},
    }
    return NexudusClient(Settings.load(config.get, environ={}))


# ----- the address ----------------------------------------------------------------------------


def test_an_unreachable_address_fails_configure_with_the_url_the_cause_and_the_way_out(
    closed_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{closed_port}"
    config = {"nexudus:baseUrl": url, "nexudus:username": DEMO_USER, "nexudus:password": "p"}
    with pytest.raises(TransientError) as caught:
        configured({**config, **FAST_CLIENT, "nexudus:maxRetries": 1})
    message = str(caught.value)
    assert message.startswith(
        f"cannot reach Nexudus at {url} (nexudus:baseUrl in stack config): 127.0.0.1 refused "
        f"the connection on port {closed_port}"
    )
    assert "set nexudus:skipCredentialsValidation to true" in message
    # the old, misleading line: the host is unreachable, not the token endpoint unavailable
    assert "Basic" not in capsys.readouterr().err


def test_a_host_name_that_does_not_resolve_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_such_host(host: str, *args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)  # no DNS query leaves the machine
    client = client_for("https://spaces.nexudus.cmo", maxRetries=0)
    with pytest.raises(TransientError) as caught:
        client.verify(COLLECTION)
    assert str(caught.value).startswith(
        "cannot reach Nexudus at https://spaces.nexudus.cmo (nexudus:baseUrl in stack config): "
        "the host name 'spaces.nexudus.cmo' does not resolve"
    )


def test_a_post_to_a_refused_port_fails_at_once_and_is_known_never_sent(closed_port: int) -> None:
    # A connection refused means nothing was sent (no unknown outcome), and it cannot heal by
    # retrying: one line at once, not 11-15 s of retries.
    client = client_for(f"http://127.0.0.1:{closed_port}", token="t", maxRetries=3)
    with pytest.raises(TransientError) as caught:
        client.create(COLLECTION, {"BusinessId": 1001})
    assert not isinstance(caught.value, OutcomeUnknownError)
    assert str(caught.value).endswith(
        f"refused the connection on port {closed_port} (nothing listens there); POST "
        f"{COLLECTION} not retried: it cannot heal"
    )


def test_an_address_that_is_not_the_api_is_named(
    stub_api: Callable[[dict[tuple[str, str], Answer]], str],
) -> None:
    url = stub_api({})  # 404 for everything, the token endpoint included
    with pytest.raises(Exception, match=r"does not look like the Nexudus API: GET .* HTTP 404"):
        client_for(url).verify(COLLECTION)


# ----- credentials ----------------------------------------------------------------------------


def test_a_wrong_password_names_where_the_credentials_came_from_and_the_apis_reason(
    sandbox: Sandbox,
) -> None:
    with pytest.raises(AuthenticationError) as caught:
        configured(sandbox_config(sandbox, password="wrong"))
    assert str(caught.value) == (
        f"Nexudus authentication failed at {sandbox.url}: POST /api/token answered HTTP 400: "
        "invalid_grant (The user name or password is incorrect.). The provider used the "
        "username from nexudus:username in stack config and the password from "
        "nexudus:password in stack config: check them; an account with two-factor "
        "authentication needs nexudus:token instead"
    )


def test_a_leftover_token_in_the_environment_is_named_in_the_401(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEXUDUS_TOKEN", "expired-long-ago")
    monkeypatch.setenv("NEXUDUS_USERNAME", DEMO_USER)
    monkeypatch.setenv("NEXUDUS_PASSWORD", DEMO_PASSWORD)
    config = sandbox_config(sandbox, username=None, password=None)
    with pytest.raises(AuthenticationError) as caught:
        configured(config)
    message = str(caught.value)
    assert "the token from NEXUDUS_TOKEN in the environment" in message
    assert "NEXUDUS_USERNAME and NEXUDUS_PASSWORD also set, not used" in message
    assert "unset NEXUDUS_TOKEN if it is a leftover" in message
    assert "expired-long-ago" not in message


def test_a_token_in_the_environment_does_not_override_stack_config_credentials(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEXUDUS_TOKEN", "expired-long-ago")
    provider = configured(sandbox_config(sandbox))  # username and password in stack config
    create(provider, room("lobby"))
    assert len(sandbox.store.all()) == 1


def test_without_credentials_preview_still_checks_and_says_what_to_set(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    provider = configured(sandbox_config(sandbox, username=None, password=None))
    assert provider.check({}, room("lobby")).failures == []
    assert "no Nexudus credentials" in capsys.readouterr().err
    with pytest.raises(Exception, match="no Nexudus credentials: set nexudus:username"):
        provider.create(room("lobby"))
    assert settled_requests(sandbox) == []


def test_a_pre_issued_token_is_proven_with_one_small_search(sandbox: Sandbox) -> None:
    token = sandbox.issue_token(DEMO_USER)["access_token"]
    configured(sandbox_config(sandbox, username=None, password=None, token=token))
    assert settled_requests(sandbox, 1) == [("GET", COLLECTION, 200)]


# ----- the API's own reasons ------------------------------------------------------------------


def test_a_delete_refused_with_a_reason_is_retried_then_shows_the_reason(
    stub_api: Callable[[dict[tuple[str, str], Answer]], str],
) -> None:
    # Nexudus's 500 envelope is also what its transient faults look like: retried like any 5xx
    # on an idempotent request, and the reason shown when the tries run out.
    reason = "ChatRoom 7 cannot be deleted: it has 12 messages."
    url = stub_api(
        {
            ("POST", "/api/token"): TOKEN_OK,
            ("DELETE", f"{COLLECTION}/7"): (
                500,
                {"Message": reason, "WasSuccessful": False, "Errors": None, "Value": None},
            ),
        }
    )
    with pytest.raises(TransientError) as caught:
        client_for(url, maxRetries=2).delete(COLLECTION, 7)
    assert str(caught.value) == (
        f"DELETE {url}{COLLECTION}/7 failed after 3 tries, last: HTTP 500 from Nexudus: {reason}"
    )
    assert stub_api.seen.count(("DELETE", f"{COLLECTION}/7")) == 3  # type: ignore[attr-defined]


def test_a_server_error_without_a_reason_is_retried_and_the_last_answer_quoted(
    stub_api: Callable[[dict[tuple[str, str], Answer]], str],
) -> None:
    url = stub_api(
        {
            ("POST", "/api/token"): TOKEN_OK,
            ("GET", f"{COLLECTION}/7"): (503, {"Message": "Service Unavailable"}),
        }
    )
    with pytest.raises(TransientError) as caught:
        client_for(url, maxRetries=2).get(COLLECTION, 7)
    assert str(caught.value) == (
        f"GET {url}{COLLECTION}/7 failed after 3 tries, last: HTTP 503 from Nexudus"
    )
    assert stub_api.seen.count(("GET", f"{COLLECTION}/7")) == 3  # type: ignore[attr-defined]


# ----- quotas ---------------------------------------------------------------------------------


def test_an_exhausted_daily_quota_shows_the_wait_and_that_pacing_cannot_help() -> None:
    with Sandbox(limits=PublishedLimits(min_interval=0, writes_per_day=1)) as sandbox:
        client = client_for(sandbox.url, deadlineSeconds=5)
        client.create(COLLECTION, {"BusinessId": 1001})
        with pytest.raises(ThrottledError) as caught:
            client.create(COLLECTION, {"BusinessId": 1001})
    message = str(caught.value)
    assert message.startswith(f"Nexudus asks to wait 24 h 00 min before POST {COLLECTION}")
    assert "the daily quota of 5,000 writes" in message
    assert "Lowering nexudus:writesPerMinute or nexudus:requestsPerMinute cannot help" in message
    assert "run again after " in message


def test_an_exhausted_hourly_quota_is_named_with_the_wait() -> None:
    with Sandbox(limits=PublishedLimits(min_interval=0, requests_per_hour=1)) as sandbox:
        client = client_for(sandbox.url, deadlineSeconds=5)
        client.create(COLLECTION, {"BusinessId": 1001})
        with pytest.raises(ThrottledError) as caught:
            list(client.search(COLLECTION, {}))
    message = str(caught.value)
    assert message.startswith(f"Nexudus asks to wait 60 min before GET {COLLECTION}")
    assert "the hourly quota of 5,000 requests of the account is used up" in message
    assert "cannot help" in message and "run again after " in message


def test_per_minute_throttling_past_the_deadline_names_the_knob_to_turn() -> None:
    limits = PublishedLimits(min_interval=0, writes_per_window=1, window_seconds=30)
    with Sandbox(limits=limits) as sandbox:
        client = client_for(sandbox.url, deadlineSeconds=2)
        client.create(COLLECTION, {"BusinessId": 1001})
        with pytest.raises(ThrottledError) as caught:
            client.create(COLLECTION, {"BusinessId": 1001})
    message = str(caught.value)
    assert "the account's limit of 60 writes a minute bites" in message
    assert "Lower nexudus:writesPerMinute (now 100000) or raise nexudus:deadlineSeconds" in message
