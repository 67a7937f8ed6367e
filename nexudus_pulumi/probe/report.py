"""What the probe asks about and answers: the probed record types, the findings, the report."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

PROBE_PREFIX = "nexudus-pulumi-probe:"
"""Every probe record's `SystemId` starts so."""
PROBE_NAME = "nexudus-pulumi probe"
"""Every probe record's name starts so: the clue a later probe lists leftovers by."""
BURST_SIZE = 5
"""Unpaced GETs sent at most to meet the 1-per-100 ms limit."""
REQUESTS = 25
"""At most the requests of one probe without `--user-id` or leftovers, the burst included."""
BURST_NOTICE = "asking: 409 or 429"
"""The progress line said just before the deliberate burst."""
MEMBERSHIP_SETTING = "nexudus:membershipBumpsUpdatedOn"
GROUP_PRIVATE = 3
"""`GroupAccess` Private: only members see the temporary group."""

Say = Callable[[str], None]


@dataclass(frozen=True)
class Collection:
    """One probed record type: where it lives and the names of its filters and members."""

    noun: str
    path: str
    record: str
    """`ChatRoom`: the prefix of its search filters (`ChatRoom_Name`)."""
    members: str

    def filter(self, name: str) -> str:
        return f"{self.record}_{name}"


ROOMS = Collection("room", "/api/support/chatrooms", "ChatRoom", "Users")
GROUPS = Collection("group", "/api/community/communitygroups", "CommunityGroup", "Members")
COLLECTIONS = (ROOMS, GROUPS)


@dataclass(frozen=True)
class ProbeOptions:
    business: int
    user_id: int | None = None
    """The temporary group's administrator, also made a member of the room and the group."""


@dataclass
class Findings:
    """What the account answered, one field per open question; None where it could not tell
    (the answer's text says why). The names are those of the sandbox's switches."""

    listing_system_id: bool | None = None
    listing_system_id_null: bool | None = None
    """Whether listings that carry the `SystemId` key leave it null where GET shows a marker
    (None too where listings leave the key out: then there is nothing to tell)."""
    system_id_filter: bool | None = None
    put_clears_omitted: bool | None = None
    membership_bumps_updated_on: bool | None = None
    throttle_status: int | None = None
    create_answers_record: bool | None = None
    listing_collections: bool | None = None
    """Whether listings carry `Users` / `Members` (the reference says they do not)."""


@dataclass(frozen=True)
class Answer:
    question: str
    observed: str
    implies: str


@dataclass
class ProbeReport:
    findings: Findings = field(default_factory=Findings)
    answers: list[Answer] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    """Stack config keys the answers set (`--write-config` writes them)."""
    left_behind: list[str] = field(default_factory=list)
    """Records the cleanup could not delete, named for the user to delete by hand."""

    @property
    def lines(self) -> list[str]:
        lines: list[str] = []
        for answer in self.answers:
            lines += [f"{answer.question} {answer.observed}", f"  -> {answer.implies}"]
        return lines


def yes_no(value: bool | None, yes: str, no: str, neither: str) -> str:
    return neither if value is None else (yes if value else no)


def agreed(values: Sequence[bool | None]) -> bool | None:
    """The one answer every record type gave, or None where they differ or one is unknown."""
    return values[0] if len(set(values)) == 1 else None
