"""Whether a token request counts against the account's limits is not said (the limits are
published per account, for "all" requests): the client counts its own, so that it meets no 409
under either reading (`Fidelity.token_counts`)."""

from __future__ import annotations

import pytest

from nexudus_pulumi.client import NexudusClient
from nexudus_pulumi.errors import ThrottledError
from nexudus_pulumi.sandbox import Fidelity, PublishedLimits, Sandbox
from nexudus_pulumi.settings import Settings
from tests.helpers import ROOMS_PATH, sandbox_config

PER_MINUTE = 5
"""The account's requests a minute here: the token request and four more."""


@pytest.mark.parametrize("token_counts", [False, True], ids=["token apart", "token counts"])
def test_the_token_request_is_counted_as_one_of_the_accounts_requests(token_counts: bool) -> None:
    limits = PublishedLimits(requests_per_window=PER_MINUTE)
    with Sandbox(limits=limits, fidelity=Fidelity(token_counts=token_counts)) as sandbox:
        room = sandbox.store.insert({"BusinessId": 1001, "Name": "Lobby"}, "")
        config = sandbox_config(
            sandbox, minIntervalMs=None, requestsPerMinute=PER_MINUTE, deadlineSeconds=5
        )
        client = NexudusClient(Settings.load(config.get, {}))
        try:
            for _ in range(PER_MINUTE - 1):
                client.get(ROOMS_PATH, room)
            # the minute's fifth request would be the sixth under this reading: refused at once,
            # before it is sent, since the turn is a minute away and the deadline 5 s
            with pytest.raises(ThrottledError):
                client.get(ROOMS_PATH, room)
        finally:
            client.close()
        sandbox.wait_idle()
        assert sandbox.throttle.refusals.total() == 0, dict(sandbox.throttle.refusals)
        assert [method for method, _, _ in sandbox.requests] == ["POST"] + ["GET"] * 4


def test_a_token_request_counted_against_the_account_is_refused_past_its_limits() -> None:
    """The reading itself: the sandbox counts the token request among the account's, and
    refuses a request past them."""
    limits = PublishedLimits(requests_per_window=2, min_interval=0)
    with Sandbox(limits=limits, fidelity=Fidelity(token_counts=True)) as sandbox:
        room = sandbox.store.insert({"BusinessId": 1001, "Name": "Lobby"}, "")
        client = NexudusClient(Settings.load(sandbox_config(sandbox, deadlineSeconds=5).get, {}))
        try:
            client.get(ROOMS_PATH, room)  # the token request and this GET: the limit
            with pytest.raises(ThrottledError):
                client.get(ROOMS_PATH, room)  # told 100,000 a minute, it sends it
        finally:
            client.close()
        sandbox.wait_idle()
        assert dict(sandbox.throttle.refusals) == {"requests per window": 1}
