"""The Nexudus ChatRoom record as a Pulumi resource.

Nexudus marks ChatRoom deprecated in favour of CommunityThread and CommunityGroup; the program
warns about it once per run, in the words of `KIND.deprecation`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from pydantic import Field

from .descriptor import RecordSpec
from .models import Api, IdSet, Name, RecordId, RecordInputs, Timestamp
from .recordkind import RecordKind, lazy_resource

if TYPE_CHECKING:
    from .resources import ChatRoom


class ChatRoomInputs(RecordInputs):
    """A Nexudus ChatRoom (`/api/support/chatrooms`). Defaults are the API's own."""

    business_id: RecordId
    """The room's business; in stack config, the stack's `nexudus-rooms:businessId` unless the
    room sets its own. A change moves the room in place
    (the entity reference lists `BusinessId` among its update options)."""
    name: Name | None = None
    """The room's name. Quote one that looks like a date: unquoted, YAML reads it as a
    timestamp (refused, with the line to write)."""
    active: Annotated[bool, Api(pinned=True)] = False
    """Whether the room is open."""
    last_agent_visit: Annotated[Timestamp | None, Api(on_request=True)] = None
    """When an agent last visited, ISO 8601 with an offset (`+00:00` becomes `Z`; an unquoted
    YAML timestamp is read too). Nexudus moves it as agents visit: declare it only to pin it."""
    users: Annotated[IdSet, Api(deltas=("AddedUsers", "RemovedUsers"))] = Field(
        default_factory=list
    )
    """The room's users, by id: a set (order is never a change, a repeat is refused); declared,
    exactly these."""

    RECORD_NAME: ClassVar[str] = "ChatRoom"
    COLLECTION: ClassVar[str] = "/api/support/chatrooms"


CHAT_ROOM = RecordSpec(ChatRoomInputs)

SUCCESSOR = "CommunityGroup (/api/community/communitygroups) with CommunityThread"


KIND: RecordKind[ChatRoom] = RecordKind(
    CHAT_ROOM,
    "rooms",
    "room",
    resource_path="nexudus_pulumi.resources:ChatRoom",
    deprecation=(
        "Nexudus marks the ChatRoom API as deprecated; plan a move to "
        f"{SUCCESSOR}. This stack's rooms keep working until Nexudus removes it."
    ),
    example={"name": "Lobby", "active": True},
    synonyms={"members": "users"},
)


def __getattr__(name: str) -> Any:
    """The resource and provider classes, which need Pulumi, on first use: the states of
    stacks made before they moved to `resources` name the provider class here."""
    return lazy_resource(__name__, name, ("ChatRoom", "ChatRoomProvider"))
