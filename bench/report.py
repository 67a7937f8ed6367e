"""The bench's figures as a markdown table, a PNG plot and raw JSON, and the README's copy."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .project import OURS
from .runners import RunnersResult
from .scenario import Result, Step

README_START = "<!-- bench:start -->"
README_END = "<!-- bench:end -->"


def _ratio(value: float | None, reference: float | None) -> str:
    if value is None or not reference:
        return ""
    return f"{value / reference:.2f}x"


def _by_status(step: Step) -> str:
    return ", ".join(f"{key} x{n}" for key, n in sorted(step.requests.items())) or "none"


def _throttled(step: Step) -> str:
    """The 409s, and which limits refused them when the sandbox said."""
    if not step.refused:
        return str(step.throttled)
    limits = ", ".join(f"{limit} {n}" for limit, n in sorted(step.refused.items()))
    return f"{step.throttled} ({limits})"


def _baseline(results: list[Result], result: Result) -> Result | None:
    if result.program == "naive":
        return None
    return next(
        (
            r
            for r in results
            if r.program == "naive" and r.mode == result.mode and r.rooms == result.rooms
        ),
        None,
    )


def steps_table(results: list[Result]) -> str:
    lines = [
        "| limits | N | provider | step | wall s | requests | per room | by method and status "
        "| 409s | outcome | vs naive | vs floor | vs floor of what it sent |",
        "|---|---:|---|---|---:|---:|---:|---|---:|---|---:|---:|---:|",
    ]
    for result in results:
        naive = _baseline(results, result)
        for step in result.steps:
            reference = naive.step(step.name) if naive else None
            versus_naive = _ratio(step.seconds, reference.seconds) if reference else ""
            if naive and reference and not (reference.ok and naive.created == naive.rooms):
                versus_naive = "naive failed"
            complete = step.ok and result.created == result.rooms
            floor = result.floors.get(step.name) if complete else None
            sent_floor = result.sent_floors.get(step.name) if complete else None
            outcome = "ok" if step.ok else f"FAILED: {step.error}".replace("|", "/")
            lines.append(
                f"| {result.mode} | {result.rooms} | {result.program} | {step.name} "
                f"| {step.seconds:.1f} | {step.total} | {step.total / result.rooms:.2f} "
                f"| {_by_status(step)} | {_throttled(step)} | {outcome} | {versus_naive} "
                f"| {_ratio(step.seconds, floor)} | {_ratio(step.seconds, sent_floor)} |"
            )
    return "\n".join(lines)


def footprint_table(results: list[Result]) -> str:
    lines = [
        "| limits | N | provider | write floor s | rooms after up | rooms after destroy "
        "| state B/room | of which stackTrace | of which __provider | vs naive "
        "| provider peak RSS MB | engine peak RSS MB |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        naive = _baseline(results, result)
        entry = result.state.get("entry")
        up_floor = result.floors.get("up")
        floor = f"{up_floor:.1f}" if up_floor is not None else ""
        rss = result.provider_peak_rss
        cells = [
            result.mode,
            str(result.rooms),
            result.program,
            floor,
            str(result.created),
            str(result.left),
            _bytes(entry),
            _bytes(result.state.get("stackTrace")),
            _bytes(result.state.get("__provider")),
            _ratio(entry, naive.state.get("entry") if naive else None),
            f"{rss / 2**20:.0f}" if rss else "",
            f"{result.engine_peak_rss / 2**20:,.0f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _bytes(value: float | None) -> str:
    return "" if value is None else f"{value:,.0f}"


def targets_table(results: list[Result]) -> str:
    """Issues 12 and 17's targets, against this run's figures (figures, not pass/fail tests)."""
    ours = [r for r in results if r.program == OURS.label]
    limited = max((r for r in ours if r.floors), key=lambda r: r.rooms, default=None)
    unlimited = max((r for r in ours if not r.floors), key=lambda r: r.rooms, default=None)
    rows: list[tuple[str, str, str]] = []
    if limited is not None:
        n = limited.rooms
        whole = limited.created == n
        floor = limited.floors["up"] if whole else None
        up, refresh, destroy = (limited.step(s) for s in ("up", "refresh", "destroy"))
        if up:
            rows.append(
                (
                    f"limits, N={n}: up <= 1.05x write floor",
                    _ratio(up.seconds, floor) or f"up created {limited.created} of {n} rooms",
                    _met(floor is not None and up.ok and up.seconds <= 1.05 * floor),
                )
            )
            sent = limited.sent_floors.get("up") if whole else None
            rows.append(
                (
                    f"limits, N={n}: up <= 1.05x the floor of the requests it sent",
                    _ratio(up.seconds, sent) or _unmeasured(limited),
                    _met(sent is not None and up.ok and up.seconds <= 1.05 * sent),
                )
            )
            rows.append(
                (
                    f"limits, N={n}: up <= 1.05 requests per room",
                    f"{up.total / n:.2f}",
                    _met(up.ok and up.total <= 1.05 * n),
                )
            )
            throttled = sum(s.throttled for s in limited.steps)
            rows.append((f"limits, N={n}: no 409", str(throttled), _met(throttled == 0)))
        reads = limited.floors["refresh"] if whole else None
        deletes = limited.floors["destroy"] if whole else None
        vouched, drift = limited.step("refresh-vouched"), limited.step("drift")
        if refresh:
            rows.append(
                (
                    f"limits, N={n}: refresh (a GET per room) <= 1.1x read floor",
                    _ratio(refresh.seconds, reads) or f"up created {limited.created} of {n}",
                    _met(reads is not None and refresh.ok and refresh.seconds <= 1.1 * reads),
                )
            )
        if vouched:
            budget = math.ceil(n / 1000) + 2
            rows.append(
                (
                    f"limits, N={n}: refresh with membershipBumpsUpdatedOn, unchanged account, "
                    f"<= ceil(N/1000)+2 = {budget} requests",
                    str(vouched.total),
                    _met(vouched.ok and vouched.total <= budget),
                )
            )
        if drift:
            rows.append(
                (
                    f"limits, N={n}: the drift check finds a hand-added member (default)",
                    "found" if drift.ok else drift.error,
                    _met(drift.ok),
                )
            )
        if destroy:
            rows.append(
                (
                    f"limits, N={n}: destroy (a GET and a DELETE per room) <= 1.05x its floor",
                    _ratio(destroy.seconds, deletes) or f"up created {limited.created} of {n}",
                    _met(deletes is not None and destroy.ok and destroy.seconds <= 1.05 * deletes),
                )
            )
            sent = limited.sent_floors.get("destroy") if whole else None
            rows.append(
                (
                    f"limits, N={n}: destroy <= 1.05x the floor of the requests it sent",
                    _ratio(destroy.seconds, sent) or _unmeasured(limited),
                    _met(sent is not None and destroy.ok and destroy.seconds <= 1.05 * sent),
                )
            )
    for result in sorted((r for r in ours if not r.floors), key=lambda r: r.rooms):
        naive = _baseline(results, result)
        for name in ("up", "destroy"):
            step, reference = result.step(name), naive.step(name) if naive else None
            if step and reference:
                rows.append(
                    (
                        f"no limits, N={result.rooms}: {name} no slower than naive",
                        f"{step.seconds:.1f} s vs {reference.seconds:.1f} s"
                        + ("" if reference.ok else f" (naive: {reference.error})"),
                        _met(step.ok and step.seconds <= reference.seconds)
                        if reference.ok
                        else "n/a",
                    )
                )
    if unlimited is not None:
        n = unlimited.rooms
        preview = unlimited.step("preview")
        if preview:
            rows.append(
                (
                    f"no limits, N={n}: no-op preview makes no request",
                    str(preview.total),
                    _met(preview.ok and preview.total == 0),
                )
            )
        rss = unlimited.provider_peak_rss
        if rss:
            rows.append(
                (
                    f"no limits, N={n}: provider peak RSS under 150 MB",
                    f"{rss / 2**20:.0f} MB",
                    _met(rss < 150 * 2**20),
                )
            )
    compared = [
        (r, naive)
        for r in ours
        if (naive := _baseline(results, r))
        and naive.created == naive.rooms
        and r.state.get("entry")
        and naive.state.get("entry")
    ]
    if compared:
        result, naive = max(compared, key=lambda pair: pair[0].rooms)
        entry, reference_entry = result.state["entry"], naive.state["entry"]
        rows.append(
            (
                f"{result.mode}, N={result.rooms}: state per room <= 1/5 of naive",
                f"{entry:,.0f} B vs {reference_entry:,.0f} B ({_ratio(entry, reference_entry)})",
                _met(entry <= reference_entry / 5),
            )
        )
    lines = ["| target (issues 12, 17) | this run | met |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines)


def _unmeasured(result: Result) -> str:
    if result.created != result.rooms:
        return f"up created {result.created} of {result.rooms} rooms"
    return "not recorded (results of an earlier bench)"


def _met(condition: bool) -> str:
    return "yes" if condition else "no"


def runners_table(fleet: list[RunnersResult]) -> str:
    """The runners scenario: each way's time, 409s and what the Redis way was asked to meet."""
    lines = [
        "| runners: way | stacks x rooms | wall s | creates span s | write floor s | span vs floor "
        "| floor of what was sent s | span vs it | requests | 409s | rooms after | outcome |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for ran in fleet:
        refused = ", ".join(f"{limit} {n}" for limit, n in sorted(ran.refused.items()))
        outcome = "ok" if ran.ok else "FAILED: " + "; ".join(ran.errors).replace("|", "/")
        lines.append(
            f"| {ran.way} | {ran.stacks} x {ran.rooms} | {ran.seconds:.1f} "
            f"| {ran.writes_seconds:.1f} | {ran.write_floor:.1f} "
            f"| {_ratio(ran.writes_seconds, ran.write_floor)} | {ran.sent_floor:.1f} "
            f"| {_ratio(ran.writes_seconds, ran.sent_floor)} | {ran.requests} "
            f"| {ran.throttled}{f' ({refused})' if refused else ''} | {ran.created} | {outcome} |"
        )
    redis = next((r for r in fleet if r.way == "redis"), None)
    if redis is not None:
        whole = redis.ok and redis.created == redis.stacks * redis.rooms
        lines += [
            "",
            "| target (issue 27) | this run | met |",
            "|---|---|---|",
            f"| runners with Redis: no 409 | {redis.throttled} | {_met(redis.throttled == 0)} |",
            f"| runners with Redis: the creates within 1.1x of the account's write floor "
            f"| {_ratio(redis.writes_seconds, redis.write_floor)} "
            f"| {_met(whole and redis.writes_seconds <= 1.1 * redis.write_floor)} |",
            f"| runners with Redis: the creates within 1.1x of the floor of what was sent "
            f"| {_ratio(redis.writes_seconds, redis.sent_floor)} "
            f"| {_met(whole and redis.writes_seconds <= 1.1 * redis.sent_floor)} |",
        ]
    return "\n".join(lines)


def markdown(
    results: list[Result], context: dict[str, Any], fleet: list[RunnersResult] | None = None
) -> str:
    notes = "\n".join(f"- {note}" for note in context["notes"])
    parts = [f"Machine: {context['machine']}. Run {context['date']}, {context['duration']}.", notes]
    if results:
        parts += [steps_table(results), footprint_table(results), targets_table(results)]
    if fleet:
        parts.append(runners_table(fleet))
    return "\n\n".join(parts) + "\n"


def plot_runners(fleet: list[RunnersResult], path: Path) -> None:
    """Each way's wall time and creates span beside the account's write floor, its 409s
    written on its bar."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(7, 4.5))
    ways = [r.way for r in fleet]
    places = range(len(fleet))
    ax.bar([k - 0.2 for k in places], [r.seconds for r in fleet], 0.4, label="wall time")
    spans = ax.bar([k + 0.2 for k in places], [r.writes_seconds for r in fleet], 0.4,
                   label="first to last create")  # fmt: skip
    for bar, ran in zip(spans, fleet, strict=True):
        ax.annotate(f"{ran.throttled} x 409", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom", fontsize=8)  # fmt: skip
    ax.axhline(fleet[0].write_floor, color="k", linestyle="--", label="write floor")
    ax.axhline(max(r.sent_floor for r in fleet), color="grey", linestyle=":",
               label="floor of what was sent (largest)")  # fmt: skip
    ax.set_xticks(list(places), ways)
    first = fleet[0]
    ax.set_title(f"{first.stacks} stacks x {first.rooms} rooms at once, one account")
    ax.set_ylabel("seconds")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot(results: list[Result], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    limited = [r for r in results if r.floors]
    unlimited = [r for r in results if not r.floors]
    panels = [p for p in (limited, unlimited) if p]
    figure, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 4.5), squeeze=False)
    column = 0
    if limited:
        _plot_limited(axes[0][column], limited)
        column += 1
    if unlimited:
        _plot_unlimited(axes[0][column], unlimited)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _plot_limited(ax: Any, results: list[Result]) -> None:
    sizes = sorted({r.rooms for r in results})
    floors = [next(r.floors["up"] for r in results if r.rooms == n) for n in sizes]
    ax.plot(sizes, floors, "k--", label="write floor")
    for program, marker in (("nexudus-pulumi", "o"), ("plugin", "s"), ("naive", "x")):
        for step, style in (("up", "-"), ("refresh", "-."), ("destroy", ":")):
            points = [
                (r.rooms, s.seconds, s.ok)
                for r in results
                if r.program == program
                for s in r.steps
                if s.name == step
            ]
            if not points:
                continue
            ax.plot(
                [p[0] for p in points],
                [p[1] for p in points],
                style,
                marker=marker,
                label=f"{program} {step}" + ("" if all(p[2] for p in points) else " (failed)"),
            )
    ax.set_title("Published limits: wall time vs rooms")
    ax.set_xlabel("rooms (N)")
    ax.set_ylabel("seconds")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)


def _plot_unlimited(ax: Any, results: list[Result]) -> None:
    chosen = sorted(results, key=lambda r: (r.rooms, r.program != "naive"))
    steps = ["up", "preview", "refresh", "destroy"]
    width = 0.8 / max(1, len(chosen))
    for i, result in enumerate(chosen):
        ran = [result.step(s) for s in steps]
        seconds = [step.seconds if step else 0.0 for step in ran]
        failed = [not (step and step.ok) for step in ran]
        bars = ax.bar(
            [k + i * width for k in range(len(steps))],
            seconds,
            width,
            label=f"{result.program}, N={result.rooms}",
        )
        for bar, bad in zip(bars, failed, strict=True):
            if bad:
                bar.set_hatch("xx")
    ax.set_xticks([k + width * (len(chosen) - 1) / 2 for k in range(len(steps))], steps)
    ax.set_title("No limits: wall time per step (hatched: failed or skipped)")
    ax.set_ylabel("seconds")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")


def load(path: Path) -> tuple[list[Result], dict[str, Any], list[RunnersResult]]:
    """Read back what `write` saved, to redraw the table and plots without rerunning."""
    saved = json.loads(path.read_text())
    results = []
    for raw in saved["results"]:
        steps = [Step(**step) for step in raw.pop("steps")]
        results.append(Result(**raw, steps=steps))
    fleet = [RunnersResult(**raw) for raw in saved.get("runners", [])]
    return results, dict(saved["context"]), fleet


def write(
    results: list[Result],
    context: dict[str, Any],
    folder: Path,
    fleet: list[RunnersResult] | None = None,
) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    fleet = fleet or []
    table = markdown(results, context, fleet)
    (folder / "table.md").write_text(table)
    saved = {
        "context": context,
        "results": [asdict(r) for r in results],
        "runners": [asdict(r) for r in fleet],
    }
    (folder / "results.json").write_text(json.dumps(saved, indent=1))
    if results:
        plot(results, folder / "plot.png")
    if fleet:
        plot_runners(fleet, folder / "runners.png")
    return table


def update_readme(readme: Path, table: str, plots: list[str]) -> bool:
    """Replace the README's text between the bench markers; False if it has none."""
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        return False
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    images = "".join(f"![bench plot]({plot})\n" for plot in plots)
    body = f"\n{table}\n{images}"
    readme.write_text(f"{head}{README_START}{body}{README_END}{tail}")
    return True
