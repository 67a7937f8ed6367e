"""The package as a user's own Pulumi program meets it: installed from its wheel, type-checked
with `mypy --strict`, with the keyword arguments and outputs the reference documents."""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

USER_PROGRAM = """\
import pulumi
from nexudus_pulumi import ChatRoom

lobby = ChatRoom("lobby", business_id=1001, name="Lobby", active=True, users=[11, 12])
events = ChatRoom(
    "events",
    business_id=lobby.business_id,
    last_agent_visit="2025-01-15T10:30:00Z",
    import_id=87654321,
    opts=pulumi.ResourceOptions(depends_on=[lobby]),
)
room_id: pulumi.Output[str] = lobby.id
unique: pulumi.Output[str] = lobby.unique_id
users: pulumi.Output[list[int]] = lobby.users
pulumi.export("rooms", {"lobby": room_id, "events": events.id})
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh environment holding the package as `pip install nexudus-pulumi` would leave it
    (from the wheel, not this checkout), with its dependencies from the test environment."""
    root = tmp_path_factory.mktemp("user")
    source, dist = root / "source", root / "dist"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(REPO / name, source / name)
    # a copy: no build/ left over from an earlier build can slip into the wheel
    skip = shutil.ignore_patterns("__pycache__")
    shutil.copytree(REPO / "nexudus_pulumi", source / "nexudus_pulumi", ignore=skip)
    build = ["pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist)]
    subprocess.run(
        [sys.executable, "-m", *build, str(source)],
        check=True,
        capture_output=True,
    )
    [wheel] = dist.glob("nexudus_pulumi-*.whl")
    env = root / "env"
    venv.create(env, with_pip=False)
    [site] = env.glob("lib/python3*/site-packages")
    with zipfile.ZipFile(wheel) as archive:
        assert "nexudus_pulumi/py.typed" in archive.namelist()
        assert any(name.endswith("licenses/LICENSE") for name in archive.namelist())
        archive.extractall(site)
    # pulumi, pydantic, requests: the ones already installed for the tests
    deps = [p for p in map(Path, sys.path) if p.name == "site-packages" and p.is_dir()]
    (site / "dependencies.pth").write_text("\n".join(str(p) for p in deps) + "\n")
    return env


def mypy(env: Path, program: str, folder: Path) -> subprocess.CompletedProcess[str]:
    folder.mkdir(exist_ok=True)
    (folder / "__main__.py").write_text(program)
    check = ["mypy", "--strict", "--python-executable", str(env / "bin/python")]
    return subprocess.run(
        [sys.executable, "-m", *check, "--cache-dir", str(folder / ".mypy_cache"), "__main__.py"],
        cwd=folder,
        capture_output=True,
        text=True,
    )


def test_a_user_program_passes_mypy_strict(installed: Path, tmp_path: Path) -> None:
    result = mypy(installed, USER_PROGRAM, tmp_path / "ok")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success" in result.stdout


def test_mypy_sees_a_misspelt_or_camel_case_keyword(installed: Path, tmp_path: Path) -> None:
    program = USER_PROGRAM.replace("business_id=1001", "busines_id=1001").replace(
        'name="Lobby"', 'name="Lobby", lastAgentVisit="2025-01-15T10:30:00Z"'
    )
    result = mypy(installed, program, tmp_path / "typo")
    assert result.returncode == 1
    assert 'Unexpected keyword argument "busines_id" for "ChatRoom"' in result.stdout
    assert 'Unexpected keyword argument "lastAgentVisit" for "ChatRoom"' in result.stdout
    assert "py.typed" not in result.stdout  # the package's own hints were read
