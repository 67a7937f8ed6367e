"""`nexudus-pulumi probe` against the sandbox: under every reading of the open questions it
reports the reading that was set, and it leaves no record behind, interrupted or not."""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nexudus_pulumi import cli, probe
from nexudus_pulumi.client import NexudusClient
from nexudus_pulumi.errors import OutcomeUnknownError
from nexudus_pulumi.probe import PROBE_NAME, PROBE_PREFIX, ProbeOptions, run_probe
from nexudus_pulumi.sandbox import DEMO_PASSWORD, DEMO_USER, Faults, Fidelity, Sandbox
from nexudus_pulumi.settings import Settings
from tests.helpers import RELAXED, sandbox_config

THROTTLING = dataclasses.replace(RELAXED, min_interval=0.1)
"""The sandbox's limits for the deliberate burst: the 1-per-100 ms limit, nothing else."""

Records = dict[str, list[dict[str, Any]]]


def _seed(sandbox: Sandbox) -> None:
    """The account's own records: a managed room with members, a plain room, a group."""
    sandbox.store.insert(
        {"BusinessId": 1001, "Name": "Lobby", "Users": [11, 12], "SystemId": "pulumi:p/s/lobby#x"},
        DEMO_USER,
    )
    sandbox.store.insert({"BusinessId": 1001, "Name": "Café", "Active": True}, DEMO_USER)
    sandbox.groups.insert(
        {"BusinessId": 1001, "UserId": 12, "Name": "Members", "Description": "d", "Members": [13]},
        DEMO_USER,
    )


def _records(sandbox: Sandbox) -> Records:
    return {"rooms": sandbox.store.all(), "groups": sandbox.groups.all()}


def _probe_records(sandbox: Sandbox) -> list[dict[str, Any]]:
    every = [*sandbox.store.all(), *sandbox.groups.all()]
    return [
        r
        for r in every
        if str(r["SystemId"] or "").startswith(PROBE_PREFIX)
        or str(r["Name"] or "").startswith(PROBE_NAME)
    ]


def _client(sandbox: Sandbox) -> NexudusClient:
    return NexudusClient(Settings.load(sandbox_config(sandbox).get, {}))


def _throttle_the_burst(sandbox: Sandbox) -> probe.Say:
    """Progress that sets the sandbox's 1-per-100 ms limit for the burst alone: the rest of the
    probe runs unpaced against relaxed limits, so that 128 probes stay quick."""

    def say(line: str) -> None:
        if line.startswith(probe.BURST_NOTICE):
            sandbox.throttle.limits = THROTTLING

    return say


@pytest.fixture
def seeded() -> Iterator[Sandbox]:
    with Sandbox(limits=RELAXED, faults=Faults(seed=7)) as running:
        _seed(running)
        yield running


@pytest.fixture(scope="module")
def account() -> Iterator[Sandbox]:
    """One seeded sandbox for the 128 readings: a probe leaves it as it found it (which each
    test checks), and 128 sandboxes would cost half a second each to stop."""
    with Sandbox(limits=RELAXED) as running:
        _seed(running)
        yield running


ASKED = tuple(f for f in Fidelity.combinations() if not f.token_counts)
"""The readings the probe tells apart: all but whether a token request counts against the
account, which it does not ask (its one token request would have to be followed within
100 ms, costing a 409 under one reading)."""


@pytest.mark.parametrize("fidelity", ASKED, ids=lambda f: " ".join(f.flags()) or "default")
def test_the_probe_reports_exactly_the_reading_set_and_leaves_the_account_as_it_was(
    account: Sandbox, fidelity: Fidelity
) -> None:
    account.fidelity = fidelity
    account.throttle.limits = RELAXED
    account.wait_idle()
    before, sent_before = _records(account), len(account.requests)

    report = run_probe(_client(account), ProbeOptions(1001), _throttle_the_burst(account))

    account.wait_idle()
    found = dataclasses.asdict(report.findings)
    expected = dataclasses.asdict(fidelity)
    del expected["token_counts"]
    if not fidelity.listing_system_id:  # no key in listings: whether it would be null is moot
        expected["listing_system_id_null"] = None
    assert {name: found[name] for name in expected} == expected
    assert found["listing_collections"] is False  # the sandbox lists as Nexudus documents
    assert report.settings == {probe.MEMBERSHIP_SETTING: fidelity.membership_bumps_updated_on}
    assert _records(account) == before  # nothing left behind, nothing else changed
    assert len(account.requests) - sent_before <= probe.REQUESTS  # the count --help states
    assert report.left_behind == []


@pytest.mark.parametrize("listing_system_id", [True, False])
def test_a_rerun_deletes_what_an_earlier_probe_left_and_nothing_else(
    seeded: Sandbox, listing_system_id: bool
) -> None:
    seeded.fidelity = Fidelity(listing_system_id=listing_system_id)
    old = f"{PROBE_NAME} 0123 (temporary, safe to delete)"
    seeded.store.insert(
        {"BusinessId": 1001, "Name": old, "SystemId": f"{PROBE_PREFIX}0123-room"}, ""
    )
    seeded.groups.insert(
        {"BusinessId": 1001, "UserId": 12, "Name": old, "SystemId": f"{PROBE_PREFIX}0123-group"}, ""
    )
    # named alike, but no probe's marker: a room someone named so, one a stack manages
    seeded.store.insert({"BusinessId": 1001, "Name": f"{PROBE_NAME} notes"}, "")
    seeded.store.insert(
        {"BusinessId": 1001, "Name": f"{PROBE_NAME} x", "SystemId": "pulumi:p/s/x#1"}, ""
    )
    kept = [r for r in _records(seeded)["rooms"] if not str(r["SystemId"]).startswith(PROBE_PREFIX)]
    said: list[str] = []

    def say(line: str) -> None:
        said.append(line)
        _throttle_the_burst(seeded)(line)

    run_probe(_client(seeded), ProbeOptions(1001), say)

    seeded.wait_idle()
    assert [r for r in _probe_records(seeded) if r["SystemId"]] == [kept[-1]]
    assert seeded.store.all() == kept
    assert len(seeded.groups.all()) == 1
    assert [line for line in said if "earlier" in line] == [
        "deleted room 87654323 (left by an earlier probe)",
        "deleted group 65432102 (left by an earlier probe)",
    ]


def test_a_business_without_groups_needs_a_user_id_and_nothing_is_made(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with Sandbox(limits=RELAXED) as empty:
        _environment(monkeypatch, empty)
        assert cli.main(["probe", "--business", "1002"]) == 1
        empty.wait_idle()
        assert empty.posts_committed == 0
    assert capsys.readouterr().err.splitlines() == [
        "error: business 1002 has no community group to take an administrator from, and the "
        "temporary group needs one: pass --user-id with the id of a user of the account"
    ]


def test_write_config_sets_the_membership_setting_in_the_stack_file_keeping_comments(
    seeded: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: nexudus-rooms\nstackConfigDir: stacks\n")
    stack = tmp_path / "stacks" / "Pulumi.dev.yaml"
    stack.parent.mkdir()
    stack.write_text("config:\n  # the dev business\n  nexudus-rooms:businessId: 1001\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli, "_stack_config", lambda _stack: sandbox_config(seeded).get)
    seeded.fidelity = Fidelity(membership_bumps_updated_on=True)

    code = cli.main(["probe", "--business", "1001", "--stack", "dev", "--write-config"])

    out = capsys.readouterr().out
    assert code == 0
    assert stack.read_text() == (
        "config:\n  # the dev business\n  nexudus-rooms:businessId: 1001\n"
        "  nexudus:membershipBumpsUpdatedOn: true\n"
    )
    assert "Does a change of members alone move UpdatedOn? yes" in out
    assert "  -> nexudus:membershipBumpsUpdatedOn: true" in out
    assert f"wrote nexudus:membershipBumpsUpdatedOn: true to {stack}" in out


def test_write_config_without_a_stack_is_refused_before_anything_is_sent(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["probe", "--business", "1001", "--write-config"]) == 2
    assert capsys.readouterr().err == (
        "error: --write-config needs --stack, the stack whose file it writes\n"
    )


def _environment(monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox) -> dict[str, str]:
    variables = {
        "NEXUDUS_BASE_URL": sandbox.url,
        "NEXUDUS_USERNAME": DEMO_USER,
        "NEXUDUS_PASSWORD": DEMO_PASSWORD,
        "NEXUDUS_MIN_INTERVAL_MS": "0",
        "NEXUDUS_REQUESTS_PER_MINUTE": "100000",
        "NEXUDUS_WRITES_PER_MINUTE": "100000",
    }
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return variables


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_probe_deletes_what_it_made(
    seeded: Sandbox, monkeypatch: pytest.MonkeyPatch, signum: signal.Signals
) -> None:
    seeded.faults.latency_ms = 300  # every request takes a while: the signal meets one
    before = _records(seeded)
    environ = {**os.environ, **_environment(monkeypatch, seeded)}
    command = [sys.executable, "-m", "nexudus_pulumi.cli", "probe", "--business", "1001"]
    with subprocess.Popen(
        command, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("created group"):  # the room and the group exist
                process.send_signal(signum)
                break
        out, err = process.communicate(timeout=120)

    seeded.wait_idle()
    assert process.returncode == 128 + signum, err
    assert err.splitlines()[-1] == "interrupted: stopped once the cleanup above was done"
    said = [re.sub(r" \d+$", "", line) for line in out.splitlines() if line.startswith("deleted")]
    assert said == ["deleted room", "deleted group"]
    assert _records(seeded) == before


def test_a_create_whose_answer_is_lost_is_found_by_its_marker_and_deleted(
    seeded: Sandbox,
) -> None:
    before = _records(seeded)
    seeded.faults.drop_after_commit_rate = 1.0  # the room is created, its answer lost
    said: list[str] = []

    with pytest.raises(OutcomeUnknownError):
        run_probe(_client(seeded), ProbeOptions(1001), said.append)

    seeded.wait_idle()
    assert seeded.posts_committed == 1
    assert [re.sub(r" \d+ ", " ", line) for line in said] == [
        "deleted room (its create went unanswered)"
    ]
    assert _records(seeded) == before


def test_the_cleanup_leaves_a_record_that_no_longer_carries_the_probes_marker(
    seeded: Sandbox,
) -> None:
    """Someone else's integration took the temporary room while the probe ran: its clean-up
    reads the room by id, finds another SystemId, and leaves it, saying so."""
    said: list[str] = []

    def taken_over(line: str) -> None:
        said.append(line)
        if line.startswith("asking: does a PUT clear"):
            room = next(r for r in seeded.store.all() if str(r["Name"]).startswith(PROBE_NAME))
            seeded.store.update(room["Id"], {"SystemId": "crm:room-42"}, "crm")

    report = run_probe(_client(seeded), ProbeOptions(1001), taken_over)

    seeded.wait_idle()
    kept = [r for r in seeded.store.all() if r["SystemId"] == "crm:room-42"]
    assert len(kept) == 1  # not deleted
    assert not seeded.groups.all() or all(
        not str(g["SystemId"] or "").startswith(PROBE_PREFIX) for g in seeded.groups.all()
    )
    warning = f"warning: not deleting room {kept[0]['Id']}: it does not carry this probe's marker"
    assert any(line.startswith(warning) for line in said), said
    assert "'crm:room-42'" in next(line for line in said if line.startswith(warning))
    assert report.left_behind == []
