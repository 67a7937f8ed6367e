"""The plugin's SDKs, generated from its schema by Pulumi's own code generators
(scripts/engine/gensdk), as a TypeScript or Go team consumes them: the TypeScript SDK and
examples/typescript type-check with tsc against @pulumi/pulumi from npm, a mistyped property is a
compile error naming it, and the Go SDK builds. Offline: `make engine` installed the generator,
the npm packages (.tools/node) and the Go modules beforehand."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from nexudus_pulumi.schema import schema_text
from tests.e2e.harness import REPO, TOOLS

GENSDK = TOOLS / "nexudus-gensdk"
NODE_MODULES = REPO / ".tools" / "node" / "node_modules"
TSC = NODE_MODULES / ".bin" / "tsc"
EXAMPLE = REPO / "examples" / "typescript"
GO_MODULE = REPO / "scripts" / "sdk" / "go"


@pytest.fixture(scope="module", autouse=True)
def sdk_tools() -> None:
    missing = [str(p) for p in (GENSDK, TSC) if not p.exists()]
    if shutil.which("go") is None:
        missing.append("go")
    if missing:
        message = f"the SDK tools are missing ({', '.join(missing)}); run `make engine`"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)


def generate(folder: Path, language: str) -> Path:
    schema = folder / "schema.json"
    schema.write_text(schema_text())
    out = folder / language
    subprocess.run([str(GENSDK), str(schema), language, str(out)], check=True, timeout=120)
    return out


def tsc(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(TSC), "-p", str(project), "--noEmit"],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_typescript_sdk_and_example_type_check(tmp_path: Path) -> None:
    (tmp_path / "node_modules").symlink_to(NODE_MODULES)
    sdk = generate(tmp_path, "nodejs")
    assert {"chatRoom.ts", "communityGroup.ts", "communityThread.ts", "provider.ts"} <= {
        p.name for p in sdk.iterdir()
    }
    checked = tsc(sdk)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    program = tmp_path / "example"
    program.mkdir()
    shutil.copy(EXAMPLE / "index.ts", program / "index.ts")
    config = (EXAMPLE / "tsconfig.json").read_text()
    paths = '"baseUrl": ".", "paths": {"@nexudus-pulumi/nexudus": ["../nodejs/index.ts"]},'
    (program / "tsconfig.json").write_text(
        config.replace('"strict": true,', f'"strict": true, {paths}')
    )
    checked = tsc(program)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # the schema's types reach the program: a list of ids is no string
    source = (program / "index.ts").read_text().replace("members: [adminUserId]", 'members: "all"')
    (program / "index.ts").write_text(source)
    line = source.splitlines().index('    members: "all",') + 1
    mistyped = tsc(program)
    assert mistyped.returncode != 0
    assert f"index.ts({line},5): error TS2322: Type 'string' is not assignable" in mistyped.stdout
    assert "Input<number>[]" in mistyped.stdout, mistyped.stdout


def test_the_go_sdk_builds(tmp_path: Path) -> None:
    sdk = generate(tmp_path, "go")
    for name in ("go.mod", "go.sum"):
        shutil.copy(GO_MODULE / name, sdk / name)
    built = subprocess.run(
        ["go", "build", "-trimpath", "./..."],
        cwd=sdk,
        env={**os.environ, "GOPROXY": "off", "GOFLAGS": "-mod=readonly"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    assert (sdk / "nexudus" / "chatRoom.go").exists()
