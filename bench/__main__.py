"""`python -m bench`: run the scenarios, print each step as it ends, write bench/results/."""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import report, startup
from .project import NAIVE, OURS, PLUGIN, REPO, TOOLS, Program
from .runners import WAYS, RunnersResult, run_runners
from .scenario import Mode, Result, limits_mode, no_limits_mode, run_scenario

PROGRAMS = {"ours": OURS, "plugin": PLUGIN, "naive": NAIVE}
QUICK = {"limited": [10, 20], "unlimited": [30], "runners": 10}


def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    memory = ""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory = f", {int(line.split()[1]) / 2**20:.0f} GiB RAM"
    return (
        f"{os.cpu_count()} CPUs (nproc), {model}{memory}, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}"
    )


def engine_version(engine: Path) -> str:
    completed = subprocess.run([engine, "version"], capture_output=True, text=True, check=True)
    return completed.stdout.strip()


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--limited", type=int, nargs="*", default=[50, 150, 300],
        help="room counts run under the published limits (default: 50 150 300)",
    )  # fmt: skip
    parser.add_argument(
        "--unlimited", type=int, nargs="*", default=[300, 1000],
        help="room counts run without limits (default: 300 1000)",
    )  # fmt: skip
    parser.add_argument(
        "--window-seconds", type=float, default=60.0,
        help="the sandbox's 'minute' (default 60, the published one); shorter keeps the counts "
        "per window and tells the client the per-minute rates that scaling gives",
    )  # fmt: skip
    parser.add_argument("--latency-ms", type=float, default=20.0, help="the sandbox's per request")
    parser.add_argument(
        "--programs", nargs="+", choices=sorted(PROGRAMS), default=["ours", "plugin", "naive"]
    )
    parser.add_argument(
        "--quick", action="store_true",
        help=f"small N (limits {QUICK['limited']}, no limits {QUICK['unlimited']}), results "
        "under bench/results/quick/, bench/README.md untouched",
    )  # fmt: skip
    parser.add_argument(
        "--runners", type=int, default=100,
        help="rooms per stack of the runners scenario (three stacks at once, each way; default "
        "100, 0 skips it)",
    )  # fmt: skip
    parser.add_argument(
        "--only-runners", action="store_true", help="run the runners scenario alone"
    )
    parser.add_argument("--out", type=Path, help="results folder (default bench/results)")
    parser.add_argument(
        "--redraw", action="store_true",
        help="run nothing: rewrite the table, plot and bench/README.md from the results folder's "
        "results.json",
    )  # fmt: skip
    parser.add_argument(
        "--engine-memory-cap-gib", type=float, default=6.0,
        help="stop a command whose `pulumi` process grows past this resident size (default 6)",
    )  # fmt: skip
    parser.add_argument(
        "--startup", action="store_true",
        help="run nothing else: time `nexudus-pulumi --help` against `python -c \"import "
        "requests, pydantic\"`, --startup-runs runs each, side by side (bench/startup.py)",
    )  # fmt: skip
    parser.add_argument("--startup-runs", type=int, default=10, help="for --startup (default 10)")
    return parser.parse_args(argv)


def notes(args: argparse.Namespace, mode: Mode) -> list[str]:
    window = args.window_seconds
    lines = [
        "Real `pulumi` engine, file backend; the sandbox in-process on 127.0.0.1 with "
        f"{args.latency_ms:g} ms latency per request; a fresh sandbox and stack per row.",
        "The sandbox answers as Nexudus does by default (listings without `Users`, whole-record "
        "PUTs; docs/nexudus-api.md); every room declares `users: [11]`.",
        "`up`, `refresh` and `destroy` run with `--yes --skip-preview`; the no-op `preview` "
        "runs with `--expect-no-changes`; `up`, `preview` and `destroy` with `--refresh=false` "
        "(this project's Pulumi.yaml refreshes by default). `refresh` is the default reading "
        "(a GET per room); "
        "`refresh-vouched` sets nexudus:membershipBumpsUpdatedOn against a sandbox where "
        "membership changes do move `UpdatedOn`, on an unchanged account; `drift` is "
        "`preview --refresh --expect-no-changes` after a person added a member to one room, "
        "and is ok when it fails, naming the drift.",
        "Requests are the sandbox's own count, by method and status; `per room` divides by N. "
        "409s name the limit that refused them (the sandbox knows; Nexudus does not say).",
        "Each step starts with a fresh minute of the account, as the write floor assumes: on a "
        "real account a `destroy` right after an `up` would first wait for the up's writes to "
        "leave the minute (a pace file shared by both runs makes it wait instead of taking 409s).",
        "Floors: the time from a step's first request to its last when each is sent as early "
        "as the sandbox's sliding windows admit it (60 writes and 120 requests per window, one "
        "request per 100 ms; a read and the write decided from it back to back). `vs floor`: "
        "the records' own requests, `up` N writes, `refresh` N reads, `destroy` N reads each "
        "with its delete. `vs floor of what it sent`: every request of the step the sandbox "
        "counted, in its order (also a create's read-back by id, the marker lookups' and the "
        "census's listings; the token request is throttled apart). Where the records' requests "
        "fill the account's minutes exactly (300 deletes: 600 requests, five minutes of 120), "
        "any further request needs one more minute.",
        "State: compact JSON of each room's entry in `pulumi stack export` after `up`; "
        "peak RSS: the largest VmHWM of a `python -m pulumi.dynamic` process, or of the plugin "
        "`pulumi-resource-nexudus` (provider), and of the `pulumi` process (engine) over the "
        "steps.",
        "No limits: the sandbox enforces none and this provider is told none "
        "(NEXUDUS_MIN_INTERVAL_MS=0, huge per-minute rates).",
        f"A command whose `pulumi` process grows past {args.engine_memory_cap_gib:g} GiB "
        "resident is stopped (the machine is shared) and the scenario's later steps skipped.",
    ]
    if window == 60:
        lines.insert(1, "Limits: the published ones, with real 60-second windows.")
    else:
        lines.insert(
            1,
            f"Limits: the published counts per window, the window SHRUNK to {window:g} s; the "
            f"client is told the scaled per-minute rates ({mode.client}). Its pacer counts "
            "over 60 s, so it may burst past a shorter window: 409s here can be an artefact "
            "of the shrinking.",
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    if args.startup:
        return startup.main(args.startup_runs)
    engine = TOOLS / "pulumi"
    if not engine.exists():
        print("bench: no engine in .tools/bin; run `make engine`", file=sys.stderr)
        return 1
    limited, unlimited = args.limited, args.unlimited
    out = args.out or REPO / "bench" / "results"
    runners = args.runners
    if args.quick:
        limited, unlimited = QUICK["limited"], QUICK["unlimited"]
        runners = min(runners, QUICK["runners"])
        out = args.out or REPO / "bench" / "results" / "quick"
    if args.only_runners:
        limited, unlimited = [], []
    if args.redraw:
        results, context, fleet = report.load(out / "results.json")
        publish(results, context, out, readme=not args.quick, fleet=fleet)
        return 0
    cap = int(args.engine_memory_cap_gib * 2**30)
    programs: list[Program] = [PROGRAMS[name] for name in args.programs]
    limits = limits_mode(args.window_seconds, args.latency_ms)
    plan: list[tuple[Mode, int]] = [(limits, n) for n in limited]
    plan += [(no_limits_mode(args.latency_ms), n) for n in unlimited]
    context: dict[str, Any] = {
        "machine": machine(),
        "engine": engine_version(engine),
        "notes": notes(args, limits),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    print(f"bench: {context['machine']}; pulumi {context['engine']}")
    for line in context["notes"]:
        print(f"  {line}")
    started = time.monotonic()
    results: list[Result] = []
    for mode, rooms in plan:
        for program in programs:
            print(f"\n[{mode.name}, N={rooms}, {program.label}]", flush=True)
            result = run_scenario(mode, rooms, program, engine, cap)
            for step in result.steps:
                status = "ok" if step.ok else f"FAILED ({step.error})"
                print(
                    f"  {step.name:8} {step.seconds:7.1f} s  {step.total:5} requests  "
                    f"{step.throttled} x 409  {status}",
                    flush=True,
                )
            results.append(result)
    fleet: list[RunnersResult] = []
    for way in WAYS if runners > 0 else ():
        print(f"\n[runners: 3 stacks x {runners} rooms at once, {way}]", flush=True)
        ran = run_runners(way, limits, 3, runners, engine, cap)
        print(
            f"  {ran.seconds:7.1f} s  creates over {ran.writes_seconds:.1f} s (write floor "
            f"{ran.write_floor:.1f} s)  {ran.requests} requests  {ran.throttled} x 409  "
            + ("ok" if ran.ok else f"FAILED ({'; '.join(ran.errors)})"),
            flush=True,
        )
        fleet.append(ran)
    minutes, seconds = divmod(round(time.monotonic() - started), 60)
    context["duration"] = f"the whole bench took {minutes} min {seconds} s"
    publish(results, context, out, readme=not args.quick and not args.only_runners, fleet=fleet)
    return 0


def publish(
    results: list[Result],
    context: dict[str, Any],
    out: Path,
    *,
    readme: bool,
    fleet: list[RunnersResult] | None = None,
) -> None:
    """Write the results folder; a full run into bench/results/ also updates bench/README.md."""
    table = report.write(results, context, out, fleet or [])
    print(f"\n{table}\nbench: results in {out}/ ({context['duration']})")
    if readme and out == REPO / "bench" / "results":
        path = REPO / "bench" / "README.md"
        plots = ["results/plot.png"] + (["results/runners.png"] if fleet else [])
        if report.update_readme(path, table, plots):
            print("bench: bench/README.md now shows these figures")


if __name__ == "__main__":
    sys.exit(main())
