"""The Nexudus CommunityThread record as a Pulumi resource: a conversation on the Discussion
Board, the other successor Nexudus names for the deprecated ChatRoom.

What a thread is for in code: the conversation every member of a group should find at the top,
written once and kept as declared, such as a pinned welcome or house-rules thread per group
(`group: makers` names the group by its key in the same stack). Members' replies are other
records (CommunityMessage), which this resource never touches.

Editing `message` rewrites the body of the thread's opening post in place (PUT with the whole
record, as for every type). Nexudus's reference says no more: it does not say whether an edit
notifies the thread's followers again, marks the post as edited, or moves `LastMessageDate`
(it describes `InstantDelivery` only for a new post). Treat an edit as a silent correction of
the text, and post news as a new thread.

Everything else (check, diff, exactly-once create, owner markers, adoption, listings) is the
shared machinery's; this module only says what a thread is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from pydantic import AfterValidator, Field

from .descriptor import RecordSpec
from .models import Api, IdSet, Name, ReadOnly, RecordId, RecordInputs, not_blank
from .recordkind import RecordKind, Reference, lazy_resource

if TYPE_CHECKING:
    from .resources import CommunityThread

Message = Annotated[str, AfterValidator(not_blank)]
"""A post's text: line breaks and any length the stack file carries, but not blank (the API
requires it)."""


class CommunityThreadInputs(RecordInputs):
    """A Nexudus CommunityThread (`/api/community/communitythreads`). Defaults are the API's
    own."""

    business_id: RecordId
    """The location (business) the thread belongs to; a change moves the thread in place,
    keeping its guests and replies."""
    subject: Name
    """The thread's title, as the Discussion Board lists it."""
    message: Message
    """The body of the thread's opening post. Editing it rewrites that post in place."""
    user_id: RecordId
    """The author: the Nexudus user account that posted the thread."""
    community_group_id: RecordId | None = None
    """The group the thread is posted in, whose access level decides who sees and replies; in
    a stack file, `group: <key>` names a group of the same stack instead. None: the thread is
    visible to every customer with access to the Discussion Board."""
    tags: str | None = None
    """Comma-separated tags that help customers find the thread (`welcome,rules`), one string
    as the API holds it."""
    private: bool = False
    """Visible only to the customers the message mentions."""
    instant_delivery: bool = False
    """Notify followers as soon as the thread is posted, not in the daily digest."""
    coworker_id: RecordId | None = None
    """The customer profile that posted the thread, when a customer did."""
    guests: Annotated[IdSet, Api(deltas=("AddedGuests", "RemovedGuests"))] = Field(
        default_factory=list
    )
    """User ids mentioned or invited as guests; declared, the exact set."""
    include_zoom_invite: bool = False
    """Attach a Zoom meeting invite to the thread."""
    zoom_event_data: Annotated[str | None, Api(secret=True)] = None
    """The Zoom meeting's details, as the JSON text Nexudus holds."""

    READ_ONLY_FIELDS: ClassVar[tuple[ReadOnly, ...]] = (
        *RecordInputs.READ_ONLY_FIELDS,
        ReadOnly(
            "LastMessageDate", "when the thread's last message was posted, as Nexudus reports it"
        ),
    )
    RECORD_NAME: ClassVar[str] = "CommunityThread"
    COLLECTION: ClassVar[str] = "/api/community/communitythreads"
    NAME_FIELD: ClassVar[str] = "subject"


COMMUNITY_THREAD = RecordSpec(CommunityThreadInputs)


KIND: RecordKind[CommunityThread] = RecordKind(
    COMMUNITY_THREAD,
    "threads",
    "thread",
    resource_path="nexudus_pulumi.resources:CommunityThread",
    example={"subject": "Welcome", "message": "Read this first.", "userId": 11},
    references={"group": Reference("groups", "communityGroupId")},
)


def __getattr__(name: str) -> Any:
    """The resource and provider classes, which need Pulumi, on first use: the states of
    stacks made before they moved to `resources` name the provider class here."""
    return lazy_resource(__name__, name, ("CommunityThread", "CommunityThreadProvider"))
