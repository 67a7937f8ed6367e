"""Automation API, as pipelines drive Pulumi: an inline Python program, no project on disk,
run through `up`, `preview`, `refresh` and `destroy` against the sandbox with the real engine.
One program declares the plugin's resources (`nexudus:index:ChatRoom`, by type token: no SDK
needed), the other the dynamic `ChatRoom` of this package; both reach the same records."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pulumi
import pytest
from pulumi import automation as auto
from pulumi.automation import OpType

import nexudus_pulumi
from nexudus_pulumi.sandbox import DEMO_PASSWORD, DEMO_USER, Sandbox
from tests.e2e.harness import FAST, MARKER_VAR, PASSPHRASE, TOOLS, kill_marked, marked_processes

PROJECT = "nexudus-automation"


def plugin_program() -> None:
    identity = pulumi.CustomResource("nexudus:index:StackIdentity", "identity", {"stackId": None})
    room = pulumi.CustomResource(
        "nexudus:index:ChatRoom",
        "lobby",
        {
            "stackId": identity.stackId,  # type: ignore[attr-defined]
            "businessId": 1001,
            "name": "Lobby",
            "systemId": None,
        },
    )
    pulumi.export("marker", room.systemId)  # type: ignore[attr-defined]


def dynamic_program() -> None:
    room = nexudus_pulumi.ChatRoom("lobby", business_id=1001, name="Lobby")
    pulumi.export("marker", room.system_id)


PROGRAMS: dict[str, Callable[[], None]] = {"plugin": plugin_program, "dynamic": dynamic_program}


@pytest.fixture
def marker() -> Iterator[str]:
    """Marks every process the runs start; any left at the end fails the test."""
    mark = uuid.uuid4().hex
    yield mark
    left = kill_marked(mark) if marked_processes(mark) else {}
    assert not left, f"processes left behind (now killed): {left}"


@pytest.mark.parametrize("door", sorted(PROGRAMS))
def test_inline_program_up_preview_refresh_destroy(
    door: str, engine: Path, sandbox: Sandbox, tmp_path: Path, marker: str
) -> None:
    del engine  # the fixture fails the test under CI=true without the engine, skips otherwise
    (tmp_path / "state").mkdir()
    env: dict[str, str] = {
        "PATH": os.pathsep.join([str(Path(sys.prefix) / "bin"), str(TOOLS), os.environ["PATH"]]),
        "PULUMI_HOME": str(tmp_path / "home"),
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_RUNTIME_VIRTUALENV": sys.prefix,  # where the dynamic providers run
        MARKER_VAR: marker,
    }
    settings = auto.ProjectSettings(
        name=PROJECT,
        runtime="python",
        backend=auto.ProjectBackend(url=f"file://{tmp_path / 'state'}"),
    )
    stack = auto.create_stack(
        "dev",
        PROJECT,
        PROGRAMS[door],
        opts=auto.LocalWorkspaceOptions(
            work_dir=str(tmp_path),
            pulumi_home=str(tmp_path / "home"),
            pulumi_command=auto.PulumiCommand(root=str(TOOLS.parent), skip_version_check=True),
            project_settings=settings,
            secrets_provider="passphrase",
            env_vars=env,
        ),
    )
    config: dict[str, auto.ConfigValue] = {
        "nexudus:baseUrl": auto.ConfigValue(sandbox.url),
        "nexudus:username": auto.ConfigValue(DEMO_USER),
        "nexudus:password": auto.ConfigValue(DEMO_PASSWORD, secret=True),
        **{f"nexudus:{key}": auto.ConfigValue(value) for key, value in FAST.items()},
    }
    stack.set_all_config(config)

    up = stack.up()
    [room] = sandbox.store.all()
    assert (room["BusinessId"], room["Name"]) == (1001, "Lobby")
    assert up.outputs["marker"].value == room["SystemId"]
    assert str(room["SystemId"]).startswith(f"pulumi:{PROJECT}/dev/lobby#")

    preview = stack.preview()
    assert set(preview.change_summary) == {OpType.SAME}

    sandbox.store.update(room["Id"], {"Name": "Renamed by hand"}, "someone")
    refreshed = stack.refresh()
    assert (refreshed.summary.resource_changes or {}).get(OpType.UPDATE) == 1
    assert stack.preview().change_summary.get(OpType.UPDATE) == 1  # `up` would put it back

    stack.destroy()
    assert sandbox.store.all() == []
    stack.workspace.remove_stack("dev")
