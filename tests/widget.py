"""A throwaway record type, written by CONTRIBUTING.md's recipe alone: this module and one
registry line (`tests/widget_registry.py`). Its shape is one the sandbox already serves, a
chat room's (`/api/support/chatrooms`), under names of its own, so that nothing here comes
from the chat room's module."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, ClassVar

import pulumi
from pydantic import Field

from nexudus_pulumi.descriptor import RecordSpec
from nexudus_pulumi.models import Api, IdSet, Name, RecordId, RecordInputs, Timestamp
from nexudus_pulumi.provider import RecordProvider
from nexudus_pulumi.recordkind import RecordKind
from nexudus_pulumi.resource import RecordResource, keyword_inputs


class WidgetInputs(RecordInputs):
    """A widget: a record of the chat rooms' collection."""

    RECORD_NAME: ClassVar[str] = "ChatRoom"
    COLLECTION: ClassVar[str] = "/api/support/chatrooms"

    business_id: RecordId
    """The widget's business."""
    name: Name | None = None
    """The widget's name."""
    active: Annotated[bool, Api(pinned=True)] = False
    """Whether the widget is on."""
    last_agent_visit: Annotated[Timestamp | None, Api(on_request=True)] = None
    """When it was last looked at."""
    users: Annotated[IdSet, Api(deltas=("AddedUsers", "RemovedUsers"))] = Field(
        default_factory=list
    )
    """Its users, by id."""


class WidgetProvider(RecordProvider):
    spec = RecordSpec(WidgetInputs)


class Widget(RecordResource, module="nexudus", name="Widget"):
    provider_type = WidgetProvider

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
        super().__init__(resource_name, keyword_inputs(locals()), opts)


KIND: RecordKind[Widget] = RecordKind(
    WidgetProvider.spec,
    "widgets",
    "widget",
    resource_path=f"{__name__}:Widget",
    example={"name": "Gear", "active": True},
)
