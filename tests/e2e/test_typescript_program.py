"""A TypeScript program on the provider plugin, run end to end as a TypeScript team runs it:
examples/typescript as shipped, on the SDK `make sdk` generates from the plugin's schema,
through the real engine and Pulumi's Node.js language host (`make engine` builds it), which
runs index.ts itself (ts-node, as `pulumi new typescript` sets up), against the sandbox.

One journey: `up` creates the example's records, the one for the second account in that
account; a bad value stops `preview` naming the property before any write; an edit is an update
in place; `refresh` takes in a hand edit; `pulumi import` adopts a room with no write; `destroy`
removes what the stack holds in both accounts. Offline: the npm packages are the ones
`make engine` installed into .tools/node.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from nexudus_pulumi.sandbox import DEMO_PASSWORD, DEMO_USER, Sandbox
from nexudus_pulumi.schema import schema_text
from tests.e2e.harness import FAST, PLUGIN_DIR, REPO, TOOLS, PulumiProject
from tests.helpers import RELAXED

EXAMPLE = REPO / "examples" / "typescript"
NODE_MODULES = REPO / ".tools" / "node" / "node_modules"
TSC = NODE_MODULES / ".bin" / "tsc"
NODE_HOST = TOOLS / "pulumi-language-nodejs"
GENSDK = TOOLS / "nexudus-gensdk"
THREADS = "/api/community/communitythreads"


@pytest.fixture(scope="module", autouse=True)
def node_tools() -> None:
    missing = [str(p) for p in (NODE_HOST, GENSDK, TSC) if not p.exists()]
    if shutil.which("node") is None:
        missing.append("node")
    if missing:
        message = f"the TypeScript tools are missing ({', '.join(missing)}); run `make engine`"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)


def built_sdk(folder: Path) -> Path:
    """The plugin's TypeScript SDK, generated from its schema and compiled, as `npm run build`
    in sdk/nodejs leaves it: the package a program's node_modules holds."""
    folder.mkdir()
    (folder / "schema.json").write_text(schema_text())
    sdk = folder / "nodejs"
    generator = [str(GENSDK), str(folder / "schema.json"), "nodejs", str(sdk)]
    subprocess.run(generator, check=True, capture_output=True, timeout=120)
    (sdk / "node_modules").symlink_to(NODE_MODULES)
    compiled = subprocess.run(
        [str(TSC), "-p", str(sdk)], capture_output=True, text=True, timeout=300
    )
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    shutil.copy(sdk / "package.json", sdk / "bin" / "package.json")
    return sdk / "bin"


def typescript_project(project: PulumiProject, sdk: Path, production: Sandbox) -> None:
    """Turn the harness's checkout into examples/typescript: its program and project file, the
    plugin found through `plugins: providers:`, node_modules as `npm install` would leave it,
    and a stack `dev` whose default account is the sandbox and whose second is `production`."""
    root = project.root
    (root / "__main__.py").unlink()
    for name in ("index.ts", "tsconfig.json", "package.json"):
        shutil.copy(EXAMPLE / name, root / name)
    document = yaml.safe_load((EXAMPLE / "Pulumi.yaml").read_text())
    document["plugins"] = {"providers": [{"name": "nexudus", "path": str(PLUGIN_DIR)}]}
    (root / "Pulumi.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    modules = root / "node_modules"
    modules.mkdir()
    for package in NODE_MODULES.iterdir():
        (modules / package.name).symlink_to(package)
    (modules / "@nexudus-pulumi").mkdir()
    (modules / "@nexudus-pulumi" / "nexudus").symlink_to(sdk)

    project.ok("stack", "init", "dev", stack=None)
    for key, value in {"baseUrl": project.sandbox.url, "username": DEMO_USER, **FAST}.items():
        project.ok("config", "set", f"nexudus:{key}", value)
    project.ok("config", "set", "--secret", "nexudus:password", DEMO_PASSWORD)
    project.ok("config", "set", "productionUrl", production.url)
    project.ok("config", "set", "productionUser", DEMO_USER)
    project.ok("config", "set", "--secret", "productionPassword", DEMO_PASSWORD)


def resources(project: PulumiProject) -> dict[str, dict[str, Any]]:
    """Logical name -> resource in the state, for the plugin's types."""
    found = project.state()["deployment"].get("resources") or []
    return {r["urn"].rsplit("::", 1)[1]: r for r in found if r["type"].startswith("nexudus:index:")}


def edit_program(project: PulumiProject, old: str, new: str) -> None:
    path = project.root / "index.ts"
    source = path.read_text()
    assert old in source, f"{old!r} is not in the program"
    path.write_text(source.replace(old, new, 1))


def test_typescript_program_up_update_refresh_import_destroy(
    project: PulumiProject, tmp_path: Path
) -> None:
    sandbox = project.sandbox
    with Sandbox(limits=RELAXED) as production:
        typescript_project(project, built_sdk(tmp_path / "sdk"), production)

        up = project.ok("up", "--yes")
        held = resources(project)
        stack_id = held["identity"]["outputs"]["stackId"]
        room = sandbox.store.get(int(held["lobby"]["id"]))
        group = sandbox.groups.get(int(held["makers"]["id"]))
        thread = sandbox.stores[THREADS].get(int(held["welcome"]["id"]))
        assert room is not None and group is not None and thread is not None, up.output
        assert (room["Name"], room["Active"], room["BusinessId"]) == ("Lobby", True, 1001)
        assert (group["Name"], group["GroupAccess"], group["Members"]) == ("Makers", 2, [11])
        assert thread["CommunityGroupId"] == group["Id"]  # `makers.id`, a dependency
        assert room["SystemId"] == f"pulumi:nexudus-typescript/dev/lobby#{stack_id}"
        assert sandbox.posts_committed == 3
        # the second account's room went to the second account, and only there
        far = production.store.get(int(held["production-lobby"]["id"]))
        assert far is not None and far["BusinessId"] == 1002, up.output
        assert [r["Name"] for r in production.store.all()] == ["Lobby"]
        assert production.posts_committed == 1

        # A bad value stops preview at check, naming the property, before any write.
        edit_program(project, 'groupAccess: "public"', 'groupAccess: "secret-club"')
        writes = len(sandbox.written)
        failed = project.run("preview")
        assert not failed.ok
        assert "makers" in failed.output and "groupAccess" in failed.output, failed.output
        assert "'restricted', 'public' or 'private'" in failed.output
        assert len(sandbox.written) == writes
        edit_program(project, 'groupAccess: "secret-club"', 'groupAccess: "public"')

        # An edit is an update in place, with the property named in the diff.
        edit_program(project, 'name: "Lobby",\n    active', 'name: "Front desk",\n    active')
        update = project.ok("up", "--yes", "--diff")
        assert '~ name: "Lobby" => "Front desk"' in update.output, update.output
        assert resources(project)["lobby"]["id"] == str(room["Id"])
        assert sandbox.store.get(room["Id"])["Name"] == "Front desk"  # type: ignore[index]
        assert sandbox.posts_committed == 3

        # A hand edit in the admin UI: refresh takes it into the state, not the declaration.
        sandbox.store.update(room["Id"], {"Name": "Renamed by hand"}, "someone")
        project.ok("refresh", "--yes")
        lobby = resources(project)["lobby"]
        assert lobby["outputs"]["name"] == "Renamed by hand"
        assert lobby["inputs"]["name"] == "Front desk"

        # `pulumi import` adopts a room made in the admin UI, with no write. The v3.68 Node.js
        # host cannot write the code (no GenerateProgram), hence --generate-code=false, as
        # docs/plugin.md says.
        legacy = sandbox.store.insert({"BusinessId": 1001, "Name": "Legacy", "Active": True}, "ui")
        writes = len(sandbox.written)
        imported = project.ok(
            "import",
            "nexudus:index:ChatRoom",
            "legacy",
            str(legacy),
            "--yes",
            "--protect=false",
            "--generate-code=false",
        )
        assert "1 imported" in imported.output, imported.output
        assert len(sandbox.written) == writes, sandbox.written[writes:]
        assert resources(project)["legacy"]["id"] == str(legacy)

        # destroy removes what the stack holds in both accounts, the imported room included.
        project.ok("destroy", "--yes")
        assert sandbox.store.all() == []
        assert sandbox.groups.all() == []
        assert sandbox.stores[THREADS].all() == []
        assert production.store.all() == []
