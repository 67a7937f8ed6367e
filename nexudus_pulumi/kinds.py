"""The record types a stack's config declares, each in its own map (`rooms`, `groups`).

`export` and `clone` work on any of them alike; a record type is its `RecordSpec` (where it
lives, its inputs model) plus the little a stack file needs beyond it: the map's name, what one
record is called in messages, and which fields `export` treats specially. Another record type
is one more line in `KINDS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic.alias_generators import to_camel

from .chatroom import ChatRoom
from .communitygroup import CommunityGroup
from .models import RecordInputs
from .provider import RecordSpec
from .resource import RecordResource

BUSINESS = "businessId"
FLAG_OPTIONS = {"protect": "protect", "retainOnDelete": "retain_on_delete"}
RESOURCE_OPTIONS = {**FLAG_OPTIONS, "aliases": "aliases"}
"""Per-record settings that are Pulumi resource options, not fields: the provider never sees
them. `aliases` lists the keys a record had before: Pulumi then knows a renamed key for the
same resource (an update that rewrites its marker) instead of a new one (a delete and a
create)."""

R = TypeVar("R", bound=RecordResource)


@dataclass(frozen=True)
class RecordKind(Generic[R]):
    resource: type[R]
    """The Pulumi resource class (`ChatRoom`); its provider's spec says the rest."""
    map_name: str
    """The stack config map: `rooms` is `nexudus-rooms:rooms`."""
    noun: str
    """One record, in messages and in the keys of nameless records (`room-87654321`)."""
    pinned: frozenset[str] = frozenset()
    """Fields export writes even at the API's default: `active: false` is a state people look
    for, where `groupAccess: restricted` or `members: []` would only be noise."""
    on_request: frozenset[str] = frozenset()
    """Fields export writes only when asked (`--last-agent-visit`): Nexudus moves them itself,
    so managing them would undo what happens in the account."""

    @property
    def spec(self) -> RecordSpec:
        return self.resource.provider_type.spec

    @property
    def model(self) -> type[RecordInputs]:
        return self.spec.inputs_model

    @property
    def settings(self) -> dict[str, str]:
        """What a record's entry in the stack's map may set (`userId`) -> the resource's keyword
        argument (`user_id`): its fields, importId and takeOver, and the resource options."""
        named = {to_camel(name): name for name in self.model.model_fields}
        steering = {name: named[name] for name in ("importId", "takeOver")}
        fields = {name: named[name] for name in self.model.record_fields()}
        return fields | steering | RESOURCE_OPTIONS

    @property
    def plural(self) -> str:
        return f"{self.noun}s"

    @property
    def fields(self) -> tuple[str, ...]:
        """The record's fields in the order a stack file lists them: its own, in the model's
        order, then `businessId` (written only to override the stack's)."""
        own = tuple(name for name in self.model.record_fields() if name != BUSINESS)
        return (*own, BUSINESS)

    def default(self, field: str) -> Any:
        """The API's default for a field (what a record that never set it holds), or
        `PydanticUndefined` for a required field."""
        for name, info in self.model.model_fields.items():
            if (info.alias or name) == field:
                return info.get_default(call_default_factory=True)
        raise KeyError(field)


ROOMS: RecordKind[ChatRoom] = RecordKind(
    ChatRoom,
    "rooms",
    "room",
    pinned=frozenset({"active"}),
    on_request=frozenset({"lastAgentVisit"}),
)
GROUPS: RecordKind[CommunityGroup] = RecordKind(CommunityGroup, "groups", "group")
KINDS = (ROOMS, GROUPS)
"""In the order a stack file holds their maps."""
