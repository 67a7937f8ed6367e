"""`pulumi` as pipelines run it: only the engine on PATH, several stacks on one account at once,
and the recipes under examples/pipelines/ run command by command."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from nexudus_pulumi.sandbox import Sandbox
from tests.e2e.harness import TOOLS, PulumiProject


def test_preview_needs_only_the_engine_on_path(project: PulumiProject, sandbox: Sandbox) -> None:
    path = project.env["PATH"].split(os.pathsep)
    assert path[0] == str(TOOLS)
    assert str(Path(sys.prefix) / "bin") not in path and "VIRTUAL_ENV" not in project.env
    # the first python on PATH is a trap that fails the run: only Pulumi.yaml's virtualenv works
    first_python = next(Path(d) / "python3" for d in path if (Path(d) / "python3").exists())
    assert "virtualenv was ignored" in first_python.read_text()

    project.init_stack("dev", business=1001, rooms={"lobby": {"name": "Lobby"}})
    preview = project.ok("preview")
    assert "+ 2 to create" in preview.output  # the stack and the room: the program ran
    assert "virtualenv was ignored" not in preview.output
    assert sandbox.store.all() == []
