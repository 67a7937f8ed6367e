"""`nexudus-pulumi probe` as the CLI runs it: credentials, the run, the answers, the config."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..client import NexudusClient
from ..errors import Interrupted, NexudusError
from ..settings import Settings
from ..stackconfig import Project, StackFile, set_value
from .report import ProbeOptions, ProbeReport, Say
from .session import Probe
from .signals import Signals


def run_probe(client: NexudusClient, options: ProbeOptions, say: Say) -> ProbeReport:
    """Probe the account; `say` hears progress (records made and deleted, each question)."""
    signals = Signals(say)
    with signals.installed():
        return Probe(client, options, say, signals).run()


def write_settings(root: Path, stack: str, settings: dict[str, Any]) -> Path:
    """Set the keys in the stack's config file, keeping everything else in it."""
    project = Project.find(root)
    stack_file = StackFile.load(project.stack_file(stack.rsplit("/", 1)[-1]), missing_ok=True)
    for key, value in settings.items():
        set_value(stack_file.config, key, value)
    stack_file.save()
    return stack_file.path


def probe_command(
    options: ProbeOptions,
    stack: str | None,
    *,
    write_config: bool,
    config: Callable[[str], Callable[[str], Any]],
) -> int:
    """`nexudus-pulumi probe`: credentials from the NEXUDUS_* variables or, with a stack, from
    its config first (`config(stack)` reads it, as for `rooms`); the exit code."""
    if write_config and not stack:
        print(
            "error: --write-config needs --stack, the stack whose file it writes", file=sys.stderr
        )
        return 2
    try:
        if stack:
            settings = Settings.load(config(stack), os.environ)
        else:
            settings = Settings.for_command(os.environ)
        client = NexudusClient(settings)
        report = run_probe(client, options, _progress)
    except Interrupted as exc:
        print("interrupted: stopped once the cleanup above was done", file=sys.stderr)
        return 128 + exc.signum
    except NexudusError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print("\n" + "\n".join(report.lines))  # the answers, apart from the progress above
    if report.left_behind:
        print(f"warning: delete by hand: {', '.join(report.left_behind)}", file=sys.stderr)
    if write_config and stack and report.settings:
        try:
            path = write_settings(Path.cwd(), stack, report.settings)
        except NexudusError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        keys = ", ".join(f"{k}: {str(v).lower()}" for k, v in report.settings.items())
        print(f"wrote {keys} to {path}")
    return 1 if report.left_behind else 0


def _progress(line: str) -> None:
    print(line, flush=True)
