"""The REST collections the sandbox serves, each described once, from the Nexudus reference.

A `SandboxCollection` is everything the generic store and handlers need to serve one REST
collection: where it lives, what its records are called (roles, messages, filter names), how a
body is validated, which fields are stored and with what defaults, which read-only fields the API
adds, and the search filters. Serving another record type is one more `SandboxCollection` here,
written from the reference, never from the provider's models.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from . import rules
from .rules import Known, Rules

Storage = Literal["int", "text", "bool", "ids"]
"""How a field is stored: an integer, a string, a boolean, or a list of ids (as JSON)."""

Filter = Callable[[dict[str, Any], str], bool]
"""(record, the query parameter's value) -> whether the record is kept."""

COMMON_FIELDS = ("Id", "UniqueId", "CreatedOn", "UpdatedOn", "UpdatedBy", "IsNew", "SystemId")
"""Every record carries these; `SystemId` is the one the API (and only the API) may write."""


@dataclass(frozen=True)
class Field:
    """A writable field. A null or absent value is stored as `default`."""

    name: str
    storage: Storage
    default: Any = None


@dataclass(frozen=True)
class SandboxCollection:
    """One REST collection as the sandbox serves it (the provider and the probe have their own
    views of the same collections, which the sandbox must not share: tests compare them)."""

    path: str
    """`/api/support/chatrooms`: POST/PUT/GET here, GET/DELETE at `{path}/{id}`."""
    record: str
    """`ChatRoom`: the roles (`ChatRoom-Create`...), envelope messages and 404 messages."""
    table: str
    rules: Rules
    fields: tuple[Field, ...]
    """The writable fields, besides `SystemId`."""
    filters: Mapping[str, Filter]
    """Search query parameter -> its test; unknown parameters are ignored."""
    first_id: int
    """Ids start here and are never reused, as in Nexudus."""
    list_deltas: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    """List field -> the update-only (added, removed) fields that change it."""
    derived: Mapping[str, Callable[[dict[str, Any], Known], Any]] = field(default_factory=dict)
    """Read-only fields computed from the stored record (and the account) each time it is
    read, so that a record shows its business's current name."""

    def role(self, action: str) -> str:
        return f"{self.record}-{action}"

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(self.role(a) for a in ("Create", "Read", "Edit", "Delete", "List"))

    @property
    def collections(self) -> tuple[str, ...]:
        """The collection properties (`Users`): GET by id shows them, listings leave them out
        ("List properties (only returned by `get`, not by `list`)", Nexudus's entity reference).
        """
        return tuple(f.name for f in self.fields if f.storage == "ids")

    @property
    def membership(self) -> str:
        """The record's member list (`Users`, `Members`): what the admin UI's member
        management changes."""
        if len(self.list_deltas) != 1:
            raise ValueError(f"{self.record} has no single member list: {sorted(self.list_deltas)}")
        return next(iter(self.list_deltas))

    @property
    def sortable(self) -> frozenset[str]:
        """Search may order by any field that is not a list."""
        scalar = (f.name for f in self.fields if f.storage != "ids")
        return frozenset((*scalar, *COMMON_FIELDS, *self.derived))


def equals(name: str) -> Filter:
    """Exact match, case-insensitive on the text form (`true` matches True)."""
    return lambda record, value: (
        record[name] is not None and str(record[name]).lower() == value.lower()
    )


def contains(name: str) -> Filter:
    """A text filter matches by "contains", ignoring case."""
    return lambda record, value: value.lower() in (record[name] or "").lower()


def date_range(record: str, name: str) -> dict[str, Filter]:
    """`from_<Record>_<name>` and `to_<Record>_<name>`, bounds included, in the reference's
    format `YYYY-MM-DDTHH:mm` (compared to the minute)."""
    return {
        f"from_{record}_{name}": lambda r, value: bool(r[name][:16] >= value[:16]),
        f"to_{record}_{name}": lambda r, value: bool(r[name][:16] <= value[:16]),
    }


CHAT_ROOMS = SandboxCollection(
    path="/api/support/chatrooms",
    record="ChatRoom",
    table="chatrooms",
    rules=Rules(
        required={"BusinessId": rules.business},
        optional={
            "Name": rules.text,
            "Active": rules.boolean,
            "LastAgentVisit": rules.date_time,
            "Users": rules.user_ids,
            "SystemId": rules.text,
        },
        on_update={"AddedUsers": rules.user_ids, "RemovedUsers": rules.user_ids},
    ),
    fields=(
        Field("BusinessId", "int"),
        Field("Name", "text"),
        Field("Active", "bool", False),
        Field("LastAgentVisit", "text"),
        Field("Users", "ids", []),
    ),
    filters={
        "ChatRoom_Business": equals("BusinessId"),
        "ChatRoom_Name": contains("Name"),
        "ChatRoom_Active": equals("Active"),
        "ChatRoom_LastAgentVisit": lambda record, value: record["LastAgentVisit"] == value,
        **date_range("ChatRoom", "CreatedOn"),
        **date_range("ChatRoom", "UpdatedOn"),
    },
    first_id=87654321,
    list_deltas={"Users": ("AddedUsers", "RemovedUsers")},
)


def _business_name(record: dict[str, Any], known: Known) -> str | None:
    return known.businesses.get(record["BusinessId"])


COMMUNITY_GROUPS = SandboxCollection(
    path="/api/community/communitygroups",
    record="CommunityGroup",
    table="communitygroups",
    rules=Rules(
        required={"BusinessId": rules.business, "UserId": rules.user, "Name": rules.text},
        optional={
            "Description": rules.text,
            "Members": rules.known_user_ids,
            "TeamGuid": rules.text,
            "CourseGuid": rules.text,
            "SystemId": rules.text,
        },
        on_update={"AddedMembers": rules.known_user_ids, "RemovedMembers": rules.user_ids},
        # Restricted, Public, Private; "required" among the create options, optional on update
        required_on_create={"GroupAccess": rules.one_of(1, 2, 3)},
    ),
    fields=(
        Field("BusinessId", "int"),
        Field("UserId", "int"),
        Field("Name", "text"),
        Field("Description", "text"),
        Field("GroupAccess", "int", 1),  # the reference gives no default: Restricted, the first
        Field("Members", "ids", []),
        # Set when Nexudus made the group for a Team or a Course (`HasCommunityGroup`); create and
        # update options in the entity reference, so a PUT that leaves them out may clear them.
        Field("TeamGuid", "text"),
        Field("CourseGuid", "text"),
    ),
    filters={
        "CommunityGroup_Business": equals("BusinessId"),
        "CommunityGroup_User": equals("UserId"),
        "CommunityGroup_Name": contains("Name"),
        **date_range("CommunityGroup", "UpdatedOn"),
    },
    first_id=65432101,
    list_deltas={"Members": ("AddedMembers", "RemovedMembers")},
    derived={"BusinessName": _business_name},
)

COMMUNITY_THREADS = SandboxCollection(
    path="/api/community/communitythreads",
    record="CommunityThread",
    table="communitythreads",
    rules=Rules(
        required={
            "BusinessId": rules.business,
            "UserId": rules.user,
            "Subject": rules.text,
            "Message": rules.text,
        },
        optional={
            "CommunityGroupId": rules.record_in(COMMUNITY_GROUPS.path, COMMUNITY_GROUPS.record),
            "CoworkerId": rules.integer,
            "InstantDelivery": rules.boolean,
            "Tags": rules.text,
            "Private": rules.boolean,
            "Guests": rules.known_user_ids,
            "IncludeZoomInvite": rules.boolean,
            "ZoomEventData": rules.text,
            "SystemId": rules.text,
        },
        on_update={"AddedGuests": rules.known_user_ids, "RemovedGuests": rules.user_ids},
    ),
    fields=(
        Field("BusinessId", "int"),
        Field("CommunityGroupId", "int"),
        Field("UserId", "int"),
        Field("CoworkerId", "int"),
        Field("Subject", "text"),
        Field("Message", "text"),
        Field("InstantDelivery", "bool", False),
        Field("Tags", "text"),
        Field("Private", "bool", False),
        Field("Guests", "ids", []),
        Field("IncludeZoomInvite", "bool", False),
        Field("ZoomEventData", "text"),
    ),
    filters={
        "CommunityThread_Business": equals("BusinessId"),
        "CommunityThread_CommunityGroup": equals("CommunityGroupId"),
        "CommunityThread_User": equals("UserId"),
        "CommunityThread_Coworker": equals("CoworkerId"),
        "CommunityThread_Subject": contains("Subject"),
        "CommunityThread_Message": contains("Message"),
        "CommunityThread_InstantDelivery": equals("InstantDelivery"),
        "CommunityThread_Tags": contains("Tags"),
        "CommunityThread_Private": equals("Private"),
        **date_range("CommunityThread", "CreatedOn"),
        **date_range("CommunityThread", "UpdatedOn"),
    },
    first_id=54321001,
    list_deltas={"Guests": ("AddedGuests", "RemovedGuests")},
    derived={"LastMessageDate": lambda _record, _known: None},  # no replies: the sandbox has none
)

COLLECTIONS = (CHAT_ROOMS, COMMUNITY_GROUPS, COMMUNITY_THREADS)
