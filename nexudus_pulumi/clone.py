"""`nexudus-pulumi clone`: a new stack with another stack's records, in another business.

The new stack is made by `pulumi stack init TARGET --copy-config-from SOURCE`, so that Pulumi
itself re-encrypts every secret for it (secrets are encrypted per stack). Pulumi writes that copy
without the source's comments and order, so the target's file is then written from the source's
own file, with the target's ciphertexts and salt put in. What would tie the clone to the source's
records is taken out: `importId` (adopting the source's records), `takeOver`, and by
default `protect`/`retainOnDelete`; every business is said explicitly, the stack's by `--business`
and a record's own by `--map-business OLD=NEW`, so nothing is created in the source's business by
accident. Every map of `kinds.KINDS` (`rooms`, `groups`, `threads`) is treated alike.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from .errors import CloneError
from .kinds import KINDS, tally_all
from .recordkind import BUSINESS, RecordKind
from .stackconfig import (
    SECRETS_KEYS,
    SECURE,
    Project,
    StackFile,
    put_after,
    remove_key,
    remove_notes_above,
    set_value,
)
from .stackkeys import (
    IMPORT_KEY,
    PROTECT_KEY,
    RETAIN_KEY,
    TAKE_OVER_KEY,
    is_take_over_note,
)

TIES = (IMPORT_KEY, TAKE_OVER_KEY)
"""Settings that point at the source's own records: never cloned."""
PROTECTION = (PROTECT_KEY, RETAIN_KEY)
"""Settings dropped unless --keep-protect: a clone is usually a place to experiment."""


@dataclass(frozen=True)
class CloneOptions:
    source: str
    target: str
    business: int
    business_map: Mapping[int, int] = field(default_factory=dict)
    """A record's own businessId in the source -> the one it gets in the clone."""
    keep_protect: bool = False
    secrets_provider: str | None = None


@dataclass
class CloneReport:
    counts: dict[str, int] = field(default_factory=dict)
    """Map name (`rooms`) -> how many records the clone declares in it."""
    untied: int = 0
    """Records that lost an importId or takeOver."""
    unprotected: int = 0
    moved: dict[str, tuple[int, int]] = field(default_factory=dict)
    """`rooms.events` -> (source business, clone business), for records with their own
    businessId."""
    secrets: int = 0
    warnings: list[str] = field(default_factory=list)
    """What the clone keeps that may still point at the source's records."""
    lines: list[str] = field(default_factory=list)


def parse_business_map(items: Sequence[str]) -> dict[int, int]:
    """`["1003=1004"]` -> {1003: 1004}."""
    mapping: dict[int, int] = {}
    for item in items:
        old, sep, new = item.partition("=")
        try:
            pair = int(old), int(new)
        except ValueError:
            pair = None
        if not sep or pair is None:
            raise CloneError(
                f"--map-business wants OLD=NEW business ids, got {item!r}",
                reason="bad-business-map",
            )
        if mapping.get(pair[0], pair[1]) != pair[1]:
            raise CloneError(
                f"--map-business maps business {pair[0]} twice",
                reason="bad-business-map",
                businesses=(pair[0],),
            )
        mapping[pair[0]] = pair[1]
    return mapping


def _business(value: Any, where: str) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise CloneError(
            f"{where} must be a business id, got {value!r}", reason="bad-business", key=where
        ) from None
    return number


def _same_style(old: Any, new: int) -> Any:
    """A business id written as the file wrote the one it replaces ("1001" or 1001)."""
    return str(new) if isinstance(old, str) else new


def rewrite_config(stack_file: StackFile, project: Project, options: CloneOptions) -> CloneReport:
    """Turn the source's config into the clone's, in memory. Checks everything before editing."""
    config = stack_file.config
    business_key = project.key(BUSINESS)
    current = config.get(business_key)
    source_business = _business(current, business_key) if current not in (None, "") else 0
    maps = {
        kind: stack_file.mapping(project.key(kind.map_name)) or CommentedMap() for kind in KINDS
    }
    mapping = {source_business: options.business} if source_business else {}
    mapping.update(options.business_map)

    unmapped: dict[int, list[str]] = {}
    for kind, records in maps.items():
        for key, entry in records.items():
            where = f"{project.key(kind.map_name)}.{key}"
            if not isinstance(entry, CommentedMap):
                raise CloneError(
                    f"{stack_file.path}: {where} must be a mapping of settings",
                    reason="not-a-mapping",
                    path=stack_file.path,
                    key=where,
                )
            if entry.get(BUSINESS) is not None:
                own = _business(entry[BUSINESS], f"{where}.{BUSINESS}")
                if own not in mapping:
                    unmapped.setdefault(own, []).append(f"{kind.map_name}.{key}")
    if unmapped:
        which = "; ".join(
            f"business {business}: {', '.join(keys)}" for business, keys in sorted(unmapped.items())
        )
        first = min(unmapped)
        raise CloneError(
            f"records of {options.source} set their own businessId ({which}); say where they go "
            f"in {options.target}: --map-business {first}=NEW, or {first}={first} to keep that "
            "business (the clone would then create records there)",
            reason="unmapped-business",
            path=stack_file.path,
            businesses=tuple(sorted(unmapped)),
        )

    report = CloneReport()
    set_value(config, business_key, _same_style(current, options.business))
    for kind, records in maps.items():
        report.counts[kind.map_name] = len(records)
        _untie(kind, records, mapping, options, report)
    return report


def _untie(
    kind: RecordKind[Any],
    records: CommentedMap,
    mapping: Mapping[int, int],
    options: CloneOptions,
    report: CloneReport,
) -> None:
    """Take out what ties each record to the source's, and move its own business."""
    dropped = TIES if options.keep_protect else (*TIES, *PROTECTION)
    for key, entry in records.items():
        if any(name in entry for name in TIES):
            report.untied += 1
        if not options.keep_protect and any(name in entry for name in PROTECTION):
            report.unprotected += 1
        if TAKE_OVER_KEY in entry:
            remove_notes_above(records, key, is_take_over_note)
        for name in dropped:
            put_after(records, key, remove_key(entry, name))
        if entry.get(BUSINESS) is not None:
            old = _business(entry[BUSINESS], key)
            set_value(entry, BUSINESS, _same_style(entry[BUSINESS], mapping[old]))
            report.moved[f"{kind.map_name}.{key}"] = (old, mapping[old])
        named = kind.model.NAME_FIELD
        if entry.get(named) in (None, ""):
            report.warnings.append(
                f"warning: {kind.map_name}.{key} has no {named}: the clone creates a "
                f"{kind.noun} without one, as {options.source} holds it; give it a {named} in "
                "the clone's file for people to find it"
            )
        report.warnings += [
            f"warning: {kind.map_name}.{key}.{reference.field} keeps {entry[reference.field]}, "
            f"most likely a {reference.map_name} record of the source's business: name the "
            f"clone's by its key instead ({setting}: <key of {reference.map_name}>)"
            for setting, reference in kind.references.items()
            if entry.get(reference.field) is not None
        ]


def carry_secrets(document: CommentedMap, copied: CommentedMap) -> int:
    """Put the clone's ciphertexts (from Pulumi's copy) and secrets settings into `document`.

    Every `secure:` value of `document` is replaced by the one at the same place in `copied`;
    returns how many. Fails, naming the key, if Pulumi's copy lacks one.
    """
    count = 0

    def walk(node: Any, other: Any, path: str) -> None:
        nonlocal count
        if isinstance(node, CommentedMap):
            if set(node) == {SECURE}:
                if not (isinstance(other, Mapping) and isinstance(other.get(SECURE), str)):
                    raise CloneError(
                        f"Pulumi's copy of the config has no secret at {path}",
                        reason="no-secret",
                        key=path,
                    )
                node[SECURE] = other[SECURE]
                count += 1
                return
            for key, value in node.items():
                child = other.get(key) if isinstance(other, Mapping) else None
                walk(value, child, f"{path}.{key}" if path else str(key))
        elif isinstance(node, CommentedSeq):
            for index, value in enumerate(node):
                child = other[index] if isinstance(other, list) and index < len(other) else None
                walk(value, child, f"{path}[{index}]")

    walk(document.get("config"), copied.get("config"), "")
    for key in SECRETS_KEYS:
        if key in copied:
            set_value(document, key, copied[key])
        else:
            remove_key(document, key)
    return count


def run_clone(root: Path, options: CloneOptions) -> CloneReport:
    """Check, make the stack with Pulumi, write its file; undo the stack if writing fails."""
    project = Project.find(root)
    source_path = project.stack_file(options.source.rsplit("/", 1)[-1])
    target_path = project.stack_file(options.target.rsplit("/", 1)[-1])
    if not source_path.exists():
        raise CloneError(
            f"{source_path} does not exist: is {options.source} a stack here?",
            reason="no-source",
            path=source_path,
            stack=options.source,
        )
    if target_path.exists():
        raise CloneError(
            f"{target_path} already exists: clone makes a new stack; choose another name, or "
            f"remove that stack first (pulumi stack rm {options.target})",
            reason="target-exists",
            path=target_path,
            stack=options.target,
        )
    source = StackFile.load(source_path)
    report = rewrite_config(source, project, options)
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        raise CloneError(
            "the pulumi CLI is not on PATH (`make engine` puts it in .tools/bin)",
            reason="no-pulumi",
        )
    existing, selected = _stacks(pulumi, root)
    if _short(options.target) in existing:
        raise CloneError(
            f"the stack {options.target} already exists (without {target_path.name}): clone "
            f"makes a new stack; choose another name, or remove that stack first (pulumi stack "
            f"rm {options.target})",
            reason="target-exists",
            stack=options.target,
        )
    command = [pulumi, "stack", "init", options.target, "--copy-config-from", options.source]
    if options.secrets_provider:
        command += ["--secrets-provider", options.secrets_provider]
    try:
        try:
            _pulumi(command, root, "make the stack")
        except CloneError as exc:
            raise _stack_init_failure(exc, options) from exc
        copied = StackFile.load(target_path, missing_ok=True)
        report.secrets = carry_secrets(source.document, copied.document)
        source.save(target_path)
    except BaseException as exc:
        left = _undo(pulumi, root, options.target, target_path, selected)
        if isinstance(exc, CloneError):
            undone = (
                f"then, undoing the clone: {left}"
                if left
                else f"cleaned up: the stack {options.target} that `pulumi stack init` made is "
                f"removed, its file too, and {selected or 'no stack'} is selected as before; "
                "the same command can be run again"
            )
            raise exc.after_undo(undone) from exc
        raise
    report.lines = _summary(report, options, target_path, root)
    return report


def _stack_init_failure(exc: CloneError, options: CloneOptions) -> CloneError:
    """`pulumi stack init --copy-config-from` refused: what to change. Pulumi creates the stack
    before it copies the config, so its message starts with "Created stack 'x2'", about a stack
    that is removed again right after."""
    if "incorrect passphrase" in str(exc):
        return CloneError(
            f"PULUMI_CONFIG_PASSPHRASE does not open the secrets of {options.source}: set "
            f"{options.source}'s passphrase (pulumi said: incorrect passphrase)",
            reason="wrong-passphrase",
            stack=options.source,
            command=exc.command,
        )
    return exc


def _short(stack: str) -> str:
    """`org/project/x2` -> `x2`: how a file backend lists a stack."""
    return stack.rsplit("/", 1)[-1]


def _stacks(pulumi: str, root: Path) -> tuple[set[str], str | None]:
    """The short names of the project's stacks, and the selected stack (if any)."""
    listing = json.loads(_pulumi([pulumi, "stack", "ls", "--json"], root, "list the stacks"))
    current = next((stack["name"] for stack in listing if stack.get("current")), None)
    return {_short(stack["name"]) for stack in listing}, current


def _undo(pulumi: str, root: Path, target: str, path: Path, selected: str | None) -> str:
    """After a failed clone: remove the stack and file it made (`pulumi stack init` creates and
    selects the stack before `--copy-config-from` can fail, on a wrong passphrase say), and
    select again the stack that was selected, so that the retry is the same command. Returns
    what could not be undone ("" when all was), for the error."""
    left = []
    try:
        if _short(target) in _stacks(pulumi, root)[0]:
            _pulumi([pulumi, "stack", "rm", target, "--yes", "--force"], root, "remove it")
    except CloneError as exc:
        left.append(f"{exc}\nremove the stack yourself: pulumi stack rm {target}")
    path.unlink(missing_ok=True)
    reselect = ["stack", "select", selected] if selected else ["stack", "unselect"]
    try:
        _pulumi([pulumi, *reselect], root, "select it again")
    except CloneError as exc:
        left.append(str(exc))
    return "\n".join(left)


def _pulumi(command: list[str], root: Path, purpose: str) -> str:
    done = subprocess.run(
        [*command, "--non-interactive"], cwd=root, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip()
        raise CloneError(
            f"`pulumi {' '.join(command[1:])}` could not {purpose}:\n{output}",
            reason="pulumi-failed",
            command=tuple(command[1:]),
        )
    return done.stdout


def _summary(report: CloneReport, options: CloneOptions, path: Path, root: Path) -> list[str]:
    shown = path.relative_to(root) if path.is_relative_to(root) else path
    lines = [f"{key}: business {old} -> {new}" for key, (old, new) in sorted(report.moved.items())]
    lines += report.warnings
    details = []
    if report.secrets:
        details.append(f"{report.secrets} secret(s) re-encrypted by Pulumi for {options.target}")
    if report.untied:
        details.append(f"importId/takeOver removed from {report.untied}")
    if report.unprotected:
        details.append(f"protect/retainOnDelete removed from {report.unprotected}")
    counts = tally_all(report.counts)
    lines.append(
        f"{options.target} cloned from {options.source} into {shown}: {counts} "
        f"for business {options.business}" + (f" ({'; '.join(details)})" if details else "")
    )
    lines.append(
        f"next: review {shown} (credentials are {options.source}'s), then "
        f"`pulumi up --stack {options.target}`"
    )
    return lines
