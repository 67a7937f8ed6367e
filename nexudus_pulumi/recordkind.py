"""What a stack file needs to know about one record type: its `RecordKind`.

A kind is the type's `RecordSpec` (where it lives, its inputs model) plus the little a stack
file needs beyond it: the map's name, what one record is called in messages, which fields
`export` treats specially, which settings name another entry of the stack, whether Nexudus
deprecates the type, and a minimal entry. Each record module declares its own `KIND`; the
registry `kinds.KINDS` lists them, and the program, export, clone and the CLI loop over it.

A kind names its Pulumi resource class by where it lives (`module:Class`) and loads it on first
use: a kind, and so the CLI's parser and the docs, need nothing of Pulumi's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import import_module
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from pydantic.alias_generators import to_camel

from .descriptor import RecordSpec
from .models import STEERING, RecordInputs

if TYPE_CHECKING:
    from .resource import RecordResource

BUSINESS = "businessId"
FLAG_OPTIONS = {"protect": "protect", "retainOnDelete": "retain_on_delete"}
RESOURCE_OPTIONS = {**FLAG_OPTIONS, "aliases": "aliases"}
"""Per-record settings that are Pulumi resource options, not fields: the provider never sees
them. `aliases` lists the keys a record had before: Pulumi then knows a renamed key for the
same resource (an update that rewrites its marker) instead of a new one (a delete and a
create)."""

R = TypeVar("R", bound="RecordResource")


@dataclass(frozen=True)
class Reference:
    """A setting that names another entry of the same stack by its key (`group: makers`): the
    program passes that record's id as `field`, so the referring resource depends on it."""

    map_name: str
    """The stack map the key is looked up in (`groups`)."""
    field: str
    """The field the record's id fills (`communityGroupId`); an entry sets one or the other."""


@dataclass(frozen=True, eq=False)  # one instance per type: equal only to itself, and hashable
class RecordKind(Generic[R]):
    spec: RecordSpec
    """The type's descriptor: where it lives, its inputs model."""
    map_name: str
    """The stack config map: `rooms` is `nexudus-rooms:rooms`."""
    noun: str
    """One record, in messages and in the keys of nameless records (`room-87654321`)."""
    resource_path: str
    """Where the Pulumi resource class lives: `nexudus_pulumi.resources:ChatRoom`."""
    deprecation: str | None = None
    """What the program warns once per run when a stack declares records of a type Nexudus
    deprecates, naming its successor; None for a type in good standing."""
    example: Mapping[str, Any] = field(default_factory=dict)
    """A minimal valid entry without `businessId` (the docs' example, the contract tests'
    declaration)."""
    references: Mapping[str, Reference] = field(default_factory=dict)
    """Settings that name another entry of the stack (`group`) -> where they point."""
    synonyms: Mapping[str, str] = field(default_factory=dict)
    """Another type's name for one of this type's settings -> this type's (`members` ->
    `users`): what someone moving rooms to groups types, named in the error."""

    @property
    def resource(self) -> type[R]:
        """The Pulumi resource class (`ChatRoom`), imported on first use."""
        module, _, name = self.resource_path.partition(":")
        return cast("type[R]", getattr(import_module(module), name))

    @property
    def model(self) -> type[RecordInputs]:
        return self.spec.inputs_model

    @property
    def pinned(self) -> frozenset[str]:
        """Fields export writes even at the API's default (`Api(pinned=True)`)."""
        return self.model.tagged("pinned")

    @property
    def on_request(self) -> frozenset[str]:
        """Fields export writes only when asked (`Api(on_request=True)`)."""
        return self.model.tagged("on_request")

    @property
    def secret(self) -> frozenset[str]:
        """Fields export writes only encrypted (`Api(secret=True)`)."""
        return self.model.tagged("secret")

    @property
    def settings(self) -> dict[str, str]:
        """What a record's entry in the stack's map may set (`userId`) -> the resource's keyword
        argument (`user_id`): its fields, importId and takeOver, and the resource options."""
        named = {to_camel(name): name for name in self.model.model_fields}
        steering = {name: named[name] for name in sorted(STEERING - {"ownerTag"})}
        fields = {name: named[name] for name in self.model.record_fields()}
        references = {name: named[ref.field] for name, ref in self.references.items()}
        return fields | references | steering | RESOURCE_OPTIONS

    @property
    def plural(self) -> str:
        return f"{self.noun}s"

    @property
    def fields(self) -> tuple[str, ...]:
        """The record's fields in the order a stack file lists them: its own, in the model's
        order, then `businessId` (written only to override the stack's)."""
        own = tuple(name for name in self.model.record_fields() if name != BUSINESS)
        return (*own, BUSINESS)

    def count(self, number: int) -> str:
        """`3 room(s)`: how export, clone and the CLI count records."""
        return f"{number} {self.noun}(s)"

    def default(self, field: str) -> Any:
        """The API's default for a field (what a record that never set it holds), or
        `PydanticUndefined` for a required field."""
        for name, info in self.model.model_fields.items():
            if (info.alias or name) == field:
                return info.get_default(call_default_factory=True)
        raise KeyError(field)


def tally(counts: Iterable[tuple[RecordKind[Any], int]]) -> str:
    """`1 room(s), 5 group(s) and 0 thread(s)`: one count per kind, in the order given."""
    return said([kind.count(number) for kind, number in counts])


def said(parts: list[str]) -> str:
    """`rooms, groups and threads`."""
    return " and ".join([", ".join(parts[:-1]), parts[-1]] if len(parts) > 1 else parts)


def lazy_resource(module: str, name: str, names: tuple[str, ...]) -> Any:
    """A record module's `__getattr__`: its resource and provider classes (`names`), which need
    Pulumi, from `nexudus_pulumi.resources` on first use."""
    if name not in names:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    return getattr(import_module("nexudus_pulumi.resources"), name)
