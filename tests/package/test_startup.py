"""Importing the package, its sandbox or its command line loads neither Pulumi nor gRPC, which
take seconds: `nexudus-pulumi --help` and a test's sandbox start without them, and the package
still offers every public name, each loaded on first use. The sandbox imports nothing of the
provider: it follows the Nexudus reference alone, so tests compare two implementations.

Each import check runs a fresh interpreter: this one has long imported everything.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version

import pytest

import nexudus_pulumi
from nexudus_pulumi import client, errors, resources

HEAVY = ("pulumi", "grpc")
MARKER = "\nMODULES "


def loaded_by(code: str) -> list[str]:
    """The modules in `sys.modules` once `code` has run in a fresh interpreter."""
    script = f"{code}\nimport json, sys\nprint({MARKER!r}, json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    found = json.loads(done.stdout[done.stdout.rindex(MARKER) + len(MARKER) :])
    assert isinstance(found, list)
    return [str(name) for name in found]


def heavy(modules: list[str]) -> list[str]:
    return [m for m in modules if m.split(".")[0] in HEAVY]


@pytest.mark.parametrize(
    "module",
    [
        "nexudus_pulumi",
        "nexudus_pulumi.sandbox",
        "nexudus_pulumi.sandbox.server",
        "nexudus_pulumi.sandbox.state",
    ],
)
def test_importing_the_package_or_its_sandbox_loads_neither_pulumi_nor_grpc(module: str) -> None:
    assert heavy(loaded_by(f"import {module}")) == []


SERVE_ONE_LISTING = """\
import base64, urllib.request
from nexudus_pulumi.sandbox import *
with Sandbox() as sandbox:
    basic = base64.b64encode(f"{DEMO_USER}:{DEMO_PASSWORD}".encode()).decode()
    listing = urllib.request.Request(
        sandbox.url + "/api/support/chatrooms", headers={"Authorization": f"Basic {basic}"}
    )
    with urllib.request.urlopen(listing) as answer:
        assert answer.status == 200
"""


def test_a_serving_sandbox_loads_nothing_of_the_provider() -> None:
    """All of the sandbox, loaded and answering a request: its own modules and the package's
    `__init__`, no other (not the provider's models or settings), and neither Pulumi nor gRPC."""
    modules = loaded_by(SERVE_ONE_LISTING)
    ours = {m for m in modules if m.split(".")[0] == "nexudus_pulumi"}
    assert heavy(modules) == []
    assert {"nexudus_pulumi.sandbox.server", "nexudus_pulumi.sandbox.endpoints"} <= ours
    assert {m for m in ours if not m.startswith("nexudus_pulumi.sandbox")} == {"nexudus_pulumi"}


HELP = """\
from nexudus_pulumi.cli import main
try:
    main(["--help"])
except SystemExit:
    pass
"""


def test_the_command_lines_help_loads_no_command_it_does_not_run() -> None:
    """`--help` builds every command's parser and runs none: the tools and the sandbox's server
    load when their command runs."""
    loaded = set(loaded_by(HELP))
    commands = ["export", "clone", "probe", "stackconfig", "sandbox.server", "sandbox.state"]
    assert [c for c in commands if f"nexudus_pulumi.{c}" in loaded] == []


def test_the_command_lines_help_loads_neither_pulumi_nor_grpc() -> None:
    assert heavy(loaded_by(HELP)) == []


def test_the_package_offers_every_public_name_on_first_use() -> None:
    names = {*resources.__all__, "NexudusClient", "NexudusError", "__version__"}
    assert set(nexudus_pulumi.__all__) == names
    for name in resources.__all__:
        assert getattr(nexudus_pulumi, name) is getattr(resources, name)
    assert nexudus_pulumi.NexudusClient is client.NexudusClient
    assert nexudus_pulumi.NexudusError is errors.NexudusError
    assert nexudus_pulumi.__version__ == version("nexudus-pulumi")
    star: dict[str, object] = {}
    exec("from nexudus_pulumi import *", star)
    assert names <= set(star)
    assert names <= set(dir(nexudus_pulumi))
    with pytest.raises(AttributeError, match="no attribute 'Chatroom'"):
        _ = nexudus_pulumi.Chatroom  # type: ignore[attr-defined]
