"""One bench scenario: a program, N rooms, a fresh sandbox; `up`, no-op `preview`, `refresh`,
`destroy`; and what each step cost in time, requests, state and provider memory."""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nexudus_pulumi.sandbox import Faults, PublishedLimits, Sandbox
from nexudus_pulumi.sandbox.collections import CHAT_ROOMS
from nexudus_pulumi.sandbox.limits import Throttle
from nexudus_pulumi.sandbox.server import TOKEN_PATH

from .floor import floor, records_floors, turns_sent
from .project import Program, Project

PUBLISHED = PublishedLimits()
"""Nexudus's published per-account limits, the sandbox's defaults."""

NO_LIMITS = PublishedLimits(
    min_interval=0,
    requests_per_window=10**9,
    writes_per_window=10**9,
    requests_per_hour=10**9,
    requests_per_day=10**9,
    writes_per_day=10**9,
)

CLIENT_NO_LIMITS = {
    "NEXUDUS_MIN_INTERVAL_MS": "0",
    "NEXUDUS_REQUESTS_PER_MINUTE": str(10**9),
    "NEXUDUS_WRITES_PER_MINUTE": str(10**9),
}

STEPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("up", ("up", "--yes", "--skip-preview", "--refresh=false")),
    ("preview", ("preview", "--expect-no-changes", "--refresh=false")),
    ("refresh", ("refresh", "--yes", "--skip-preview")),
    ("refresh-vouched", ("refresh", "--yes", "--skip-preview")),
    ("drift", ("preview", "--refresh", "--expect-no-changes")),
    ("destroy", ("destroy", "--yes", "--skip-preview", "--refresh=false")),
)
"""`up`, `refresh` and `destroy` skip their preview, as a pipeline that previews separately
does; the no-op preview is a step of its own. `up`, `preview` and `destroy` run with
`--refresh=false`, overriding this project's `refresh: always` (Pulumi.yaml), so that each step
measures one thing for both programs: reading is the `refresh` steps' measure. `refresh` is the
default reading (a GET per room, since listings carry no `Users`); `refresh-vouched` runs with
nexudus:membershipBumpsUpdatedOn against an account where that is true, on an unchanged
account; `drift` is the pipelines' drift check after a person added a member to one room of a
stack that declares its users: it must fail (exit non-zero) naming the drift."""

VOUCHED = {"NEXUDUS_MEMBERSHIP_BUMPS_UPDATED_ON": "true"}
HAND_ADDED_MEMBER = 12
EXPECTED_TO_FAIL = frozenset({"drift"})
"""Steps whose success is the command failing: the drift check must find the hand-added member."""


@dataclass(frozen=True)
class Mode:
    """The sandbox's limits, and what the client is told about them."""

    name: str
    limits: PublishedLimits
    latency_ms: float
    client: dict[str, str]

    @property
    def limited(self) -> bool:
        return self.limits is not NO_LIMITS


def limits_mode(window_seconds: float, latency_ms: float) -> Mode:
    """The published limits; with a window shorter than a minute, the same counts per window
    and the client told the per-minute rates that scaling gives."""
    limits = PublishedLimits(window_seconds=window_seconds)
    client: dict[str, str] = {}
    if window_seconds != PUBLISHED.window_seconds:
        scale = 60.0 / window_seconds
        client = {
            "NEXUDUS_REQUESTS_PER_MINUTE": str(round(limits.requests_per_window * scale)),
            "NEXUDUS_WRITES_PER_MINUTE": str(round(limits.writes_per_window * scale)),
        }
    return Mode("limits", limits, latency_ms, client)


def no_limits_mode(latency_ms: float) -> Mode:
    return Mode("no limits", NO_LIMITS, latency_ms, CLIENT_NO_LIMITS)


@dataclass
class Step:
    name: str
    seconds: float
    ok: bool
    requests: dict[str, int]
    """"METHOD status" -> count, from the sandbox's own request list."""
    error: str = ""
    log_tail: list[str] = field(default_factory=list)
    """The command's last lines of output when it failed, kept in results.json."""
    refused: dict[str, int] = field(default_factory=dict)
    """The 409s by the limit that refused them ("min interval", "writes per window"...)."""

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    @property
    def throttled(self) -> int:
        return sum(n for key, n in self.requests.items() if key.endswith(" 409"))


@dataclass
class Result:
    mode: str
    rooms: int
    program: str
    floors: dict[str, float]
    """Step -> how long the API's limits alone make the records' own requests take (none
    without limits): the target (bench/floor.py)."""
    steps: list[Step] = field(default_factory=list)
    sent_floors: dict[str, float] = field(default_factory=dict)
    """Step -> the same for every request the step sent that the account counted: what the
    pacer alone is measured against."""
    state: dict[str, float] = field(default_factory=dict)
    """Bytes per room after `up`: the whole entry, its `stackTrace` and its `__provider` blobs
    (inputs and outputs each hold one), as compact JSON."""
    provider_peak_rss: int | None = None
    engine_peak_rss: int = 0
    """Of the `pulumi` CLI process itself, the largest over the steps."""
    created: int = 0
    """Rooms the sandbox holds after `up`."""
    left: int = 0
    """Rooms the sandbox still holds after `destroy`."""

    def step(self, name: str) -> Step | None:
        return next((s for s in self.steps if s.name == name), None)


def declared_rooms(count: int) -> dict[str, dict[str, Any]]:
    """A stack that declares each room's users: what a person adds is drift."""
    return {
        f"room-{n:04d}": {"name": f"Room {n}", "active": True, "users": [11]} for n in range(count)
    }


def run_scenario(mode: Mode, rooms: int, program: Program, engine: Path, memory_cap: int) -> Result:
    floors = records_floors(rooms, mode.limits) if mode.limited else {}
    result = Result(mode.name, rooms, program.label, floors)
    faults = Faults(latency_ms=mode.latency_ms)
    with (
        tempfile.TemporaryDirectory(prefix="nexudus-bench-") as workdir,
        Sandbox(limits=mode.limits, faults=faults) as sandbox,
    ):
        project = Project.create(
            Path(workdir), program, engine, sandbox.url, mode.client, memory_cap
        )
        project.init_stack(program, declared_rooms(rooms))
        stopped = ""
        for name, args in STEPS:
            if stopped:
                result.steps.append(Step(name, 0.0, False, {}, f"skipped: {stopped}"))
                continue
            # A fresh minute of the account per step, as the write floor assumes: without it a
            # `destroy` would first wait out the writes of the `up` before it.
            sandbox.throttle = Throttle(mode.limits)
            vouched = name == "refresh-vouched"
            sandbox.fidelity.membership_bumps_updated_on = vouched  # the account it vouches for
            if name == "drift" and sandbox.store.all():
                first = sandbox.store.all()[0]["Id"]
                sandbox.add_member(CHAT_ROOMS.path, first, HAND_ADDED_MEMBER)
            seen = len(sandbox.requests)
            outcome = project.run(*args, env=VOUCHED if vouched else None)
            sandbox.wait_idle()
            sent = sandbox.requests[seen:]
            requests = Counter(f"{m}{_kind(m, path)} {s}" for m, path, s in sent)
            ok = outcome.ok != (name in EXPECTED_TO_FAIL)
            error, tail = ("", []) if ok else (outcome.first_error(), outcome.tail())
            if not ok and name in EXPECTED_TO_FAIL:
                error = "the drift check passed: the hand-added member went unseen"
            refused = dict(sandbox.throttle.refusals)
            if mode.limited and name in floors:
                result.sent_floors[name] = floor(turns_sent(sent), mode.limits)
            result.steps.append(
                Step(name, outcome.seconds, ok, dict(requests), error, tail, refused)
            )
            result.engine_peak_rss = max(result.engine_peak_rss, outcome.engine_peak_rss)
            if outcome.provider_peak_rss is not None:
                result.provider_peak_rss = max(
                    result.provider_peak_rss or 0, outcome.provider_peak_rss
                )
            if outcome.over_memory_cap:
                stopped = f"{name} was stopped at the engine memory cap"
            if name == "up":
                result.created = len(sandbox.store.all())
                if not stopped:
                    result.state = state_per_room(project.export())
        result.left = len(sandbox.store.all())
    return result


def _kind(method: str, path: str) -> str:
    """Tells the listing (search) and the login apart from the requests about one record."""
    if path == TOKEN_PATH:
        return " token"
    return " list" if method == "GET" and path.rstrip("/") == CHAT_ROOMS.path else ""


def state_per_room(exported: dict[str, Any]) -> dict[str, float]:
    resources = [
        r
        for r in exported["deployment"].get("resources") or []
        if r["type"].startswith(("pulumi-python:dynamic", "nexudus:index:"))
    ]
    if not resources:
        return {}

    def size(value: Any) -> int:
        return len(json.dumps(value, separators=(",", ":")))

    count = len(resources)
    return {
        "entry": sum(size(r) for r in resources) / count,
        "stackTrace": sum(size(r.get("stackTrace", [])) for r in resources) / count,
        "__provider": sum(
            size((r.get(part) or {}).get("__provider", ""))
            for r in resources
            for part in ("inputs", "outputs")
        )
        / count,
        "resources": count,
        "export": size(exported) / count,
    }
