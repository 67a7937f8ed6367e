"""The provider's log lines, shown where a user running `pulumi up` looks.

The engine prints whatever a provider process writes to stderr among the run's diagnostics. Without
a handler Python would drop every INFO line, and a pipeline that sat out a throttling wait, retried
a 503 or adopted a room whose create answer was lost would give no sign of it. The lines carry
methods, paths, ids and room keys only: never a header, a body or a credential.
"""

from __future__ import annotations

import logging
import sys

LOGGER = logging.getLogger("nexudus_pulumi")


class _CurrentStderr(logging.Handler):
    """Writes to whatever `sys.stderr` is at the time, not the one seen at set-up (which a test
    runner may since have swapped for another)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:  # a log line must never break an operation
            self.handleError(record)


def show_logs(level: str) -> None:
    """Send the provider's log lines at `level` and above to stderr, once per process."""
    LOGGER.setLevel(level)
    if not any(isinstance(h, _CurrentStderr) for h in LOGGER.handlers):
        handler = _CurrentStderr()
        handler.setFormatter(logging.Formatter("nexudus: %(message)s"))
        LOGGER.addHandler(handler)
