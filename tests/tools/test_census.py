"""Records that carry the stack's markers but that no resource holds are named by the drift
check and by `destroy`: once, the orphans of keys removed after a killed run were never
reported and were left behind by `pulumi destroy` without a word."""

from __future__ import annotations

import pytest
from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config

from nexudus_pulumi.identity import StackIdentityProvider
from nexudus_pulumi.sandbox import Fidelity, Sandbox
from tests.helpers import sandbox_config

SA, SB = "aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb"
DECLARED = {"keys": {"ChatRoom": ["lobby"], "CommunityGroup": [], "CommunityThread": []}}


def identity_provider(sandbox: Sandbox) -> StackIdentityProvider:
    """The stack identity's provider, configured for the sandbox as the engine does."""
    provider = StackIdentityProvider()
    provider.configure(ConfigureRequest(Config(sandbox_config(sandbox), "nexudus-rooms")))
    return provider


def marker(key: str, stack_id: str = SA, suffix: str = "") -> str:
    return f"pulumi:nexudus-rooms/dev/{key}#{stack_id}{suffix}"


@pytest.fixture(
    params=[Fidelity(), Fidelity(listing_system_id=False), Fidelity(listing_system_id_null=True)],
    ids=["SystemId listed", "no SystemId in listings", "SystemId always null"],
)
def account(request: pytest.FixtureRequest, sandbox: Sandbox) -> dict[str, int]:
    sandbox.fidelity = request.param
    rooms = sandbox.store
    return {
        "lobby": rooms.insert({"BusinessId": 1001, "SystemId": marker("lobby")}, "p"),
        "orphan": rooms.insert({"BusinessId": 1001, "SystemId": marker("old-hall")}, "p"),
        "kept": rooms.insert(
            {"BusinessId": 1001, "SystemId": marker("gone", suffix="+retain")}, "p"
        ),
        "other stack": rooms.insert({"BusinessId": 1001, "SystemId": marker("x", SB)}, "p"),
        "ui": rooms.insert({"BusinessId": 1001, "Name": "By hand"}, "ui"),
    }


def test_the_drift_check_names_records_of_the_stack_no_resource_holds(
    sandbox: Sandbox, account: dict[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    identity = identity_provider(sandbox)
    diff = identity.diff(SA, DECLARED, DECLARED)
    assert diff.changes is True  # `preview --expect-no-changes` fails until it is dealt with
    orphan = account["orphan"]
    assert f"ChatRoom {orphan} (key 'old-hall', business 1001) carry this stack's markers" in (
        caplog.text
    )
    for name in ("lobby", "kept", "other stack", "ui"):  # declared, retained, not ours
        assert f"ChatRoom {account[name]} " not in caplog.text
    assert "Delete them in the Nexudus admin UI" in caplog.text


def test_nothing_is_reported_once_the_orphan_is_gone(
    sandbox: Sandbox, account: dict[str, int]
) -> None:
    sandbox.store.delete(account["orphan"])
    identity = identity_provider(sandbox)
    assert identity.diff(SA, DECLARED, DECLARED).changes is False


def test_destroy_names_what_it_leaves_behind(
    sandbox: Sandbox, account: dict[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    identity = identity_provider(sandbox)
    sandbox.store.delete(account["lobby"])  # destroy deleted what the stack held
    identity.delete(SA, DECLARED)  # destroy: whatever carries the stack id is left behind
    assert f"ChatRoom {account['orphan']} (key 'old-hall'" in caplog.text
    assert "are left behind by this destroy" in caplog.text
    assert f"ChatRoom {account['kept']} " not in caplog.text
