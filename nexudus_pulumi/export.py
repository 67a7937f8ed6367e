"""`nexudus-pulumi export`: a business's existing rooms written into a stack's config, to adopt.

The model is `pulumi import` and Terraform's generated import blocks: declarations generated from
what exists, each with the `importId` that adopts it, reviewed, then applied with no change.
Rooms another stack manages are not offered for adoption unless asked (`--include-owned`), and
every written room is protected by default, so a mistaken `destroy` cannot delete production rooms.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from .chatroom import CHAT_ROOM
from .client import NexudusClient
from .errors import ApiRejectedError, AuthorizationError, NexudusError
from .models import normalise_timestamp
from .ownership import Marker
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
REFRESHED_FIELDS = ("name", "active", "users", "businessId")
"""Room fields `export` writes and, with --force, refreshes on keys already in the file."""
LAST_VISIT = "lastAgentVisit"

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
    """The stack a marker names (`project/stack/key`), or None for a room no stack manages."""
    marker = Marker.parse(system_id)
    return marker.path if marker is not None else None


@dataclass(frozen=True)
class ExistingRoom:
    """One chat room as Nexudus lists it: what export needs to declare and adopt it."""

    id: int
    business_id: int
    name: str | None
    active: bool
    users: tuple[int, ...]
    last_agent_visit: str | None
    system_id: str | None

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> ExistingRoom:
        visit = record.get("LastAgentVisit")
        system_id = record.get("SystemId")
        return cls(
            id=int(record["Id"]),
            business_id=int(record["BusinessId"]),
            name=record.get("Name") or None,
            active=bool(record.get("Active")),
            users=tuple(sorted(int(u) for u in record.get("Users") or [])),
            last_agent_visit=normalise_timestamp(visit)
            if isinstance(visit, str) and visit
            else None,
            system_id=system_id if isinstance(system_id, str) and system_id else None,
        )

    @property
    def owner(self) -> str | None:
        return owner_of(self.system_id)

    @property
    def label(self) -> str:
        return f"room {self.id} {self.name!r}" if self.name else f"room {self.id} (no name)"


# ----- keys ---------------------------------------------------------------------------------


def slug(name: str) -> str:
    """A readable key from a room name: `Café Zürich #2` -> `cafe-zurich-2`.

    Accents on Latin letters are dropped (people type `cafe`, not `café`, in a terminal); letters
    of other scripts are kept as they are (`会议室`, `кафе`): a guessed transliteration would be
    less readable to the people who named the rooms. Anything else separates words.
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


def derive_keys(rooms: Sequence[ExistingRoom], taken: Collection[str] = ()) -> dict[int, str]:
    """Room id -> a key unique among `rooms` and unlike any of `taken`.

    Rooms take their name's key in id order, the oldest first; a room whose key is already
    taken gets `-2`, `-3`... A nameless room (or one whose name has no letters or digits) is
    `room-<id>`. Newer rooms never change the keys of older ones.
    """
    used = set(taken)
    keys: dict[int, str] = {}
    for room in sorted(rooms, key=lambda room: room.id):
        base = candidate = slug(room.name or "") or f"room-{room.id}"
        suffix = 1
        while candidate in used:
            suffix += 1
            candidate = f"{base}-{suffix}"
        keys[room.id] = candidate
        used.add(candidate)
    return keys


# ----- what to write ------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportOptions:
    business: int
    protect: bool = True
    include_owned: bool = False
    last_agent_visit: bool = False


@dataclass
class Entry:
    """One room as it will stand in the rooms map."""

    key: str
    room: ExistingRoom
    fields: dict[str, Any]
    in_file: bool
    """The key was already in the file: it keeps its place and comments."""
    note: str = ""
    """Written as a comment above a new key."""


@dataclass
class ExportPlan:
    entries: list[Entry] = field(default_factory=list)
    skipped: list[ExistingRoom] = field(default_factory=list)
    """Rooms another stack manages, left out (no --include-owned)."""
    dropped: list[str] = field(default_factory=list)
    """Keys in the file that match no room of the business (with --force they go)."""
    contested: dict[str, ExistingRoom] = field(default_factory=dict)
    """Keys in the file adopting a room another stack manages: left as they are, and named."""

    @property
    def foreign(self) -> list[Entry]:
        return [e for e in self.entries if e.room.system_id and e.room.owner is None]

    @property
    def taken_over(self) -> list[Entry]:
        return [e for e in self.entries if e.fields.get(TAKE_OVER_KEY)]


def room_fields(room: ExistingRoom, stack_business: int, options: ExportOptions) -> dict[str, Any]:
    """The fields worth managing; the others are left to Nexudus."""
    fields: dict[str, Any] = {}
    if room.name:
        fields["name"] = room.name
    fields["active"] = room.active
    if room.users:
        fields["users"] = list(room.users)
    if room.business_id != stack_business:
        fields["businessId"] = room.business_id
    if options.last_agent_visit and room.last_agent_visit:
        fields[LAST_VISIT] = room.last_agent_visit
    return fields


def _import_ids(declared: Mapping[str, Any]) -> dict[int, str]:
    """importId -> key of the rooms already declared; one room may not have two keys."""
    seen: dict[int, str] = {}
    for key, spec in declared.items():
        value = spec.get(IMPORT_KEY) if isinstance(spec, Mapping) else None
        if value is None:
            continue
        try:
            room_id = int(value)
        except (TypeError, ValueError):
            raise ExportError(f"rooms.{key}.importId must be a room id, got {value!r}") from None
        if room_id in seen:
            raise ExportError(
                f"rooms {seen[room_id]!r} and {key!r} both adopt room {room_id} (importId): two "
                "keys would manage one room; keep one of them"
            )
        seen[room_id] = key
    return seen


def plan_export(
    rooms: Iterable[ExistingRoom],
    declared: Mapping[str, Any],
    *,
    project: str,
    stack: str,
    options: ExportOptions,
) -> ExportPlan:
    """Decide each room's key and fields, and which rooms and keys are left out.

    A room already declared (by its importId, or because its marker names this stack and a key
    of the file) keeps its key. A room whose marker names another stack is skipped, or written
    with `takeOver: true` when `include_owned`. New keys follow in id order.
    """
    by_import = _import_ids(declared)
    own_prefix = f"{project}/{stack}/"
    plan = ExportPlan()
    matched: dict[int, str] = {}
    fresh: list[ExistingRoom] = []
    ordered = sorted(rooms, key=lambda room: room.id)
    for room in ordered:
        owner = room.owner
        ours = owner is not None and owner.startswith(own_prefix)
        key = by_import.get(room.id)
        if key is None and ours and owner is not None and owner[len(own_prefix) :] in declared:
            key = owner[len(own_prefix) :]
        if owner is not None and not (ours and key is not None) and not options.include_owned:
            if key is None:
                plan.skipped.append(room)
            else:
                plan.contested[key] = room
        elif key is not None:
            matched[room.id] = key
        else:
            fresh.append(room)
    new_keys = derive_keys(fresh, taken=declared.keys())
    for room in ordered:
        if room.id in matched:
            fields = room_fields(room, options.business, options)
            if room.owner is not None and not room.owner.startswith(own_prefix):
                fields[TAKE_OVER_KEY] = True
            plan.entries.append(Entry(matched[room.id], room, fields, in_file=True))
        elif room.id in new_keys:
            plan.entries.append(_new_entry(new_keys[room.id], room, options))
    kept = {entry.key for entry in plan.entries}
    plan.dropped = [key for key in declared if key not in kept and key not in plan.contested]
    return plan


def _new_entry(key: str, room: ExistingRoom, options: ExportOptions) -> Entry:
    fields = room_fields(room, options.business, options)
    fields[IMPORT_KEY] = room.id
    if options.protect:
        fields[PROTECT_KEY] = True
    note = ""
    if room.owner is not None:
        fields[TAKE_OVER_KEY] = True
        note = f"managed by the stack {room.owner}: takeOver moves it to this stack"
    elif room.system_id:
        fields[TAKE_OVER_KEY] = True  # the provider refuses another owner's room without it
        note = (
            f"SystemId {room.system_id!r} was set by another integration: takeOver replaces it "
            "with this stack's marker"
        )
    return Entry(key, room, fields, in_file=False, note=note)


# ----- writing it ---------------------------------------------------------------------------


def _yaml_value(name: str, value: Any) -> Any:
    if name == "users":
        return flow_list(list(value))
    if name == LAST_VISIT:
        return DoubleQuotedScalarString(value)  # unquoted, YAML would read a timestamp
    return value


def apply_plan(
    plan: ExportPlan, stack_file: StackFile, project: Project, options: ExportOptions
) -> None:
    """Write the plan into the stack file's config; everything else in the file stays."""
    config = stack_file.config
    business_key = project.key("businessId")
    current = config.get(business_key)
    set_value(
        config,
        business_key,
        str(options.business) if isinstance(current, str) else options.business,
    )
    rooms_key = project.key("rooms")
    rooms = stack_file.mapping(rooms_key)
    if rooms is None:
        rooms = CommentedMap()
        set_value(config, rooms_key, rooms)
    for key in plan.dropped:
        remove_key(rooms, key)
    refreshed = (*REFRESHED_FIELDS, LAST_VISIT) if options.last_agent_visit else REFRESHED_FIELDS
    for entry in plan.entries:
        if entry.in_file:
            spec = rooms[entry.key]
            if not isinstance(spec, CommentedMap):
                spec = CommentedMap()
                set_value(rooms, entry.key, spec)
            for name in (*refreshed, TAKE_OVER_KEY):
                if name in entry.fields:
                    _set_field(spec, name, entry.fields[name])
                elif name in refreshed:
                    remove_key(spec, name)
        else:
            spec = CommentedMap((k, _yaml_value(k, v)) for k, v in entry.fields.items())
            append_key(rooms, entry.key, spec, comment=entry.note, indent=2 * stack_file.indent)


FIELD_ORDER = (*REFRESHED_FIELDS, LAST_VISIT, IMPORT_KEY, PROTECT_KEY, TAKE_OVER_KEY)


def _set_field(spec: CommentedMap, name: str, value: Any) -> None:
    """Set a room field in place, or add it where export would have written it."""
    if name in spec:
        if plain(spec[name]) != value:
            set_value(spec, name, _yaml_value(name, value))
        return
    rank = FIELD_ORDER.index(name)
    later = [i for i, key in enumerate(spec) if key in FIELD_ORDER[rank + 1 :]]
    insert_key(spec, later[0] if later else len(spec), name, _yaml_value(name, value))


def fetch_rooms(client: NexudusClient, business: int) -> list[ExistingRoom]:
    """Every room of the business (paged by the client), or an error that says what to check."""
    try:
        records = list(client.search(CHAT_ROOM.collection, {"ChatRoom_Business": business}))
    except ApiRejectedError as exc:
        raise ExportError(
            f"Nexudus refused to list the rooms of business {business}: {exc}"
        ) from None
    except AuthorizationError as exc:
        raise ExportError(
            f"{exc}: listing rooms needs the role {exc.role_for(CHAT_ROOM.record_name)}"
        ) from None
    rooms = [ExistingRoom.from_record(r) for r in records if r.get("BusinessId") == business]
    if not rooms:
        raise ExportError(
            f"business {business} has no chat rooms these credentials can see: check --business "
            "(Nexudus lists nothing, without an error, for a business id it does not know) and "
            "that the account has access to that business; nothing was written"
        )
    return rooms


# ----- the command --------------------------------------------------------------------------


@dataclass
class ExportReport:
    text: str
    """The stack file as written (or as printed with `--output -`)."""
    lines: list[str]
    """What the user should read: skipped rooms, warnings, then the summary line."""


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
    declared = plain(stack_file.mapping(project.key("rooms")) or {})
    if declared and not force and not to_stdout:
        raise ExportError(
            f"{_shown(stack_file.path, root)} already declares {len(declared)} room(s) in "
            f"{project.key('rooms')}: --force merges the business's rooms into it (keys already "
            "there keep their place; keys that match no room are removed), --output - shows the "
            "result without writing it"
        )
    client = client_from_environment(environ)
    rooms = fetch_rooms(client, options.business)
    plan = plan_export(rooms, declared, project=project.name, stack=stack_name, options=options)
    apply_plan(plan, stack_file, project, options)
    text = stack_file.dump()
    destination = "stdout" if to_stdout else _shown(stack_file.path, root)
    if not to_stdout:
        stack_file.save()
    return ExportReport(text, _report(plan, options, destination))


def _shown(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def _report(plan: ExportPlan, options: ExportOptions, destination: str) -> list[str]:
    lines = [
        f"skipped {room.label}: managed by the stack {room.owner} "
        "(--include-owned writes it with takeOver: true)"
        for room in plan.skipped
    ]
    lines += [
        f"warning: {key} adopts {room.label}, which the stack {room.owner} manages; left as it "
        "is, and `pulumi up` will refuse it (--include-owned adds takeOver: true)"
        for key, room in plan.contested.items()
    ]
    lines += [
        f"warning: {e.key} ({e.room.label}) is managed by the stack {e.room.owner}; written with "
        "takeOver: true, so `pulumi up` moves it to this stack"
        for e in plan.taken_over
    ]
    lines += [
        f"warning: {e.key} ({e.room.label}) has SystemId {e.room.system_id!r}, set by another "
        "integration; adopting it replaces that value with this stack's marker"
        for e in plan.foreign
    ]
    lines += [
        f"removed {key}: no room of business {options.business} matches it" for key in plan.dropped
    ]
    kept = sum(1 for e in plan.entries if e.in_file)
    summary = f"{len(plan.entries)} room(s) of business {options.business} written to {destination}"
    details = []
    if kept:
        details.append(f"{kept} already declared, kept their keys")
    if options.protect and len(plan.entries) > kept:
        details.append("new ones protected")
    if plan.skipped:
        details.append(f"{len(plan.skipped)} skipped as managed by other stacks")
    lines.append(summary + (f" ({'; '.join(details)})" if details else ""))
    return lines
