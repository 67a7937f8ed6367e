"""On a busy machine the client still meets no 409 under the published limits: a request
counts until its answer arrived, the latest moment the server can have counted it, so a request
the machine delays on its way in never lands within the interval of the next, nor in a window
its answer had not left yet. `scripts/busy.sh` keeps every core busy while four threads of one
client create, read and delete rooms across both of the account's minutes."""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from nexudus_pulumi.client import NexudusClient, Write
from nexudus_pulumi.sandbox import DEMO_USER, Faults, PublishedLimits, Sandbox
from nexudus_pulumi.settings import Settings
from tests.helpers import ROOMS_PATH, sandbox_config

BUSY = Path(__file__).resolve().parents[2] / "scripts" / "busy.sh"
THREADS = 4
ROUNDS = 8
"""Per thread: create a room, read it, then read and delete another: 4 requests, 2 writes. With
the token request, 129 requests and 64 writes: past both of the minute's budgets, 120 and 60."""


@pytest.fixture
def busy_machine() -> Iterator[None]:
    """Every core busy (`scripts/busy.sh`, bounded by its own timeout), stopped after the test
    by its process id (its trap ends the busy loops)."""
    process = subprocess.Popen(["bash", str(BUSY), "600"])
    try:
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)


def delete(record: dict[str, Any] | None) -> Write:
    assert record is not None
    return Write("DELETE")


def test_a_busy_machine_meets_no_409_under_the_published_limits(busy_machine: None) -> None:
    with Sandbox(limits=PublishedLimits(), faults=Faults(latency_ms=20)) as sandbox:
        doomed = [
            sandbox.store.insert({"BusinessId": 1001, "Name": f"doomed {n}"}, DEMO_USER)
            for n in range(THREADS * ROUNDS)
        ]
        published = sandbox_config(
            sandbox, minIntervalMs=None, requestsPerMinute=None, writesPerMinute=None
        )
        client = NexudusClient(Settings.load(published.get, {}))

        def work(thread: int) -> None:
            for n in range(ROUNDS):
                created = client.create(ROOMS_PATH, {"BusinessId": 1001, "Name": f"new {thread}"})
                client.get(ROOMS_PATH, created.id)
                assert client.fresh_write(ROOMS_PATH, doomed[thread * ROUNDS + n], delete).sent

        started = time.monotonic()
        try:
            with ThreadPoolExecutor(THREADS) as pool:
                list(pool.map(work, range(THREADS)))
        finally:
            client.close()
        elapsed = time.monotonic() - started
        sandbox.wait_idle()
        refusals = sandbox.throttle.refusals
        statuses = Counter(f"{method} {status}" for method, _, status in sandbox.requests)
        names = Counter(r["Name"] for r in sandbox.store.all())
    print(f"\nbusy machine: {statuses.total()} requests in {elapsed:.1f} s, 409s: {dict(refusals)}")
    assert refusals.total() == 0, dict(refusals)
    assert statuses == {
        "POST 200": THREADS * ROUNDS + 1,
        "GET 200": 2 * THREADS * ROUNDS,
        "DELETE 200": THREADS * ROUNDS,
    }
    assert names == {f"new {thread}": ROUNDS for thread in range(THREADS)}
