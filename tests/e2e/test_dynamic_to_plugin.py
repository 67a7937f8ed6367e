"""docs/guides/dynamic-to-plugin.md, walked with the real engine: a room of this project's stack
(the dynamic ChatRoom) moves to a Pulumi YAML program on the plugin, not re-created, its id and
owner (stack id and key) kept; the old stack then forgets it without deleting it."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from nexudus_pulumi.sandbox import DEMO_PASSWORD, DEMO_USER
from tests.e2e.harness import FAST, PLUGIN_DIR, ROOM_TYPE, PulumiProject

IDENTITY_TYPE = "pulumi-python:dynamic/nexudus:StackIdentity"


def test_a_dynamic_stacks_room_moves_to_the_plugin_without_a_create(
    project: PulumiProject, tmp_path: Path
) -> None:
    sandbox = project.sandbox
    project.init_stack("dev", business=1001, rooms={"lobby": {"name": "Lobby"}}, **FAST)
    project.ok("up", "--yes")
    old = {r["type"]: r for r in project.state()["deployment"]["resources"]}
    stack_id, room_id = old[IDENTITY_TYPE]["id"], old[ROOM_TYPE]["id"]
    room_urn = old[ROOM_TYPE]["urn"]
    assert sandbox.store.get(int(room_id))["SystemId"] == (  # type: ignore[index]
        f"pulumi:nexudus-rooms/dev/lobby#{stack_id}"
    )

    # 2. the new program, its stack, and the import of the stack id and the room
    new = PulumiProject.create(tmp_path / "new", project.engine, sandbox)
    try:
        (new.root / "__main__.py").unlink()
        program = {
            "name": "nexudus-yaml",
            "runtime": "yaml",
            "plugins": {"providers": [{"name": "nexudus", "path": str(PLUGIN_DIR)}]},
            "resources": {
                "identity": {"type": "nexudus:index:StackIdentity"},
                "lobby": {
                    "type": "nexudus:index:ChatRoom",
                    "properties": {
                        "stackId": "${identity.stackId}",
                        "businessId": 1001,
                        "name": "Lobby",
                    },
                },
            },
        }
        (new.root / "Pulumi.yaml").write_text(yaml.safe_dump(program, sort_keys=False))
        new.ok("stack", "init", "dev", stack=None)
        for key, value in {"baseUrl": sandbox.url, "username": DEMO_USER, **FAST}.items():
            new.ok("config", "set", f"nexudus:{key}", value)
        new.ok("config", "set", "--secret", "nexudus:password", DEMO_PASSWORD)
        imports = {
            "resources": [
                {"type": "nexudus:index:StackIdentity", "name": "identity", "id": stack_id},
                {"type": "nexudus:index:ChatRoom", "name": "lobby", "id": room_id},
            ]
        }
        (new.root / "import.json").write_text(json.dumps(imports))
        writes = len(sandbox.written)
        new.ok("import", "--file", "import.json", "--protect=false", "--yes", "--out", "out.yaml")
        assert len(sandbox.written) == writes  # an import reads, never writes
        generated = yaml.safe_load((new.root / "out.yaml").read_text())["resources"]["lobby"]
        # the owner is kept: the record's stack id, which the code names by the identity's id
        assert generated["properties"]["stackId"] == "${identity.id}"

        # 3. `up` creates nothing: the marker's path follows the new project, in place
        moved = new.ok("up", "--yes")
        assert sandbox.posts_committed == 1, moved.output  # the old stack's create, only
        [room] = sandbox.store.all()
        assert str(room["Id"]) == room_id
        assert room["SystemId"] == f"pulumi:nexudus-yaml/dev/lobby#{stack_id}"

        # 4. the old stack forgets it: out of its config and its state, deleting nothing
        project.declare("dev", {}, business=1001)
        project.ok("state", "delete", room_urn, "--yes")
        project.ok("up", "--yes")
        assert [r["Id"] for r in sandbox.store.all()] == [room["Id"]]

        new.ok("destroy", "--yes")  # the new program holds it now
        assert sandbox.store.all() == []
    finally:
        assert new.close() == {}
