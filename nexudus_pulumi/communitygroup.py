"""The Nexudus CommunityGroup record as a Pulumi resource: the successor Nexudus names for the
deprecated ChatRoom (see docs/guides/rooms-to-groups.md).

Everything else (check, diff, exactly-once create, owner markers, adoption, listings) is the
shared machinery's; this module only says what a group is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, Field

from .descriptor import RecordSpec
from .models import Api, IdSet, Name, ReadOnly, RecordId, RecordInputs
from .recordkind import RecordKind, lazy_resource

if TYPE_CHECKING:
    from .resources import CommunityGroup


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
    group_access: Annotated[
        GroupAccess,
        Api(codes={"restricted": 1, "public": 2, "private": 3}, sent_on_create=True),
    ] = "restricted"
    """Who sees and posts: `restricted` (every customer sees, members post), `public` (anyone
    with discussion-board access sees and posts) or `private` (members only)."""
    members: Annotated[IdSet, Api(deltas=("AddedMembers", "RemovedMembers"))] = Field(
        default_factory=list
    )
    """The group's members, by user id: a set (order is never a change); declared, exactly
    these."""
    team_guid: str | None = None
    """The Team the group belongs to (Nexudus makes a group for a Team with
    `HasCommunityGroup`), by its GUID. Left out, it stays as Nexudus holds it, and every write
    carries it back."""
    course_guid: str | None = None
    """The Course the group belongs to, by its GUID, as `teamGuid` for a Course."""

    READ_ONLY_FIELDS: ClassVar[tuple[ReadOnly, ...]] = (
        *RecordInputs.READ_ONLY_FIELDS,
        ReadOnly("BusinessName", "the business's name (known after the first refresh)"),
    )
    RECORD_NAME: ClassVar[str] = "CommunityGroup"
    COLLECTION: ClassVar[str] = "/api/community/communitygroups"


COMMUNITY_GROUP = RecordSpec(CommunityGroupInputs)


KIND: RecordKind[CommunityGroup] = RecordKind(
    COMMUNITY_GROUP,
    "groups",
    "group",
    resource_path="nexudus_pulumi.resources:CommunityGroup",
    example={"name": "Makers", "userId": 11, "groupAccess": "public"},
    synonyms={"users": "members"},
)


def __getattr__(name: str) -> Any:
    """The resource and provider classes, which need Pulumi, on first use: the states of
    stacks made before they moved to `resources` name the provider class here."""
    return lazy_resource(__name__, name, ("CommunityGroup", "CommunityGroupProvider"))
