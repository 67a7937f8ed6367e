"""The API's envelope: what an answer's body says, read without trusting it.

A success is a JSON object (`Value`, `WasSuccessful`, a page's `Records`); a failure carries
`WasSuccessful: false`, a `Message` and `Errors` per field. Nothing here sends a request: every
function reads an `Answer` already whole, and refuses what no Nexudus answer is (a body that is
not JSON, JSON deeper than any answer nests, an id that is no record id), naming the request.
"""

from __future__ import annotations

import json as jsonlib
from dataclasses import dataclass
from typing import Any

from ..display import visible
from ..errors import ApiRejectedError, FieldError, InvalidAnswerError
from ..models import MAX_ID
from .wire import Answer

MAX_JSON_DEPTH = 64
"""The deepest JSON read: Nexudus's answers nest a few levels (an envelope, its records, a list
of ids); a body 200,000 deep crashed Python's parser (`RecursionError`)."""
NOT_AN_ID = f"not a record id (a whole number from 1 to {MAX_ID})"


@dataclass(frozen=True)
class Written:
    """What a write's answer tells: the record's id and the envelope's audit fields."""

    id: int
    audit: dict[str, Any]
    """`UpdatedOn` and `UpdatedBy`, as the answer gave them (outputs without a GET)."""
    record: dict[str, Any] | None = None
    """The whole record, where the answer's `Value` carries it (some accounts answer a create
    so; documented is `{"Id": n}`), or where a create whose answer was lost found it."""

    @classmethod
    def from_envelope(cls, envelope: dict[str, Any], request: str) -> Written:
        """`request` (`POST https://...`) names the operation in an error."""
        value = envelope.get("Value")
        if not isinstance(value, dict):
            raise InvalidAnswerError(f"{request} answered no Value.Id: {NOT_AN_ID}")
        record_id = parse_record_id(value.get("Id"), f"{request} answered Value.Id")
        audit = {k: envelope[k] for k in ("UpdatedOn", "UpdatedBy") if envelope.get(k) is not None}
        whole = "CreatedOn" in value and "UniqueId" in value
        return cls(record_id, audit, dict(value) if whole else None)


def parse_record_id(value: Any, what: str) -> int:
    """`value` if it is a record id (an int from 1 to 2^31-1, not a bool), else an error that
    starts with `what` (`POST https://... answered Value.Id`)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise InvalidAnswerError(f"{what} {shown(value)}: {NOT_AN_ID}")
    return value


def shown(value: Any) -> str:
    """A value from the API, as a short printable repr."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def page_records(result: dict[str, Any], where: str) -> list[dict[str, Any]]:
    records = result.get("Records")
    if not isinstance(records, list):
        raise InvalidAnswerError(f"{where} answered no Records list (Records: {shown(records)})")
    for record in records:
        if not isinstance(record, dict):
            raise InvalidAnswerError(
                f"{where} listed a record that is not a JSON object: {shown(record)}"
            )
    return records


class _TooDeepError(ValueError):
    """A JSON body nested deeper than `MAX_JSON_DEPTH`."""


def parse_json(answer: Answer) -> Any:
    """The parsed body; `ValueError` if it is not JSON, `_TooDeepError` if it nests deeper than any
    Nexudus answer does (which Python's parser and Pulumi's serializer would crash on)."""
    try:
        body = jsonlib.loads(answer.content)
    except RecursionError:
        raise _TooDeepError from None
    todo: list[tuple[Any, int]] = [(body, 1)]
    while todo:
        value, depth = todo.pop()
        if depth > MAX_JSON_DEPTH:
            raise _TooDeepError
        inner = value.values() if isinstance(value, dict) else value
        if isinstance(value, dict | list):
            todo += [(v, depth + 1) for v in inner if isinstance(v, dict | list)]
    return body


def not_json(answer: Answer, exc: ValueError) -> str:
    """What a body that `parse_json` refused is, in words."""
    if isinstance(exc, _TooDeepError):
        return f"its body nests JSON deeper than {MAX_JSON_DEPTH} levels, as no Nexudus answer does"
    return f"its body is not JSON ({said(answer.headers.get('Content-Type')) or 'no content type'})"


def read_envelope(answer: Answer, request: str) -> dict[str, Any]:
    """The JSON object of a success answer (empty for an empty body), raising for any
    `WasSuccessful: false` and for a body that is not a JSON object."""
    if not answer.content.strip():
        return {}
    try:
        body = parse_json(answer)
    except ValueError as exc:
        raise InvalidAnswerError(
            f"{request} answered HTTP {answer.status_code} but {not_json(answer, exc)}"
        ) from None
    if not isinstance(body, dict):
        raise InvalidAnswerError(
            f"{request} answered HTTP {answer.status_code} but its body is not a JSON object"
        )
    rejected = rejection(answer.status_code, body)
    if rejected is not None:
        raise rejected
    return body


def loose_body(answer: Answer) -> dict[str, Any]:
    """An error answer's JSON object, or {} for anything else: read for words only."""
    try:
        body = parse_json(answer)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def rejection(status: int, body: dict[str, Any]) -> ApiRejectedError | None:
    """The API's failure envelope as an error, or None when it reports no failure."""
    if status < 400 and body.get("WasSuccessful") is not False:
        return None
    listed = body.get("Errors")
    errors = [
        FieldError(said(e.get("PropertyName")), said(e.get("Message")))
        for e in (listed if isinstance(listed, list) else [])
        if isinstance(e, dict)
    ]
    return ApiRejectedError(status, said(body.get("Message")), errors)


def said(value: Any) -> str:
    """A text of the API's (a message, a field name) as it may reach a terminal or a log: every
    control character escaped (`display.visible`), so an ESC in it cannot drive the terminal."""
    return visible(str(value or ""))


def server_reason(answer: Answer) -> str:
    """`: <the API's reason>` when a server error carries the API's envelope (`WasSuccessful:
    false` and a message), for the message when the tries run out; else "". A bare message
    from the web server around the API ("An error has occurred.") is no reason."""
    body = loose_body(answer)
    if body.get("WasSuccessful") is not False:
        return ""
    rejected = rejection(answer.status_code, body)
    if rejected is None or not (rejected.summary or rejected.field_errors):
        return ""
    return f": {rejected.details}"
