"""Runs the real `pulumi` CLI on a copy of this project, against an in-process sandbox.

Each test gets its own project folder, file backend, PULUMI_HOME and passphrase, so runs never
share state with each other or with a developer's own stacks. PATH holds the engine's folder and
the system's, never the virtualenv's: the language host must find `.venv` through Pulumi.yaml,
as it does for a user who only put `.tools/bin` on PATH.

Every process a project starts carries a marker in its environment (the engine's plugins sit in
process groups of their own, so a process group does not cover them); `close()` finds the ones
still alive, kills them and reports them, so no test leaves a process behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import yaml

from nexudus_pulumi.sandbox import DEMO_PASSWORD, DEMO_USER, Sandbox

REPO = Path(__file__).resolve().parents[2]
TOOLS = REPO / ".tools" / "bin"
PLUGIN_DIR = Path(sys.prefix) / "bin"
"""Where `make venv` puts the provider plugin `pulumi-resource-nexudus`."""
ROOM_TYPE = "pulumi-python:dynamic/nexudus:ChatRoom"
GROUP_TYPE = "pulumi-python:dynamic/nexudus:CommunityGroup"
FAST = {"minIntervalMs": "0", "requestsPerMinute": "100000", "writesPerMinute": "100000"}
"""`nexudus:*` pacing that keeps the sandbox's relaxed limits from slowing a test."""
PASSPHRASE = "e2e-passphrase"
MARKER_VAR = "NEXUDUS_PULUMI_E2E_RUN"
EXIT_GRACE_SECONDS = 15.0
"""How long processes may take to exit after the command that started them has ended."""


def _declared_maps(config: dict[str, Any]) -> list[str]:
    """The stack maps (`rooms`, `groups`...) a stack's config sets."""
    return [
        key.split(":", 1)[1]
        for key in config
        if key.startswith("nexudus-rooms:") and key != "nexudus-rooms:businessId"
    ]


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


def marked_processes(marker: str) -> dict[int, str]:
    """pid -> command line of every live process whose environment carries the marker."""
    needle = f"{MARKER_VAR}={marker}".encode()
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if needle in environ.split(b"\0"):
            found[int(entry.name)] = cmdline.replace(b"\0", b" ").decode(errors="replace").strip()
    return found


def kill_marked(marker: str) -> dict[int, str]:
    """SIGKILL every process carrying the marker, as a runner cancelling a job does; returns
    what was alive."""
    alive = marked_processes(marker)
    for pid in alive:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return alive


def python_trap(folder: Path) -> Path:
    """A folder holding `python` and `python3` that fail loudly: first on PATH, they prove that
    the program and its providers run with the project's virtualenv, not whatever is on PATH."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("python", "python3"):
        trap = folder / name
        trap.write_text(
            "#!/bin/sh\necho \"the python on PATH ran ($0 $*); Pulumi.yaml's virtualenv was "
            'ignored" >&2\nexit 97\n'
        )
        trap.chmod(0o755)
    return folder


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
    marker: str = field(default_factory=lambda: uuid.uuid4().hex)

    @classmethod
    def create(cls, workdir: Path, engine: Path, sandbox: Sandbox) -> PulumiProject:
        root = workdir / "project"
        (root / "stacks").mkdir(parents=True)
        for name in ("Pulumi.yaml", "__main__.py"):
            shutil.copy(REPO / name, root / name)
        (root / ".venv").symlink_to(Path(sys.prefix))
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("NEXUDUS_", "PULUMI_")) and k != "VIRTUAL_ENV"
        }
        venv_bin = str(Path(sys.prefix) / "bin")
        system_path = [d for d in env["PATH"].split(os.pathsep) if d and d != venv_bin]
        env.update(
            {
                # as a user has it: the engine's folder, then the system's; a python found there
                # is a trap, so a run that ignored Pulumi.yaml's virtualenv fails
                "PATH": os.pathsep.join(
                    [str(TOOLS), str(python_trap(workdir / "trap")), *system_path]
                ),
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
        """Start a command without waiting (for tests that interrupt it or run two at once);
        `finish` collects it."""
        return self._popen(self._command(args, stack), self.env)

    def shell(self, line: str, env: dict[str, str], timeout: float = 900) -> Result:
        """Run a line of shell as a CI job's script does, with the job's environment added."""
        return self.finish(self._popen(["bash", "-c", line], {**self.env, **env}), timeout)

    def _popen(self, argv: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
        return subprocess.Popen(
            argv,
            cwd=self.root,
            env={**env, MARKER_VAR: self.marker},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    def finish(self, process: subprocess.Popen[str], timeout: float = 900) -> Result:
        """Wait for a started command; past the timeout, kill everything it started and fail."""
        argv = cast(list[str], process.args)
        command = " ".join(["pulumi", *argv[1:]]) if argv[0] == str(self.engine) else argv[-1]
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_marked(self.marker)
            output, _ = process.communicate()
            raise AssertionError(
                f"`{command}` still ran after {timeout:.0f} s; killed it and its plugins:\n{output}"
            ) from None
        result = Result(command, process.returncode, output)
        self.transcript.append(result)
        return result

    def run(self, *args: str, stack: str | None = "dev", timeout: float = 900) -> Result:
        return self.finish(self.start(*args, stack=stack), timeout=timeout)

    def kill_all(self) -> None:
        """`kill -9` of every process this project started (pulumi, its language host, the
        program, the provider): what a runner does to a cancelled pipeline."""
        kill_marked(self.marker)

    def kill_up_once(self, ready: Callable[[], bool], within: float = 120) -> None:
        """Start `pulumi up --yes --skip-preview` and, as soon as `ready()` holds (or after
        `within` seconds), `kill_all` of it: a cancelled pipeline job caught mid-run. Fails
        when the run finished before it could be killed."""
        run = self.start("up", "--yes", "--skip-preview")
        deadline = time.monotonic() + within
        while not ready() and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert run.poll() is None, "pulumi up finished before it could be killed"
        self.kill_all()
        self.finish(run)

    def close(self) -> dict[int, str]:
        """After a test: give processes a moment to exit, then kill and return any left."""
        deadline = time.monotonic() + EXIT_GRACE_SECONDS
        while marked_processes(self.marker) and time.monotonic() < deadline:
            time.sleep(0.1)
        return kill_marked(self.marker)

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
        **maps: dict[str, Any] | None,
    ) -> None:
        """Edit the stack's YAML as a user would: the rooms map and any other (`groups=...`;
        None, or a map not given: the key is removed), and the default business."""
        path = self.stack_file(stack)
        document = yaml.safe_load(path.read_text()) or {}
        config = document.setdefault("config", {})
        for key, records in {
            **dict.fromkeys(_declared_maps(config)),
            **maps,
            "rooms": rooms,
        }.items():
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


# ----- helpers the end-to-end modules share -------------------------------------------------


def settle(sandbox: Sandbox) -> None:
    """Wait until the sandbox has recorded every request of the run: it records each before
    its answer leaves, so once no request is being served (one a client gave up on may still
    be), its list is whole. This sandbox's own count: handler threads of the test process may
    belong to another sandbox, whose client a test left with a keep-alive connection."""
    sandbox.wait_idle(timeout=60)


def run_cli(project: PulumiProject, *args: str, env: dict[str, str]) -> Result:
    """`nexudus-pulumi ...` in the project's root with exactly `env`; its result, not checked
    (for a test of a command that should fail)."""
    done = subprocess.run(
        [str(Path(sys.prefix) / "bin" / "nexudus-pulumi"), *args],
        cwd=project.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return Result(" ".join(["nexudus-pulumi", *args]), done.returncode, done.stdout + done.stderr)


def cli(project: PulumiProject, *args: str) -> Result:
    """`nexudus-pulumi ...` in the project's root, with NEXUDUS_* credentials for the sandbox."""
    env = {
        **project.env,
        "NEXUDUS_BASE_URL": project.sandbox.url,
        "NEXUDUS_USERNAME": DEMO_USER,
        "NEXUDUS_PASSWORD": DEMO_PASSWORD,
        "NEXUDUS_MIN_INTERVAL_MS": "0",
    }
    result = run_cli(project, *args, env=env)
    project.transcript.append(result)
    assert result.ok, f"`{result.command}` failed:\n{result.output}"
    return result


def assert_cloned(
    records: dict[str, dict[str, Any]],
    clone_ids: dict[str, str],
    source_ids: dict[str, str],
    managed: Callable[[dict[str, Any]], Any],
) -> None:
    """A clone to business 1002 has the source's keys, and each of its records holds what the
    source's record of the same key holds in every field a stack manages (`managed`).
    `records`: id -> record of everything the sandbox holds; the ids: key -> id per stack."""
    assert sorted(clone_ids) == sorted(source_ids)
    for key, record_id in clone_ids.items():
        copy, original = records[record_id], records[source_ids[key]]
        assert copy["BusinessId"] == 1002
        assert managed(copy) == managed(original), key


def adopted_legacy_room(project: PulumiProject) -> int:
    """A room made in Nexudus's admin UI ('Legacy', business 1001), adopted by the stack dev
    under the key `legacy` through `importId`, and `up`: its id."""
    legacy = project.sandbox.store.insert({"BusinessId": 1001, "Name": "Legacy"}, "ui")
    project.init_stack(
        "dev", business=1001, rooms={"legacy": {"name": "Legacy", "importId": legacy}}
    )
    project.ok("up", "--yes")
    return legacy


def group_states(project: PulumiProject, stack: str = "dev") -> dict[str, dict[str, Any]]:
    """Logical name -> the CommunityGroup's resource in the stack's state (id, outputs...)."""
    resources = project.state(stack)["deployment"].get("resources") or []
    return {r["urn"].rsplit("::", 1)[1]: r for r in resources if r["type"] == GROUP_TYPE}


def group_ids(project: PulumiProject, stack: str = "dev") -> dict[str, str]:
    return {key: r["id"] for key, r in group_states(project, stack).items()}


def held(sandbox: Sandbox) -> dict[str, dict[str, Any]]:
    """id -> record of every group the sandbox holds."""
    return {str(r["Id"]): r for r in sandbox.groups.all()}
