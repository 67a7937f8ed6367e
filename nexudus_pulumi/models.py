"""Nexudus record shapes: what a user may declare, and how it maps to the API's JSON.

Inputs use Pulumi's camelCase names (`businessId`); the API uses PascalCase (`BusinessId`), so the
mapping is mechanical and a new record type only declares its fields.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel, to_pascal

MAX_ID = 2**31 - 1
"""Nexudus ids are .NET 32-bit ints."""

MARKER_PREFIX = "pulumi:"
"""`SystemId` values starting with this were written by us; see `RecordInputs.marker`."""


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


def _lower_first(pascal: str) -> str:
    """`UniqueId` -> `uniqueId`: read-only API fields keep their words in Pulumi outputs."""
    return pascal[:1].lower() + pascal[1:]


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


class RecordInputs(BaseModel):
    """What a user declares for one record. Subclasses list the fields and their rules."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True, strict=True
    )

    owner_tag: str | None = None
    """Stack/project/key of the Pulumi resource: written to `SystemId` so that a record whose
    create answer was lost can be found again (see `RecordProvider.create`). Bookkeeping, not
    part of the room, so it never triggers a diff."""

    import_id: Annotated[int, BeforeValidator(_whole_number), Field(gt=0, le=MAX_ID)] | None = None
    """Id of an existing record to adopt instead of creating one. Pulumi's own `import_`
    option cannot reach dynamic providers (pulumi/pulumi#16175), so adoption is an input that
    `create` honours; once the record is managed the input has no further effect."""

    READ_ONLY_FIELDS: ClassVar[tuple[str, ...]] = (
        "Id",
        "UniqueId",
        "CreatedOn",
        "UpdatedOn",
        "UpdatedBy",
        "IsNew",
        "SystemId",
    )
    BOOKKEEPING: ClassVar[frozenset[str]] = frozenset({"ownerTag", "importId"})
    """Inputs that steer the provider but are not part of the record: never diffed or sent."""

    @classmethod
    def output_names(cls) -> tuple[str, ...]:
        return tuple(_lower_first(name) for name in cls.READ_ONLY_FIELDS if name != "Id")

    @property
    def marker(self) -> str | None:
        return MARKER_PREFIX + self.owner_tag if self.owner_tag else None

    def search_filters(self) -> dict[str, Any]:
        """Search filters that narrow the lookup of this record by its marker."""
        raise NotImplementedError

    def declared(self) -> dict[str, Any]:
        """The user-facing inputs, camelCase, defaults filled in (what Pulumi diffs)."""
        data = self.model_dump(by_alias=True)
        return {k: v for k, v in data.items() if k not in self.BOOKKEEPING}

    def to_api(self) -> dict[str, Any]:
        """The record's JSON body for POST or PUT: every field, PascalCase."""
        body = {
            to_pascal(name): value
            for name, value in self.model_dump().items()
            if to_camel(name) not in self.BOOKKEEPING
        }
        body["SystemId"] = self.marker
        return body

    @classmethod
    def from_record(cls, record: dict[str, Any], owner_tag: str | None) -> RecordInputs:
        """The inputs that would produce this API record (used by read, refresh and import)."""
        fields: dict[str, Any] = {}
        for name in cls.model_fields:
            if to_camel(name) in cls.BOOKKEEPING:
                continue
            key = to_pascal(name)
            if key in record:
                fields[name] = record[key]
        system_id = record.get("SystemId")
        if isinstance(system_id, str) and system_id.startswith(MARKER_PREFIX):
            owner_tag = system_id[len(MARKER_PREFIX) :]
        return cls.model_validate({**fields, "owner_tag": owner_tag}, strict=False)

    @classmethod
    def outputs_from_record(cls, record: dict[str, Any]) -> dict[str, Any]:
        return {_lower_first(k): record.get(k) for k in cls.READ_ONLY_FIELDS if k != "Id"}


class ChatRoomInputs(RecordInputs):
    """A Nexudus ChatRoom (`/api/support/chatrooms`). Defaults are the API's own."""

    business_id: RecordId
    name: str | None = None
    active: bool = False
    last_agent_visit: str | None = None
    users: list[RecordId] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _not_a_yaml_timestamp(cls, value: str | None) -> str | None:
        """An unquoted `name: 2025-03-01` in stack config is a YAML timestamp: the engine hands
        the program Go's spelling of it, never what the user typed. Refuse it, saying so."""
        go_time = _GO_TIME.match(value) if value is not None else None
        if go_time is None:
            return value
        date, clock, hours, minutes = go_time.groups()
        midnight_utc = (clock, hours + minutes) == ("00:00:00", "+0000")
        typed = date if midnight_utc else f"{date}T{clock}{hours}:{minutes}"
        raise ValueError(
            "looks like an unquoted date in the stack's YAML, which YAML reads as a timestamp "
            f'and Pulumi passes on as {value!r}; quote it: name: "{typed}"'
        )

    @field_validator("last_agent_visit")
    @classmethod
    def _iso_8601(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return normalise_timestamp(value)
        except ValueError:
            raise ValueError(
                f"must be an ISO 8601 date-time such as 2025-01-15T10:30:00Z, got {value!r}"
            ) from None

    @field_validator("users")
    @classmethod
    def _distinct_and_sorted(cls, value: list[int]) -> list[int]:
        seen: set[int] = set()
        for user in value:
            if user in seen:
                raise ValueError(f"user {user} is listed twice")
            seen.add(user)
        return sorted(value)

    def search_filters(self) -> dict[str, Any]:
        filters: dict[str, Any] = {"ChatRoom_Business": self.business_id}
        if self.name:
            filters["ChatRoom_Name"] = self.name
        return filters
