"""A record type's descriptor: where it lives and its inputs model, the one source every front
door, tool and document reads (see `models.RecordInputs` for the fields).

Imports nothing of Pulumi's: the CLI, the sandbox's tests and the plugin read descriptors too.
"""

from __future__ import annotations

from dataclasses import dataclass

from .models import RecordInputs


@dataclass(frozen=True)
class RecordSpec:
    """Everything the core needs to know about one Nexudus record type."""

    record_name: str
    """As in role names and messages: `ChatRoom`."""
    collection: str
    """The REST collection: `/api/support/chatrooms`."""
    inputs_model: type[RecordInputs]
    replace_on: frozenset[str] = frozenset()
    """Inputs (camelCase) that cannot change in place: a change creates a new record. None of
    the three types has one: the entity reference lists every field among the update options,
    `BusinessId` included, and a replacement would lose what the record holds (members,
    guests, replies)."""
