"""What the provider promises under Nexudus's real failure modes: every declared room exists
exactly once, errors say what to do, and no credential leaks. All against the sandbox's faults."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from nexudus_pulumi.client import NexudusClient
from nexudus_pulumi.errors import AuthenticationError, ConfigurationError, ThrottledError
from nexudus_pulumi.sandbox import DEMO_PASSWORD, Faults, PublishedLimits, Sandbox
from nexudus_pulumi.settings import Settings
from tests.helpers import RELAXED, configured, create, room, sandbox_config, settled_requests


def markers(sandbox: Sandbox) -> list[str]:
    return sorted(r["SystemId"] for r in sandbox.store.all())


def test_409_storm_is_absorbed_and_every_create_lands_once() -> None:
    # The client believes it may write freely; the server allows 3 writes a second.
    limits = PublishedLimits(min_interval=0, writes_per_window=3, window_seconds=1)
    with Sandbox(limits=limits) as sandbox:
        provider = configured(sandbox_config(sandbox))
        for n in range(10):
            create(provider, room(f"r{n}"))
        assert markers(sandbox) == sorted(f"pulumi:p/t/r{n}" for n in range(10))
        assert sandbox.status_counts()[("POST", 409)] >= 3
        assert sandbox.posts_committed == 10


def test_twelve_creates_from_four_threads_under_a_tight_write_limit() -> None:
    limits = PublishedLimits(min_interval=0.05, writes_per_window=4, window_seconds=1)
    with Sandbox(limits=limits) as sandbox:
        # Pacing set to the account's real quota: throttling should be rare, not the rule.
        provider = configured(
            sandbox_config(
                sandbox, writesPerMinute=4 * 60, minIntervalMs=50, requestsPerMinute=6000
            )
        )
        with ThreadPoolExecutor(max_workers=4) as pool:
            ids = list(pool.map(lambda n: create(provider, room(f"t{n}")).id, range(12)))
        assert len(set(ids)) == 12
        assert markers(sandbox) == sorted(f"pulumi:p/t/t{n}" for n in range(12))
        assert sandbox.posts_committed == 12


def test_lost_create_answer_adopts_the_committed_room(capsys: pytest.CaptureFixture[str]) -> None:
    with Sandbox(limits=RELAXED, faults=Faults(drop_after_commit_rate=1.0)) as sandbox:
        provider = configured(sandbox_config(sandbox))
        result = create(provider, room("lobby"))
        [stored] = sandbox.store.all()
        assert result.id == str(stored["Id"])
        assert sandbox.posts_committed == 1  # found by its marker, never re-posted
    # What `pulumi up` shows among its diagnostics (the engine prints the provider's stderr).
    assert f"(name 'Lobby'): create answer lost; found id {result.id}" in capsys.readouterr().err


def test_create_finds_a_room_left_by_a_killed_run() -> None:
    with Sandbox(limits=RELAXED) as sandbox:
        provider = configured(sandbox_config(sandbox))
        orphan = create(provider, room("lobby"))  # as if Pulumi died before saving this id
        rerun = configured(sandbox_config(sandbox))  # the next `up`: another process
        again = create(rerun, room("lobby", users=[5.0]))
        assert again.id == orphan.id
        [stored] = sandbox.store.all()
        assert stored["Users"] == [5]  # adopted, then brought to the declared state


def test_thirty_percent_server_errors_still_end_with_exactly_the_declared_rooms() -> None:
    faults = Faults(error_rate=0.3, drop_after_commit_rate=0.1, seed=11)
    with Sandbox(limits=RELAXED, faults=faults) as sandbox:
        provider = configured(sandbox_config(sandbox, maxRetries=8))
        created = {n: create(provider, room(f"r{n}")) for n in range(12)}
        for n in range(0, 12, 3):
            provider.update(created[n].id, created[n].outs, room(f"r{n}", name=f"Room {n}"))
        for n in range(1, 12, 3):
            provider.delete(created[n].id, created[n].outs)
        expected = sorted(f"pulumi:p/t/r{n}" for n in range(12) if n % 3 != 1)
        assert markers(sandbox) == expected
        names = {r["SystemId"]: r["Name"] for r in sandbox.store.all()}
        assert all(names[f"pulumi:p/t/r{n}"] == f"Room {n}" for n in range(0, 12, 3))
        assert sandbox.status_counts()[("GET", 503)] + sandbox.status_counts()[("POST", 503)] > 5


def test_expired_token_is_renewed_mid_run() -> None:
    with Sandbox(limits=RELAXED) as sandbox:
        provider = configured(sandbox_config(sandbox))
        first = create(provider, room("one"))
        sandbox.expire_tokens()
        create(provider, room("two"))
        provider.read(first.id, first.outs)
        token_calls = [r for r in sandbox.requests if r[1] == "/api/token"]
        assert [status for *_, status in token_calls] == [200, 200]
        refused = sum(n for (_, status), n in sandbox.status_counts().items() if status == 401)
        assert refused == 1  # one 401, then the renewed token works


def test_basic_auth_is_used_when_the_token_endpoint_is_unavailable() -> None:
    with Sandbox(limits=RELAXED, token_endpoint=False) as sandbox:
        provider = configured(sandbox_config(sandbox))
        create(provider, room("one"))
        create(provider, room("two"))
        assert len(sandbox.store.all()) == 2
        assert [r for r in sandbox.requests if r[1] == "/api/token"] == [
            ("POST", "/api/token", 404)
        ]


def test_a_pre_issued_token_is_used_as_is(sandbox: Sandbox) -> None:
    token = sandbox.issue_token("admin@example.com")["access_token"]
    provider = configured(sandbox_config(sandbox, username=None, password=None, token=token))
    create(provider, room("one"))
    assert not [r for r in sandbox.requests if r[1] == "/api/token"]
    with pytest.raises(AuthenticationError, match="authentication failed") as caught:
        configured(sandbox_config(sandbox, username=None, password=None, token="forged"))
    assert "forged" not in str(caught.value)


def test_throttling_past_the_deadline_says_it_was_throttling() -> None:
    limits = PublishedLimits(min_interval=0, writes_per_window=1, window_seconds=30)
    with Sandbox(limits=limits) as sandbox:
        client = NexudusClient(
            Settings.load(sandbox_config(sandbox, deadlineSeconds=2).get, environ={})
        )
        client.create("/api/support/chatrooms", {"BusinessId": 1001})
        with pytest.raises(ThrottledError, match=r"throttling .* deadline"):
            client.create("/api/support/chatrooms", {"BusinessId": 1001})
        assert len(sandbox.store.all()) == 1


def test_no_credential_reaches_a_log_line_or_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    with Sandbox(limits=RELAXED, faults=Faults(error_rate=0.3, seed=3)) as sandbox:
        provider = configured(sandbox_config(sandbox, maxRetries=8, logLevel="debug"))
        created = create(provider, room("one"))
        sandbox.expire_tokens()
        provider.read(created.id, created.outs)
        issued = list(sandbox.tokens) + list(sandbox.refresh_tokens)
        with pytest.raises(AuthenticationError) as caught:
            configured(sandbox_config(sandbox, password="Wr0ng-Secret"))
    logged = capsys.readouterr().err
    assert "nexudus: POST /api/token -> 200" in logged  # DEBUG: every request
    assert "nexudus: POST /api/support/chatrooms -> 200" in logged
    assert "; retry 1 in " in logged
    for secret in [DEMO_PASSWORD, "Wr0ng-Secret", *issued]:
        assert secret not in logged
        assert secret not in str(caught.value)


def test_a_bad_log_level_is_named_before_any_request(sandbox: Sandbox) -> None:
    with pytest.raises(ConfigurationError, match=r"nexudus:logLevel: .*'DEBUG'"):
        configured(sandbox_config(sandbox, logLevel="chatty"))
    assert settled_requests(sandbox) == []


def test_wrong_password_fails_every_room_after_a_single_login_attempt() -> None:
    # The engine configures the provider again for each resource while configuring fails
    # (pulumi/dynamic/__main__.py caches only a provider that configured), from 4 threads.
    with Sandbox(limits=RELAXED) as sandbox:
        config = sandbox_config(sandbox, password="nope")
        with ThreadPoolExecutor(max_workers=4) as pool:
            outcomes = list(pool.map(lambda _: _error_of(config), range(8)))
        assert all("authentication failed" in outcome for outcome in outcomes)
        assert settled_requests(sandbox, 1) == [("POST", "/api/token", 400)]


def _error_of(config: dict[str, object]) -> str:
    try:
        configured(config)
    except AuthenticationError as exc:
        return str(exc)
    return "configured"
