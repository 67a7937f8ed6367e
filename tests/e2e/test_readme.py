"""The README's path to a stack of one's own, pasted into a fresh shell: the block it marks for
this test, run line by line as written, against the sandbox (at the test's port instead of the
README's 8787), with no PULUMI_* variable and no engine on PATH beforehand."""

from __future__ import annotations

import os
import re

from nexudus_pulumi.ownership import Marker
from nexudus_pulumi.sandbox import DEMO_PASSWORD, DEMO_USER, Sandbox
from tests.e2e.harness import REPO, TOOLS, PulumiProject

MARK = "<!-- tests/e2e/test_readme.py runs this block"
README_SANDBOX = "http://127.0.0.1:8787"


def readme_block() -> str:
    """The shell block after the README's mark."""
    text = (REPO / "README.md").read_text()
    assert MARK in text, "the README marks no block for a stack of one's own"
    block = re.search(r"```sh\n(.*?)```", text[text.index(MARK) :], re.DOTALL)
    assert block is not None
    return block.group(1)


def test_the_readmes_own_stack_block_works_in_a_fresh_shell(
    project: PulumiProject, sandbox: Sandbox
) -> None:
    block = readme_block()
    # what it promises a newcomer, before any of it runs
    for line in ("pulumi stack init dev", "PULUMI_BACKEND_URL=", "PULUMI_CONFIG_PASSPHRASE="):
        assert line in block, line
    assert block.count(README_SANDBOX) == 1 and DEMO_USER in block and DEMO_PASSWORD in block

    # a checkout after `make demo`: .tools and .venv in the project's root
    (project.root / ".tools").symlink_to(TOOLS.parent)
    fresh = {k: v for k, v in project.env.items() if not k.startswith("PULUMI_CONFIG")}
    del fresh["PULUMI_BACKEND_URL"]
    fresh["PATH"] = os.pathsep.join(d for d in fresh["PATH"].split(os.pathsep) if d != str(TOOLS))
    # PULUMI_HOME, no update check or plugin download: the test's isolation, not the README's
    project.env = fresh
    script = "set -e\n" + block.replace(README_SANDBOX, sandbox.url)
    result = project.shell(script, {})
    assert result.ok, result.output
    assert "+ 3 created" in result.output, result.output  # the room, the stack, its identity

    [room] = sandbox.store.all()
    marker = Marker.parse(room["SystemId"])
    assert (room["Name"], room["BusinessId"]) == ("Lobby", 1001)
    assert marker is not None and marker.path == "nexudus-rooms/dev/lobby"
    assert (project.root / ".pulumi-state" / ".pulumi").is_dir()  # the state where it said
    assert DEMO_PASSWORD not in project.stack_file("dev").read_text()  # encrypted there
