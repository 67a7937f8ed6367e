"""The Pulumi program: the stack's config turned into one resource per entry of each stack map
(`rooms`, `groups`, `threads`: one map per record type of `kinds.KINDS`).

Stack config (`stacks/Pulumi.<stack>.yaml`):

    nexudus-rooms:businessId: 1001          # the default business of every record
    nexudus-rooms:rooms:
      lobby:                                # the key is the logical name: keep it stable
        name: Lobby
        active: true
        users: [11, 12]
        lastAgentVisit: "2025-01-15T10:30:00Z"
        businessId: 1002                    # optional, overrides the stack's
        importId: 87654321                  # optional: adopt this existing record, no POST
        protect: true                       # optional Pulumi resource options
    nexudus-rooms:groups:                   # CommunityGroup, the successor of ChatRoom
      makers:
        name: Makers
        userId: 11                          # the group's administrator
        groupAccess: public                 # restricted (the API's default), public, private
        members: [12, 13]
    nexudus-rooms:threads:                  # CommunityThread, a discussion in a group
      makers-welcome:
        subject: Welcome
        message: Read this first.
        userId: 11                          # the author
        group: makers                       # the group's key above: its id, once it exists

A map the stack does not set is empty. The program checks what only it can see, all at once and
before any resource is declared: the `nexudus:*` settings, keys it does not know (with the
nearest known one), records without a business, and references to keys that do not exist.
Values are passed through unchanged: the provider's `check` validates them, so a bad one stops
`pulumi preview` with the property's name before any API call.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import pulumi
from pydantic import TypeAdapter, ValidationError

from .errors import ConfigurationError
from .identity import StackIdentity
from .kinds import KINDS
from .models import RecordId, why_refused
from .recordkind import FLAG_OPTIONS, RESOURCE_OPTIONS, R, RecordKind
from .resource import RecordResource
from .settings import KEYS, Settings

PROVIDER_NAMESPACE = "nexudus"
NO_BUSINESS = 0
"""Pulumi.yaml's default for `businessId`: Pulumi has no optional keys without a default."""
STACK_SETTINGS = ("businessId", *(kind.map_name for kind in KINDS))
NEAR_NAMESPACE = 0.8
"""How alike (difflib's ratio) a namespace must be to one of ours to be taken for a typo of it:
`nexudus-room` is 0.96 like `nexudus-rooms`, `nexus` 0.83 like `nexudus`; `pulumi`, `aws` far
below."""
MAX_VALUE_LENGTH = 65_536
"""Characters one text setting may hold. Far beyond any name or description people write (names
stop at 255, see models.MAX_NAME_LENGTH), and every input travels in each step's messages and
into the state: a 200 kB value failed inside the engine, naming nothing."""


@dataclass(frozen=True)
class Declared:
    """The stack's resources: map name (`rooms`) -> key -> resource."""

    resources: dict[str, dict[str, RecordResource]]

    def of(self, kind: RecordKind[R]) -> dict[str, R]:
        return cast("dict[str, R]", self.resources.get(kind.map_name, {}))


def declare_stack() -> Declared:
    """Declare every entry of the stack's maps, in `KINDS` order (a referenced record before
    the records naming it); export one stack output per map, key -> Nexudus id."""
    config = pulumi.Config()
    problems = [*_settings_problems(), *_unknown_keys(config.name)]
    default_business = _default_business(config, problems)
    entries: dict[str, dict[str, dict[str, Any]]] = {}
    for kind in KINDS:
        entries[kind.map_name] = _declared_map(config, kind, default_business, problems)
        problems += _reference_problems(config, kind, entries)
    if problems:
        raise pulumi.RunError(
            "the stack's config needs fixing before anything is sent to Nexudus:\n  - "
            + "\n  - ".join(problems)
        )
    for kind in KINDS:  # a stack whose rooms all moved to groups has nothing to be warned about
        if kind.deprecation and entries[kind.map_name]:
            pulumi.log.warn(kind.deprecation)
    # The identity first, with every declared key: the drift check and destroy name the
    # records that carry the stack's markers but that no resource holds.
    StackIdentity.current({kind.spec.record_name: _keys(entries[kind.map_name]) for kind in KINDS})
    declared = Declared({})
    for kind in KINDS:
        resources = _declare_all(config, kind, entries[kind.map_name], default_business, declared)
        declared.resources[kind.map_name] = dict(resources)
        pulumi.export(kind.map_name, {key: resource.id for key, resource in resources.items()})
    return declared


def _keys(entries: Mapping[str, Any]) -> list[str]:
    """The keys a map declares, with the earlier keys its `aliases` name: a record renamed in
    config carries its old key until its update rewrites the marker."""
    earlier = [
        old
        for entry in entries.values()
        if isinstance(entry, dict)
        for old in _alias_keys(entry.get("aliases"))
    ]
    return sorted({*entries, *earlier})


def _default_business(config: pulumi.Config, problems: list[str]) -> Any:
    """The stack's `businessId`, or None when none is set. A wrong one is said in `problems`
    (and returned as it is: the records do not each say they have none)."""
    try:
        value = config.get_object("businessId")
    except pulumi.ConfigTypeError:
        value = config.get("businessId")
    if value is None or value == NO_BUSINESS:
        return None
    try:
        return TypeAdapter(RecordId).validate_python(value)
    except ValidationError:
        problems.append(
            f"{config.full_key('businessId')} must be a business id (a whole number), got "
            f"{config.get('businessId')!r}"
        )
        return value


def _declare_all(
    config: pulumi.Config,
    kind: RecordKind[R],
    entries: dict[str, dict[str, Any]],
    default_business: Any,
    declared: Declared,
) -> dict[str, R]:
    secret = _is_secret(config, kind)
    return {
        key: _declare(kind, key, entry, default_business, declared, secret=secret)
        for key, entry in entries.items()
    }


def _is_secret(config: pulumi.Config, kind: RecordKind[Any]) -> bool:
    # Pulumi marks a config key secret as a whole: one `--secret` value anywhere in the map
    # makes every record's settings secret, so that none lands in the state in plain text.
    return pulumi.runtime.is_config_secret(config.full_key(kind.map_name))


def _declared_map(
    config: pulumi.Config, kind: RecordKind[Any], default_business: Any, problems: list[str]
) -> dict[str, dict[str, Any]]:
    """The stack's map for `kind`, in key order; what is wrong with it goes into `problems`."""
    where = config.full_key(kind.map_name)
    declared = config.get_object(kind.map_name) or {}
    if not isinstance(declared, dict):
        problems.append(f"{where} must be a map from a {kind.noun} key to its settings")
        return {}
    if "" in declared:
        problems.append(
            f'{where} has an empty key (""): each {kind.noun} needs a key, its name in Pulumi '
            "(lobby: {name: Lobby})"
        )
    problems += _shared_import_ids(where, declared)
    for key, entry in sorted(declared.items()):
        problems += _record_problems(kind, f"{where}.{key}", entry, default_business, config.name)
        earlier = _alias_keys(entry.get("aliases")) if isinstance(entry, dict) else []
        problems += [
            f"{where}.{key}.aliases names {old!r}, which is still declared: a renamed key "
            "replaces the old one, it does not sit beside it"
            for old in earlier
            if old in declared
        ]
    return dict(sorted(declared.items()))


def _declare(
    kind: RecordKind[R],
    key: str,
    entry: Mapping[str, Any],
    default_business: Any,
    declared: Declared,
    *,
    secret: bool,
) -> R:
    settings = kind.settings
    kwargs = {
        settings[name]: value for name, value in entry.items() if name not in RESOURCE_OPTIONS
    }
    for name, reference in kind.references.items():
        if name in entry:  # the id of the record that key holds: the resource depends on it
            kwargs[settings[name]] = declared.resources[reference.map_name][entry[name]].id
    options = {settings[name]: entry[name] for name in FLAG_OPTIONS if name in entry}
    if "aliases" in entry:
        options["aliases"] = [pulumi.Alias(name=old) for old in _alias_keys(entry["aliases"])]
    if kwargs.get("business_id") is None:
        kwargs["business_id"] = default_business
    # Required inputs are always passed (None when missing), so `check` names them at preview.
    fields = kind.model.model_fields
    kwargs = {name: None for name, info in fields.items() if info.is_required()} | kwargs
    if secret:
        kwargs = {name: pulumi.Output.secret(value) for name, value in kwargs.items()}
    return kind.resource(key, **kwargs, opts=pulumi.ResourceOptions(**options))


def _settings_problems() -> list[str]:
    """The provider's settings, checked here too: the provider would stop at the first room's
    check, with Python's traceback around the message; the program can say it plainly."""
    provider_config = pulumi.Config(PROVIDER_NAMESPACE)
    try:
        Settings.load(lambda key: provider_config.get(key.split(":", 1)[1]))
    except ConfigurationError as exc:
        return [str(exc)]
    return []


def _unknown_keys(project: str) -> list[str]:
    """`nexudus:*` and `<project>:*` keys nobody reads, and keys of a namespace close to one of
    those (`nexudus-room:rooms`): usually a typo of one that is read. A map under a misspelt
    namespace would otherwise be read as no map at all, and its records deleted."""
    ours = (PROVIDER_NAMESPACE, project)
    known = {key.config_key for key in KEYS} | {f"{project}:{name}" for name in STACK_SETTINGS}
    problems = []
    for key in sorted(pulumi.runtime.get_config_env()):
        if key in known:
            continue
        namespace, _, name = key.partition(":")
        meant = namespace if namespace in ours else _near_namespace(namespace, ours)
        if meant is None:
            continue  # another provider's, or Pulumi's own: not ours to judge
        candidates = sorted(k for k in known if k.startswith(meant + ":"))
        hint = _did_you_mean(f"{meant}:{name}", candidates)
        if meant != namespace and "did you mean" not in hint:
            hint = f" (did you mean the namespace {meant!r}?){hint}"
        problems.append(f"{key} is not a setting{hint}")
    return problems


def _near_namespace(namespace: str, ours: Iterable[str]) -> str | None:
    """The namespace of ours that `namespace` most likely misspells, if any: the same but for
    case, a letter or two, or a stray character (`nexudu`, `nexudus-room`, `nexudus-rooms-`)."""
    typed = namespace.lower()
    ratios = {own: difflib.SequenceMatcher(None, typed, own).ratio() for own in ours}
    best = max(ratios, key=lambda own: ratios[own])
    return best if ratios[best] >= NEAR_NAMESPACE else None


def _reference_problems(
    config: pulumi.Config, kind: RecordKind[Any], entries: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    """Each reference names a key of its map (declared earlier in `KINDS`), and an entry sets
    either the reference or the field it fills, not both."""
    problems = []
    for key, entry in entries[kind.map_name].items():
        for name, reference in kind.references.items():
            if not isinstance(entry, dict) or name not in entry:
                continue
            where = f"{config.full_key(kind.map_name)}.{key}.{name}"
            keys = entries.get(reference.map_name, {})
            target = config.full_key(reference.map_name)
            if entry.get(reference.field) is not None:
                problems.append(
                    f"{where} and {reference.field} both say which record; set one of them"
                )
            elif not isinstance(entry[name], str) or entry[name] not in keys:
                problems.append(
                    f"{where} names {entry[name]!r}, which is not a key of {target}"
                    + _did_you_mean(str(entry[name]), keys)
                )
    return problems


def _record_problems(
    kind: RecordKind[Any], where: str, entry: Any, default_business: Any, project: str
) -> list[str]:
    settings = kind.settings
    if not isinstance(entry, dict):
        return [f"{where} must be a map of {kind.noun} settings ({', '.join(settings)})"]
    problems = [
        f"{where}: {name!r} is not a {kind.noun} setting"
        + _did_you_mean(name, settings, kind.synonyms.get(name))
        for name in entry
        if name not in settings
    ]
    problems += [
        problem
        for name, value in entry.items()
        for problem in _value_problems(f"{where}.{name}", value)
    ]
    problems += [
        _unquoted(f"{where}.{name}", name, value)
        for name, value in entry.items()
        if name in kind.model.record_fields() and _yaml_read_as_text(kind, name, value)
    ]
    problems += [
        f"{where}.{name} must be true or false, got {entry[name]!r}"
        for name in FLAG_OPTIONS
        if name in entry and not isinstance(entry[name], bool)
    ]
    if "aliases" in entry and not _alias_keys(entry["aliases"]):
        problems.append(
            f"{where}.aliases must be the {kind.noun}'s earlier key, or a list of them "
            f"(aliases: [front-desk]), got {entry['aliases']!r}"
        )
    if entry.get("businessId") is None and default_business is None:
        problems.append(
            f"{where} has no business: set its own businessId, or {project}:businessId for "
            f"every {kind.noun} of the stack (pulumi config set {project}:businessId <id>)"
        )
    return problems


def _yaml_read_as_text(kind: RecordKind[Any], field: str, value: Any) -> bool:
    """A text field given a YAML number or boolean (`name: 1234`, `name: yes`): YAML typed it,
    and the field wants the text as written."""
    scalar = isinstance(value, bool | int | float)
    takes_text = why_refused(kind.model, field, "x") is None
    return scalar and takes_text and why_refused(kind.model, field, value) is not None


def _unquoted(where: str, field: str, value: Any) -> str:
    if isinstance(value, bool):
        return (
            f"{where} is a boolean in the stack's YAML ({str(value).lower()}: YAML reads yes, no, "
            f"on, off, true and false so), not a text; quote it as you typed it: "
            f'{field}: "{str(value).lower()}"'
        )
    shown = repr(value) if isinstance(value, float) else str(value)
    return (
        f"{where} is a number in the stack's YAML ({shown}), not a text; quote it: "
        f'{field}: "{shown}"'
    )


def _shared_import_ids(where: str, declared: Mapping[str, Any]) -> list[str]:
    """One record, one key: two keys adopting one id would each hold it, and removing either
    would delete the record the other still declares."""
    keys_of: dict[str, list[str]] = {}
    for key, entry in sorted(declared.items()):
        if isinstance(entry, dict) and entry.get("importId") is not None:
            keys_of.setdefault(str(entry["importId"]), []).append(key)
    return [
        f"{where}: importId {import_id} is declared by {' and '.join(keys)}; a record has one "
        "key. Keep importId on one of them"
        for import_id, keys in keys_of.items()
        if len(keys) > 1
    ]


def _alias_keys(value: Any) -> list[str]:
    """The earlier keys an `aliases` setting names; none when it is not a key or a list of
    keys."""
    keys = [value] if isinstance(value, str) else value
    if not isinstance(keys, list) or not keys:
        return []
    if not all(isinstance(key, str) and key for key in keys):
        return []
    return keys


def _value_problems(where: str, value: Any) -> list[str]:
    """Numbers that are not finite (`.inf`, `.nan`) and texts too long to carry, anywhere in a
    setting: named here, where they would otherwise fail inside the engine, unnamed."""
    if isinstance(value, float) and not math.isfinite(value):
        return [f"{where} must be a finite number, got {value}"]
    if isinstance(value, str) and len(value) > MAX_VALUE_LENGTH:
        return [
            f"{where} is {len(value):,} characters long; at most {MAX_VALUE_LENGTH:,} are taken"
        ]
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in _value_problems(f"{where}[{i}]", item)]
    if isinstance(value, dict):
        return [p for k, item in value.items() for p in _value_problems(f"{where}.{k}", item)]
    return []


def _did_you_mean(name: str, known: Iterable[str], meant: str | None = None) -> str:
    """The known name closest to `name` (or `meant`, when the mistake is a known one)."""
    choices = list(known)
    lowered = {choice.lower(): choice for choice in choices}
    close = [meant] if meant else difflib.get_close_matches(name.lower(), lowered, n=1, cutoff=0.6)
    hint = f" (did you mean {lowered.get(close[0], close[0])!r}?)" if close else ""
    return f"{hint}; known: {', '.join(choices)}"
