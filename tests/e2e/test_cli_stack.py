"""`nexudus-pulumi rooms --stack NAME`: the rooms of the account a stack's config points at,
credentials read from that stack (secrets decrypted by the pulumi CLI), no NEXUDUS_* needed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from nexudus_pulumi.sandbox import DEMO_PASSWORD, Sandbox
from tests.e2e.harness import PulumiProject

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
