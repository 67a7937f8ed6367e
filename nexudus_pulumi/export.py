"""`nexudus-pulumi export`: a business's existing records, of every kind, written into a stack's
config.

The model is `pulumi import` and Terraform's generated import blocks: declarations generated from
what exists, each with the `importId` that adopts it, reviewed, then applied with no change.
Records another stack manages are not offered for adoption unless asked (`--include-owned`), and
every written record is protected by default, so a mistaken `destroy` cannot delete production
records.

Every record type goes through the same code (`kinds.KINDS`): a record is what its model's
`live_view` reads from the API, and what is written is decided field by field from the model's
defaults, so another record type needs no code here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import unicodedata
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from .client import NexudusClient
from .display import cut, quoted, visible
from .errors import ApiRejectedError, AuthorizationError, NexudusError, NotFoundError
from .kinds import KINDS
from .models import refusal
from .ownership import Marker
from .recordkind import BUSINESS, RecordKind, tally
from .settings import Settings
from .stackconfig import (
    Project,
    StackFile,
    append_key,
    flow_list,
    insert_key,
    plain,
    remove_key,
    set_value,
)

MAX_KEY_LENGTH = 60
IMPORT_KEY = "importId"
PROTECT_KEY = "protect"
TAKE_OVER_KEY = "takeOver"
TAKE_OVER_NOTES = (
    "takeOver moves it to this stack",
    "takeOver replaces it with this stack's marker",
)
"""How the comments export writes above a `takeOver` end: `clone` removes them with it."""
ADOPTION_KEYS = (IMPORT_KEY, PROTECT_KEY, TAKE_OVER_KEY)
"""Written after a record's fields, in this order."""
_YAML_1_1 = VersionedResolver(version=(1, 1))
_TEXT = "tag:yaml.org,2002:str"
SECURE = "secure"
"""A value Pulumi encrypted: `{secure: v1:...}`. Export never decrypts, compares or rewrites it."""

_LATIN_LETTERS = str.maketrans(
    {
        "ø": "o",
        "ł": "l",
        "đ": "d",
        "ħ": "h",
        "\u0131": "i",
        "æ": "ae",
        "œ": "oe",
        "þ": "th",
        "ð": "d",
    }
)
"""Latin letters that Unicode does not decompose into a base letter and an accent."""


class ExportError(NexudusError):
    """Export cannot go on; the message says what to change."""


def owner_of(system_id: str | None) -> str | None:
    """The stack a marker names (`project/stack/key`), or None for a record no stack manages."""
    marker = Marker.parse(system_id)
    return marker.path if marker is not None else None


@dataclass(frozen=True)
class ExistingRecord:
    """One record as Nexudus lists it: what export needs to declare and adopt it."""

    kind: RecordKind[Any]
    id: int
    business_id: int
    fields: Mapping[str, Any]
    """Its fields as the record's model reads them (`live_view`): camelCase, normalised, coded
    values by name (`groupAccess: public`)."""
    system_id: str | None

    @classmethod
    def from_record(cls, kind: RecordKind[Any], record: Mapping[str, Any]) -> ExistingRecord:
        system_id = record.get("SystemId")
        return cls(
            kind=kind,
            id=int(record["Id"]),
            business_id=int(record["BusinessId"]),
            fields=kind.model.live_view(dict(record)),
            system_id=system_id if isinstance(system_id, str) and system_id else None,
        )

    @property
    def name(self) -> str | None:
        name = self.fields.get(self.kind.model.NAME_FIELD)
        return name if isinstance(name, str) and name else None

    @property
    def owner(self) -> str | None:
        return owner_of(self.system_id)

    @property
    def label(self) -> str:
        """`room 12 'Lobby'`: the name cut and escaped (`repr`), so it cannot drive a terminal."""
        noun = self.kind.noun
        return f"{noun} {self.id} {cut(self.name, 60)!r}" if self.name else f"{noun} {self.id}"

    def claimed_elsewhere(self, own_prefix: str) -> bool:
        """Its `SystemId` names another stack, or was set by another integration: adopting it
        takes it from them, which only `takeOver` (and `--include-owned`) may do."""
        owner = self.owner
        return self.system_id is not None and not (owner and owner.startswith(own_prefix))

    @property
    def claimant(self) -> str:
        """Who holds the record, for messages: the stack, or the other integration's SystemId,
        escaped (it is text from the API)."""
        if self.owner is not None:
            return f"the stack {visible(cut(self.owner, 80))}"
        return f"another integration (its SystemId is {quoted(self.system_id or '')})"

    def refusal(self, name: str) -> str | None:
        """Why a declaration would refuse the value Nexudus holds in field `name`, if it would
        (a name that is a number, or holds an ESC): such a value is not written."""
        value = self.declared(name)
        return None if value is None else refusal(self.kind.model, name, value)

    def declared(self, name: str) -> Any:
        """A field's value as a declaration writes it: a set of ids sorted, without repeats; a
        blank text is None (nothing to write)."""
        value = self.business_id if name == BUSINESS else self.fields.get(name)
        if value == "":
            return None
        if isinstance(value, list) and all(isinstance(item, int) for item in value):
            return sorted(set(value))
        return value


# ----- keys ---------------------------------------------------------------------------------


def slug(name: str) -> str:
    """A readable key from a record's name: `Café Zürich #2` -> `cafe-zurich-2`.

    Accents on Latin letters are dropped (people type `cafe`, not `café`, in a terminal); letters
    of other scripts are kept as they are (`会议室`, `кафе`): a guessed transliteration would be
    less readable to the people who named the rooms and groups. Anything else separates words.
    """
    text = unicodedata.normalize("NFKC", name).casefold().translate(_LATIN_LETTERS)
    kept: list[str] = []
    for char in unicodedata.normalize("NFD", text):
        if unicodedata.category(char).startswith("M"):
            if kept and kept[-1].isascii():
                continue  # an accent on a Latin letter
            kept.append(char)  # a vowel sign or mark that belongs to its script
        elif char.isalnum():
            kept.append(char)
        else:
            kept.append(" ")
    words = unicodedata.normalize("NFC", "".join(kept)).split()
    key = "-".join(words)
    if len(key) > MAX_KEY_LENGTH:
        cut = key[:MAX_KEY_LENGTH]
        key = cut.rsplit("-", 1)[0] if "-" in cut else cut
    return key


def derive_keys(records: Sequence[ExistingRecord], taken: Collection[str] = ()) -> dict[int, str]:
    """Record id -> a key unique among `records` and unlike any of `taken` (one kind's map).

    Records take their name's key in id order, the oldest first; a record whose key is already
    taken gets `-2`, `-3`... A nameless record (or one whose name has no letters or digits) is
    `room-<id>` or `group-<id>`. Newer records never change the keys of older ones.
    """
    used = set(taken)
    keys: dict[int, str] = {}
    for record in sorted(records, key=lambda record: record.id):
        base = candidate = slug(record.name or "") or f"{record.kind.noun}-{record.id}"
        suffix = 1
        while candidate in used:
            suffix += 1
            candidate = f"{base}-{suffix}"
        keys[record.id] = candidate
        used.add(candidate)
    return keys


# ----- what to write ------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportOptions:
    business: int
    protect: bool = True
    include_owned: bool = False
    with_fields: frozenset[str] = frozenset()
    """Fields written only on request (a kind's `on_request`, such as `lastAgentVisit`)."""
    kinds: tuple[RecordKind[Any], ...] = KINDS
    """The maps to write (`--only`)."""
    keep_unmatched: bool = False
    """Keep keys of the file that match no record (`--keep-unmatched`) instead of removing them."""

    def written(self, kind: RecordKind[Any]) -> tuple[str, ...]:
        """The fields of `kind` export may write, in the stack file's order."""
        return tuple(
            name for name in kind.fields if name not in kind.on_request or name in self.with_fields
        )


@dataclass
class Entry:
    """One record as it will stand in its map."""

    key: str
    record: ExistingRecord
    fields: dict[str, Any]
    in_file: bool
    """The key was already in the file: it keeps its place and comments."""
    note: str = ""
    """Written as a comment above a new key."""
    encrypted: tuple[str, ...] = ()
    """Fields the file holds encrypted (`secure:`): left as they are."""
    withheld: dict[str, str] = field(default_factory=dict)
    """Secret fields (`RecordKind.secret`) not written, as they could not be encrypted -> why."""


@dataclass
class ExportPlan:
    """What export does to one kind's map."""

    kind: RecordKind[Any]
    entries: list[Entry] = field(default_factory=list)
    skipped: list[ExistingRecord] = field(default_factory=list)
    """Records another stack manages, left out (no --include-owned)."""
    dropped: list[str] = field(default_factory=list)
    """Keys in the file that match no record of the business (with --force they go, unless
    --keep-unmatched)."""
    unmatched: list[str] = field(default_factory=list)
    """The same keys, kept (--keep-unmatched)."""
    encrypted: list[str] = field(default_factory=list)
    """Keys whose whole entry is encrypted (`secure:`): left as they are, never matched."""
    contested: dict[str, ExistingRecord] = field(default_factory=dict)
    """Keys in the file adopting a record another stack manages: left as they are, and named."""

    @property
    def taken_over(self) -> list[Entry]:
        return [e for e in self.entries if e.fields.get(TAKE_OVER_KEY)]

    def warnings(self, options: ExportOptions) -> list[str]:
        """What the user must read. Text from the API or the file (names, SystemIds, keys) is
        escaped: it never reaches the terminal raw."""
        kind = self.kind
        lines = [
            f"skipped {record.label}: managed by {record.claimant} (--include-owned writes it "
            "with takeOver: true)"
            for record in self.skipped
        ]
        lines += [
            f"warning: {visible(key)} adopts {record.label}, which {record.claimant} manages; left "
            "as it is, and `pulumi up` will refuse it (--include-owned adds takeOver: true)"
            for key, record in self.contested.items()
        ]
        lines += [
            f"warning: {visible(e.key)} ({e.record.label}) is managed by {e.record.claimant}; "
            "written with takeOver: true, so `pulumi up` makes it this stack's (its SystemId is "
            "replaced with this stack's marker)"
            for e in self.taken_over
        ]
        lines += [
            f"warning: {visible(e.key)} ({e.record.label}): its {name} from Nexudus, "
            f"{visible(cut(repr(e.record.declared(name)), 60))}, is not written: a declaration "
            f"refuses it ({visible(reason)}); fix it in Nexudus, or declare the value you want"
            for e in self.entries
            for name in options.written(kind)
            if (reason := e.record.refusal(name))
        ]
        lines += [
            f"warning: {visible(e.key)}.{name} is encrypted (secure:): left as it is, not compared "
            "with Nexudus"
            for e in self.entries
            for name in e.encrypted
        ]
        lines += [
            f"warning: {visible(e.key)}.{name} from Nexudus is not written: it may hold a "
            f"passcode, and export writes it only encrypted (secure:), which failed: {why}"
            for e in self.entries
            for name, why in e.withheld.items()
        ]
        lines += [
            f"warning: {visible(key)} is encrypted (secure:): left as it is, not matched to a "
            f"{kind.noun}"
            for key in self.encrypted
        ]
        lines += [
            f"warning: removed {visible(key)} and the comments above it: no {kind.noun} of "
            f"business {options.business} matches it (--keep-unmatched keeps such keys)"
            for key in self.dropped
        ]
        lines += [
            f"kept {visible(key)}: no {kind.noun} of business {options.business} matches it; "
            "`pulumi up` creates it unless its resource exists already"
            for key in self.unmatched
        ]
        return lines


def managed_fields(
    record: ExistingRecord, stack_business: int, options: ExportOptions
) -> dict[str, Any]:
    """The fields worth managing; the others are left to Nexudus.

    A field is written when Nexudus holds something in it other than the API's default (a
    required field always; a field the kind pins even at its default), `businessId` only where
    it differs from the stack's, and a field Nexudus moves by itself only on request.
    """
    kind = record.kind
    fields: dict[str, Any] = {}
    for name in options.written(kind):
        value = record.declared(name)
        if record.refusal(name):
            continue  # not written; named in `ExportPlan.warnings`
        if name == BUSINESS:
            wanted = value != stack_business
        else:
            wanted = value is not None and (name in kind.pinned or value != kind.default(name))
        if wanted:
            fields[name] = value
    return fields


def _import_ids(kind: RecordKind[Any], declared: Mapping[str, Any]) -> dict[int, str]:
    """importId -> key of the records already declared; one record may not have two keys."""
    seen: dict[int, str] = {}
    for key, entry in declared.items():
        value = entry.get(IMPORT_KEY) if isinstance(entry, Mapping) else None
        if value is None or is_encrypted(value):
            continue
        try:
            record_id = int(value)
        except (TypeError, ValueError):
            raise ExportError(
                f"{kind.map_name}.{key}.importId must be a {kind.noun} id, got {value!r}"
            ) from None
        if record_id in seen:
            raise ExportError(
                f"{kind.map_name} {seen[record_id]!r} and {key!r} both adopt {kind.noun} "
                f"{record_id} (importId): two keys would manage one {kind.noun}; keep one of them"
            )
        seen[record_id] = key
    return seen


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


def plan_export(
    kind: RecordKind[Any],
    records: Iterable[ExistingRecord],
    declared: Mapping[str, Any],
    *,
    project: str,
    stack: str,
    options: ExportOptions,
    held: Mapping[int, str] | None = None,
) -> ExportPlan:
    """Decide each record's key and fields in its kind's map, and what is left out.

    A record already declared (by its importId, by the stack's outputs `held` (id -> key), or
    because its marker names this stack and a key of the map) keeps its key: so does one that
    lost its marker since. A record whose `SystemId` names another stack, or was set by
    another integration, is skipped, or written with `takeOver: true` when `include_owned`: no
    one's record is taken without asking. New keys follow in id order.
    """
    by_import = _import_ids(kind, declared)
    own_prefix = f"{project}/{stack}/"
    plan = ExportPlan(kind)
    matched: dict[int, str] = {}
    fresh: list[ExistingRecord] = []
    ordered = sorted(records, key=lambda record: record.id)
    for record in ordered:
        owner = record.owner
        ours = owner is not None and owner.startswith(own_prefix)
        key = by_import.get(record.id)
        if key is None and record.system_id is None and (held or {}).get(record.id) in declared:
            key = (held or {})[record.id]
        if key is None and ours and owner is not None and owner[len(own_prefix) :] in declared:
            key = owner[len(own_prefix) :]
        claimed = record.system_id is not None and not (ours and key is not None)
        if claimed and not options.include_owned:
            if key is None:
                plan.skipped.append(record)
            else:
                plan.contested[key] = record
        elif key is not None:
            matched[record.id] = key
        else:
            fresh.append(record)
    new_keys = derive_keys(fresh, taken=declared.keys())
    for record in ordered:
        if record.id in matched:
            key = matched[record.id]
            fields = managed_fields(record, options.business, options)
            if record.claimed_elsewhere(own_prefix):
                fields[TAKE_OVER_KEY] = True
            written = declared[key] if isinstance(declared[key], Mapping) else {}
            encrypted = tuple(name for name, value in written.items() if holds_encrypted(value))
            plan.entries.append(Entry(key, record, fields, in_file=True, encrypted=encrypted))
        elif record.id in new_keys:
            plan.entries.append(_new_entry(new_keys[record.id], record, options))
    kept = {entry.key for entry in plan.entries}
    plan.encrypted = [key for key, entry in declared.items() if is_encrypted(entry)]
    unmatched = [
        key
        for key in declared
        if key not in kept
        and key not in plan.contested
        and key not in plan.encrypted
        and _in_business(declared[key], options)
    ]
    if options.keep_unmatched:
        plan.unmatched = unmatched
    else:
        plan.dropped = unmatched
    return plan


def is_encrypted(value: Any) -> bool:
    """A value Pulumi encrypted (`{secure: v1:...}`)."""
    return isinstance(value, Mapping) and set(value) == {SECURE}


def holds_encrypted(value: Any) -> bool:
    """`value` is, or holds anywhere within its lists and mappings, an encrypted value
    (`users: [11, {secure: v1:...}]`): export leaves such a field as it stands."""
    todo = [value]
    while todo:
        current = todo.pop()
        if is_encrypted(current):
            return True
        if isinstance(current, Mapping):
            todo += current.values()
        elif isinstance(current, list):
            todo += current
    return False


def _in_business(entry: Any, options: ExportOptions) -> bool:
    """Whether a declared record lives in the exported business: one declared elsewhere (its
    own `businessId`) matches none of the business's records, yet removing its key would make
    the next `up` delete it."""
    business = entry.get(BUSINESS) if isinstance(entry, Mapping) else None
    return business is None or str(business) == str(options.business)


def _new_entry(key: str, record: ExistingRecord, options: ExportOptions) -> Entry:
    fields = managed_fields(record, options.business, options)
    fields[IMPORT_KEY] = record.id
    if options.protect:
        fields[PROTECT_KEY] = True
    # Text from the API goes into a comment only as `quoted` (ASCII, no line break): a `\r` in
    # a SystemId must not end the comment and write YAML of its own.
    note = ""
    if record.owner is not None:
        fields[TAKE_OVER_KEY] = True
        note = f"managed by the stack {quoted(record.owner)}: {TAKE_OVER_NOTES[0]}"
    elif record.system_id:
        fields[TAKE_OVER_KEY] = True  # the provider refuses another owner's record without it
        note = f"SystemId {quoted(record.system_id)} was set by another integration: "
        note += TAKE_OVER_NOTES[1]
    return Entry(key, record, fields, in_file=False, note=note)


def link_references(plans: Sequence[ExportPlan]) -> None:
    """An entry whose field holds the id of a record exported under a key of the same stack
    names that key instead (`group: makers`, not `communityGroupId: 65432101`): the stack then
    holds the link, so a clone links to the clone's group, not the source's. An entry already
    in the file keeps the form it has there (`_fill_map`)."""
    keys = {plan.kind.map_name: {e.record.id: e.key for e in plan.entries} for plan in plans}
    for plan in plans:
        for setting, reference in plan.kind.references.items():
            targets = keys.get(reference.map_name, {})
            for entry in plan.entries:
                key = targets.get(entry.fields.get(reference.field, 0))
                if key is not None:  # in its place, for the same order
                    entry.fields = {
                        setting if name == reference.field else name: value
                        for name, value in {**entry.fields, reference.field: key}.items()
                    }


# ----- writing it ---------------------------------------------------------------------------


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
            if name in entry.encrypted or name in entry.withheld or entry.record.refusal(name):
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


SECRETS_KEYS = ("secretsprovider", "encryptedkey", "encryptionsalt")
"""The stack file's keys that say how its secrets are encrypted."""


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
        raise ExportError("the pulumi CLI is not on PATH (`make engine` puts it in .tools/bin)")
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
                    f"`pulumi config set --secret --stack {stack}` said: {visible(said[-1])}"
                )
        written = StackFile.load(scratch).document
    for key in SECRETS_KEYS:
        if key in written and key not in document:
            set_value(document, key, written[key])
    config = written.get("config") or {}
    return [str(config[f"export:value{n}"][SECURE]) for n in range(len(values))]


def fetch_records(
    client: NexudusClient, kind: RecordKind[Any], business: int
) -> list[ExistingRecord]:
    """Every record of the kind in the business, each as read by id, or an error that says
    what to check. A listing is a projection (no `Users`/`Members`, maybe no `SystemId`), so it
    only says which records exist: what export writes, and whose a record is, comes from a GET
    of each."""
    others = " ".join(f"--only {k.map_name}" for k in KINDS if k != kind)
    without = f"; to export without the {kind.plural}: {others}" if others else ""
    action = "list"
    try:
        listed = client.search(kind.spec.collection, {kind.spec.filter("Business"): business})
        ids = [int(r["Id"]) for r in listed if r.get("BusinessId") == business]
        action = "read"
        records = [record for i in ids if (record := _read(client, kind, i)) is not None]
    except ApiRejectedError as exc:
        raise ExportError(
            f"Nexudus refused to {action} the {kind.plural} of business {business}: {exc}"
        ) from None
    except AuthorizationError as exc:
        raise ExportError(
            f"{exc}: to {action} {kind.plural} needs the role "
            f"{exc.role_for(kind.spec.record_name)}{without}"
        ) from None
    return [ExistingRecord.from_record(kind, r) for r in records if r.get("BusinessId") == business]


def _read(client: NexudusClient, kind: RecordKind[Any], record_id: int) -> dict[str, Any] | None:
    """The record by id; None when it was deleted since the listing named it."""
    try:
        return client.get(kind.spec.collection, record_id)
    except NotFoundError:
        return None


# ----- the command --------------------------------------------------------------------------


@dataclass
class ExportReport:
    text: str
    """The stack file as written (or as printed with `--output -`)."""
    lines: list[str]
    """What the user should read: skipped records, warnings, then the summary line."""


def client_from_environment(environ: Mapping[str, str]) -> NexudusClient:
    settings = Settings.load(lambda _key: None, environ)
    if not settings.has_credentials:
        raise ExportError(
            "no Nexudus credentials: set NEXUDUS_USERNAME and NEXUDUS_PASSWORD, or NEXUDUS_TOKEN "
            "(and NEXUDUS_BASE_URL for anything but https://spaces.nexudus.com)"
        )
    return NexudusClient(settings)


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
                f"into another stack, or leave the {kind.plural} out (--only); nothing was written"
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
            "unless --keep-unmatched), --output - shows the result without writing it"
        )
    default_business = plain(stack_file.config.get(project.key(BUSINESS)))
    if full and default_business is not None and str(default_business) != str(options.business):
        raise ExportError(
            f"{_shown(stack_file.path, root)} declares its records in business "
            f"{default_business} ({project.key(BUSINESS)}); merging business {options.business} "
            "into it would move every record without a businessId of its own to "
            f"{options.business}, which replaces them. Export into a stack of its own, or pass "
            f"--business {default_business}; nothing was written"
        )
    client = client_from_environment(environ)
    found = {kind: fetch_records(client, kind, options.business) for kind in options.kinds}
    if not any(found.values()):
        kinds = " or ".join(kind.plural for kind in options.kinds)
        raise ExportError(
            f"business {options.business} has no {kinds} these credentials can see: check "
            "--business (Nexudus lists nothing, without an error, for a business id it does not "
            "know) and that the account has access to that business; nothing was written"
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
