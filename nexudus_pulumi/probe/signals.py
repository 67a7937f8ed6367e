"""SIGINT and SIGTERM during a probe, held back while it deletes what it made."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

from ..errors import Interrupted
from .report import Say


class Signals:
    """SIGINT and SIGTERM during a probe: the first raises `Interrupted` where the probe stands,
    so that its `finally` deletes what it made; once the cleanup has begun (`deferring`), a
    signal is only noted, and raised when the cleanup is done, so it never cuts the cleanup
    short."""

    def __init__(self, say: Say) -> None:
        self.say = say
        self.deferring = False
        self.arrived: list[int] = []

    def __call__(self, signum: int, _frame: FrameType | None) -> None:
        self.arrived.append(signum)
        if not self.deferring:
            raise Interrupted(signum)
        self.say("deleting the temporary records first; a moment")

    def raise_deferred(self) -> None:
        """Raise for a signal that arrived while the cleanup ran."""
        self.deferring = False
        if self.arrived:
            raise Interrupted(self.arrived[0])

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        """Handle the signals meanwhile (only the main thread receives them); the handlers
        before are back afterwards."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {s: signal.signal(s, self) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
