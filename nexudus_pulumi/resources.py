"""The Pulumi resource classes of the record types, and their dynamic providers.

Each class is a typed face over its type's descriptor (`chatroom.ChatRoomInputs`...): its
keyword arguments are the descriptor's fields, as a test checks (tests/test_contract.py), so a
type checker and `TypeError` catch a misspelt one. The descriptors import nothing of Pulumi's;
this module does, and `kinds` loads it only when a resource class is asked for.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi

from .chatroom import CHAT_ROOM
from .communitygroup import COMMUNITY_GROUP
from .communitythread import COMMUNITY_THREAD
from .provider import RecordProvider
from .resource import RecordResource, keyword_inputs

__all__ = [
    "ChatRoom",
    "ChatRoomProvider",
    "CommunityGroup",
    "CommunityGroupProvider",
    "CommunityThread",
    "CommunityThreadProvider",
]


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


class CommunityGroupProvider(RecordProvider):
    """Creates, reads, updates and deletes Nexudus community groups."""

    spec = COMMUNITY_GROUP


class CommunityGroup(RecordResource, module="nexudus", name="CommunityGroup"):
    """A Nexudus community group. The resource id is the Nexudus record id, as a string."""

    provider_type = CommunityGroupProvider

    business_id: pulumi.Output[int]
    name: pulumi.Output[str]
    user_id: pulumi.Output[int]
    description: pulumi.Output[str | None]
    group_access: pulumi.Output[str]
    members: pulumi.Output[list[int]]
    team_guid: pulumi.Output[str | None]
    course_guid: pulumi.Output[str | None]
    business_name: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        business_id: pulumi.Input[int] | None,
        name: pulumi.Input[str] | None,
        user_id: pulumi.Input[int] | None,
        description: pulumi.Input[str] | None = None,
        group_access: pulumi.Input[str] | None = None,
        members: pulumi.Input[Sequence[pulumi.Input[int]]] | None = None,
        team_guid: pulumi.Input[str] | None = None,
        course_guid: pulumi.Input[str] | None = None,
        import_id: pulumi.Input[int] | None = None,
        take_over: pulumi.Input[bool] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """`business_id`, `name` and `user_id` (the administrator) are required; None lets
        `check` name the one missing at preview. `group_access` is `restricted` (the API's
        default), `public` or `private`; `members` the exact set of member ids when declared.
        `import_id` adopts an existing group instead of creating one, once."""
        super().__init__(resource_name, keyword_inputs(locals()), opts)


class CommunityThreadProvider(RecordProvider):
    """Creates, reads, updates and deletes Nexudus community threads."""

    spec = COMMUNITY_THREAD


class CommunityThread(RecordResource, module="nexudus", name="CommunityThread"):
    """A Nexudus community thread. The resource id is the Nexudus record id, as a string."""

    provider_type = CommunityThreadProvider

    business_id: pulumi.Output[int]
    subject: pulumi.Output[str]
    message: pulumi.Output[str]
    user_id: pulumi.Output[int]
    community_group_id: pulumi.Output[int | None]
    tags: pulumi.Output[str | None]
    private: pulumi.Output[bool]
    instant_delivery: pulumi.Output[bool]
    coworker_id: pulumi.Output[int | None]
    guests: pulumi.Output[list[int]]
    include_zoom_invite: pulumi.Output[bool]
    zoom_event_data: pulumi.Output[str | None]
    last_message_date: pulumi.Output[str | None]

    def __init__(
        self,
        resource_name: str,
        *,
        business_id: pulumi.Input[int] | None,
        subject: pulumi.Input[str] | None,
        message: pulumi.Input[str] | None,
        user_id: pulumi.Input[int] | None,
        community_group_id: pulumi.Input[int] | pulumi.Input[str] | None = None,
        tags: pulumi.Input[str] | None = None,
        private: pulumi.Input[bool] | None = None,
        instant_delivery: pulumi.Input[bool] | None = None,
        coworker_id: pulumi.Input[int] | None = None,
        guests: pulumi.Input[Sequence[pulumi.Input[int]]] | None = None,
        include_zoom_invite: pulumi.Input[bool] | None = None,
        zoom_event_data: pulumi.Input[str] | None = None,
        import_id: pulumi.Input[int] | None = None,
        take_over: pulumi.Input[bool] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """`business_id`, `subject`, `message` and `user_id` (the author) are required; None
        lets `check` name the one missing at preview. `community_group_id` takes a group's id,
        or its resource's `id` output (`community_group_id=makers.id`), which makes the thread
        depend on the group. `import_id` adopts an existing thread instead of creating one,
        once."""
        super().__init__(resource_name, keyword_inputs(locals()), opts)
