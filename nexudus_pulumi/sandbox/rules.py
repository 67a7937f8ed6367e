"""The sandbox's validation of ChatRoom bodies, written from the Nexudus API reference.

Deliberately independent of `nexudus_pulumi.models`: the provider validates what users declare,
this validates what reaches the API, and tests compare the two.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import datetime
from typing import Any

_DATE_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:?\d{2})?$"
)
OPTIONAL_FIELDS = ("Name", "Active", "LastAgentVisit", "Users", "SystemId")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _date_time_ok(value: str) -> bool:
    if not _DATE_TIME.match(value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "T"))
    except ValueError:
        return False
    return True


def validate_chatroom(
    body: Any, businesses: Collection[int], *, for_update: bool
) -> tuple[dict[str, Any], list[tuple[str, Any, str]]]:
    """Return (the fields to store, errors as (PropertyName, AttemptedValue, message))."""
    errors: list[tuple[str, Any, str]] = []
    if not isinstance(body, dict):
        return {}, [("", body, "the request body must be a JSON object")]
    fields: dict[str, Any] = {}
    if for_update:
        if "Id" not in body or body["Id"] is None:
            errors.append(("Id", None, "is a required field"))
        elif not _is_int(body["Id"]):
            errors.append(("Id", body["Id"], "is not a valid integer"))
    business = body.get("BusinessId")
    if business is None:
        errors.append(("BusinessId", None, "is a required field"))
    elif not _is_int(business):
        errors.append(("BusinessId", business, "is not a valid integer"))
    elif business not in businesses:
        errors.append(("BusinessId", business, f"business {business} does not exist"))
    else:
        fields["BusinessId"] = business
    for name in OPTIONAL_FIELDS:
        if name not in body:
            continue
        value = body[name]
        if value is None:
            fields[name] = [] if name == "Users" else None
        elif name in ("Name", "SystemId") and not isinstance(value, str):
            errors.append((name, value, "is not a valid string"))
        elif name == "Active" and not isinstance(value, bool):
            errors.append((name, value, "is not a valid boolean"))
        elif name == "LastAgentVisit" and not (isinstance(value, str) and _date_time_ok(value)):
            errors.append((name, value, "is not a valid date/time"))
        elif name == "Users" and not (
            isinstance(value, list) and all(_is_int(v) and v > 0 for v in value)
        ):
            errors.append((name, value, "must be a list of user ids"))
        else:
            fields[name] = value
    return fields, errors
