"""The client against an API that misbehaves: redirects, bad ids, bad pages, answers dripped a
byte at a time or without end, throttling and server faults as Nexudus really sends them. Each
ends in one line naming the URL and what was wrong, within the deadlines, and no credential
travels anywhere but the configured origin."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from nexudus_pulumi import client as client_module
from nexudus_pulumi.client import NexudusClient
from nexudus_pulumi.errors import (
    ApiRejectedError,
    AuthenticationError,
    InvalidAnswerError,
    OutcomeUnknownError,
    ProbeError,
    RedirectRefusedError,
    ThrottledError,
    TransientError,
)
from nexudus_pulumi.ownership import describe_owner
from nexudus_pulumi.probe import ProbeOptions, run_probe
from nexudus_pulumi.sandbox import DEMO_PASSWORD, DEMO_USER
from nexudus_pulumi.settings import Settings
from tests.helpers import FAST_CLIENT
from tests.hostile import TOKEN_ANSWER, HostileServer, Reply, Request, head

pytestmark = pytest.mark.timeout(120)

COLLECTION = "/api/support/chatrooms"
Answer = Callable[[Request, Reply], None]


def client_for(url: str, **settings: Any) -> NexudusClient:
    config: dict[str, Any] = {
        "nexudus:baseUrl": url,
        "nexudus:username": DEMO_USER,
        "nexudus:password": DEMO_PASSWORD,
        **FAST_CLIENT,
        **{f"nexudus:{k}": v for k, v in settings.items()},
    }
    config = {k: v for k, v in config.items() if v is not None}
    return NexudusClient(Settings.load(config.get, environ={}))


@pytest.fixture
def serve() -> Iterator[Callable[[Answer], HostileServer]]:
    """`serve(answer)`: a running hostile server, stopped after the test."""
    running: list[HostileServer] = []

    def start(answer: Answer) -> HostileServer:
        server = HostileServer(answer)
        server.__enter__()
        running.append(server)
        return server

    yield start
    for server in running:
        server.__exit__(None, None, None)


def routes(table: dict[tuple[str, str], Callable[[Reply], None]]) -> Answer:
    """An answer per (method, path); anything else is a 404."""

    def answer(request: Request, reply: Reply) -> None:
        handler = table.get((request.method, request.path))
        if handler is None:
            reply.json(404, {"Message": "Not found"})
        else:
            handler(reply)

    return answer


def token_ok(reply: Reply) -> None:
    reply.json(200, TOKEN_ANSWER)


def page(records: list[dict[str, Any]], *, has_next: bool, **extra: Any) -> dict[str, Any]:
    return {"Records": records, "HasNextPage": has_next, **extra}


# ----- 19.2: credentials go only to the configured origin -------------------------------------


def test_a_token_endpoint_redirect_is_refused_and_the_other_host_receives_nothing(
    serve: Callable[[Answer], HostileServer],
) -> None:
    elsewhere = serve(lambda request, reply: reply.json(200, TOKEN_ANSWER))
    location = {"Location": f"{elsewhere.url}/api/token"}
    api = serve(routes({("POST", "/api/token"): lambda r: r.json(307, {}, location)}))
    with pytest.raises(RedirectRefusedError) as caught:
        client_for(api.url).verify(COLLECTION)
    assert elsewhere.seen() == []
    message = str(caught.value)
    assert f"POST {api.url}/api/token answered HTTP 307" in message
    assert elsewhere.url in message
    assert DEMO_PASSWORD not in message
    assert api.seen() == [("POST", "/api/token")]  # not retried either


def test_an_authenticated_request_is_never_redirected(
    serve: Callable[[Answer], HostileServer],
) -> None:
    elsewhere = serve(lambda request, reply: reply.json(200, {"Id": 7}))
    location = {"Location": f"{elsewhere.url}{COLLECTION}/7"}
    api = serve(routes({("GET", f"{COLLECTION}/7"): lambda r: r.json(302, {}, location)}))
    with pytest.raises(
        RedirectRefusedError, match=f"GET {api.url}{COLLECTION}/7 answered HTTP 302"
    ):
        client_for(api.url, token="t0ken").get(COLLECTION, 7)
    assert elsewhere.seen() == []


# ----- 19.4: ids and pages from the API are validated -----------------------------------------


@pytest.mark.parametrize("bad_id", [0, True, -5, 2**70, "12", 1.5, None])
def test_a_create_answering_an_invalid_id_is_refused_naming_the_operation(
    serve: Callable[[Answer], HostileServer], bad_id: Any
) -> None:
    answer = {"WasSuccessful": True, "Value": {"Id": bad_id}}
    api = serve(routes({("POST", COLLECTION): lambda r: r.json(200, answer)}))
    with pytest.raises(InvalidAnswerError) as caught:
        client_for(api.url, token="t0ken").create(COLLECTION, {"BusinessId": 1001})
    message = str(caught.value)
    assert f"POST {api.url}{COLLECTION}" in message
    assert "Value.Id" in message and "1 to 2147483647" in message


@pytest.mark.parametrize(
    ("body", "what"),
    [
        (page([{"Id": 1}, {"Name": "no id"}], has_next=False), "Id"),
        (page([{"Id": 1}, {"Id": True}], has_next=False), "Id"),
        ({"Records": "xyz", "HasNextPage": False}, "Records"),
        ([{"Id": 1}], "not a JSON object"),
        ({"Records": [{"Id": 1}, "a string"], "HasNextPage": False}, "not a JSON object"),
    ],
)
def test_a_listing_page_that_is_not_a_page_of_records_names_the_url(
    serve: Callable[[Answer], HostileServer], body: Any, what: str
) -> None:
    api = serve(routes({("GET", COLLECTION): lambda r: r.json(200, body)}))
    with pytest.raises(InvalidAnswerError) as caught:
        list(client_for(api.url, token="t0ken").search(COLLECTION, {}))
    assert f"{api.url}{COLLECTION}" in str(caught.value)
    assert what in str(caught.value)


def test_a_listing_that_never_ends_is_stopped_by_the_repeat_check(
    serve: Callable[[Answer], HostileServer],
) -> None:
    api = serve(
        routes({("GET", COLLECTION): lambda r: r.json(200, page([{"Id": 5}], has_next=True))})
    )
    with pytest.raises(
        InvalidAnswerError,
        match=r"page 2\) says more pages follow but holds only records already listed",
    ):
        list(client_for(api.url, token="t0ken").search(COLLECTION, {}))
    assert len(api.seen()) == 2


def test_a_listing_is_bounded_by_its_total_pages(serve: Callable[[Answer], HostileServer]) -> None:
    counter = iter(range(1, 10_000))

    def fresh_page(reply: Reply) -> None:
        reply.json(200, page([{"Id": next(counter)}], has_next=True, TotalPages=3))

    api = serve(routes({("GET", COLLECTION): fresh_page}))
    with pytest.raises(InvalidAnswerError, match=r"page 3 of TotalPages 3 .*HasNextPage"):
        list(client_for(api.url, token="t0ken").search(COLLECTION, {}))
    assert len(api.seen()) == 3


def test_a_listing_of_ever_new_pages_ends_at_the_operation_deadline(
    serve: Callable[[Answer], HostileServer],
) -> None:
    counter = iter(range(1, 1_000_000))

    def slow_fresh_page(reply: Reply) -> None:
        reply.stop.wait(0.2)
        reply.json(200, page([{"Id": next(counter)}], has_next=True))

    api = serve(routes({("GET", COLLECTION): slow_fresh_page}))
    with pytest.raises(TransientError, match=r"deadline .*nexudus:deadlineSeconds"):
        list(client_for(api.url, token="t0ken", deadlineSeconds=2).search(COLLECTION, {}))
    assert len(api.seen()) < 50


def test_a_get_answering_another_record_is_refused(
    serve: Callable[[Answer], HostileServer],
) -> None:
    api = serve(routes({("GET", f"{COLLECTION}/7"): lambda r: r.json(200, {"Id": 8})}))
    with pytest.raises(InvalidAnswerError, match=f"GET {api.url}{COLLECTION}/7 .*Id 8"):
        client_for(api.url, token="t0ken").get(COLLECTION, 7)


# ----- 19.5 and 19.10: bounded in time and in size --------------------------------------------


def drip_headers(reply: Reply) -> None:
    """A valid answer, its status line and headers sent one byte per 0.5 s (about 40 s)."""
    body = json.dumps({"Id": 7}).encode()
    reply.drip(head(200, {"Content-Type": "application/json"}, len(body)), 0.5)
    reply.raw(body)


def drip_body(reply: Reply) -> None:
    """A valid answer whose body comes one byte a second (about 30 s)."""
    body = json.dumps({"Id": 7, "Name": "x" * 20}).encode()
    reply.raw(head(200, {"Content-Type": "application/json"}, len(body)))
    reply.drip(body, 1.0)


@pytest.mark.parametrize("dripped", [drip_headers, drip_body])
def test_an_answer_dripped_byte_by_byte_ends_at_the_exchange_timeout(
    serve: Callable[[Answer], HostileServer], dripped: Callable[[Reply], None]
) -> None:
    api = serve(routes({("GET", f"{COLLECTION}/7"): dripped}))
    client = client_for(api.url, token="t0ken", timeoutSeconds=2, maxRetries=1)
    with pytest.raises(TransientError) as caught:
        client.get(COLLECTION, 7)
    assert "no answer within 2 s (nexudus:timeoutSeconds)" in str(caught.value)
    assert api.seen() == [("GET", f"{COLLECTION}/7")] * 2


def test_retries_of_a_dripped_answer_end_at_the_operation_deadline(
    serve: Callable[[Answer], HostileServer],
) -> None:
    api = serve(routes({("GET", f"{COLLECTION}/7"): drip_headers}))  # a byte per 0.5 s
    client = client_for(api.url, token="t0ken", timeoutSeconds=1, deadlineSeconds=3, maxRetries=50)
    with pytest.raises(TransientError, match="deadline"):
        client.get(COLLECTION, 7)
    assert len(api.seen()) < 10


def test_a_slow_token_endpoint_does_not_hang_the_preview(
    serve: Callable[[Answer], HostileServer],
) -> None:
    def slow_token(reply: Reply) -> None:
        body = json.dumps(TOKEN_ANSWER).encode()
        reply.raw(head(200, {"Content-Type": "application/json"}, len(body)))
        reply.drip(body, 0.5)

    api = serve(routes({("POST", "/api/token"): slow_token}))
    with pytest.raises(TransientError, match="no answer within 1 s"):
        client_for(api.url, timeoutSeconds=1, maxRetries=1).verify(COLLECTION)


def test_an_answer_bigger_than_the_cap_fails_without_being_read_whole(
    serve: Callable[[Answer], HostileServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client_module, "MAX_RESPONSE_BYTES", 1 << 20)
    sent: list[int] = []

    def endless(reply: Reply) -> None:
        reply.raw(head(200, {"Content-Type": "application/json"}, None) + b'{"Records": [')
        chunk = b'{"Id": 1},' * 10_000
        for _ in range(1_000):  # 100 MB if read whole
            if reply.stop.is_set():
                return
            reply.raw(chunk)
            sent.append(len(chunk))

    api = serve(routes({("GET", COLLECTION): endless}))
    with pytest.raises(InvalidAnswerError) as caught:
        list(client_for(api.url, token="t0ken").search(COLLECTION, {}))
    assert f"{api.url}{COLLECTION}" in str(caught.value)
    assert "larger than 1 MiB" in str(caught.value)
    assert sum(sent) < 50_000_000


def test_an_answer_announcing_a_size_over_the_cap_is_refused_at_once(
    serve: Callable[[Answer], HostileServer],
) -> None:
    def announced(reply: Reply) -> None:
        reply.raw(head(200, {"Content-Type": "application/json"}, 300_000_000) + b"{")

    api = serve(routes({("GET", f"{COLLECTION}/7"): announced}))
    with pytest.raises(InvalidAnswerError, match="larger than 64 MiB"):
        client_for(api.url, token="t0ken").get(COLLECTION, 7)


# ----- 19.9: a token endpoint answering nonsense ----------------------------------------------


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (b"<html><body>Welcome</body></html>", "not JSON"),
        (json.dumps({"token_type": "bearer"}).encode(), "no access_token"),
        (json.dumps([TOKEN_ANSWER]).encode(), "not a JSON object"),
        (json.dumps({**TOKEN_ANSWER, "expires_in": "soon"}).encode(), "expires_in"),
        (json.dumps({**TOKEN_ANSWER, "access_token": "a b\n"}).encode(), "access_token"),
    ],
)
def test_a_token_answer_that_is_no_token_is_named_in_one_line(
    serve: Callable[[Answer], HostileServer], data: bytes, what: str
) -> None:
    api = serve(routes({("POST", "/api/token"): lambda r: r.bytes(200, data)}))
    with pytest.raises(InvalidAnswerError) as caught:
        client_for(api.url).verify(COLLECTION)
    message = str(caught.value)
    assert message.startswith(f"POST {api.url}/api/token answered HTTP 200 but ")
    assert what in message and "\n" not in message


# ----- 18: server faults in bursts, 17: throttling as 429 -------------------------------------


def burst_then(failures: int, fault: Callable[[Reply], None], ok: dict[str, Any]) -> Answer:
    left = [failures]

    def answer(request: Request, reply: Reply) -> None:
        if left[0] > 0:
            left[0] -= 1
            fault(reply)
        else:
            reply.json(200, ok)

    return answer


ENVELOPE_500 = {"Message": "Deadlock victim.", "WasSuccessful": False, "Errors": None}
OOOPS_500 = {"Message": "Ooops! There was a problem while running this action."}


@pytest.mark.parametrize("body", [ENVELOPE_500, OOOPS_500])
def test_a_burst_of_four_server_errors_is_outlasted_by_the_default_retries(
    serve: Callable[[Answer], HostileServer], body: dict[str, Any]
) -> None:
    api = serve(burst_then(4, lambda r: r.json(500, body), {"Id": 7}))
    client = client_for(api.url, token="t0ken", maxRetries=None)
    assert client.settings.max_retries >= 4
    assert client.get(COLLECTION, 7)["Id"] == 7
    assert len(api.seen()) == 5


def test_a_server_error_with_a_reason_after_a_post_is_an_unknown_outcome(
    serve: Callable[[Answer], HostileServer],
) -> None:
    api = serve(lambda request, reply: reply.json(500, ENVELOPE_500))
    with pytest.raises(OutcomeUnknownError) as caught:
        client_for(api.url, token="t0ken").create(COLLECTION, {"BusinessId": 1001})
    assert caught.value.answered
    assert "Deadlock victim." in str(caught.value)
    assert len(api.seen()) == 1


def test_when_the_tries_run_out_the_apis_reason_is_shown(
    serve: Callable[[Answer], HostileServer],
) -> None:
    api = serve(lambda request, reply: reply.json(500, ENVELOPE_500))
    with pytest.raises(TransientError) as caught:
        client_for(api.url, token="t0ken", maxRetries=2).delete(COLLECTION, 7)
    assert str(caught.value) == (
        f"DELETE {api.url}{COLLECTION}/7 failed after 3 tries, last: HTTP 500 from Nexudus: "
        "Deadlock victim."
    )


@pytest.mark.parametrize("said", ["Wait 2 seconds.", "Too many requests. wait 2.0 s"])
def test_a_429_asking_in_words_is_waited_out_like_a_409(
    serve: Callable[[Answer], HostileServer],
    said: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    throttled = burst_then(
        1, lambda r: r.bytes(429, said.encode(), content_type="text/plain"), {"Id": 7}
    )
    api = serve(throttled)
    caplog.set_level(logging.INFO, "nexudus_pulumi")
    assert client_for(api.url, token="t0ken", maxRetries=0).get(COLLECTION, 7)["Id"] == 7
    assert "waiting 2.0 s" in caplog.text
    assert len(api.seen()) == 2


# ----- 20 and 19.15: what cannot heal fails at once, and names the right host ------------------


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_refused_port_fails_at_once(closed_port: int, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "nexudus_pulumi")
    client = client_for(f"http://127.0.0.1:{closed_port}", token="t0ken", maxRetries=5)
    with pytest.raises(TransientError, match=f"refused the connection on port {closed_port}"):
        client.get(COLLECTION, 7)
    assert "retry" not in caplog.text


def test_an_unknown_host_fails_at_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[str] = []

    def no_such_host(host: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    caplog.set_level(logging.INFO, "nexudus_pulumi")
    with pytest.raises(TransientError, match="does not resolve"):
        client_for("https://spaces.nexudus.cmo", token="t0ken", maxRetries=5).get(COLLECTION, 7)
    assert "retry" not in caplog.text
    assert len(calls) == 1


def test_a_refusing_proxy_is_named_as_the_proxy(
    closed_port: int, serve: Callable[[Answer], HostileServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    api = serve(lambda request, reply: reply.json(200, {"Id": 7}))
    for name in ("NO_PROXY", "no_proxy", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port}")
    with pytest.raises(TransientError) as caught:
        client_for(api.url, token="t0ken").get(COLLECTION, 7)
    message = str(caught.value)
    assert (
        f"the proxy http://127.0.0.1:{closed_port} (HTTP_PROXY) refused the connection" in message
    )
    assert f"refused the connection on port {api.port}" not in message
    assert api.seen() == []


# ----- 28.4: what the API says reaches the terminal as text, never as escapes ------------------

PWNED = "\x1b]0;PWNED\x07"
"""An OSC sequence: a terminal that receives it raw sets its title to PWNED."""
PWNED_SHOWN = "\\x1b]0;PWNED\\x07"


def assert_escaped(message: str) -> None:
    assert "\x1b" not in message and "\x07" not in message, repr(message)
    assert PWNED_SHOWN in message, message


def test_a_field_error_message_with_a_terminal_escape_is_shown_escaped(
    serve: Callable[[Answer], HostileServer],
) -> None:
    body = {
        "WasSuccessful": False,
        "Message": PWNED,
        "Errors": [{"PropertyName": f"Name{PWNED}", "Message": f"bad {PWNED}"}],
    }
    api = serve(routes({("PUT", COLLECTION): lambda r: r.json(400, body)}))
    with pytest.raises(ApiRejectedError) as caught:
        client_for(api.url, token="t0ken").update(COLLECTION, {"Id": 7})
    assert_escaped(str(caught.value))
    assert "\x1b" not in caught.value.summary


def test_a_server_errors_reason_with_a_terminal_escape_is_shown_escaped(
    serve: Callable[[Answer], HostileServer],
) -> None:
    body = {"Message": f"Deadlock {PWNED}", "WasSuccessful": False, "Errors": None}
    api = serve(lambda request, reply: reply.json(500, body))
    with pytest.raises(TransientError) as caught:
        client_for(api.url, token="t0ken", maxRetries=1).get(COLLECTION, 7)
    assert_escaped(str(caught.value))


def test_an_oauth_error_description_with_a_terminal_escape_is_shown_escaped(
    serve: Callable[[Answer], HostileServer],
) -> None:
    body = {"error": "invalid_grant", "error_description": f"no {PWNED}"}
    api = serve(routes({("POST", "/api/token"): lambda r: r.json(400, body)}))
    with pytest.raises(AuthenticationError) as caught:
        client_for(api.url).verify(COLLECTION)
    assert_escaped(str(caught.value))


def test_a_content_type_with_a_terminal_escape_is_shown_escaped(
    serve: Callable[[Answer], HostileServer],
) -> None:
    html = routes(
        {("GET", f"{COLLECTION}/7"): lambda r: r.bytes(200, b"<html>", content_type=PWNED)}
    )
    with pytest.raises(InvalidAnswerError) as caught:
        client_for(serve(html).url, token="t0ken").get(COLLECTION, 7)
    assert_escaped(str(caught.value))


@pytest.mark.parametrize("system_id", [f"pulumi:x/{PWNED}/lobby#abc", f"crm:{PWNED}"])
def test_an_owner_marker_with_a_terminal_escape_is_described_escaped(system_id: str) -> None:
    described = describe_owner(system_id)
    assert described is not None
    assert_escaped(described)


# ----- 28.7: answers that crashed Python end as the client's error -----------------------------

DEEP = b"[" * 200_000 + b"]" * 200_000
"""JSON nested 200,000 deep: Python's parser raised RecursionError."""


def deep(reply: Reply) -> None:
    reply.bytes(200, DEEP)


def test_json_nested_200000_deep_is_refused_naming_the_url(
    serve: Callable[[Answer], HostileServer],
) -> None:
    api = serve(routes({("GET", f"{COLLECTION}/7"): deep, ("GET", COLLECTION): deep}))
    client = client_for(api.url, token="t0ken")
    for call in (lambda: client.get(COLLECTION, 7), lambda: list(client.search(COLLECTION, {}))):
        with pytest.raises(InvalidAnswerError) as caught:
            call()
        assert f"GET {api.url}{COLLECTION}" in str(caught.value)
        assert "nests JSON deeper than 64 levels" in str(caught.value)


def test_json_nested_deeper_than_any_nexudus_answer_is_refused_though_python_reads_it(
    serve: Callable[[Answer], HostileServer],
) -> None:
    body = {"Id": 7, "Name": "x", "Custom": json.loads("[" * 500 + "]" * 500)}
    api = serve(routes({("GET", f"{COLLECTION}/7"): lambda r: r.json(200, body)}))
    with pytest.raises(InvalidAnswerError, match="deeper than 64 levels"):
        client_for(api.url, token="t0ken").get(COLLECTION, 7)


def test_a_token_answer_nested_200000_deep_is_refused(
    serve: Callable[[Answer], HostileServer],
) -> None:
    api = serve(routes({("POST", "/api/token"): deep}))
    with pytest.raises(InvalidAnswerError, match="token answered HTTP 200 but its body nests"):
        client_for(api.url).verify(COLLECTION)


@pytest.mark.parametrize(
    ("status", "headers", "said"),
    [
        (409, {"Retry-After": "1e300"}, b""),
        (429, {}, b"Wait 99999999999999999999 seconds."),
        (429, {}, b"Wait " + b"9" * 400 + b" seconds."),
    ],
)
def test_a_wait_too_long_for_any_clock_ends_as_the_throttle_error(
    serve: Callable[[Answer], HostileServer], status: int, headers: dict[str, str], said: bytes
) -> None:
    api = serve(lambda request, reply: reply.bytes(status, said, headers, "text/plain"))
    with pytest.raises(ThrottledError) as caught:
        client_for(api.url, token="t0ken").get(COLLECTION, 7)
    message = str(caught.value)
    assert f"before GET {COLLECTION}/7 (HTTP {status}" in message
    assert "wait 24 h 00 min" in message and "daily quota" in message


def run_cli(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    """`nexudus-pulumi ARGS` as a user runs it, against `url` with a token."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEXUDUS_")}
    env.update({"NEXUDUS_BASE_URL": url, "NEXUDUS_TOKEN": "t0ken", "NEXUDUS_MAX_RETRIES": "0"})
    command = [sys.executable, "-m", "nexudus_pulumi.cli", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


def test_rooms_against_json_nested_200000_deep_says_so_in_one_line(
    serve: Callable[[Answer], HostileServer],
) -> None:
    api = serve(routes({("GET", COLLECTION): deep}))
    done = run_cli("rooms", url=api.url)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith(f"error: GET {api.url}{COLLECTION}")
    assert done.stderr.count("\n") == 1 and "deeper than 64 levels" in done.stderr


# ----- 28.8: one listing holds a bounded number of records --------------------------------------


def test_a_listing_of_ever_new_pages_stops_at_the_records_one_listing_may_hold(
    serve: Callable[[Answer], HostileServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client_module, "MAX_LISTED_RECORDS", 2_500)
    counter = iter(range(1, 1_000_000))

    def fresh_page(reply: Reply) -> None:
        reply.json(200, page([{"Id": next(counter)} for _ in range(1_000)], has_next=True))

    api = serve(routes({("GET", COLLECTION): fresh_page}))
    with pytest.raises(InvalidAnswerError) as caught:
        list(client_for(api.url, token="t0ken", deadlineSeconds=60).search(COLLECTION, {}))
    assert str(caught.value).startswith(f"GET {api.url}{COLLECTION} (page 3) takes the listing")
    assert "past 2,500 records, more than one listing may hold" in str(caught.value)
    assert len(api.seen()) == 3


# ----- 28.3: the probe's unpaced GETs go through the hardened transport ------------------------

BURST_PARAMS = {"ChatRoom_Business": 1001, "page": 1, "size": 1}


def test_the_probes_unpaced_get_follows_no_redirect(
    serve: Callable[[Answer], HostileServer],
) -> None:
    elsewhere = serve(lambda request, reply: reply.json(200, page([], has_next=False)))
    location = {"Location": f"{elsewhere.url}{COLLECTION}"}
    api = serve(routes({("GET", COLLECTION): lambda r: r.json(302, {}, location)}))
    with pytest.raises(RedirectRefusedError, match=f"GET {api.url}{COLLECTION}"):
        client_for(api.url, token="t0ken").send_unpaced(COLLECTION, BURST_PARAMS)
    assert elsewhere.seen() == []


def test_the_probes_unpaced_get_reads_no_body_past_the_cap(
    serve: Callable[[Answer], HostileServer],
) -> None:
    sent: list[int] = []

    def endless(reply: Reply) -> None:
        reply.raw(head(429, {"Content-Type": "text/plain"}, None))
        chunk = b"Wait 1 second. " * 10_000
        for _ in range(2_000):  # 300 MB if read whole
            if reply.stop.is_set():
                return
            reply.raw(chunk)
            sent.append(len(chunk))

    api = serve(routes({("GET", COLLECTION): endless}))
    with pytest.raises(InvalidAnswerError, match="larger than 64 MiB"):
        client_for(api.url, token="t0ken").send_unpaced(COLLECTION, BURST_PARAMS)
    assert sum(sent) < 150 * 2**20


def test_the_probes_unpaced_get_ends_at_the_exchange_timeout(
    serve: Callable[[Answer], HostileServer],
) -> None:
    api = serve(routes({("GET", COLLECTION): drip_body}))  # a byte a second, about 30 s
    client = client_for(api.url, token="t0ken", timeoutSeconds=2)
    started = time.monotonic()
    with pytest.raises(TransientError, match="no answer within 2 s"):
        client.send_unpaced(COLLECTION, BURST_PARAMS)
    assert time.monotonic() - started < 4


@pytest.mark.parametrize("bad_id", [True, 7.0, 0, -3, "7"])
def test_the_probe_refuses_a_create_answering_an_id_that_is_no_record_id(
    serve: Callable[[Answer], HostileServer], bad_id: Any
) -> None:
    """And deletes nothing: the record it may have made is looked for by its marker only."""
    empty = page([], has_next=False)
    api = serve(
        routes(
            {
                ("GET", COLLECTION): lambda r: r.json(200, empty),
                ("GET", "/api/community/communitygroups"): lambda r: r.json(200, empty),
                ("POST", COLLECTION): lambda r: r.json(200, {"Value": {"Id": bad_id}}),
            }
        )
    )
    said: list[str] = []
    with pytest.raises(ProbeError) as caught:
        run_probe(client_for(api.url, token="t0ken"), ProbeOptions(1001, user_id=12), said.append)
    assert (caught.value.reason, caught.value.noun) == ("no-record-id", "room")
    marker = caught.value.marker
    assert marker is not None and marker.startswith("nexudus-pulumi-probe:")
    message = str(caught.value)
    assert f"but {bad_id!r}" in message and repr(marker) in message  # what to delete by hand
    assert not [m for m, _ in api.seen() if m == "DELETE"]
    assert said == []
