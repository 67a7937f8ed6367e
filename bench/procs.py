"""Peak resident memory of the dynamic-provider processes one Pulumi command starts."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

PROVIDER_MODULE = b"pulumi.dynamic"
"""What the launcher (scripts/pulumi-resource-pulumi-python) runs: `python -m pulumi.dynamic`."""


class ProviderPeakRss:
    """Polls /proc for `python -m pulumi.dynamic` processes running in one project folder.

    It reads the kernel's high-water mark (`VmHWM`), not the current size, so a sample taken
    any time before the process exits still sees its peak.
    """

    def __init__(self, project_root: Path, interval: float = 0.2) -> None:
        self._root = str(project_root)
        self._interval = interval
        self._peaks: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> ProviderPeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak_bytes(self) -> int | None:
        """The largest peak of any one provider process, or None if none was seen."""
        return max(self._peaks.values()) * 1024 if self._peaks else None

    def _poll(self) -> None:
        while True:
            self._sample()
            if self._stop.wait(self._interval):
                self._sample()
                return

    def _sample(self) -> None:
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            with contextlib.suppress(OSError):  # gone, or not ours to read
                if not self._is_provider(pid):
                    continue
                peak = _high_water_kib(pid)
                if peak is not None:
                    self._peaks[pid] = max(peak, self._peaks.get(pid, 0))

    def _is_provider(self, pid: int) -> bool:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        return PROVIDER_MODULE in cmdline and os.readlink(f"/proc/{pid}/cwd") == self._root


def _high_water_kib(pid: int) -> int | None:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None
