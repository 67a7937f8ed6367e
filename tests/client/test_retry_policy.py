"""The one retry policy of the client: the budget of an operation (`Attempts`, immutable as
urllib3's `Retry`), spent alike by a request's retries, the token POST and a create whose
answer was lost."""

from __future__ import annotations

import dataclasses
import random
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from nexudus_pulumi.client import NexudusClient
from nexudus_pulumi.client.failures import Failure
from nexudus_pulumi.client.policy import BACKOFF_CAP_SECONDS, CREATE_ATTEMPTS, Attempts
from nexudus_pulumi.client.wire import Answer
from nexudus_pulumi.errors import OutcomeUnknownError, TransientError
from nexudus_pulumi.pacing import LONGEST_WAIT_SECONDS
from nexudus_pulumi.sandbox import DEMO_PASSWORD, DEMO_USER
from nexudus_pulumi.settings import Settings
from tests.helpers import FAST_CLIENT
from tests.hostile import TOKEN_ANSWER, HostileServer, Reply, Request

pytestmark = pytest.mark.timeout(120)

COLLECTION = "/api/support/chatrooms"
BROKEN = Failure("the connection broke without an answer", network=True)
LOST = Failure("HTTP 500 from Nexudus on POST", lost=True)


def answer(status: int, headers: dict[str, str] | None = None, body: bytes = b"") -> Answer:
    return Answer("http://127.0.0.1/x", status, headers or {}, body)


@pytest.fixture
def ceiling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Full jitter drawn at its top, so a backoff shows its ceiling."""
    monkeypatch.setattr(random, "uniform", lambda low, high: high)


# ----- Attempts ------------------------------------------------------------------------------


def test_increment_makes_a_new_attempts_and_leaves_the_old_one_as_it_was() -> None:
    fresh = Attempts(total=2)
    spent = fresh.increment(BROKEN)
    assert (fresh.total, fresh.history) == (2, ())
    assert (spent.total, spent.history, spent.failures) == (1, (BROKEN,), 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fresh.total = 0  # type: ignore[misc]


def test_attempts_are_exhausted_by_the_failure_past_the_budget() -> None:
    attempts = Attempts(total=2)
    for _ in range(2):
        attempts = attempts.increment(BROKEN)
        assert not attempts.exhausted
    assert attempts.increment(BROKEN).exhausted
    assert Attempts(total=0).increment(BROKEN).exhausted


def test_lost_creates_spend_a_budget_of_their_own() -> None:
    attempts = Attempts(total=0)
    for _ in range(CREATE_ATTEMPTS - 1):
        attempts = attempts.increment(LOST)
        assert not attempts.exhausted
    assert (attempts.total, attempts.failures) == (0, 0)
    assert attempts.increment(LOST).exhausted


def test_a_renewal_is_remembered_by_the_attempts_it_makes() -> None:
    fresh = Attempts(total=1)
    assert fresh.renewing().renewed
    assert not fresh.renewed


def test_backoff_doubles_with_each_failure_up_to_the_cap(ceiling: None) -> None:
    attempts = Attempts(total=10, backoff_base=0.25)
    seen = []
    for _ in range(7):
        attempts = attempts.increment(BROKEN)
        seen.append(attempts.delay())
    assert seen == [0.5, 1.0, 2.0, 4.0, *[BACKOFF_CAP_SECONDS] * 3]


def test_a_lost_create_backs_off_like_any_failure(ceiling: None) -> None:
    assert Attempts(total=0, backoff_base=0.25).increment(LOST).delay() == 0.5


@pytest.mark.parametrize(
    ("status", "headers", "body", "wait"),
    [
        (409, {"Retry-After": "7"}, b"", 7.0),
        (429, {"Retry-After": "2.5"}, b"", 2.5),
        (429, {}, b'{"Message": "Wait 5 seconds."}', 5.0),
        (409, {}, b"", 1.0),
        (409, {"Retry-After": "1e300"}, b"", LONGEST_WAIT_SECONDS),
        (409, {"Retry-After": "-3"}, b"", 0.0),
    ],
)
def test_a_throttled_answer_is_waited_out_as_it_asks(
    status: int, headers: dict[str, str], body: bytes, wait: float, ceiling: None
) -> None:
    assert Attempts(total=3).delay(answer(status, headers, body)) == wait


def test_a_server_error_is_backed_off_whatever_it_asks(ceiling: None) -> None:
    attempts = Attempts(total=3, backoff_base=0.1).increment(BROKEN)
    assert attempts.delay(answer(503, {"Retry-After": "600"})) == pytest.approx(0.2)


# ----- the token POST and the create spend the one budget ------------------------------------


def client_for(url: str, **settings: Any) -> NexudusClient:
    config: dict[str, Any] = {
        "nexudus:baseUrl": url,
        "nexudus:username": DEMO_USER,
        "nexudus:password": DEMO_PASSWORD,
        **FAST_CLIENT,
        **{f"nexudus:{k}": v for k, v in settings.items()},
    }
    return NexudusClient(Settings.load(config.get, environ={}))


def token_dropped(times: int) -> HostileServer:
    """A server whose token endpoint drops the connection `times` times, then issues a token;
    every record is id 7."""
    dropped = [0]
    lock = threading.Lock()

    def reply_to(request: Request, reply: Reply) -> None:
        if request.path != "/api/token":
            reply.json(200, {"Id": 7})
            return
        with lock:
            drop = dropped[0] < times
            dropped[0] += drop
        if drop:
            reply.sock.shutdown(socket.SHUT_RDWR)
        else:
            reply.json(200, TOKEN_ANSWER)

    return HostileServer(reply_to)


@pytest.fixture
def flaky_token() -> Iterator[HostileServer]:
    with token_dropped(3) as server:
        yield server


def token_posts(server: HostileServer) -> int:
    return server.seen().count(("POST", "/api/token"))


def test_the_token_post_is_retried_on_the_budget_of_max_retries(
    flaky_token: HostileServer,
) -> None:
    assert client_for(flaky_token.url, maxRetries=3).get(COLLECTION, 7)["Id"] == 7
    assert token_posts(flaky_token) == 4


def test_the_token_post_gives_up_when_max_retries_is_spent(flaky_token: HostileServer) -> None:
    with pytest.raises(TransientError, match=r"POST /api/token gave up after 3 tries"):
        client_for(flaky_token.url, maxRetries=2).get(COLLECTION, 7)
    assert token_posts(flaky_token) == 3
    assert ("GET", f"{COLLECTION}/7") not in flaky_token.seen()


def failing_posts() -> HostileServer:
    """A server whose every POST answers a 500 (nothing is created)."""
    return HostileServer(lambda request, reply: reply.json(500, {"Message": "Ooops!"}))


def test_a_create_whose_record_is_never_found_posts_create_attempts_times() -> None:
    looks: list[int] = []

    def find_lost() -> dict[str, Any] | None:
        looks.append(1)
        return None

    with failing_posts() as server:
        client = client_for(server.url, token="t0ken")
        with pytest.raises(OutcomeUnknownError):
            client.create(COLLECTION, {"BusinessId": 1001}, find_lost=find_lost)
        assert server.seen() == [("POST", COLLECTION)] * CREATE_ATTEMPTS
    assert len(looks) == CREATE_ATTEMPTS - 1


def test_a_create_whose_record_is_found_answers_the_record_and_posts_once() -> None:
    found = {"Id": 41, "Name": "Lost and found"}
    with failing_posts() as server:
        written = client_for(server.url, token="t0ken").create(
            COLLECTION, {"BusinessId": 1001}, find_lost=lambda: found
        )
        assert server.seen() == [("POST", COLLECTION)]
    assert (written.id, written.record, written.audit) == (41, found, {})


def test_without_a_finder_a_create_with_an_unknown_outcome_is_the_callers() -> None:
    with failing_posts() as server:
        with pytest.raises(OutcomeUnknownError):
            client_for(server.url, token="t0ken").create(COLLECTION, {"BusinessId": 1001})
        assert server.seen() == [("POST", COLLECTION)]


def test_a_fresh_writes_turns_spend_one_budget() -> None:
    """Each failed read makes the fresh write take its turn again: on what is left of the
    budget, not a new one per turn."""
    with HostileServer(lambda request, reply: reply.json(503, {})) as server:
        client = client_for(server.url, token="t0ken", maxRetries=2, deadlineSeconds=60)
        with pytest.raises(TransientError, match=r"failed after 3 tries, last: HTTP 503"):
            client.fresh_write(COLLECTION, 7, lambda record: None)
        assert server.seen() == [("GET", f"{COLLECTION}/7")] * 3
