"""The processes one `pulumi` command starts: their peak memory, and stopping them all.

The engine starts the language host and the dynamic provider (`python -m pulumi.dynamic`) as
children in process groups of their own, so stopping a command means stopping its whole tree.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from pathlib import Path

PROVIDER_MODULE = b"pulumi.dynamic"
"""What the launcher (scripts/pulumi-resource-pulumi-python) runs: `python -m pulumi.dynamic`."""
PLUGIN = b"pulumi-resource-nexudus"
"""The provider plugin's executable (bench/plugin's provider)."""


def descendants(pid: int) -> list[int]:
    """Every live process below `pid`, from /proc's parent links."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = Path(f"/proc/{entry.name}/stat").read_text()
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    pending = [pid]
    while pending:
        below = children.get(pending.pop(), [])
        found += below
        pending += below
    return found


def kill_tree(pid: int) -> None:
    """SIGKILL a command this bench started and everything it started."""
    for target in [*descendants(pid), pid]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(target, signal.SIGKILL)


class Watch:
    """While one command runs: the peak RSS of the engine and of its provider processes, and a
    stop when the engine outgrows `engine_cap` bytes (a baseline whose state makes the engine
    swallow the shared machine's memory is stopped, and reported as such).

    Peaks are the kernel's high-water marks (`VmHWM`), so a sample taken any time before a
    process exits still sees its peak.
    """

    def __init__(self, engine_pid: int, engine_cap: int, interval: float = 0.25) -> None:
        self._engine = engine_pid
        self._cap = engine_cap
        self._interval = interval
        self._providers: dict[int, int] = {}
        self.engine_peak = 0
        self.stopped = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> Watch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def provider_peak(self) -> int | None:
        """The largest peak of any one provider process, or None if none was seen."""
        return max(self._providers.values()) if self._providers else None

    def _poll(self) -> None:
        while not self._stop.wait(self._interval):
            self._sample()

    def _sample(self) -> None:
        engine = _memory(self._engine)
        if engine is None:
            return
        current, peak = engine
        self.engine_peak = max(self.engine_peak, peak)
        if current > self._cap and not self.stopped:
            self.stopped = True
            kill_tree(self._engine)
            return
        for pid in descendants(self._engine):
            with contextlib.suppress(OSError):
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                if PROVIDER_MODULE not in cmdline and PLUGIN not in cmdline:
                    continue
                memory = _memory(pid)
                if memory is not None:
                    self._providers[pid] = max(memory[1], self._providers.get(pid, 0))


def _memory(pid: int) -> tuple[int, int] | None:
    """Current and peak resident bytes (`VmRSS`, `VmHWM`), or None once the process is gone."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return None
    fields = {line.split(":")[0]: line.split()[1] for line in lines if line.startswith("Vm")}
    if "VmRSS" not in fields or "VmHWM" not in fields:
        return None  # a zombie: exited, not yet reaped
    return int(fields["VmRSS"]) * 1024, int(fields["VmHWM"]) * 1024
