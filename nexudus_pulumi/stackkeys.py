"""The settings a record's entry in a stack file carries beside the record's fields: export
writes them, clone takes them out again. The stack file is the only contract between the two
commands, so both take these names, and the note written above a `takeOver`, from here.
"""

from __future__ import annotations

from .display import quoted

IMPORT_KEY = "importId"
PROTECT_KEY = "protect"
RETAIN_KEY = "retainOnDelete"
TAKE_OVER_KEY = "takeOver"
ADOPTION_KEYS = (IMPORT_KEY, PROTECT_KEY, TAKE_OVER_KEY)
"""Written after a record's fields, in this order."""

_TAKE_OVER_NOTES = (
    "takeOver moves it to this stack",
    "takeOver replaces it with this stack's marker",
)


def take_over_note(*, stack: str | None = None, system_id: str | None = None) -> str:
    """The comment above an entry written with `takeOver`: who holds the record, the `stack`
    that manages it or the other integration's `system_id`. Text from the API goes in only as
    `quoted` (ASCII, no line break): a `\\r` in a SystemId must not end the comment and write
    YAML of its own."""
    if stack is not None:
        return f"managed by the stack {quoted(stack)}: {_TAKE_OVER_NOTES[0]}"
    return (
        f"SystemId {quoted(system_id or '')} was set by another integration: {_TAKE_OVER_NOTES[1]}"
    )


def is_take_over_note(comment: str) -> bool:
    """A comment line (without its indentation) that `take_over_note` wrote: no longer true
    once the `takeOver` below it is gone."""
    return comment.startswith("#") and comment.endswith(_TAKE_OVER_NOTES)
