"""The pacer keeps a whole process under the published limits, whatever the thread count."""

from __future__ import annotations

import itertools

from nexudus_pulumi.pacing import SAFETY_MARGIN_SECONDS, Pacer


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def make(clock: FakeClock, **limits: float) -> Pacer:
    settings = {"min_interval": 0.1, "requests_per_minute": 120, "writes_per_minute": 60}
    settings.update(limits)
    return Pacer(clock=clock, sleep=clock.sleep, **settings)  # type: ignore[arg-type]


def test_requests_are_spaced_by_the_minimum_interval() -> None:
    clock = FakeClock()
    pacer = make(clock)
    slots = [pacer.reserve(write=False) for _ in range(5)]
    gaps = [b - a for a, b in itertools.pairwise(slots)]
    assert all(abs(gap - (0.1 + SAFETY_MARGIN_SECONDS)) < 1e-9 for gap in gaps)


def test_no_sixty_second_window_holds_more_writes_than_allowed() -> None:
    clock = FakeClock()
    pacer = make(clock, min_interval=0, writes_per_minute=60)
    slots = [pacer.reserve(write=True) for _ in range(500)]
    for i in range(len(slots) - 60):
        assert slots[i + 60] - slots[i] >= 60.0
    # the 500th write opens the ninth minute: 8 full windows, not a second of waste more
    assert 480 <= slots[-1] - slots[0] < 481


def test_reads_are_not_held_back_by_the_write_limit() -> None:
    clock = FakeClock()
    pacer = make(clock, min_interval=0, writes_per_minute=2)
    pacer.reserve(write=True)
    pacer.reserve(write=True)
    assert pacer.reserve(write=False) == clock.now
    assert pacer.reserve(write=True) >= clock.now + 60


def test_a_409_pause_holds_back_every_later_request() -> None:
    clock = FakeClock()
    pacer = make(clock, min_interval=0)
    pacer.pause(5)
    assert pacer.reserve(write=False) == clock.now + 5
    pacer.wait_turn(write=False)
    assert clock.now >= 1005
