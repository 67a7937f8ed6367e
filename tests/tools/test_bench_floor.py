"""The bench's floors (bench/floor.py): what the account's limits alone allow a step, the
figure every "vs floor" ratio of `make bench` divides by. A floor that is too low makes the
pacer look slow; one too high hides a slow pacer."""

from __future__ import annotations

import pytest

from bench.floor import FRESH_WRITE, READ, WRITE, floor, records_floors, turns_sent
from nexudus_pulumi.sandbox import PublishedLimits
from nexudus_pulumi.sandbox.server import TOKEN_PATH

PUBLISHED = PublishedLimits()
ROOMS = "/api/support/chatrooms"


def test_the_published_limits_give_the_records_floors_the_bench_reports() -> None:
    floors = records_floors(300, PUBLISHED)
    # 60 writes 100 ms apart, then each minute's 60 a minute after the ones before
    assert floors["up"] == pytest.approx(4 * 60 + 59 * 0.1)
    assert floors["refresh"] == pytest.approx(2 * 60 + 59 * 0.1)
    # 300 reads each with its delete: 120 requests a minute, five minutes
    assert floors["destroy"] == pytest.approx(4 * 60 + 119 * 0.1)


def test_one_request_past_full_minutes_costs_a_whole_minute() -> None:
    deletes = [FRESH_WRITE] * 300
    assert floor(deletes, PUBLISHED) == pytest.approx(4 * 60 + 119 * 0.1)
    # a listing after the deletes, or a lookup before them: the 601st request of the account
    assert floor([*deletes, READ], PUBLISHED) == pytest.approx(5 * 60)
    assert floor([READ, *deletes], PUBLISHED) == pytest.approx(5 * 60)


def test_the_requests_sent_are_read_as_the_sandbox_counted_them() -> None:
    sent = [
        ("POST", TOKEN_PATH, 200),  # throttled apart from the account
        ("GET", ROOMS, 200),  # a listing
        ("POST", ROOMS, 200),
        ("GET", f"{ROOMS}/7", 200),  # the create's read-back
        ("GET", f"{ROOMS}/8", 200),
        ("DELETE", f"{ROOMS}/8", 200),
        ("GET", f"{ROOMS}/9", 200),
        ("PUT", ROOMS, 409),  # refused: counted by no limit
        ("PUT", ROOMS, 200),
        ("GET", f"{ROOMS}/10", 200),
        ("DELETE", f"{ROOMS}/11", 200),
    ]
    assert turns_sent(sent) == [
        READ,
        WRITE,
        READ,
        FRESH_WRITE,
        FRESH_WRITE,
        READ,
        WRITE,
    ]
