"""Writing the plans into the stack file, as a person would have edited it, with secret
fields encrypted by Pulumi for the stack, never in plaintext."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from ..display import visible
from ..errors import ExportError
from ..recordkind import BUSINESS
from ..stackconfig import (
    SECRETS_KEYS,
    SECURE,
    Project,
    StackFile,
    append_key,
    flow_list,
    insert_key,
    plain,
    remove_key,
    set_value,
)
from ..stackkeys import ADOPTION_KEYS, TAKE_OVER_KEY
from .plan import ExportOptions, ExportPlan

_YAML_1_1 = VersionedResolver(version=(1, 1))
_TEXT = "tag:yaml.org,2002:str"


def _yaml_value(value: Any) -> Any:
    """Lists on one line (`[11, 12]`); text as `_yaml_text` writes it."""
    if isinstance(value, list):
        return flow_list(list(value))
    if isinstance(value, str):
        return _yaml_text(value)
    return value


def _yaml_text(text: str) -> str:
    """Text (a value or a key) that some reader could take for something else double-quoted,
    so that ruamel writes it with escapes: one YAML 1.1 reads as a boolean, a number, a
    timestamp or null (`yes`, `y`, `12:30`, `~`; ruamel quotes what YAML 1.2 would misread by
    itself), and any with a character that is not printable (U+0085, which a plain or
    single-quoted scalar turns into a space; a carriage return; an ESC). ruamel does the
    escaping: nothing here writes YAML by hand."""
    if not text.isprintable() or _YAML_1_1.resolve(ScalarNode, text, (True, False)) != _TEXT:
        double_quoted: str = DoubleQuotedScalarString(text)
        return double_quoted
    return text


def apply_plan(
    plans: Sequence[ExportPlan], stack_file: StackFile, project: Project, options: ExportOptions
) -> None:
    """Write the plans into the stack file's config; everything else in the file stays."""
    config = stack_file.config
    business_key = project.key(BUSINESS)
    current = config.get(business_key)
    set_value(
        config,
        business_key,
        str(options.business) if isinstance(current, str) else options.business,
    )
    for plan in plans:
        _apply_to_map(plan, stack_file, project, options)


def _apply_to_map(
    plan: ExportPlan, stack_file: StackFile, project: Project, options: ExportOptions
) -> None:
    map_key = project.key(plan.kind.map_name)
    records = stack_file.mapping(map_key)
    if records is None:
        if plan.entries:  # no empty map for a kind the business has none of
            # filled first, then added: comments that ended the config stay after its entries
            records = CommentedMap()
            _fill_map(plan, records, stack_file, options)
            set_value(stack_file.config, map_key, records)
        return
    _fill_map(plan, records, stack_file, options)


def _fill_map(
    plan: ExportPlan, records: CommentedMap, stack_file: StackFile, options: ExportOptions
) -> None:
    for key in plan.dropped:
        remove_key(records, key)
    order = (*plan.kind.fields, *ADOPTION_KEYS)
    for entry in plan.entries:
        if not entry.in_file:
            yaml_entry = CommentedMap((k, _yaml_value(v)) for k, v in entry.fields.items())
            indent = 2 * stack_file.indent
            append_key(
                records, _yaml_text(entry.key), yaml_entry, comment=entry.note, indent=indent
            )
            continue
        yaml_entry = records[entry.key]
        if not isinstance(yaml_entry, CommentedMap):
            yaml_entry = CommentedMap()
            set_value(records, entry.key, yaml_entry)
        for name in options.written(plan.kind):
            if name in entry.encrypted or name in entry.withheld or entry.record.unwritable(name):
                continue  # a secret stays as it is; a refused value is the user's to decide
            if name in entry.fields:
                _set_field(yaml_entry, order, name, entry.fields[name])
            elif name in yaml_entry:
                # declared in the file: still managed, at what Nexudus holds (its default)
                value = entry.record.declared(name)
                if value is None:
                    remove_key(yaml_entry, name)
                else:
                    _set_field(yaml_entry, order, name, value)
        for setting in plan.kind.references:  # `group: makers` in the file stays that form
            if setting in yaml_entry and setting in entry.fields:
                _set_field(yaml_entry, order, setting, entry.fields[setting])
        if TAKE_OVER_KEY in entry.fields and TAKE_OVER_KEY not in entry.encrypted:
            _set_field(yaml_entry, order, TAKE_OVER_KEY, entry.fields[TAKE_OVER_KEY])


def _set_field(yaml_entry: CommentedMap, order: Sequence[str], name: str, value: Any) -> None:
    """Set a field in place, or add it where export would have written it."""
    if name in yaml_entry:
        if plain(yaml_entry[name]) != value:
            set_value(yaml_entry, name, _yaml_value(value))
        return
    later = order[order.index(name) + 1 :]
    positions = [i for i, key in enumerate(yaml_entry) if key in later]
    insert_key(yaml_entry, positions[0] if positions else len(yaml_entry), name, _yaml_value(value))


def encrypt_secret_fields(plan: ExportPlan, stack_file: StackFile, root: Path, stack: str) -> None:
    """Turn the plan's secret fields (`RecordKind.secret`) into `{secure: ...}`, encrypted by
    Pulumi for the stack; where that fails, leave them out (`Entry.withheld`): export never
    writes a secret in plaintext."""
    wanted = [
        (entry, name)
        for entry in plan.entries
        for name in sorted(plan.kind.secret)
        if name in entry.fields and name not in entry.encrypted
    ]
    if not wanted:
        return
    try:
        ciphers = encrypt(stack_file, root, stack, [str(e.fields[n]) for e, n in wanted])
    except ExportError as exc:
        for entry, name in wanted:
            del entry.fields[name]
            entry.withheld[name] = str(exc)
        return
    for (entry, name), cipher in zip(wanted, ciphers, strict=True):
        entry.fields[name] = CommentedMap({SECURE: cipher})


def encrypt(stack_file: StackFile, root: Path, stack: str, values: Sequence[str]) -> list[str]:
    """`values` encrypted with the stack's secrets provider, by `pulumi config set --secret`
    into a scratch copy of the file's encryption keys (each value on standard input, never on
    a command line); a salt Pulumi made for a stack without one is added to `stack_file`."""
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        raise ExportError(
            "the pulumi CLI is not on PATH (`make engine` puts it in .tools/bin)",
            reason="no-pulumi",
        )
    document = stack_file.document
    with tempfile.TemporaryDirectory(prefix="nexudus-export-") as folder:
        scratch = Path(folder) / "Pulumi.scratch.yaml"
        scratch.write_text(json.dumps({k: str(document[k]) for k in SECRETS_KEYS if k in document}))
        for number, value in enumerate(values):
            command = [pulumi, "config", "set", "--secret", "--stack", stack]
            command += ["--config-file", str(scratch), f"export:value{number}", "--non-interactive"]
            done = subprocess.run(
                command, input=value, cwd=root, capture_output=True, text=True, check=False
            )
            if done.returncode != 0:
                said = (done.stderr.strip() or done.stdout.strip()).splitlines() or ["no output"]
                raise ExportError(
                    f"`pulumi config set --secret --stack {stack}` said: {visible(said[-1])}",
                    reason="encryption-failed",
                    stack=stack,
                )
        written = StackFile.load(scratch).document
    for key in SECRETS_KEYS:
        if key in written and key not in document:
            set_value(document, key, written[key])
    config = written.get("config") or {}
    return [str(config[f"export:value{n}"][SECURE]) for n in range(len(values))]
