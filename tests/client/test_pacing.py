"""The pacer keeps a process, or every process sharing a pace file, under the published limits:
whatever the thread count, and whatever a busy machine does to its sleeps."""

from __future__ import annotations

import fcntl
import itertools
import os
import random
import subprocess
import sys
import threading
import time
from bisect import bisect_left
from pathlib import Path
from typing import Any

import pytest

from nexudus_pulumi import pacing
from nexudus_pulumi.client import NexudusClient
from nexudus_pulumi.errors import ConfigurationError, PaceFileError, ThrottledError, TurnTooFar
from nexudus_pulumi.pacing import (
    BOOKING_AHEAD_SECONDS,
    HOUR,
    INTERVAL_MARGIN_SECONDS,
    MINUTE,
    WINDOW_MARGIN_SECONDS,
    Pacer,
)
from nexudus_pulumi.sandbox import Sandbox
from nexudus_pulumi.settings import Settings
from tests.helpers import RELAXED, sandbox_config

SPACING = 0.1 + INTERVAL_MARGIN_SECONDS


class FakeClock:
    """Time that moves only when someone sleeps; `oversleep` adds what a busy machine adds."""

    def __init__(self, oversleep: float = 0.0, seed: int = 0) -> None:
        self.now = 1_000_000.0
        self.slept: list[float] = []
        self._oversleep = oversleep
        self._rng = random.Random(seed)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds + self._rng.uniform(0, self._oversleep)


LIMITS: dict[str, Any] = {
    "min_interval": 0.1,
    "requests_per_minute": 120,
    "writes_per_minute": 60,
}


def make(clock: FakeClock, pace_file: Path | None = None, **limits: float) -> Pacer:
    settings: dict[str, float] = {
        "min_interval": 0.1,
        "requests_per_minute": 120,
        "writes_per_minute": 60,
    }
    settings.update(limits)
    return Pacer(clock=clock, sleep=clock.sleep, pace_file=pace_file, **settings)  # type: ignore[arg-type]


def most_in_any_window(sends: list[float], window: float) -> int:
    """The largest number of sends within any span of `window` seconds (as the server counts:
    an earlier send still counts while less than `window` has passed)."""
    sends = sorted(sends)
    return max(i + 1 - bisect_left(sends, t - window + 1e-9) for i, t in enumerate(sends))


def test_requests_are_spaced_by_the_minimum_interval() -> None:
    clock = FakeClock()
    pacer = make(clock)
    sends = [pacer.wait_turn(write=False) for _ in range(5)]
    gaps = [b - a for a, b in itertools.pairwise(sends)]
    assert gaps == pytest.approx([SPACING] * 4)


def test_the_first_minutes_budget_goes_at_the_minimum_interval_then_waits_for_the_window() -> None:
    clock = FakeClock()
    pacer = make(clock)
    sends = [pacer.wait_turn(write=False) for _ in range(121)]
    assert sends[119] - sends[0] == pytest.approx(119 * SPACING)  # 120 requests in 14.3 s
    assert sends[120] - sends[0] == pytest.approx(MINUTE + WINDOW_MARGIN_SECONDS)


def test_a_late_wakeup_pushes_the_next_request_back() -> None:
    clock = FakeClock()
    pacer = make(clock)
    first = pacer.wait_turn(write=False)
    clock.now += 0.07  # the thread was descheduled: the next send may not follow at 100 ms
    second = pacer.wait_turn(write=False)
    assert second == pytest.approx(first + SPACING)
    clock.sleep(0.3)  # something else took time before the third request
    third = pacer.wait_turn(write=False)
    assert third - second >= 0.3  # and it went at once, spacing held from the actual send


def test_no_window_holds_more_than_allowed_when_every_sleep_overruns() -> None:
    clock = FakeClock(oversleep=0.08, seed=3)
    pacer = make(clock)
    sends: list[float] = []
    writes: list[float] = []
    rng = random.Random(5)
    for _ in range(1_000):
        write = rng.random() < 0.6
        sent = pacer.wait_turn(write=write)
        sends.append(sent)
        if write:
            writes.append(sent)
    assert min(b - a for a, b in itertools.pairwise(sends)) >= SPACING - 1e-9
    assert most_in_any_window(sends, MINUTE + WINDOW_MARGIN_SECONDS) <= 120
    assert most_in_any_window(writes, MINUTE + WINDOW_MARGIN_SECONDS) <= 60
    # at the limits, not below them: every window after the first is a full minute's writes
    assert len(writes) / ((writes[-1] - writes[0]) / MINUTE) > 59


def test_five_hundred_writes_take_eight_windows_not_a_second_more() -> None:
    clock = FakeClock()
    pacer = make(clock, min_interval=0, writes_per_minute=60)
    sends = [pacer.wait_turn(write=True) for _ in range(500)]
    assert all(sends[i + 60] - sends[i] >= MINUTE for i in range(len(sends) - 60))
    assert 8 * MINUTE <= sends[-1] - sends[0] < 8 * (MINUTE + WINDOW_MARGIN_SECONDS) + 1e-6


def test_the_hourly_limit_holds_the_five_thousand_and_first_request() -> None:
    clock = FakeClock()
    pacer = make(clock)
    sends = [pacer.wait_turn(write=False) for _ in range(5_001)]
    # 120 a minute would allow 5,000 within 42 minutes; the 5,001st waits for the hour
    assert sends[4_999] - sends[0] < 42 * MINUTE
    assert sends[5_000] - sends[0] == pytest.approx(HOUR + WINDOW_MARGIN_SECONDS)
    assert most_in_any_window(sends, HOUR) == 5_000


def test_reads_are_not_held_back_by_the_write_limit() -> None:
    clock = FakeClock()
    pacer = make(clock, min_interval=0, writes_per_minute=2)
    pacer.wait_turn(write=True)
    pacer.wait_turn(write=True)
    assert pacer.wait_turn(write=False) == clock.now
    start = clock.now
    assert pacer.wait_turn(write=True) >= start + MINUTE


def test_a_409_pause_holds_back_every_later_request() -> None:
    clock = FakeClock()
    pacer = make(clock, min_interval=0)
    start = clock.now
    pacer.pause(5)
    assert pacer.wait_turn(write=False) == pytest.approx(start + 5)


def test_processes_sharing_a_pace_file_share_one_budget(tmp_path: Path) -> None:
    clock = FakeClock(oversleep=0.03, seed=11)
    pace_file = tmp_path / "nexudus.pace"
    one, other = make(clock, pace_file), make(clock, pace_file)
    sends = [(one if n % 3 else other).wait_turn(write=True) for n in range(130)]
    assert min(b - a for a, b in itertools.pairwise(sends)) >= SPACING - 1e-9
    assert most_in_any_window(sends, MINUTE + WINDOW_MARGIN_SECONDS) == 60  # writes, together
    other.pause(30)
    paused_at = clock.now
    assert one.wait_turn(write=False) >= paused_at + 30  # a 409 seen by one holds back all


@pytest.mark.parametrize("foreign", ["{not json", "my notes\n", "[1, 2]", '{"todo": 1}'])
def test_a_pace_file_holding_something_else_is_refused_and_left_alone(
    tmp_path: Path, foreign: str
) -> None:
    pace_file = tmp_path / "notes.txt"
    pace_file.write_text(foreign)
    with pytest.raises(PaceFileError) as refused:
        make(FakeClock(), pace_file)
    assert (refused.value.reason, refused.value.path) == ("not-pace", pace_file)
    assert pace_file.read_text() == foreign


def test_an_empty_or_earlier_version_pace_file_is_a_fresh_start(tmp_path: Path) -> None:
    pace_file = tmp_path / "nexudus.pace"
    pace_file.write_text('{"requests":[1e12],"writes":[],"paused_until":1e12}')
    clock = FakeClock()
    assert make(clock, pace_file).wait_turn(write=True) == clock.now
    assert '"pace":2' in pace_file.read_text()


def test_a_pace_file_is_not_followed_through_a_symbolic_link(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("")
    link = tmp_path / "nexudus.pace"
    link.symlink_to(notes)
    with pytest.raises(PaceFileError, match="name the file itself") as refused:
        make(FakeClock(), link)
    assert (refused.value.reason, refused.value.path) == ("symlink", link)
    assert notes.read_text() == ""


def test_a_folder_as_pace_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(PaceFileError, match="name a file in it") as refused:
        make(FakeClock(), tmp_path)
    assert (refused.value.reason, refused.value.path) == ("folder", tmp_path)


def test_two_accounts_sharing_a_pace_file_never_hold_each_other_back(tmp_path: Path) -> None:
    clock = FakeClock()
    pace_file = tmp_path / "nexudus.pace"
    one = Pacer(clock=clock, sleep=clock.sleep, pace_file=pace_file, account="a", **LIMITS)
    other = Pacer(clock=clock, sleep=clock.sleep, pace_file=pace_file, account="b", **LIMITS)
    one.wait_turn(write=True)
    one.pause(300)
    assert other.wait_turn(write=True) == clock.now
    assert other.wait_turn(write=False) == pytest.approx(clock.now)  # its own spacing only
    again = Pacer(clock=clock, sleep=clock.sleep, pace_file=pace_file, account="a", **LIMITS)
    with pytest.raises(TurnTooFar):
        again.wait_turn(write=False, max_wait=60)  # the same account still sees its pause


@pytest.mark.parametrize("paused", ["1e300", "NaN", "-5", "Infinity", '"soon"', "true"])
def test_a_pause_read_from_the_file_never_overflows_nor_exceeds_a_day(
    tmp_path: Path, paused: str
) -> None:
    pace_file = tmp_path / "nexudus.pace"
    entry = f'{{"requests":[1e300,"x",-1,NaN],"writes":[],"paused_until":{paused}}}'
    pace_file.write_text(f'{{"pace":2,"accounts":{{"":{entry}}}}}')
    clock = FakeClock()
    start = clock.now
    sent = make(clock, pace_file).wait_turn(write=False)
    assert sent - start <= pacing.LONGEST_WAIT_SECONDS + 1


def test_a_clock_stepped_back_does_not_hang_the_next_request(tmp_path: Path) -> None:
    clock = FakeClock()
    pace_file = tmp_path / "nexudus.pace"
    pacer = make(clock, pace_file)
    pacer.wait_turn(write=True)
    clock.now -= HOUR  # NTP stepped the clock back an hour
    start = clock.now
    # at most as long as a booked write may lie ahead, never the hour
    assert pacer.wait_turn(write=True) - start <= BOOKING_AHEAD_SECONDS + SPACING + 1e-9


def test_the_daily_write_quota_refuses_at_once_while_reads_go_on() -> None:
    clock = FakeClock()
    pacer = make(clock, min_interval=0, writes_per_day=3)
    for _ in range(3):
        pacer.wait_turn(write=True)
    assert pacer.writes_left_today() == 0
    with pytest.raises(TurnTooFar) as refused:
        pacer.wait_turn(write=True, max_wait=600)
    assert refused.value.limit == "writes_per_day"
    assert refused.value.wait > HOUR
    assert pacer.wait_turn(write=False) == clock.now
    assert clock.slept == []


def test_the_hourly_quota_is_refused_rather_than_waited_for_past_the_deadline() -> None:
    clock = FakeClock()
    pacer = make(clock, min_interval=0, requests_per_minute=0, requests_per_hour=5)
    for _ in range(5):
        pacer.wait_turn(write=False)
    with pytest.raises(TurnTooFar) as refused:
        pacer.wait_turn(write=False, max_wait=600)
    assert refused.value.limit == "requests_per_hour"


def test_a_pace_file_that_cannot_be_opened_says_which(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder" / "nexudus.pace"
    with pytest.raises(PaceFileError) as refused:
        make(FakeClock(), missing)
    assert (refused.value.reason, refused.value.path) == ("cannot-open", missing)


CHILD = """
import sys, time, types
from pathlib import Path
package = sys.modules["nexudus_pulumi"] = types.ModuleType("nexudus_pulumi")
package.__path__ = [sys.argv[1]]  # its modules, without the whole package's __init__
from nexudus_pulumi import pacing
pacer = pacing.Pacer(min_interval=0.05, requests_per_minute=10_000, writes_per_minute=10_000,
                     pace_file=Path(sys.argv[2]))
print("ready", flush=True)
time.sleep(max(0.0, float(sys.stdin.readline()) - time.time()))
print(repr(time.time()), " ".join(repr(pacer.wait_turn(write=True)) for _ in range(15)))
"""


def test_real_processes_sharing_a_pace_file_never_send_closer_than_the_interval(
    tmp_path: Path,
) -> None:
    pace_file = tmp_path / "nexudus.pace"
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(Path(pacing.__file__).parent), str(pace_file)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    # on a busy machine a child may take seconds to start: the moment is set once all are ready
    for child in children:
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
    start = time.time() + 0.2  # all three wait for the same moment, then race for each turn
    for child in children:
        assert child.stdin is not None
        child.stdin.write(f"{start!r}\n")
        child.stdin.close()
    outputs = [child.stdout.read() for child in children if child.stdout is not None]
    assert all(child.wait(timeout=120) == 0 for child in children)
    lines = [[float(t) for t in output.split()] for output in outputs]
    began, per_child = [line[0] for line in lines], [line[1:] for line in lines]
    sends = sorted(itertools.chain.from_iterable(per_child))
    assert len(sends) == 45
    gaps = [b - a for a, b in itertools.pairwise(sends)]
    assert min(gaps) >= 0.05 + INTERVAL_MARGIN_SECONDS
    # which of them wins each turn is the lock's business; that all three contended is ours:
    # each asked for its first turn before any of them had sent its last
    assert max(began) < min(max(child) for child in per_child), (
        "the processes did not ask for turns at the same time"
    )


def test_the_pace_file_setting_names_itself_when_its_folder_is_missing(tmp_path: Path) -> None:
    environ = {"NEXUDUS_PACE_FILE": str(tmp_path / "gone" / "nexudus.pace")}
    with pytest.raises(ConfigurationError, match=r"NEXUDUS_PACE_FILE: .*folder.*does not exist"):
        Settings.load(lambda key: None, environ)
    chosen = str(tmp_path / "a.pace")
    settings = Settings.load(lambda key: chosen if key == "nexudus:paceFile" else None, {})
    assert settings.pace_file == str(tmp_path / "a.pace")


@pytest.mark.parametrize("kind", ["folder", "symlink", "notes"])
def test_a_pace_file_the_client_cannot_use_is_one_line_naming_the_setting(
    tmp_path: Path, kind: str
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("remember the milk\n")
    target = {"folder": tmp_path, "symlink": tmp_path / "link.pace", "notes": notes}[kind]
    if kind == "symlink":
        target.symlink_to(notes)
    config = {"nexudus:paceFile": str(target), "nexudus:token": "t0ken"}
    with pytest.raises(ConfigurationError) as caught:
        NexudusClient(Settings.load(config.get, {}))
    message = str(caught.value)
    assert message.startswith(f"invalid Nexudus settings: nexudus:paceFile: the pace file {target}")
    assert "\n" not in message
    assert notes.read_text() == "remember the milk\n"


def test_a_client_refuses_a_write_past_the_daily_quota_with_the_numbers(tmp_path: Path) -> None:
    with Sandbox(limits=RELAXED) as sandbox:
        config = sandbox_config(sandbox, writesPerDay=2, paceFile=str(tmp_path / "n.pace"))
        client = NexudusClient(Settings.load(config.get, {}))
        for _ in range(2):
            client.create("/api/support/chatrooms", {"BusinessId": 1001})
        assert client.writes_left_today() == 0
        with pytest.raises(ThrottledError) as caught:
            client.create("/api/support/chatrooms", {"BusinessId": 1001})
        list(client.search("/api/support/chatrooms", {}))  # reads go on
        assert len(sandbox.store.all()) == 2
    message = str(caught.value)
    assert message.startswith("POST /api/support/chatrooms is refused before it is sent: ")
    assert "the daily quota of 2 writes (nexudus:writesPerDay) is used up" in message
    assert "sharing nexudus:paceFile" in message


# ----- 28.2: a pace file only this user may write, a lock waited for within the deadline --------


def planted_pause(path: Path) -> None:
    """What another user with write access plants: a pause of a day, for every account."""
    path.write_text(
        '{"pace":2,"accounts":{"' + "x" * 16 + '":{"requests":[],"writes":[],"paused_until":'
        f"{time.time() + 86_400}" + "}}}"
    )


@pytest.mark.parametrize("mode", [0o666, 0o620, 0o602])
def test_a_pace_file_the_group_or_others_may_write_is_refused_naming_the_fix(
    tmp_path: Path, mode: int
) -> None:
    pace_file = tmp_path / "nexudus.pace"
    planted_pause(pace_file)
    pace_file.chmod(mode)
    with pytest.raises(PaceFileError) as caught:
        Pacer(pace_file=pace_file, account="x" * 16, **LIMITS)
    assert (caught.value.reason, caught.value.path) == ("writable", pace_file)
    message = str(caught.value)
    assert f"the pace file {pace_file} may be written by the group or others" in message
    assert f"(mode {mode:04o})" in message and f"chmod 600 {pace_file}" in message


@pytest.mark.skipif(os.geteuid() != 0 and os.environ.get("CI") != "true", reason="chown needs root")
def test_a_pace_file_another_user_owns_is_refused(tmp_path: Path) -> None:
    pace_file = tmp_path / "nexudus.pace"
    planted_pause(pace_file)
    pace_file.chmod(0o600)
    os.chown(pace_file, 54321, 54321)
    with pytest.raises(PaceFileError) as caught:
        Pacer(pace_file=pace_file, account="x" * 16, **LIMITS)
    assert (caught.value.reason, caught.value.path) == ("foreign", pace_file)
    assert f"the pace file {pace_file} belongs to another user (uid 54321)" in str(caught.value)
    assert "name a file of your own" in str(caught.value)


def test_the_client_names_the_setting_of_a_pace_file_others_may_write(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    pace_file = tmp_path / "nexudus.pace"
    pace_file.write_text("")
    pace_file.chmod(0o666)
    config = {**sandbox_config(sandbox), "nexudus:paceFile": str(pace_file)}
    with pytest.raises(ConfigurationError, match=r"nexudus:paceFile: the pace file .* chmod 600"):
        NexudusClient(Settings.load(config.get, {}))


def test_a_lock_held_elsewhere_is_waited_for_no_longer_than_the_turn_may_wait(
    tmp_path: Path,
) -> None:
    pace_file = tmp_path / "nexudus.pace"
    pacer = Pacer(pace_file=pace_file, **LIMITS)
    holder = os.open(pace_file, os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_SH)  # another process (or user) holding a shared lock
    outcome: list[BaseException | float] = []

    def take_turn() -> None:
        started = time.monotonic()
        try:
            pacer.wait_turn(write=False, max_wait=0.5)
        except PaceFileError as exc:
            outcome.extend([exc, time.monotonic() - started])

    waiter = threading.Thread(target=take_turn, daemon=True)
    waiter.start()
    waiter.join(timeout=5)
    stuck = waiter.is_alive()
    os.close(holder)  # releases the lock: a blocked waiter ends too
    waiter.join(timeout=5)
    assert not stuck, "the turn waited for the lock past its deadline"
    error, waited = outcome
    assert isinstance(error, PaceFileError) and error.reason == "locked"
    assert f"the pace file {pace_file} stayed locked by another process for 0.5 s" in str(error)
    assert isinstance(waited, float) and 0.4 < waited < 2
