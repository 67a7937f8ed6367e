"""The Nexudus ChatRoom record as a Pulumi resource.

Nexudus marks ChatRoom deprecated in favour of CommunityThread and CommunityGroup; the program
warns about it once per run (see `program.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi

from .models import ChatRoomInputs
from .provider import RecordProvider, RecordSpec
from .sdk_workarounds import DynamicResource

CHAT_ROOM = RecordSpec(
    record_name="ChatRoom",
    collection="/api/support/chatrooms",
    inputs_model=ChatRoomInputs,
    replace_on=frozenset({"businessId"}),
)

SUCCESSOR = "CommunityGroup (/api/community/communitygroups) with CommunityThread"


class ChatRoomProvider(RecordProvider):
    """Creates, reads, updates and deletes Nexudus chat rooms."""

    spec = CHAT_ROOM


class ChatRoom(DynamicResource, module="nexudus", name="ChatRoom"):
    """A Nexudus chat room. The resource id is the Nexudus record id, as a string."""

    businessId: pulumi.Output[int]
    name: pulumi.Output[str | None]
    active: pulumi.Output[bool]
    lastAgentVisit: pulumi.Output[str | None]
    users: pulumi.Output[list[int]]
    uniqueId: pulumi.Output[str]
    createdOn: pulumi.Output[str]
    updatedOn: pulumi.Output[str]
    updatedBy: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        business_id: pulumi.Input[int] | None,
        name: pulumi.Input[str] | None = None,
        active: pulumi.Input[bool] | None = None,
        last_agent_visit: pulumi.Input[str] | None = None,
        users: pulumi.Input[Sequence[pulumi.Input[int]]] | None = None,
        import_id: pulumi.Input[int] | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **extra: Any,
    ) -> None:
        """`import_id` adopts an existing record instead of creating one (Pulumi's `import_`
        option does not reach dynamic providers). `extra` lets unknown properties reach
        `check`, which names them, instead of failing in Python."""
        props: dict[str, Any] = {
            "businessId": business_id,
            "name": name,
            "active": active,
            "lastAgentVisit": last_agent_visit,
            "users": users,
            "importId": import_id,
            **extra,
            "ownerTag": f"{pulumi.get_project()}/{pulumi.get_stack()}/{resource_name}",
        }
        props = {k: v for k, v in props.items() if v is not None}
        props.update(dict.fromkeys(ChatRoomInputs.output_names()))
        super().__init__(ChatRoomProvider(), resource_name, props, opts)
