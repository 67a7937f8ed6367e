#!/usr/bin/env python3
"""Refuse a pull request that changes where the provider sends credentials.

    .venv/bin/python scripts/same-base-url.py BASE_REF STACK

The pipelines' preview job runs this before `pulumi preview`: the provider posts the account's
password to `nexudus:baseUrl` (POST /api/token), and stack config wins over NEXUDUS_BASE_URL, so
a branch that edits it could send the preview's credentials anywhere before any review. This
compares what sets it, in the checked-out tree and in BASE_REF (the default branch, fetched):
Pulumi.yaml's `stackConfigDir` and `config: nexudus:baseUrl`, and the stack file's
`nexudus:baseUrl`. Any difference fails with exit code 1, naming the file; the change is then
previewed after review, by the deploy of the default branch.

It trusts the checked-out workflow and this script, which a pull request can edit too: it stops
a changed stack file, not a changed pipeline (see docs/guides/pipelines.md, "What a preview
trusts").
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

KEY = "nexudus:baseUrl"


def load(text: str | None) -> dict[str, Any]:
    document = yaml.safe_load(text) if text else None
    return document if isinstance(document, dict) else {}


def at_base(ref: str, path: str) -> str | None:
    done = subprocess.run(
        ["git", "show", f"{ref}:{path}"], capture_output=True, text=True, check=False
    )
    return done.stdout if done.returncode == 0 else None


def here(path: str) -> str | None:
    file = Path(path)
    return file.read_text(encoding="utf-8") if file.is_file() else None


def settings(read: Any, stack: str) -> dict[str, Any]:
    """What decides the base URL, as one tree has it."""
    project = load(read("Pulumi.yaml"))
    folder = str(project.get("stackConfigDir") or ".")
    stack_path = str(Path(folder) / f"Pulumi.{stack}.yaml")
    stack_config = load(read(stack_path)).get("config") or {}
    project_config = project.get("config") or {}
    return {
        "Pulumi.yaml: stackConfigDir": project.get("stackConfigDir"),
        f"Pulumi.yaml: config: {KEY}": project_config.get(KEY),
        f"Pulumi.{stack}.yaml: {KEY}": stack_config.get(KEY),
    }


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    ref, stack = argv
    if at_base(ref, "Pulumi.yaml") is None:
        print(f"error: {ref} has no Pulumi.yaml: fetch the default branch first", file=sys.stderr)
        return 2
    base = settings(lambda path: at_base(ref, path), stack)
    ours = settings(here, stack)
    changed = [name for name in base if base[name] != ours[name]]
    for name in changed:
        print(
            f"error: {name} is {ours[name]!r} here but {base[name]!r} on {ref}: a preview sends "
            f"credentials only where the default branch points; the change is previewed after "
            "review, when it is merged",
            file=sys.stderr,
        )
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
