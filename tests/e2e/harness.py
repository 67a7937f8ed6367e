"""Runs the real `pulumi` CLI on a copy of this project, against an in-process sandbox.

Each test gets its own project folder, file backend, PULUMI_HOME and passphrase, so runs never
share state with each other or with a developer's own stacks.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from nexudus_pulumi.sandbox import DEMO_PASSWORD, DEMO_USER, Sandbox

REPO = Path(__file__).resolve().parents[2]
TOOLS = REPO / ".tools" / "bin"
ROOM_TYPE = "pulumi-python:dynamic/nexudus:ChatRoom"
PASSPHRASE = "e2e-passphrase"


def find_engine() -> tuple[Path | None, str]:
    """The `pulumi` binary to use, or None and the reason it cannot be used."""
    candidates = [TOOLS / "pulumi"]
    on_path = shutil.which("pulumi")
    if on_path:
        candidates.append(Path(on_path))
    for pulumi in candidates:
        if not (pulumi.exists() and os.access(pulumi, os.X_OK)):
            continue
        folder = pulumi.resolve().parent
        missing = [
            plugin
            for plugin in ("pulumi-language-python", "pulumi-resource-pulumi-python")
            if not (TOOLS / plugin).exists()
            and not (folder / plugin).exists()
            and not shutil.which(plugin)
        ]
        if missing:
            return None, f"{pulumi} found but not {', '.join(missing)}"
        try:
            subprocess.run([pulumi, "version"], check=True, capture_output=True, timeout=60)
        except (OSError, subprocess.SubprocessError) as exc:
            return None, f"{pulumi} does not start: {exc}"
        return pulumi, ""
    return None, "no pulumi CLI in .tools/bin or on PATH"


@dataclass
class Result:
    command: str
    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


@dataclass
class PulumiProject:
    """A user's checkout of this project, with `pulumi` commands run in it."""

    root: Path
    engine: Path
    sandbox: Sandbox
    env: dict[str, str] = field(default_factory=dict)
    transcript: list[Result] = field(default_factory=list)

    @classmethod
    def create(cls, workdir: Path, engine: Path, sandbox: Sandbox) -> PulumiProject:
        root = workdir / "project"
        (root / "stacks").mkdir(parents=True)
        for name in ("Pulumi.yaml", "__main__.py"):
            shutil.copy(REPO / name, root / name)
        (root / ".venv").symlink_to(Path(sys.prefix))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NEXUDUS_", "PULUMI_"))}
        env.update(
            {
                # .venv/bin on PATH: the language host runs the program with the python3 it finds
                "PATH": os.pathsep.join([str(TOOLS), str(Path(sys.prefix) / "bin"), env["PATH"]]),
                "PULUMI_HOME": str(workdir / "pulumi-home"),
                "PULUMI_BACKEND_URL": f"file://{workdir / 'state'}",
                "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
                "PULUMI_SKIP_UPDATE_CHECK": "true",
                "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            }
        )
        (workdir / "state").mkdir()
        return cls(root=root, engine=engine, sandbox=sandbox, env=env)

    # ----- running the CLI ----------------------------------------------------------------

    def start(self, *args: str, stack: str | None = "dev") -> subprocess.Popen[str]:
        """Start a command without waiting (for tests that interrupt it)."""
        return subprocess.Popen(
            self._command(args, stack),
            cwd=self.root,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    def run(self, *args: str, stack: str | None = "dev", timeout: float = 900) -> Result:
        completed = subprocess.run(
            self._command(args, stack),
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        result = Result(
            " ".join(["pulumi", *args]), completed.returncode, completed.stdout + completed.stderr
        )
        self.transcript.append(result)
        return result

    def ok(self, *args: str, stack: str | None = "dev", timeout: float = 900) -> Result:
        result = self.run(*args, stack=stack, timeout=timeout)
        assert result.ok, f"`{result.command}` failed:\n{result.output}"
        return result

    def _command(self, args: tuple[str, ...], stack: str | None) -> list[str]:
        command = [str(self.engine), *args, "--non-interactive"]
        return [*command, "--stack", stack] if stack else command

    # ----- stacks and their config ----------------------------------------------------------

    def init_stack(
        self, stack: str, *, business: int | None, rooms: dict[str, Any], **nexudus: str
    ) -> None:
        """A new stack pointed at the sandbox; the password goes in as a config secret."""
        self.ok("stack", "init", stack, stack=None)
        self.ok("config", "set", "nexudus:baseUrl", self.sandbox.url, stack=stack)
        self.ok("config", "set", "nexudus:username", DEMO_USER, stack=stack)
        self.ok("config", "set", "--secret", "nexudus:password", DEMO_PASSWORD, stack=stack)
        for key, value in nexudus.items():
            self.ok("config", "set", f"nexudus:{key}", value, stack=stack)
        self.declare(stack, rooms, business=business)

    def stack_file(self, stack: str) -> Path:
        return self.root / "stacks" / f"Pulumi.{stack}.yaml"

    def declare(
        self,
        stack: str,
        rooms: dict[str, Any] | None,
        *,
        business: int | None = None,
        groups: dict[str, Any] | None = None,
    ) -> None:
        """Edit the stack's YAML as a user would: the rooms and groups maps (None: the key is
        removed) and the default business."""
        path = self.stack_file(stack)
        document = yaml.safe_load(path.read_text()) or {}
        config = document.setdefault("config", {})
        for key, records in (("rooms", rooms), ("groups", groups)):
            if records is None:
                config.pop(f"nexudus-rooms:{key}", None)
            else:
                config[f"nexudus-rooms:{key}"] = records
        if business is None:
            config.pop("nexudus-rooms:businessId", None)
        else:
            config["nexudus-rooms:businessId"] = business
        path.write_text(yaml.safe_dump(document, sort_keys=False))

    def rooms(self, stack: str = "dev") -> dict[str, Any]:
        document = yaml.safe_load(self.stack_file(stack).read_text())
        return dict(document["config"]["nexudus-rooms:rooms"])

    # ----- what Pulumi holds -----------------------------------------------------------------

    def state(self, stack: str = "dev") -> dict[str, Any]:
        exported = self.ok("stack", "export", stack=stack).output
        return dict(json.loads(exported[exported.index("{") :]))

    def room_ids(self, stack: str = "dev") -> dict[str, str]:
        """Logical name -> id of every ChatRoom in the stack's state."""
        resources = self.state(stack)["deployment"].get("resources") or []
        return {r["urn"].rsplit("::", 1)[1]: r["id"] for r in resources if r["type"] == ROOM_TYPE}

    def output_rooms(self, stack: str = "dev") -> dict[str, str]:
        result = self.ok("stack", "output", "rooms", "--json", stack=stack)
        return dict(json.loads(result.output[result.output.index("{") :]))

    def state_files(self) -> list[Path]:
        return [p for p in (self.root.parent / "state").rglob("*") if p.is_file()]

    def sandbox_rooms(self) -> dict[str, dict[str, Any]]:
        """id -> record of every room the sandbox holds."""
        return {str(r["Id"]): r for r in self.sandbox.store.all()}
