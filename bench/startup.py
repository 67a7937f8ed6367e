"""`python -m bench --startup` (`make bench BENCH_ARGS=--startup`): how long `nexudus-pulumi
--help` takes to start, against `python -c "import requests, pydantic"`, the floor any command of
this package pays (its two dependencies every command needs).

The two commands run alternately, N times each, after one unmeasured run of each (the files in
the page cache), so that both meet the same load of a shared machine: a ratio from runs taken
minutes apart would measure the neighbours. The target is a ratio of at most 1.5; the figures are
printed, not asserted (tests/package/test_startup.py checks what is imported, which load cannot
change).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET = 1.5
"""`--help` within 1.5x the floor."""


def commands() -> dict[str, list[str]]:
    python = Path(sys.executable)
    return {
        "nexudus-pulumi --help": [str(python.parent / "nexudus-pulumi"), "--help"],
        'python -c "import requests, pydantic"': [str(python), "-c", "import requests, pydantic"],
    }


def seconds(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def measure(runs: int) -> dict[str, list[float]]:
    """Each command's times, the commands taking turns."""
    timed = commands()
    for command in timed.values():
        seconds(command)
    times: dict[str, list[float]] = {name: [] for name in timed}
    for _ in range(runs):
        for name, command in timed.items():
            times[name].append(seconds(command))
    return times


def report(times: dict[str, list[float]]) -> list[str]:
    (ours, ours_times), (floor, floor_times) = times.items()
    width = max(map(len, times))
    lines = [f"{'':{width}}  {'median':>8}  {'min':>8}  {'max':>8}  (ms, {len(ours_times)} runs)"]
    for name, values in times.items():
        figures = (statistics.median(values), min(values), max(values))
        lines.append(f"{name:{width}}  " + "  ".join(f"{v * 1000:8.0f}" for v in figures))
    median = statistics.median(ours_times) / statistics.median(floor_times)
    best = min(ours_times) / min(floor_times)
    verdict = "within" if median <= TARGET else "OVER"
    lines.append(
        f"ratio {ours} / {floor}: {median:.2f}x (medians), {best:.2f}x (minimums); "
        f"{verdict} the {TARGET}x target"
    )
    return lines


def main(runs: int) -> int:
    print(f"bench --startup: {runs} runs of each, taking turns")
    for line in report(measure(runs)):
        print(line)
    return 0
