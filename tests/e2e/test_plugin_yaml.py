"""The provider plugin `pulumi-resource-nexudus` driven by a Pulumi YAML program, as a platform
team with a YAML (or TypeScript) codebase uses it: examples/yaml as shipped, the real engine and
`pulumi-language-yaml` from `make engine`, the plugin from `make venv`, against the sandbox.

One journey, to keep the suite lean: `up` creates the room, the group and the thread posted in
it, each marked as the stack's; a bad value stops `preview` naming the property before any
write; an edit is an update in place; `refresh` takes in a hand edit; `pulumi import` adopts a
room made in the admin UI with no write and writes its YAML; a missing id is an error naming
it; `destroy` removes what the stack holds. A second test: an explicit provider per account.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from nexudus_pulumi.sandbox import DEMO_PASSWORD, DEMO_USER, Sandbox
from tests.e2e.harness import FAST, PLUGIN_DIR, REPO, PulumiProject
from tests.helpers import RELAXED

EXAMPLE = REPO / "examples" / "yaml" / "Pulumi.yaml"
THREADS = "/api/community/communitythreads"


def yaml_project(project: PulumiProject, program: dict[str, Any] | None = None) -> None:
    """Turn the harness's checkout into the YAML example (or `program`), the plugin found
    through `plugins: providers:` as the example's header says, and a stack `dev` on the
    sandbox."""
    (project.root / "__main__.py").unlink()
    document = program if program is not None else yaml.safe_load(EXAMPLE.read_text())
    document["plugins"] = {"providers": [{"name": "nexudus", "path": str(PLUGIN_DIR)}]}
    (project.root / "Pulumi.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    project.ok("stack", "init", "dev", stack=None)
    config = {"baseUrl": project.sandbox.url, "username": DEMO_USER, **FAST}
    for key, value in config.items():
        project.ok("config", "set", f"nexudus:{key}", value)
    project.ok("config", "set", "--secret", "nexudus:password", DEMO_PASSWORD)


def resources(project: PulumiProject) -> dict[str, dict[str, Any]]:
    """Logical name -> resource in the state, for the plugin's types."""
    found = project.state()["deployment"].get("resources") or []
    return {r["urn"].rsplit("::", 1)[1]: r for r in found if r["type"].startswith("nexudus:index:")}


def edit_program(project: PulumiProject, resource: str, **properties: Any) -> None:
    path = project.root / "Pulumi.yaml"
    document = yaml.safe_load(path.read_text())
    document["resources"][resource]["properties"].update(properties)
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def test_yaml_program_up_update_refresh_import_destroy(project: PulumiProject) -> None:
    sandbox = project.sandbox
    yaml_project(project)

    up = project.ok("up", "--yes")
    held = resources(project)
    stack_id = held["identity"]["outputs"]["stackId"]
    room = sandbox.store.get(int(held["lobby"]["id"]))
    group = sandbox.groups.get(int(held["makers"]["id"]))
    thread = sandbox.stores[THREADS].get(int(held["welcome"]["id"]))
    assert room is not None and group is not None and thread is not None, up.output
    assert (room["Name"], room["Active"], room["BusinessId"]) == ("Lobby", True, 1001)
    assert (group["Name"], group["GroupAccess"], group["Members"]) == ("Makers", 2, [11])
    assert thread["CommunityGroupId"] == group["Id"]  # `${makers.id}`, a dependency
    # the owner marker has the dynamic resources' shape, with the plugin's stack identity
    assert room["SystemId"] == f"pulumi:nexudus-yaml/dev/lobby#{stack_id}"
    assert sandbox.posts_committed == 3

    # A bad value stops preview at check, naming the property, before any write.
    edit_program(project, "makers", groupAccess="secret-club")
    writes = len(sandbox.written)
    failed = project.run("preview")
    assert not failed.ok
    assert re.search(r"makers.*groupAccess|groupAccess.*makers", failed.output), failed.output
    assert "'restricted', 'public' or 'private'" in failed.output
    assert len(sandbox.written) == writes
    edit_program(project, "makers", groupAccess="public")

    # An edit is an update in place, with the property named in the diff.
    edit_program(project, "lobby", name="Front desk")
    update = project.ok("up", "--yes", "--diff")
    assert '~ name: "Lobby" => "Front desk"' in update.output, update.output
    assert resources(project)["lobby"]["id"] == str(room["Id"])
    assert sandbox.store.get(room["Id"])["Name"] == "Front desk"  # type: ignore[index]
    assert sandbox.posts_committed == 3

    # A hand edit in the admin UI: refresh takes it into the state, not into the declaration.
    sandbox.store.update(room["Id"], {"Name": "Renamed by hand"}, "someone")
    project.ok("refresh", "--yes")
    lobby = resources(project)["lobby"]
    assert lobby["outputs"]["name"] == "Renamed by hand"
    assert lobby["inputs"]["name"] == "Front desk"

    # `pulumi import` adopts a room made in the admin UI: no write, its YAML generated, and
    # the inputs read by id alone are ones check accepts (no validation warning).
    legacy = sandbox.store.insert(
        {"BusinessId": 1001, "Name": "Legacy", "Active": True, "Users": [12, 13]}, "ui"
    )
    writes = len(sandbox.written)
    code = project.root / "imported.yaml"
    imported = project.ok(
        "import",
        "nexudus:index:ChatRoom",
        "legacy",
        str(legacy),
        "--yes",
        "--protect=false",
        "--out",
        str(code),
    )
    assert len(sandbox.written) == writes, sandbox.written[writes:]
    assert "failed to validate" not in imported.output, imported.output
    generated = yaml.safe_load(code.read_text())["resources"]["legacy"]
    assert generated["properties"] == {
        "active": True,
        "businessId": 1001,
        "name": "Legacy",
        "users": [12, 13],
    }
    assert resources(project)["legacy"]["id"] == str(legacy)

    # A record another resource's marker names is not imported under another key.
    taken = project.run("import", "nexudus:index:ChatRoom", "other", str(room["Id"]), "--yes")
    assert not taken.ok
    assert f"is managed by the Pulumi resource nexudus-yaml/dev/lobby (stack id {stack_id})" in (
        taken.output
    ), taken.output
    assert "Unexpected <class" not in taken.output and 'File "' not in taken.output  # no stack

    # The `import` resource option adopts from the program, as declared: no write either.
    # The imported room, now declared (renamed), gets its marker at this first update.
    kiosk = sandbox.store.insert({"BusinessId": 1001, "Name": "Kiosk", "Active": True}, "ui")
    path = project.root / "Pulumi.yaml"
    document = yaml.safe_load(path.read_text())
    document["resources"]["kiosk"] = {
        "type": "nexudus:index:ChatRoom",
        "properties": {"businessId": 1001, "name": "Kiosk", "active": True},
        "options": {"import": str(kiosk)},
    }
    declared = {**generated["properties"], "name": "Legacy lounge"}
    document["resources"]["legacy"] = {
        "type": "nexudus:index:ChatRoom",
        "properties": {"stackId": "${identity.stackId}", **declared},
    }
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    posts = sandbox.posts_committed
    adopted = project.ok("up", "--yes")  # (it also puts the lobby's hand edit back)
    assert "1 imported" in adopted.output, adopted.output
    assert resources(project)["kiosk"]["id"] == str(kiosk)
    assert sandbox.posts_committed == posts
    assert [w for w in sandbox.written if (w[2] or {}).get("Id") == kiosk] == []
    marked = sandbox.store.get(legacy)
    assert marked is not None
    assert (marked["Name"], marked["SystemId"]) == (
        "Legacy lounge",
        f"pulumi:nexudus-yaml/dev/legacy#{stack_id}",
    )

    missing = project.run("import", "nexudus:index:ChatRoom", "ghost", "99999999", "--yes")
    assert not missing.ok
    assert "ChatRoom id 99999999 was not found" in missing.output, missing.output

    # destroy removes every record the stack holds, the adopted room included.
    project.ok("destroy", "--yes")
    assert sandbox.store.all() == []
    assert sandbox.groups.all() == []
    assert sandbox.stores[THREADS].all() == []


def test_two_accounts_in_one_program(project: PulumiProject) -> None:
    """An explicit provider resource per account: the default one (stack config) and one for
    production, each with its own address and secret password."""
    with Sandbox(limits=RELAXED) as production:
        program: dict[str, Any] = {
            "name": "nexudus-yaml",
            "runtime": "yaml",
            "config": {"prodUrl": {"type": "string"}, "prodPassword": {"type": "string"}},
            "resources": {
                "prod": {
                    "type": "pulumi:providers:nexudus",
                    "properties": {
                        "baseUrl": "${prodUrl}",
                        "username": DEMO_USER,
                        "password": "${prodPassword}",
                        **{key: int(value) for key, value in FAST.items()},
                    },
                },
                "staging-lobby": {
                    "type": "nexudus:index:ChatRoom",
                    "properties": {"businessId": 1001, "name": "Lobby"},
                },
                "prod-lobby": {
                    "type": "nexudus:index:ChatRoom",
                    "properties": {"businessId": 1002, "name": "Lobby"},
                    "options": {"provider": "${prod}"},
                },
            },
        }
        yaml_project(project, program)
        project.ok("config", "set", "prodUrl", production.url)
        project.ok("config", "set", "--secret", "prodPassword", DEMO_PASSWORD)
        project.ok("up", "--yes")
        staging_rooms = [(r["BusinessId"], r["Name"]) for r in project.sandbox.store.all()]
        prod_rooms = [(r["BusinessId"], r["Name"]) for r in production.store.all()]
        assert (staging_rooms, prod_rooms) == ([(1001, "Lobby")], [(1002, "Lobby")])
        state = json.dumps(project.state())
        assert DEMO_PASSWORD not in state  # the provider's password is kept as a secret
        project.ok("destroy", "--yes")
        assert production.store.all() == [] and project.sandbox.store.all() == []
