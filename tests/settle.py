"""Reading what the sandbox saw only once it has finished serving.

The sandbox records each request before its answer leaves, so what a client was answered is on
the list by then; a request the client gave up on (or one still being served for another
thread) may not be. Tests that count requests first wait until no request is being served.
"""

from __future__ import annotations

from nexudus_pulumi.sandbox import Sandbox


def settled_requests(sandbox: Sandbox, at_least: int = 0) -> list[tuple[str, str, int]]:
    """The sandbox's request list once it serves nothing; it must hold `at_least` entries."""
    sandbox.wait_idle()
    requests = list(sandbox.requests)
    assert len(requests) >= at_least, f"expected at least {at_least} requests, saw {requests}"
    return requests
