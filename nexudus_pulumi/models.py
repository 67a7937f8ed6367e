"""Nexudus record shapes: what a user may declare, and how it maps to the API's JSON.

Inputs use Pulumi's camelCase names (`businessId`); the API uses PascalCase (`BusinessId`), so the
mapping is mechanical and a new record type only declares its fields. This module holds the shared
base and field types; each record type's own model lives in its module (`chatroom.py`...).

Two directions, two rules:
- What a user declares is held to the record's rules (`RecordInputs`, strict): a bad value stops
  `pulumi preview` with the property's name.
- What Nexudus returns is shown as it is (`RecordInputs.live_view`, lenient): a record the API
  accepted (say `Users: [11, 11, 12]`) must never make a refresh or an adoption fail.

A field the user declares is managed (its declared value wins); a field left out is Nexudus's to
change (shown in the outputs, never diffed, never overwritten). `declared()` is the former.

A record type's inputs model is its descriptor: each field says, beside its type, default and
docstring, what it is to the API and the tools in an `Api(...)` tag (`Annotated[str, Api(
sent_on_create=True)]`), as pulumi-go-provider's `infer` tags a field `replaceOnChanges`. The
codec (`to_api`, `live_view`), the outputs, the spec's filters and replacements, export's
treatment, the docs and the plugin's schema are all read from it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
)
from pydantic.alias_generators import to_camel

from .display import visible
from .ownership import Marker

STEERING = frozenset({"ownerTag", "importId", "takeOver"})
"""The steering inputs: they steer the provider (who owns the record, what to adopt) but are no
part of the record, so they are never sent as fields nor compared as drift."""

MAX_ID = 2**31 - 1
"""Nexudus ids are .NET 32-bit ints."""


@dataclass(frozen=True, eq=False)
class Api:
    """What a field is to the API and the tools, beside its type (a field without a tag is sent
    under the PascalCase of its name, and nothing else is special about it)."""

    name: str | None = None
    """The API's name, when it is not the PascalCase of the input (`businessId` ->
    `BusinessId`)."""
    codes: Mapping[str, int] | None = None
    """Declared by name, sent as the API's integer code: name -> code."""
    sent_on_create: bool = False
    """A create always carries it, with the API's default when not declared: the entity
    reference marks it required on create (a group's `groupAccess`)."""
    replace: bool = False
    """It cannot change in place: a change creates a new record (Pulumi's replaceOnChanges)."""
    deltas: tuple[str, str] | None = None
    """A collection's `Added*`/`Removed*` properties, which a PUT may send instead of the whole
    list (`AddedUsers`, `RemovedUsers`); the provider sends the whole list."""
    pinned: bool = False
    """Export writes it even at the API's default: `active: false` is a state people look for,
    where `groupAccess: restricted` or `members: []` would only be noise."""
    on_request: bool = False
    """Export writes it only when asked (`--last-agent-visit`): Nexudus moves it itself, so
    managing it would undo what happens in the account."""
    secret: bool = False
    """Export writes it only encrypted (`secure:`): a thread's `zoomEventData` holds a
    meeting's details, a passcode maybe."""


UNTAGGED = Api()


def _whole_number(value: Any) -> Any:
    """Pulumi carries every number as a float: accept 12.0 as 12, refuse 1.5 and True.

    A string of digits ("1002") is accepted too: a quoted id in stack config, or one copied
    from `pulumi stack output rooms`, which hands ids out as strings.
    """
    if isinstance(value, bool):
        raise ValueError("must be an integer, not a boolean")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"must be a whole number, got {value}")
        return int(value)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    if not isinstance(value, int):
        raise ValueError(f"must be an integer, got {type(value).__name__} {value!r}")
    return value


RecordId = Annotated[int, BeforeValidator(_whole_number), Field(gt=0, le=MAX_ID)]


def _distinct_and_sorted(value: list[int]) -> list[int]:
    """A set of ids: order never matters, so it is kept sorted; a repeat is a typo."""
    seen: set[int] = set()
    for item in value:
        if item in seen:
            raise ValueError(f"id {item} is listed twice")
        seen.add(item)
    return sorted(value)


IdSet = Annotated[list[RecordId], AfterValidator(_distinct_and_sorted)]
"""A list of user ids that is a set (`users`, `members`): declared, it is the exact set."""


def api_name(field: str) -> str:
    """`businessId` -> `BusinessId`: the API's name of an input."""
    return field[:1].upper() + field[1:]


def _lower_first(pascal: str) -> str:
    """`UniqueId` -> `uniqueId`: read-only API fields keep their words in Pulumi outputs."""
    return pascal[:1].lower() + pascal[1:]


@dataclass(frozen=True)
class ReadOnly:
    """A field Nexudus sets and no write sends: one entry gives the resource's output, its row
    of the type's outputs table (docs/resources/) and its type in the plugin's schema."""

    api_name: str
    """As the API spells it: `UniqueId`."""
    description: str
    schema_type: str = "string"

    @property
    def output(self) -> str:
        """As the state and the schema spell it: `uniqueId`."""
        return _lower_first(self.api_name)


_GO_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?) ([+-]\d{2})(\d{2}) \S+$")
"""How an unquoted YAML timestamp in stack config reaches the program: the engine parses it
and hands over Go's spelling, `2025-01-15 10:30:00 +0000 UTC`. The last word is the zone's
name, or the offset again when it has none: `2025-01-15 10:30:00 +0200 +0200`."""


def normalise_timestamp(value: str) -> str:
    """One spelling per instant, so `...Z` and `...+00:00` never show up as a change."""
    go_time = _GO_TIME.match(value)
    if go_time:
        date, clock, hours, minutes = go_time.groups()
        value = f"{date}T{clock}{hours}:{minutes}"
    parsed = datetime.fromisoformat(value)
    text = parsed.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


_DATE_TIME_WITH_OFFSET = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$"
)
"""What a declared instant must look like once normalised: a calendar date, a time and an offset.
Python's `fromisoformat` also takes a bare date, an ISO week or ordinal date, and a time without
an offset; each names no one instant (or none a person would mean), so each is refused."""


def _iso_8601(value: str) -> str:
    try:
        text = normalise_timestamp(value)
    except ValueError:
        text = ""
    typed = _GO_TIME.sub(r"\1T\2\3:\4", value)
    if not (_DATE_TIME_WITH_OFFSET.match(text) and _DATE_TIME_WITH_OFFSET.match(typed)):
        raise ValueError(
            "must be an ISO 8601 date-time with a time and an offset, such as "
            f"2025-01-15T10:30:00Z or 2025-01-15T11:30:00+01:00, got {value!r}"
        )
    return text


Timestamp = Annotated[str, AfterValidator(_iso_8601)]


def _not_a_yaml_timestamp(value: str) -> str:
    """An unquoted `name: 2025-03-01` in stack config is a YAML timestamp: the engine hands the
    program Go's spelling of it, never what the user typed. Refuse it, saying so."""
    go_time = _GO_TIME.match(value)
    if go_time is None:
        return value
    date, clock, hours, minutes = go_time.groups()
    midnight_utc = (clock, hours + minutes) == ("00:00:00", "+0000")
    offset = "Z" if hours + minutes == "+0000" else f"{hours}:{minutes}"
    typed = date if midnight_utc else f"{date}T{clock}{offset}"
    raise ValueError(
        "looks like an unquoted date in the stack's YAML, which YAML reads as a timestamp "
        f'and Pulumi passes on as {value!r}; quote it: name: "{typed}"'
    )


MAX_NAME_LENGTH = 255
"""Nexudus documents no limit; 255 is the usual width of a .NET/SQL text column (nvarchar(255)),
and a longer name is pasted text, not a name people pick from a list. Refused at preview rather
than after a POST that Nexudus might cut or refuse."""


def _no_control_characters(value: str) -> str:
    """A name is shown in lists, menus and terminals: a NUL, an ESC, a tab or a line break
    (C0 and C1 controls, U+0085 included) in one is a mistake, and would drive or break what
    shows it."""
    for position, char in enumerate(value):
        category = unicodedata.category(char)
        if category == "Cc":
            raise ValueError(
                f"must not hold control characters, got {visible(char)} at position {position}"
            )
        if category == "Cs":  # half of a pair: no character, and not encodable as UTF-8
            raise ValueError(f"must not hold a lone surrogate, got {visible(char)} at {position}")
    return value


def not_blank(value: str) -> str:
    """The API refuses a blank required name, and keeps a blank optional one, which no one can
    tell from another in a list; say so at preview, not after a POST."""
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def _not_too_long(value: str) -> str:
    if len(value) > MAX_NAME_LENGTH:
        raise ValueError(f"must be at most {MAX_NAME_LENGTH} characters, got {len(value):,}")
    return value


Name = Annotated[
    str,
    AfterValidator(not_blank),
    AfterValidator(_not_a_yaml_timestamp),
    AfterValidator(_no_control_characters),
    AfterValidator(_not_too_long),
]
"""A record's name as declared in stack config."""


class RecordInputs(BaseModel):
    """What a user declares for one record. Subclasses list the record's fields and their rules.

    Field defaults are the API's own: they are what a create leaves in a field nobody declared,
    and they never count as declared (`declared()` holds only what was set).
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        strict=True,
        use_attribute_docstrings=True,  # a field's docstring is its description (docs/, docgen)
    )

    owner_tag: str | None = None
    """`<project>/<stack>/<key>#<stack id>` of the Pulumi resource, written to `SystemId` as the
    record's owner marker (see `ownership.Marker`). Follows the resource: a renamed stack or
    project rewrites it in place."""

    import_id: RecordId | None = None
    """Id of an existing record to adopt, once, instead of creating one. Pulumi's own `import_`
    option cannot reach dynamic providers (pulumi/pulumi#16175), so adoption is an input that
    `create` honours; once the resource exists it has no effect."""

    take_over: bool = False
    """Let `importId` take a record whose marker names another owner. Never implied."""

    READ_ONLY_FIELDS: ClassVar[tuple[ReadOnly, ...]] = (
        ReadOnly("UniqueId", "Nexudus's UUID of the record (known after the first refresh)"),
        ReadOnly("CreatedOn", "when Nexudus created the record (known after the first refresh)"),
        ReadOnly("UpdatedOn", "last change, by anyone"),
        ReadOnly("UpdatedBy", "who made the last change (the API user for Pulumi's)"),
        ReadOnly("IsNew", "the API's `IsNew` flag, as Nexudus reports it", "boolean"),
        ReadOnly(
            "SystemId", "Nexudus's API-only `SystemId`: `pulumi:<ownerTag>`, the owner marker"
        ),
    )
    """The fields Nexudus sets (the id aside, which is the resource's id): outputs only."""
    RECORD_NAME: ClassVar[str]
    """The API's name of the record type (`ChatRoom`): its role names, and its search filters
    (`ChatRoom_Business`, `ChatRoom_Name`)."""
    COLLECTION: ClassVar[str]
    """The REST collection: `/api/support/chatrooms`."""
    NAME_FIELD: ClassVar[str] = "name"
    """The field that names a record for people (`name`; a thread's `subject`): labels,
    listings, export's keys, and the search for a create whose answer was lost."""

    # ----- the record's fields -----------------------------------------------------------

    @classmethod
    def record_fields(cls) -> tuple[str, ...]:
        """The record's own fields, camelCase (`businessId`, `name`, ...)."""
        return tuple(to_camel(name) for name in cls.model_fields if to_camel(name) not in STEERING)

    @classmethod
    def api(cls, field: str) -> Api:
        """The `Api` tag of a record field (camelCase), or the untagged default."""
        info = cls.model_fields[_snake(cls, field)]
        return next((m for m in info.metadata if isinstance(m, Api)), UNTAGGED)

    @classmethod
    def wire_name(cls, field: str) -> str:
        """The API's name of a record field: `businessId` -> `BusinessId`."""
        return cls.api(field).name or api_name(field)

    @classmethod
    def tagged(cls, flag: str) -> frozenset[str]:
        """The record fields whose `Api` tag sets `flag` (`pinned`, `replace`...)."""
        return frozenset(name for name in cls.record_fields() if getattr(cls.api(name), flag))

    @classmethod
    def filter(cls, field: str) -> str:
        """The search filter on an API field: `ChatRoom_Business`."""
        return f"{cls.RECORD_NAME}_{field}"

    @classmethod
    def output_names(cls) -> tuple[str, ...]:
        return tuple(field.output for field in cls.READ_ONLY_FIELDS)

    @property
    def marker(self) -> Marker | None:
        return Marker.from_tag(self.owner_tag) if self.owner_tag else None

    @property
    def business(self) -> int:
        return int(getattr(self, "business_id"))  # noqa: B009 (every record type has one)

    @property
    def listed_name(self) -> Any:
        """The declared `name`, as a listing shows it: where listings carry no `SystemId`, the
        records a create may have left are found among those of the same business and name."""
        return self.declared().get(self.NAME_FIELD)

    def declared(self) -> dict[str, Any]:
        """The record fields the user declared, camelCase, normalised: what is managed."""
        data = self.model_dump(by_alias=True, exclude_unset=True)
        return {k: v for k, v in data.items() if k not in STEERING}

    def created(self) -> dict[str, Any]:
        """The fields a create sends: those declared, and those it must carry."""
        defaults = self.with_defaults()
        always = sorted(self.tagged("sent_on_create"))
        return {**{name: defaults[name] for name in always}, **self.declared()}

    def with_defaults(self) -> dict[str, Any]:
        """Every record field: declared values, the API's defaults for the rest."""
        data = self.model_dump(by_alias=True)
        return {k: v for k, v in data.items() if k not in STEERING}

    # ----- to and from the API -----------------------------------------------------------

    @classmethod
    def to_api(cls, fields: dict[str, Any], marker: Marker | None) -> dict[str, Any]:
        """A JSON body for POST or PUT from camelCase record fields, with the owner marker."""
        body: dict[str, Any] = {}
        for name, value in fields.items():
            codes = cls.api(name).codes
            body[cls.wire_name(name)] = (
                codes.get(value, value) if codes and value is not None else value
            )
        if marker is not None:
            body["SystemId"] = marker.text
        return body

    @classmethod
    def live_view(cls, record: dict[str, Any]) -> dict[str, Any]:
        """The record's fields as Nexudus holds them, camelCase, normalised where they follow the
        declaration rules and shown as they are where they do not. Never raises."""
        view: dict[str, Any] = {}
        for name in cls.record_fields():
            value = record.get(cls.wire_name(name))
            codes = cls.api(name).codes
            if codes and isinstance(value, int):
                value = {code: label for label, code in codes.items()}.get(value, value)
            view[name] = normalise(cls, name, value)
        return view

    @classmethod
    def outputs_from_record(cls, record: dict[str, Any]) -> dict[str, Any]:
        """The read-only fields, as outputs; those a write's answer lacks are left out."""
        return {
            field.output: record[field.api_name]
            for field in cls.READ_ONLY_FIELDS
            if field.api_name in record
        }

    def lookup_filters(self) -> dict[str, Any]:
        """Search filters that find the record this declaration would create (lost answers)."""
        filters: dict[str, Any] = {self.filter("Business"): self.business}
        name = self.listed_name
        if name:
            filters[self.filter(self.wire_name(self.NAME_FIELD))] = name
        return filters


def normalise(model: type[RecordInputs], field: str, value: Any) -> Any:
    """`value` in the form `check` gives the field, or as it is when it breaks the field's rules
    (or is None, or unknown during preview): comparing never fails, it only differs."""
    if value is None:
        return None
    try:
        return _adapter(model, field).validate_python(value, strict=False)
    except ValidationError:
        return value


def why_refused(model: type[RecordInputs], field: str, value: Any) -> str | None:
    """Why a declaration would refuse `value` for `field`, in `check`'s words; None if it takes
    it. For values read from Nexudus, which a declaration must not repeat when it is refused."""
    try:
        _adapter(model, field).validate_python(value, strict=False)
    except ValidationError as exc:
        return "; ".join(
            str(error["msg"]).removeprefix("Value error, ")
            for error in exc.errors(include_url=False)
        )
    return None


@cache
def _adapter(model: type[RecordInputs], field: str) -> TypeAdapter[Any]:
    info = model.model_fields[_snake(model, field)]
    annotated: Any = (
        Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
    )
    return TypeAdapter(annotated)


def _snake(model: type[RecordInputs], camel: str) -> str:
    for name in model.model_fields:
        if to_camel(name) == camel:
            return name
    raise KeyError(camel)
