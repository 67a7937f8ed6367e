"""The Nexudus ChatRoom record as a Pulumi resource.

Nexudus marks ChatRoom deprecated in favour of CommunityThread and CommunityGroup; the program
warns about it once per run, in the words of `KIND.deprecation`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import pulumi
from pydantic import Field

from .models import IdSet, Name, RecordId, RecordInputs, Timestamp
from .provider import RecordProvider, RecordSpec
from .recordkind import RecordKind
from .resource import RecordResource, keyword_inputs


class ChatRoomInputs(RecordInputs):
    """A Nexudus ChatRoom (`/api/support/chatrooms`). Defaults are the API's own."""

    business_id: RecordId
    """The room's business; in stack config, the stack's `nexudus-rooms:businessId` unless the
    room sets its own. A change moves the room in place
    (the entity reference lists `BusinessId` among its update options)."""
    name: Name | None = None
    """The room's name. Quote one that looks like a date: unquoted, YAML reads it as a
    timestamp (refused, with the line to write)."""
    active: bool = False
    """Whether the room is open."""
    last_agent_visit: Timestamp | None = None
    """When an agent last visited, ISO 8601 with an offset (`+00:00` becomes `Z`; an unquoted
    YAML timestamp is read too). Nexudus moves it as agents visit: declare it only to pin it."""
    users: IdSet = Field(default_factory=list)
    """The room's users, by id: a set (order is never a change, a repeat is refused); declared,
    exactly these."""

    BUSINESS_FILTER: ClassVar[str] = "ChatRoom_Business"
    NAME_FILTER: ClassVar[str] = "ChatRoom_Name"


CHAT_ROOM = RecordSpec(
    record_name="ChatRoom",
    collection="/api/support/chatrooms",
    inputs_model=ChatRoomInputs,
)

SUCCESSOR = "CommunityGroup (/api/community/communitygroups) with CommunityThread"


class ChatRoomProvider(RecordProvider):
    """Creates, reads, updates and deletes Nexudus chat rooms."""

    spec = CHAT_ROOM


class ChatRoom(RecordResource, module="nexudus", name="ChatRoom"):
    """A Nexudus chat room. The resource id is the Nexudus record id, as a string."""

    provider_type = ChatRoomProvider

    business_id: pulumi.Output[int]
    name: pulumi.Output[str | None]
    active: pulumi.Output[bool]
    last_agent_visit: pulumi.Output[str | None]
    users: pulumi.Output[list[int]]

    def __init__(
        self,
        resource_name: str,
        *,
        business_id: pulumi.Input[int],
        name: pulumi.Input[str] | None = None,
        active: pulumi.Input[bool] | None = None,
        last_agent_visit: pulumi.Input[str] | None = None,
        users: pulumi.Input[Sequence[pulumi.Input[int]]] | None = None,
        import_id: pulumi.Input[int] | None = None,
        take_over: pulumi.Input[bool] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """`import_id` adopts an existing room, once, instead of creating one (Pulumi's `import_`
        option does not reach dynamic providers); `take_over` lets it take a room whose marker
        names another owner. A field left as None is not declared: it stays Nexudus's."""
        super().__init__(resource_name, keyword_inputs(locals()), opts)


KIND: RecordKind[ChatRoom] = RecordKind(
    ChatRoom,
    "rooms",
    "room",
    pinned=frozenset({"active"}),
    on_request=frozenset({"lastAgentVisit"}),
    deprecation=(
        "Nexudus marks the ChatRoom API as deprecated; plan a move to "
        f"{SUCCESSOR}. This stack's rooms keep working until Nexudus removes it."
    ),
    example={"name": "Lobby", "active": True},
    synonyms={"members": "users"},
)
