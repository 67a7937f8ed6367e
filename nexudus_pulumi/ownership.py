"""Who owns a Nexudus record: the marker this provider writes into the API-only `SystemId` field.

A marker reads `pulumi:<project>/<stack>/<key>#<stack id>`, plus `+retain` while the resource has
`retainOnDelete`:
- `<project>/<stack>/<key>` says, for people, which resource manages the record. It follows the
  resource: after `pulumi stack rename` (or a project rename) the next `up` rewrites it in place.
- `<stack id>` is random, made once per stack and kept in its state (`StackIdentity`), so two
  stacks never share markers: not a stack renamed away and a new stack given the old name, not a
  clone made with `--copy-config-from`, not two checkouts of one project on one account.

The resource's identity is the pair (stack id, key): the lost-answer and killed-run lookups find
a record by that pair alone, whatever its name or business now, and a record whose marker names
another pair is never taken unless the user says so (`takeOver`). `+retain` is no part of the
identity: it says the user chose to keep the record when Pulumi lets it go, so a record kept
that way is never reported as a duplicate to delete.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .display import cut, visible

PREFIX = "pulumi:"
RETAINED = "+retain"


@dataclass(frozen=True)
class Marker:
    path: str
    """`<project>/<stack>/<key>`, for people."""
    stack_id: str | None
    """None only in markers written before stack ids existed: those match by their whole text."""
    retained: bool = False
    """Written by a resource with `retainOnDelete`: the record is to be kept when Pulumi lets
    it go, and is never a duplicate to delete."""

    @classmethod
    def from_tag(cls, owner_tag: str) -> Marker:
        path, sep, stack_id = owner_tag.rpartition("#")
        if not (sep and path):
            return cls(owner_tag, None)
        stack_id, flag, rest = stack_id.partition(RETAINED)
        if flag and not rest:
            return cls(path, stack_id, retained=True)
        return cls(path, stack_id + flag + rest)

    @classmethod
    def parse(cls, system_id: object) -> Marker | None:
        """The marker in a record's `SystemId`, or None when it holds none of ours."""
        if not isinstance(system_id, str) or not system_id.startswith(PREFIX):
            return None
        return cls.from_tag(system_id[len(PREFIX) :])

    @property
    def key(self) -> str:
        """The resource's logical name: everything after `<project>/<stack>/`."""
        parts = self.path.split("/", 2)
        return parts[2] if len(parts) == 3 else self.path

    @property
    def text(self) -> str:
        return PREFIX + self.tag

    @property
    def tag(self) -> str:
        """The resource's owner tag: the marker without `pulumi:`."""
        stack = f"#{self.stack_id}{RETAINED if self.retained else ''}" if self.stack_id else ""
        return self.path + stack

    def same_resource(self, other: Marker) -> bool:
        """Both name one Pulumi resource, whatever the stack or project is called now."""
        if self.stack_id is None or other.stack_id is None:
            return self.text == other.text
        return (self.stack_id, self.key) == (other.stack_id, other.key)

    def __str__(self) -> str:
        return self.path + (f" (stack id {self.stack_id})" if self.stack_id else "")

    def marks(self, record: Mapping[str, Any]) -> bool:
        """The record's `SystemId` names this marker's resource."""
        theirs = Marker.parse(record.get("SystemId"))
        return theirs is not None and theirs.same_resource(self)


def foreign_owner(record: Mapping[str, Any], *ours: Marker | None) -> str | None:
    """Who else holds the record, for messages; None when it carries one of `ours` (the
    resource's marker, or the one it had before a key rename) or no marker at all. Checked
    on the record as just read by id, at the moment of writing: a record another stack or
    integration took (`takeOver`) is theirs from then on."""
    if any(marker is not None and marker.marks(record) for marker in ours):
        return None
    return describe_owner(record.get("SystemId"))


def describe_owner(system_id: object) -> str | None:
    """Who, other than nobody, the record's `SystemId` says it belongs to (for messages)."""
    marker = Marker.parse(system_id)
    if marker is not None:
        return f"the Pulumi resource {visible(cut(str(marker), 120))}"
    if isinstance(system_id, str) and system_id.strip():
        return f"another integration (its SystemId holds '{visible(cut(system_id, 40))}')"
    return None
