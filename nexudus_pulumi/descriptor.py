"""A record type's descriptor: where it lives and its inputs model, the one source every front
door, tool and document reads (see `models.RecordInputs` for the fields).

Imports nothing of Pulumi's: the CLI, the sandbox's tests and the plugin read descriptors too.
"""

from __future__ import annotations

from dataclasses import dataclass

from .models import RecordInputs


@dataclass(frozen=True)
class RecordSpec:
    """Everything the core needs to know about one Nexudus record type, read from its inputs
    model (the descriptor): nothing is said twice."""

    inputs_model: type[RecordInputs]

    @property
    def record_name(self) -> str:
        """As in role names, filters and messages: `ChatRoom`."""
        return self.inputs_model.RECORD_NAME

    @property
    def collection(self) -> str:
        """The REST collection: `/api/support/chatrooms`."""
        return self.inputs_model.COLLECTION

    @property
    def replace_on(self) -> frozenset[str]:
        """Inputs (camelCase) that cannot change in place (`Api(replace=True)`): a change
        creates a new record. None of the three types has one: the entity reference lists every
        field among the update options, `BusinessId` included, and a replacement would lose
        what the record holds (members, guests, replies)."""
        return self.inputs_model.tagged("replace")

    def filter(self, field: str) -> str:
        """The search filter on an API field (`Business` -> `ChatRoom_Business`), for the
        probe, export and the CLI."""
        return self.inputs_model.filter(field)
