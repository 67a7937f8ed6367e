"""The runners scenario: three stacks deployed at once by three processes that share no pace
file (as from three CI runners on separate machines), each of 100 rooms, on one account under
the published limits, in three ways: uncoordinated, each at a static share of the limits
(`NEXUDUS_QUOTA_SHARE`), and sharing a Redis pace ledger (`NEXUDUS_PACE_URL`)."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from nexudus_pulumi.sandbox import Faults, Sandbox
from nexudus_pulumi.sandbox.collections import CHAT_ROOMS

from .floor import WRITE, floor, turns_sent
from .project import OURS, Outcome, Project
from .scenario import Mode, declared_rooms

WAYS = ("uncoordinated", "quotaShare", "redis")
UP = ("up", "--yes", "--skip-preview", "--refresh=false")


@dataclass
class RunnersResult:
    way: str
    stacks: int
    rooms: int
    """Per stack."""
    seconds: float
    """From the three `pulumi up` started together until the last ended."""
    writes_seconds: float
    """From the first create the sandbox served to the last: the span the write floor bounds."""
    write_floor: float
    """The account's write floor for all the stacks' creates together (bench/floor.py)."""
    sent_floor: float
    """The floor of every request the runs sent that the account counted: the creates, their
    read-backs, the marker lookups (bench/floor.py)."""
    ok: bool
    created: int
    """Rooms the sandbox holds after the runs (each run's once, or the count tells)."""
    requests: int
    throttled: int
    refused: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def run_runners(
    way: str, mode: Mode, stacks: int, rooms: int, engine: Path, memory_cap: int
) -> RunnersResult:
    with (
        tempfile.TemporaryDirectory(prefix="nexudus-bench-runners-") as workdir,
        Sandbox(limits=mode.limits, faults=Faults(latency_ms=mode.latency_ms)) as sandbox,
        _ledger(way, Path(workdir)) as client,
    ):
        client = {**mode.client, **client, **_share(way, stacks)}
        projects = []
        for n in range(stacks):
            folder = Path(workdir) / f"runner-{n}"
            folder.mkdir()
            project = Project.create(folder, OURS, engine, sandbox.url, client, memory_cap)
            project.init_stack(OURS, _rooms(n, rooms))
            projects.append(project)
        created: list[float] = []

        def seen(method: str, path: str, status: int) -> None:
            if method == "POST" and status == 200 and path.rstrip("/") == CHAT_ROOMS.path:
                created.append(time.monotonic())

        sandbox.observers.append(seen)
        seen_before = len(sandbox.requests)
        outcomes: list[Outcome | None] = [None] * stacks

        def up(n: int) -> None:
            outcomes[n] = projects[n].run(*UP)

        started = time.monotonic()
        threads = [threading.Thread(target=up, args=(n,)) for n in range(stacks)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.monotonic() - started
        sandbox.wait_idle()
        sent = sandbox.requests[seen_before:]
        done = [o for o in outcomes if o is not None]
        return RunnersResult(
            way,
            stacks,
            rooms,
            seconds,
            created[-1] - created[0] if created else 0.0,
            floor([WRITE] * stacks * rooms, mode.limits),
            floor(turns_sent(sent), mode.limits),
            len(done) == stacks and all(o.ok for o in done),
            len(sandbox.store.all()),
            len(sent),
            sum(1 for _, _, status in sent if status == 409),
            dict(sandbox.throttle.refusals),
            [o.first_error() for o in done if not o.ok],
        )


def _rooms(runner: int, rooms: int) -> dict[str, dict[str, object]]:
    return {
        key: {**room, "name": f"Runner {runner} {room['name']}"}
        for key, room in declared_rooms(rooms).items()
    }


def _share(way: str, stacks: int) -> dict[str, str]:
    return {"NEXUDUS_QUOTA_SHARE": repr(1 / stacks)} if way == "quotaShare" else {}


@contextlib.contextmanager
def _ledger(way: str, folder: Path) -> Iterator[dict[str, str]]:
    """A `redis-server` on a free loopback port for the Redis way, stopped by its process id."""
    if way != "redis":
        yield {}
        return
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("the runners scenario needs redis-server on PATH (apt-get install it)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=folder,
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start within 30 s")
            time.sleep(0.05)
        yield {"NEXUDUS_PACE_URL": f"redis://127.0.0.1:{port}/0"}
    finally:
        process.terminate()
        process.wait(timeout=30)
