"""`nexudus-pulumi export` itself: check all that can be checked, read the business, plan,
write the file last, and say what happened."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..client import NexudusClient
from ..errors import ExportError
from ..recordkind import BUSINESS, tally
from ..settings import Settings
from ..stackconfig import Project, StackFile, is_encrypted, plain
from .plan import ExportOptions, ExportPlan, link_references, plan_export
from .records import fetch_records
from .write import apply_plan, encrypt_secret_fields


@dataclass
class ExportReport:
    text: str
    """The stack file as written (or as printed with `--output -`)."""
    lines: list[str]
    """What the user should read: skipped records, warnings, then the summary line."""


def run_export(
    root: Path,
    stack: str,
    options: ExportOptions,
    *,
    environ: Mapping[str, str],
    force: bool = False,
    to_stdout: bool = False,
) -> ExportReport:
    """Everything is checked that can be before a request is sent; the file is written last."""
    project = Project.find(root)
    stack_name = stack.rsplit("/", 1)[-1]
    stack_file = StackFile.load(project.stack_file(stack_name), missing_ok=True)
    declared = {
        kind: plain(stack_file.mapping(project.key(kind.map_name)) or {}) for kind in options.kinds
    }
    for kind, keys in declared.items():
        if is_encrypted(keys):
            raise ExportError(
                f"{_shown(stack_file.path, root)}: {project.key(kind.map_name)} is encrypted as "
                "a whole (secure:): export never decrypts, so it cannot merge into it. Export "
                f"into another stack, or leave the {kind.plural} out (--only); nothing was written",
                reason="encrypted-map",
                path=stack_file.path,
                map_name=kind.map_name,
            )
    full = [(kind, len(keys)) for kind, keys in declared.items() if keys]
    if full and not force and not to_stdout:
        maps = " and ".join(
            f"{kind.count(number)} in {project.key(kind.map_name)}" for kind, number in full
        )
        raise ExportError(
            f"{_shown(stack_file.path, root)} already declares {maps}: --force merges the "
            f"business's {' and '.join(k.plural for k in options.kinds)} into it (keys already "
            "there keep their place; keys of this business that match nothing are removed, "
            "unless --keep-unmatched), --output - shows the result without writing it",
            reason="already-declared",
            path=stack_file.path,
            declared={kind.map_name: number for kind, number in full},
        )
    default_business = plain(stack_file.config.get(project.key(BUSINESS)))
    if full and default_business is not None and str(default_business) != str(options.business):
        raise ExportError(
            f"{_shown(stack_file.path, root)} declares its records in business "
            f"{default_business} ({project.key(BUSINESS)}); merging business {options.business} "
            "into it would move every record without a businessId of its own to "
            f"{options.business}, which replaces them. Export into a stack of its own, or pass "
            f"--business {default_business}; nothing was written",
            reason="other-business",
            path=stack_file.path,
            business=int(str(default_business)) if str(default_business).isdigit() else None,
        )
    client = NexudusClient(Settings.for_command(environ))
    found = {kind: fetch_records(client, kind, options.business) for kind in options.kinds}
    if not any(found.values()):
        kinds = " or ".join(kind.plural for kind in options.kinds)
        raise ExportError(
            f"business {options.business} has no {kinds} these credentials can see: check "
            "--business (Nexudus lists nothing, without an error, for a business id it does not "
            "know) and that the account has access to that business; nothing was written",
            reason="no-records",
            business=options.business,
        )
    held = stack_ids(root, stack, environ) if full else {}
    plans = [
        plan_export(
            kind,
            found[kind],
            declared[kind],
            project=project.name,
            stack=stack_name,
            options=options,
            held=held.get(kind.map_name, {}),
        )
        for kind in options.kinds
    ]
    link_references(plans)
    for plan in plans:
        encrypt_secret_fields(plan, stack_file, root, stack)
    apply_plan(plans, stack_file, project, options)
    text = stack_file.dump()
    destination = "stdout" if to_stdout else _shown(stack_file.path, root)
    if not to_stdout:
        stack_file.save()
    return ExportReport(text, _report(plans, options, destination))


def _shown(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def _report(plans: Sequence[ExportPlan], options: ExportOptions, destination: str) -> list[str]:
    lines: list[str] = []
    for plan in plans:
        lines += plan.warnings(options)
    entries = [entry for plan in plans for entry in plan.entries]
    skipped = sum(len(plan.skipped) for plan in plans)
    kept = sum(1 for e in entries if e.in_file)
    counts = tally((plan.kind, len(plan.entries)) for plan in plans)
    summary = f"{counts} of business {options.business} written to {destination}"
    details = []
    if kept:
        details.append(f"{kept} already declared, kept their keys")
    if options.protect and len(entries) > kept:
        details.append("new ones protected")
    if skipped:
        details.append(f"{skipped} skipped as managed by other stacks or integrations")
    lines.append(summary + (f" ({'; '.join(details)})" if details else ""))
    return lines


def stack_ids(root: Path, stack: str, environ: Mapping[str, str]) -> dict[str, dict[int, str]]:
    """Map name -> record id -> key, as the stack's outputs (`rooms`, `groups`, `threads`) hold
    them: the stack's own record of which key holds which id, which a record that lost its
    marker still has. Asked of the stack's backend only where one is named (a state backend or
    a Pulumi Cloud token in the environment); empty when the stack has no state yet, or the
    CLI cannot tell."""
    pulumi = shutil.which("pulumi")
    named = any(environ.get(k) for k in ("PULUMI_BACKEND_URL", "PULUMI_ACCESS_TOKEN"))
    if pulumi is None or not named:
        return {}
    command = [pulumi, "stack", "output", "--json", "--show-secrets", "--stack", stack]
    try:
        done = subprocess.run(
            [*command, "--non-interactive"],
            cwd=root,
            env={**os.environ, **environ},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        outputs = json.loads(done.stdout) if done.returncode == 0 else {}
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return {}
    found: dict[str, dict[int, str]] = {}
    for name, held in outputs.items() if isinstance(outputs, dict) else ():
        if isinstance(held, dict):
            found[name] = {int(i): k for k, i in held.items() if str(i).isdigit()}
    return found
