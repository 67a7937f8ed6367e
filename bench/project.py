"""A Pulumi project in a temporary folder, driven with the real `pulumi` CLI, as a user runs it.

Each run gets its own copy of the program, file backend, PULUMI_HOME and passphrase, so the
bench never touches a developer's stacks. Credentials reach the provider as NEXUDUS_* variables.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from nexudus_pulumi.sandbox import DEMO_PASSWORD, DEMO_USER

from .procs import Watch, kill_tree

REPO = Path(__file__).resolve().parents[1]
TOOLS = REPO / ".tools" / "bin"
STACK = "bench"
PASSPHRASE = "bench-only-passphrase"
BUSINESS = 1001
_EXCEPTION = re.compile(r"\b[A-Za-z_.]*(?:Error|Exception): .+")


@dataclass(frozen=True)
class Program:
    """One of the programs under test."""

    label: str
    source: Path
    """The folder holding its Pulumi.yaml and __main__.py."""
    project: str
    """Its Pulumi project name, the namespace of its config keys."""


OURS = Program("nexudus-pulumi", REPO, "nexudus-rooms")
NAIVE = Program("naive", REPO / "bench" / "naive", "naive-rooms")
PLUGIN = Program("plugin", REPO / "bench" / "plugin", "plugin-rooms")
"""The same core through the provider plugin `pulumi-resource-nexudus` (bench/plugin/)."""


@dataclass(frozen=True)
class Outcome:
    command: str
    returncode: int
    seconds: float
    output: str
    engine_peak_rss: int = 0
    provider_peak_rss: int | None = None
    over_memory_cap: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def tail(self, lines: int = 40) -> list[str]:
        return self.output.splitlines()[-lines:]

    def first_error(self) -> str:
        """Why a step failed, in one line: the bench stopped it, else the first exception a
        provider raised, else the engine's first `error:` line."""
        if self.over_memory_cap:
            return f"stopped by the bench: engine RSS over {self.engine_peak_rss / 2**30:.1f} GiB"
        lines = [line.strip() for line in self.output.splitlines()]
        for line in lines:
            exception = _EXCEPTION.search(line)
            if exception:
                return exception.group(0).split(" for url: ")[0][:200]
        errors = [line for line in lines if line.startswith("error:")]
        return (errors[0] if errors else (lines[-1] if lines else ""))[:200]


class Project:
    def __init__(self, root: Path, engine: Path, env: dict[str, str], memory_cap: int) -> None:
        self.root = root
        self.engine = engine
        self.env = env
        self.memory_cap = memory_cap
        """Bytes of resident memory the engine may use before the bench stops the command."""

    @classmethod
    def create(
        cls,
        workdir: Path,
        program: Program,
        engine: Path,
        base_url: str,
        client: dict[str, str],
        memory_cap: int,
    ) -> Project:
        root = workdir / "project"
        (root / "stacks").mkdir(parents=True)
        for name in ("Pulumi.yaml", "__main__.py"):
            shutil.copy(program.source / name, root / name)
        (root / ".venv").symlink_to(Path(sys.prefix))
        (workdir / "state").mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NEXUDUS_", "PULUMI_"))}
        env.update(
            {
                # .venv/bin first: the language host runs the program with the python3 it finds
                "PATH": os.pathsep.join([str(TOOLS), str(Path(sys.prefix) / "bin"), env["PATH"]]),
                "PULUMI_HOME": str(workdir / "pulumi-home"),
                "PULUMI_BACKEND_URL": f"file://{workdir / 'state'}",
                "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
                "PULUMI_SKIP_UPDATE_CHECK": "true",
                "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
                "NEXUDUS_BASE_URL": base_url,
                "NEXUDUS_USERNAME": DEMO_USER,
                "NEXUDUS_PASSWORD": DEMO_PASSWORD,
                **client,
            }
        )
        return cls(root, engine, env, memory_cap)

    def init_stack(self, program: Program, rooms: dict[str, dict[str, Any]]) -> None:
        """A new stack whose config declares `rooms`, all in one business."""
        outcome = self.run("stack", "init", STACK, stack=None)
        if not outcome.ok:
            raise RuntimeError(f"pulumi stack init failed:\n{outcome.output}")
        path = self.root / "stacks" / f"Pulumi.{STACK}.yaml"
        document = yaml.safe_load(path.read_text()) if path.exists() else None
        document = document or {}
        document["config"] = {
            f"{program.project}:businessId": BUSINESS,
            f"{program.project}:rooms": rooms,
        }
        path.write_text(yaml.safe_dump(document, sort_keys=False))

    def run(
        self,
        *args: str,
        stack: str | None = STACK,
        timeout: float = 3600,
        env: dict[str, str] | None = None,
    ) -> Outcome:
        command = [str(self.engine), *args, "--non-interactive"]
        if stack:
            command += ["--stack", stack]
        log = self.root.parent / "last-command.log"
        started = time.monotonic()
        with log.open("w+") as output:
            process = subprocess.Popen(
                command,
                cwd=self.root,
                env={**self.env, **(env or {})},
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            with Watch(process.pid, self.memory_cap) as watch:
                try:
                    returncode = process.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    kill_tree(process.pid)
                    returncode = process.wait()
            seconds = time.monotonic() - started
            output.seek(0)
            text = output.read()
        return Outcome(
            " ".join(["pulumi", *args]),
            returncode,
            seconds,
            text,
            watch.engine_peak,
            watch.provider_peak,
            watch.stopped,
        )

    def export(self) -> dict[str, Any]:
        outcome = self.run("stack", "export")
        if not outcome.ok:
            raise RuntimeError(f"pulumi stack export failed:\n{outcome.output}")
        return dict(json.loads(outcome.output[outcome.output.index("{") :]))
