"""The Redis pace ledger (`nexudus:paceUrl`): processes on any machine that name one Redis pace
themselves as one client of the account, per account; a Redis that cannot be reached stops the
run before anything is sent, one lost mid-run leaves each process pacing alone, saying so.
Against a real `redis-server` (tests/redisserver.py)."""

from __future__ import annotations

import itertools
import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from nexudus_pulumi import pacing
from nexudus_pulumi.client import NexudusClient
from nexudus_pulumi.errors import ConfigurationError, TurnTooFar
from nexudus_pulumi.pacing import INTERVAL_MARGIN_SECONDS, Pacer
from nexudus_pulumi.sandbox import Sandbox
from nexudus_pulumi.settings import Settings
from tests.helpers import RELAXED, sandbox_config
from tests.redisserver import RedisServer, redis_server

INTERVAL = 0.05


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    with redis_server(tmp_path / "redis") as running:
        yield running


def pacer(url: str, account: str = "a", **limits: float) -> Pacer:
    settings: dict[str, float] = {
        "min_interval": INTERVAL,
        "requests_per_minute": 10_000,
        "writes_per_minute": 10_000,
    }
    settings.update(limits)
    return Pacer(pace_url=url, account=account, **settings)  # type: ignore[arg-type]


def test_two_pacers_naming_one_redis_keep_the_interval_between_them(server: RedisServer) -> None:
    one, other = pacer(server.url), pacer(server.url)
    sends = [(one if n % 3 else other).wait_turn(write=n % 2 == 0) for n in range(20)]
    gaps = [b - a for a, b in itertools.pairwise(sends)]
    assert min(gaps) >= INTERVAL + INTERVAL_MARGIN_SECONDS - 0.01  # as moved from Redis's clock
    assert max(gaps) < 0.5  # and no slower than the interval asks


def test_the_minutes_writes_are_one_budget_for_every_process(server: RedisServer) -> None:
    one, other = pacer(server.url, writes_per_minute=6), pacer(server.url, writes_per_minute=6)
    for n in range(6):
        (one if n % 2 else other).wait_turn(write=True)
    with pytest.raises(TurnTooFar) as far:
        other.wait_turn(write=True, max_wait=5)
    assert far.value.limit == "writes_per_minute"
    assert 50 < far.value.wait <= 60.5
    assert one.wait_turn(write=False) > 0  # reads go on
    assert one.writes_left_today() == other.writes_left_today() == 5_000 - 6


def test_a_pause_the_server_asked_of_one_holds_back_the_other(server: RedisServer) -> None:
    one, other = pacer(server.url), pacer(server.url)
    one.pause(30)
    with pytest.raises(TurnTooFar) as far:
        other.wait_turn(write=False, max_wait=5)
    assert far.value.limit == "pause"
    assert 25 < far.value.wait <= 30.1  # Redis's clock moved to this one's


def test_two_accounts_on_one_redis_never_hold_each_other_back(server: RedisServer) -> None:
    a, b = pacer(server.url, "a", writes_per_minute=2), pacer(server.url, "b", writes_per_minute=2)
    a.wait_turn(write=True)
    a.wait_turn(write=True)
    a.pause(300)
    started = time.monotonic()
    b.wait_turn(write=True)
    b.wait_turn(write=True)
    assert time.monotonic() - started < 1
    with pytest.raises(TurnTooFar):
        pacer(server.url, "a").wait_turn(write=False, max_wait=60)  # a still sees its pause


def test_a_released_write_is_given_back_to_the_account(server: RedisServer) -> None:
    one, other = pacer(server.url, writes_per_minute=1), pacer(server.url, writes_per_minute=1)
    _, write_at = one.book([False, True])
    with pytest.raises(TurnTooFar):
        other.wait_turn(write=True, max_wait=1)
    one.release([(write_at, True)])
    other.wait_turn(write=True, max_wait=1)


def test_an_unreachable_redis_fails_configure_naming_the_url_without_password(
    server: RedisServer,
) -> None:
    url = server.url
    server.stop()
    config = {"nexudus:token": "t0ken", "nexudus:paceUrl": url.replace("//", "//:s3cret@")}
    with pytest.raises(ConfigurationError) as caught:
        NexudusClient(Settings.load(config.get, {}))
    message = str(caught.value)
    shown = url.replace("//", "//***@")
    assert message.startswith(
        f"invalid Nexudus settings: nexudus:paceUrl: cannot reach the pace ledger at {shown}: "
    )
    assert "s3cret" not in message and "\n" not in message


def test_a_password_in_the_url_or_as_a_secret_and_a_wrong_one_refused(tmp_path: Path) -> None:
    with redis_server(tmp_path / "redis", password="s3cret") as server:
        with_url = server.url.replace("//", "//:s3cret@")
        Pacer(min_interval=0, requests_per_minute=9, writes_per_minute=9, pace_url=with_url)
        env = {"NEXUDUS_TOKEN": "t0ken", "NEXUDUS_PACE_URL": server.url}
        NexudusClient(Settings.load(None, {**env, "NEXUDUS_PACE_PASSWORD": "s3cret"}))
        for environ in (env, {**env, "NEXUDUS_PACE_PASSWORD": "wrong-one"}):
            with pytest.raises(ConfigurationError) as caught:
                NexudusClient(Settings.load(None, environ))
            assert f"NEXUDUS_PACE_URL: cannot reach the pace ledger at {server.url}" in str(
                caught.value
            )
            assert "wrong-one" not in str(caught.value)


def test_redis_lost_mid_run_the_pacer_goes_on_alone_and_says_so_once(
    server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    one = pacer(server.url, writes_per_minute=3)
    sends = [one.wait_turn(write=True) for _ in range(2)]
    server.stop()
    with caplog.at_level(logging.WARNING):
        sends.append(one.wait_turn(write=True))
        sends.append(one.wait_turn(write=False))
        one.pause(0)
        with pytest.raises(TurnTooFar) as far:  # what it sent itself still counts
            one.wait_turn(write=True, max_wait=5)
    assert far.value.limit == "writes_per_minute"
    assert min(b - a for a, b in itertools.pairwise(sends)) >= INTERVAL
    said = [r.getMessage() for r in caplog.records if "pace ledger" in r.getMessage()]
    assert len(said) == 1, said
    assert f"the pace ledger at {server.url} is unreachable" in said[0]
    assert "pacing alone" in said[0]


def test_a_quota_share_paces_to_that_fraction_of_the_limits() -> None:
    shared = Pacer(
        min_interval=0.1, requests_per_minute=120, writes_per_minute=60, quota_share=0.25
    )
    assert shared.limits == pacing.Limits(0.4, 30, 15, 1_250, 1_250)
    settings = Settings.load({"nexudus:quotaShare": "0.25", "nexudus:token": "t"}.get, {})
    client = NexudusClient(settings)
    assert client.writes_left_today() == 1_250


def test_a_pace_url_and_a_pace_file_together_are_refused(tmp_path: Path) -> None:
    environ = {"NEXUDUS_PACE_URL": "redis://cache:6379/0", "NEXUDUS_PACE_FILE": str(tmp_path / "p")}
    with pytest.raises(ConfigurationError, match=r"both NEXUDUS_PACE_URL .* and NEXUDUS_PACE_FILE"):
        Settings.load(None, environ)


CHILD = """
import sys, time
from nexudus_pulumi.pacing import Pacer
pacer = Pacer(min_interval=0.05, requests_per_minute=10_000, writes_per_minute=10_000,
              pace_url=sys.argv[1])
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
sends = [pacer.wait_turn(write=True) for _ in range(15)]  # in the monotonic clock
print(" ".join(repr(time.time() - time.monotonic() + sent) for sent in sends))
"""


def test_real_processes_naming_one_redis_never_send_closer_than_the_interval(
    server: RedisServer,
) -> None:
    start = time.time() + 1.5  # all three wait for the same moment, then race for each turn
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, server.url, repr(start)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [child.communicate(timeout=120)[0] for child in children]
    assert all(child.returncode == 0 for child in children)
    sends = sorted((float(t), n) for n, output in enumerate(outputs) for t in output.split())
    assert len(sends) == 45
    gaps = [b - a for (a, _), (b, _) in itertools.pairwise(sends)]
    # Redis times each turn when its script runs; the moments between that and the send differ
    # by a few ms from one process to the next, which the interval's margin is there to absorb
    assert min(gaps) >= 0.05
    assert sum(1 for (_, a), (_, b) in itertools.pairwise(sends) if a != b) > 2


def test_a_client_counts_the_daily_quota_of_every_process_on_the_redis(
    server: RedisServer,
) -> None:
    with Sandbox(limits=RELAXED) as sandbox:
        config = sandbox_config(sandbox, writesPerDay=3, paceUrl=server.url)
        one = NexudusClient(Settings.load(config.get, {}))
        other = NexudusClient(Settings.load(config.get, {}))
        one.create("/api/support/chatrooms", {"BusinessId": 1001})
        other.create("/api/support/chatrooms", {"BusinessId": 1001})
        assert one.writes_left_today() == 1
