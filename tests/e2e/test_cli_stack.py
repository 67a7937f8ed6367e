"""`nexudus-pulumi rooms --stack NAME`: the rooms of the account a stack's config points at,
credentials read from that stack (secrets decrypted by the pulumi CLI), no NEXUDUS_* needed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from nexudus_pulumi.sandbox import DEMO_PASSWORD, DEMO_USER, Sandbox
from tests.e2e.harness import PulumiProject, run_cli

CLI = str(Path(sys.executable).with_name("nexudus-pulumi"))


def rooms(project: PulumiProject, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, "rooms", *args],
        cwd=project.root,
        env=project.env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_rooms_reads_the_stacks_config(project: PulumiProject, sandbox: Sandbox) -> None:
    project.init_stack("dev", business=1001, rooms={"lobby": {"name": "Lobby"}})
    project.ok("up", "--yes")
    assert not any(name.startswith("NEXUDUS_") for name in project.env)

    listed = rooms(project, "--stack", "dev")
    assert listed.returncode == 0, listed.stderr
    assert "nexudus-rooms/dev/lobby" in listed.stdout and "Lobby" in listed.stdout
    assert DEMO_PASSWORD not in listed.stdout + listed.stderr

    without = rooms(project)
    assert without.returncode == 1
    assert without.stderr.startswith("error: no Nexudus credentials: set NEXUDUS_USERNAME")

    missing = rooms(project, "--stack", "nope")
    assert missing.returncode == 1
    assert missing.stderr == (
        "error: `pulumi config --stack nope` failed: error: no stack named 'nope' found\n"
    )


def test_export_into_a_stack_never_made_fails_naming_the_command_that_makes_it(
    project: PulumiProject, sandbox: Sandbox
) -> None:
    """Without `pulumi stack init`, export wrote a stack file and said it was done; `pulumi up`
    then failed with "no stack named", on a file that looked right."""
    sandbox.store.insert({"BusinessId": 1001, "Name": "Lobby"}, "ui")
    project.ok("stack", "init", "dev", stack=None)
    env = {
        **project.env,
        "NEXUDUS_BASE_URL": sandbox.url,
        "NEXUDUS_USERNAME": DEMO_USER,
        "NEXUDUS_PASSWORD": DEMO_PASSWORD,
    }
    forgot = run_cli(project, "export", "--business", "1001", "--stack", "forgot", env=env)
    assert forgot.returncode == 1, forgot.output
    assert forgot.output == (
        "error: the backend has no stack 'forgot' (pulumi stack ls lists dev): create it first, "
        "with `pulumi stack init forgot`, then run this again; nothing was written\n"
    )
    assert not project.stack_file("forgot").exists()

    project.ok("stack", "init", "forgot", stack=None)  # the command the message gives
    done = run_cli(project, "export", "--business", "1001", "--stack", "forgot", env=env)
    assert done.returncode == 0, done.output
    assert "importId" in project.stack_file("forgot").read_text()
