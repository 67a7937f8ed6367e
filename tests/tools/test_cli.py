"""`nexudus-pulumi` on the command line: one clear line per mistake, never a traceback."""

from __future__ import annotations

import os
import socket
from importlib.metadata import version

import pytest

from nexudus_pulumi.chatroom import KIND as ROOMS
from nexudus_pulumi.cli import _row, main
from nexudus_pulumi.sandbox import DEMO_PASSWORD, DEMO_USER, Sandbox

Capture = pytest.CaptureFixture[str]


@pytest.fixture
def no_nexudus_variables(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in [n for n in os.environ if n.startswith("NEXUDUS_")]:
        monkeypatch.delenv(name)
    return monkeypatch


def test_version(capsys: Capture) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == version("nexudus-pulumi")


def test_rooms_without_credentials_names_the_variables_it_reads(
    sandbox: Sandbox, no_nexudus_variables: pytest.MonkeyPatch, capsys: Capture
) -> None:
    no_nexudus_variables.setenv("NEXUDUS_BASE_URL", sandbox.url)
    assert main(["rooms"]) == 1
    assert capsys.readouterr().err == (
        "error: no Nexudus credentials: set NEXUDUS_USERNAME and NEXUDUS_PASSWORD, or "
        "NEXUDUS_TOKEN\n"
    )


def test_rooms_names_the_variable_of_a_bad_value(
    no_nexudus_variables: pytest.MonkeyPatch, capsys: Capture
) -> None:
    no_nexudus_variables.setenv("NEXUDUS_USERNAME", DEMO_USER)
    assert main(["rooms"]) == 1
    assert capsys.readouterr().err == (
        "error: invalid Nexudus settings: the username is set (NEXUDUS_USERNAME in the "
        "environment) but not the password: set NEXUDUS_PASSWORD too\n"
    )


def test_rooms_lists_the_account_and_who_manages_each_room(
    sandbox: Sandbox, no_nexudus_variables: pytest.MonkeyPatch, capsys: Capture
) -> None:
    sandbox.store.insert({"BusinessId": 1001, "Name": "By hand"}, "ui")
    sandbox.store.insert(
        {"BusinessId": 1002, "Name": "Lobby", "SystemId": "pulumi:nexudus-rooms/dev/lobby"}, "x"
    )
    no_nexudus_variables.setenv("NEXUDUS_BASE_URL", sandbox.url)
    no_nexudus_variables.setenv("NEXUDUS_USERNAME", DEMO_USER)
    no_nexudus_variables.setenv("NEXUDUS_PASSWORD", DEMO_PASSWORD)
    assert main(["rooms"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "nexudus-rooms/dev/lobby" in out[2] and out[2].endswith("Lobby")
    assert out[-2] == "2 room(s)"
    assert "  -  " in out[1]  # nobody's
    # A listing carries no Users: no column that would read as "no users", and a line saying so
    assert "active" in out[0] and "users" not in out[0]
    assert out[-1] == "(Nexudus's listings leave out users: a record read by id shows them)"


def test_rooms_shows_the_marker_another_integration_left(
    sandbox: Sandbox, no_nexudus_variables: pytest.MonkeyPatch, capsys: Capture
) -> None:
    """A record another integration marked is not nobody's: export skips it and `up` refuses
    it without `takeOver`, so the listing says whose it is, as Nexudus holds it."""
    sandbox.store.insert({"BusinessId": 1001, "Name": "Desk", "SystemId": "zapier:zap-42"}, "z")
    no_nexudus_variables.setenv("NEXUDUS_BASE_URL", sandbox.url)
    no_nexudus_variables.setenv("NEXUDUS_USERNAME", DEMO_USER)
    no_nexudus_variables.setenv("NEXUDUS_PASSWORD", DEMO_PASSWORD)
    assert main(["rooms"]) == 0
    row = capsys.readouterr().out.splitlines()[1]
    assert "SystemId zapier:zap-42" in row and row.endswith("Desk")


def test_sandbox_on_a_busy_port_says_so_in_one_line(capsys: Capture) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["sandbox", "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"error: cannot serve on 127.0.0.1:{port}: Address already in use")
    assert "--port" in err


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::"])
def test_sandbox_refuses_a_non_loopback_host_without_the_explicit_flag(
    host: str, capsys: Capture
) -> None:
    assert main(["sandbox", "--host", host]) == 2
    captured = capsys.readouterr()
    assert f"--host {host} is not a loopback address" in captured.err
    assert "--allow-remote" in captured.err
    assert DEMO_PASSWORD not in captured.out  # nothing served, nothing printed


@pytest.mark.parametrize(
    ("option", "value"), [("--error-rate", "2"), ("--drop-rate", "-0.1"), ("--latency-ms", "-5")]
)
def test_sandbox_refuses_rates_and_delays_out_of_range(
    option: str, value: str, capsys: Capture
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["sandbox", option, value])
    assert exited.value.code == 2
    assert f"argument {option}: must be" in capsys.readouterr().err


def test_rooms_shows_awkward_names_escaped_one_row_each_and_cut(
    sandbox: Sandbox, no_nexudus_variables: pytest.MonkeyPatch, capsys: Capture
) -> None:
    names = ["Line\nbreak", "\x1b[2J\x1b[31mred", "Next\x85line", None, "Long " * 40, "Lobby"]
    for name in names:
        sandbox.store.insert({"BusinessId": 1001, "Name": name}, "ui")
    owner = "pulumi:p/s/k\x1b]0;title\x07" + "x" * 40
    sandbox.store.insert({"BusinessId": 1001, "Name": "Owned", "SystemId": owner}, "x")
    no_nexudus_variables.setenv("NEXUDUS_BASE_URL", sandbox.url)
    no_nexudus_variables.setenv("NEXUDUS_USERNAME", DEMO_USER)
    no_nexudus_variables.setenv("NEXUDUS_PASSWORD", DEMO_PASSWORD)
    assert main(["rooms"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x85" not in out and "\x07" not in out
    rows = out.splitlines()
    # header, one row per room, the owned one, the count, the note on what listings leave out
    assert len(rows) == 1 + len(names) + 1 + 1 + 1
    assert rows[1].endswith("Line\\nbreak")
    assert rows[2].endswith("\\x1b[2J\\x1b[31mred")
    assert rows[3].endswith("Next\\x85line")
    assert rows[4].endswith("(unnamed)")
    assert rows[5].endswith("  " + "Long " * 11 + "Long…")  # cut to 60 characters
    assert "p/s/k\\x1b]0;title\\x07" in rows[7]
    assert rows[-2] == "7 room(s)"


def test_a_row_with_a_lone_surrogate_can_be_printed() -> None:
    # Not through the sandbox: SQLite cannot store a lone surrogate; Nexudus's JSON can hold one.
    row = _row(ROOMS, {"Id": 7, "BusinessId": 1001, "Name": "Half \ud83d pair"}, ["active"])
    assert row.encode("utf-8").endswith(b"Half \\ud83d pair")
