"""The Nexudus CommunityGroup record as a Pulumi resource: the successor Nexudus names for the
deprecated ChatRoom (see docs/guides/rooms-to-groups.md).

Everything else (check, diff, exactly-once create, owner markers, adoption, listings) is the
shared machinery's; this module only says what a group is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, Literal

import pulumi
from pydantic import BeforeValidator, Field

from .models import IdSet, Name, RecordId, RecordInputs
from .provider import RecordProvider, RecordSpec
from .recordkind import RecordKind
from .resource import RecordResource, keyword_inputs


def _lower_case(value: Any) -> Any:
    """`Public`, as the API reference spells the level, is `public`."""
    return value.lower() if isinstance(value, str) else value


GroupAccess = Annotated[Literal["restricted", "public", "private"], BeforeValidator(_lower_case)]
"""Who sees and posts: restricted (every customer sees, members post), public (anyone with
discussion-board access sees and posts), private (members only)."""


class CommunityGroupInputs(RecordInputs):
    """A Nexudus CommunityGroup (`/api/community/communitygroups`). Defaults are the API's own."""

    business_id: RecordId
    """The group's business; in stack config, the stack's `nexudus-rooms:businessId` unless the
    group sets its own. A change moves the group in place."""
    name: Name
    """The group's name, not blank."""
    user_id: RecordId
    """The group's administrator (a Nexudus user id): must be a user of the account."""
    description: str | None = None
    """What the group is about, as members see it."""
    group_access: GroupAccess = "restricted"
    """Who sees and posts: `restricted` (every customer sees, members post), `public` (anyone
    with discussion-board access sees and posts) or `private` (members only)."""
    members: IdSet = Field(default_factory=list)
    """The group's members, by user id: a set (order is never a change); declared, exactly
    these."""
    team_guid: str | None = None
    """The Team the group belongs to (Nexudus makes a group for a Team with
    `HasCommunityGroup`), by its GUID. Left out, it stays as Nexudus holds it, and every write
    carries it back."""
    course_guid: str | None = None
    """The Course the group belongs to, by its GUID, as `teamGuid` for a Course."""

    READ_ONLY_FIELDS: ClassVar[tuple[str, ...]] = (
        *RecordInputs.READ_ONLY_FIELDS,
        "BusinessName",
    )
    API_CODES: ClassVar[dict[str, dict[str, int]]] = {
        "groupAccess": {"restricted": 1, "public": 2, "private": 3}
    }
    SENT_ON_CREATE: ClassVar[tuple[str, ...]] = ("groupAccess",)
    BUSINESS_FILTER: ClassVar[str] = "CommunityGroup_Business"
    NAME_FILTER: ClassVar[str] = "CommunityGroup_Name"


COMMUNITY_GROUP = RecordSpec(
    record_name="CommunityGroup",
    collection="/api/community/communitygroups",
    inputs_model=CommunityGroupInputs,
)


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


KIND: RecordKind[CommunityGroup] = RecordKind(
    CommunityGroup,
    "groups",
    "group",
    example={"name": "Makers", "userId": 11, "groupAccess": "public"},
    synonyms={"users": "members"},
)
