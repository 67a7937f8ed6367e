"""The sandbox's validation of request bodies: field checks and the rule set of a record type.

Deliberately independent of `nexudus_pulumi.models`: the provider validates what users declare,
this validates what reaches the API, and tests compare the two. Each record type's rules are
written from the Nexudus reference (see `collections.py`); this module holds only the shared checks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

_DATE_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:?\d{2})?$"
)
REQUIRED = "is a required field"

Error = tuple[str, Any, str]
"""(PropertyName, AttemptedValue, message), as in the 400 envelope's `Errors`."""


class Known(Protocol):
    """What the account holds besides records: the checks of ids refer to it."""

    @property
    def businesses(self) -> Mapping[int, str]:
        """Business id -> name."""

    @property
    def users(self) -> Collection[int]: ...

    def holds(self, path: str, record_id: int) -> bool:
        """Whether the collection at `path` holds a record with this id."""


Check = Callable[[Any, Known], "str | None"]
"""A non-null value and what the account holds -> the error message, or None when valid."""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def integer(value: Any, _known: Known) -> str | None:
    return None if _is_int(value) else "is not a valid integer"


def text(value: Any, _known: Known) -> str | None:
    return None if isinstance(value, str) else "is not a valid string"


def boolean(value: Any, _known: Known) -> str | None:
    return None if isinstance(value, bool) else "is not a valid boolean"


def date_time(value: Any, _known: Known) -> str | None:
    if isinstance(value, str) and _DATE_TIME.match(value):
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "T"))
        except ValueError:
            pass
        else:
            return None
    return "is not a valid date/time"


def user_ids(value: Any, _known: Known) -> str | None:
    """A list of user ids, not checked against the account's users (as ChatRoom `Users`)."""
    ok = isinstance(value, list) and all(_is_int(v) and v > 0 for v in value)
    return None if ok else "must be a list of user ids"


def one_of(*choices: int) -> Check:
    def check(value: Any, _known: Known) -> str | None:
        if _is_int(value) and value in choices:
            return None
        return f"must be one of {', '.join(str(c) for c in choices)}"

    return check


def business(value: Any, known: Known) -> str | None:
    if not _is_int(value):
        return "is not a valid integer"
    return None if value in known.businesses else f"business {value} does not exist"


def user(value: Any, known: Known) -> str | None:
    if not _is_int(value):
        return "is not a valid integer"
    return None if value in known.users else f"user {value} does not exist"


def record_in(path: str, record: str) -> Check:
    """The id of a record of another collection (a thread's `CommunityGroupId`), which must
    exist, as a business or a user id must."""

    def check(value: Any, known: Known) -> str | None:
        if not _is_int(value):
            return "is not a valid integer"
        return None if known.holds(path, value) else f"{record} {value} does not exist"

    return check


def known_user_ids(value: Any, known: Known) -> str | None:
    """A list of ids of users the account holds (group members)."""
    error = user_ids(value, known)
    if error:
        return error
    unknown = [v for v in value if v not in known.users]
    if unknown:
        return f"user {', '.join(str(u) for u in unknown)} does not exist"
    return None


@dataclass(frozen=True)
class Rules:
    """A record type's body rules. `required` fields must be present and non-null (a required
    string also not blank), on create and on update; `optional` ones may be null; `on_update`
    ones (e.g. `AddedUsers`) are read by PUT only. Unlisted properties are ignored, read-only
    ones included, as the API does."""

    required: Mapping[str, Check]
    optional: Mapping[str, Check]
    on_update: Mapping[str, Check] = field(default_factory=dict)
    required_on_create: Mapping[str, Check] = field(default_factory=dict)
    """Required on create, optional on update (the entity reference marks `GroupAccess`
    "required" among a group's create options only)."""

    def validate(
        self, body: Any, known: Known, *, for_update: bool
    ) -> tuple[dict[str, Any], list[Error]]:
        """Return (the valid fields, errors). A null optional field is kept as None, which the
        store turns into the field's default."""
        if not isinstance(body, dict):
            return {}, [("", body, "the request body must be a JSON object")]
        errors: list[Error] = []
        fields: dict[str, Any] = {}
        if for_update:
            if body.get("Id") is None:
                errors.append(("Id", None, REQUIRED))
            elif not _is_int(body["Id"]):
                errors.append(("Id", body["Id"], "is not a valid integer"))
        required = {**self.required, **({} if for_update else self.required_on_create)}
        for name, check in required.items():
            value = body.get(name)
            if value is None or (isinstance(value, str) and not value.strip()):
                errors.append((name, value, REQUIRED))
            elif message := check(value, known):
                errors.append((name, value, message))
            else:
                fields[name] = value
        optional = {
            **self.optional,
            **(self.on_update if for_update else {}),
            **(self.required_on_create if for_update else {}),
        }
        for name, check in optional.items():
            if name not in body:
                continue
            value = body[name]
            if value is not None and (message := check(value, known)):
                errors.append((name, value, message))
            else:
                fields[name] = value
        return fields, errors
