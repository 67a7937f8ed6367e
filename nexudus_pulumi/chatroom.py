"""The Nexudus ChatRoom record as a Pulumi resource.

Nexudus marks ChatRoom deprecated in favour of CommunityThread and CommunityGroup; the program
warns about it once per run (see `program.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi.dynamic
from pydantic.alias_generators import to_camel, to_snake

from .models import ChatRoomInputs
from .provider import RecordProvider, RecordSpec

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


class ChatRoom(pulumi.dynamic.Resource, module="nexudus", name="ChatRoom"):
    """A Nexudus chat room. The resource id is the Nexudus record id, as a string.

    Inputs are keyword arguments and outputs attributes, both snake_case; in the state, in
    `pulumi preview --diff` and in stack config they keep Pulumi's camelCase (`businessId`).
    The keyword arguments are typed and there is no catch-all, so a misspelt one is a
    `TypeError` here and an error in a type checker, not a surprise at `pulumi up`.
    """

    business_id: pulumi.Output[int]
    name: pulumi.Output[str | None]
    active: pulumi.Output[bool]
    last_agent_visit: pulumi.Output[str | None]
    users: pulumi.Output[list[int]]
    import_id: pulumi.Output[int | None]
    owner_tag: pulumi.Output[str]
    """`<project>/<stack>/<resource name>`: the stack that owns the room (see `system_id`)."""
    unique_id: pulumi.Output[str]
    created_on: pulumi.Output[str]
    updated_on: pulumi.Output[str]
    updated_by: pulumi.Output[str]
    is_new: pulumi.Output[bool]
    system_id: pulumi.Output[str | None]
    """`pulumi:<owner_tag>`: how a room whose create answer was lost is found again."""

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
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """`import_id` adopts an existing record instead of creating one (Pulumi's `import_`
        option does not reach dynamic providers)."""
        props: dict[str, Any] = {
            "business_id": business_id,
            "name": name,
            "active": active,
            "last_agent_visit": last_agent_visit,
            "users": users,
            "import_id": import_id,
            "owner_tag": f"{pulumi.get_project()}/{pulumi.get_stack()}/{resource_name}",
        }
        props = {k: v for k, v in props.items() if v is not None}
        props.update(dict.fromkeys(_PYTHON_NAME[name] for name in ChatRoomInputs.output_names()))
        super().__init__(ChatRoomProvider(), resource_name, props, opts)

    def translate_input_property(self, prop: str) -> str:
        return _PULUMI_NAME.get(prop, prop)

    def translate_output_property(self, prop: str) -> str:
        return _PYTHON_NAME.get(prop, prop)


_PULUMI_NAME = {field: to_camel(field) for field in ChatRoomInputs.model_fields} | {
    to_snake(name): name for name in ChatRoomInputs.output_names()
}
"""Python attribute -> property name in Pulumi (`business_id` -> `businessId`)."""
_PYTHON_NAME = {pulumi_name: python for python, pulumi_name in _PULUMI_NAME.items()}
