"""`nexudus-pulumi` on the command line: one clear line per mistake, never a traceback."""

from __future__ import annotations

import os
import socket
from importlib.metadata import version

import pytest

from nexudus_pulumi.cli import main
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
    assert out[-1] == "2 room(s)"


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
