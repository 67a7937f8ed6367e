"""Reading what the sandbox saw only once it has finished recording.

The sandbox records a request after it has sent the answer, so a client can be done before the
last request is on the list. Tests that count requests wait for the list to settle first.
"""

from __future__ import annotations

import time

from nexudus_pulumi.sandbox import Sandbox

SETTLE_SECONDS = 0.1
PATIENCE_SECONDS = 10.0


def settled_requests(sandbox: Sandbox, at_least: int = 0) -> list[tuple[str, str, int]]:
    """The sandbox's request list once it holds `at_least` entries and has stopped growing."""
    give_up = time.monotonic() + PATIENCE_SECONDS
    seen = list(sandbox.requests)
    while time.monotonic() < give_up:
        time.sleep(SETTLE_SECONDS)
        now = list(sandbox.requests)
        if len(now) >= at_least and now == seen:
            return now
        seen = now
    return seen
