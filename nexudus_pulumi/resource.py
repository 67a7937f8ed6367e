"""What every Nexudus record's Pulumi resource class shares: turning its typed keyword arguments
into the property bag a dynamic resource registers, and one naming convention.

A record type's resource class only lists its keyword arguments (typed, snake_case, no catch-all,
so a misspelt one is a `TypeError` and an error in a type checker) and hands them over as
`keyword_inputs(locals())`, so that each is written once, in the signature; this base adds the
owner tag, and declares every field and read-only field of the record, so that each exists as an
Output attribute even when it was not declared (it then resolves to what Nexudus holds).
Attributes are snake_case in Python (`business_id`); in the state, in `pulumi preview --diff` and
in stack config the properties keep Pulumi's camelCase (`businessId`).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any, ClassVar

import pulumi
import pulumi.dynamic
from pydantic.alias_generators import to_camel, to_snake

from .identity import owner_tag
from .models import RecordInputs
from .provider import RecordProvider
from .sdk_workarounds import DynamicResource


class RecordResource(DynamicResource):
    """Base of `ChatRoom`, `CommunityGroup`...: subclasses set `provider_type`. The resource id
    is the Nexudus record id, as a string."""

    provider_type: ClassVar[type[RecordProvider]]

    owner_tag: pulumi.Output[str]
    """`<project>/<stack>/<resource name>#<stack id>`: the resource that owns the record."""
    import_id: pulumi.Output[int | None]
    unique_id: pulumi.Output[str]
    created_on: pulumi.Output[str]
    """Known after the first refresh (a create's answer does not carry it)."""
    updated_on: pulumi.Output[str]
    updated_by: pulumi.Output[str]
    is_new: pulumi.Output[bool]
    system_id: pulumi.Output[str | None]
    """`pulumi:<owner_tag>`, the owner marker (see `nexudus_pulumi.ownership`)."""

    def __init__(
        self,
        resource_name: str,
        inputs: Mapping[str, Any],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """`inputs`: the declaration by keyword (`business_id`); a None value is not declared,
        so that field stays Nexudus's (see `models.RecordInputs`)."""
        model = self.provider_type.spec.inputs_model
        props: dict[str, Any] = dict.fromkeys(_python_names(model).values())
        props.update({k: v for k, v in inputs.items() if v is not None})
        if props["import_id"] is not None:
            props["import_id"] = _id_as_text(props["import_id"])
        retained = bool(opts is not None and opts.retain_on_delete)
        props["owner_tag"] = owner_tag(resource_name, retained=retained)
        super().__init__(self.provider_type(), resource_name, props, opts)

    def translate_input_property(self, prop: str) -> str:
        return _pulumi_names(self.provider_type.spec.inputs_model).get(prop, prop)

    def translate_output_property(self, prop: str) -> str:
        return _python_names(self.provider_type.spec.inputs_model).get(prop, prop)


def _id_as_text(value: Any) -> Any:
    """`importId` as its digits (`"65432105"`), which `check` takes as the id it is.

    Every number crosses the engine as a float64, and the engine prints a refused property's
    value with Go's `%v` (`issueCheckFailures` in pkg/resource/deploy/step_generator.go), so an
    id of seven digits or more would read `{6.5432105e+07}` in the very message that says why
    it cannot be adopted. Only the program's inputs travel so: `check` returns the id as a
    number, and that is what the state and `diff` see. A value that is no whole number is
    passed as it is, for `check` to refuse with its own words."""
    if isinstance(value, pulumi.Output):
        return value.apply(_id_as_text)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    return str(int(value)) if float(value).is_integer() else value


_NOT_INPUTS = frozenset({"self", "__class__", "resource_name", "opts"})
"""What a resource `__init__`'s `locals()` holds besides the record's inputs: the instance, the
cell `super()` reads, the resource's name and its options."""


def keyword_inputs(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The record's inputs among a resource `__init__`'s arguments, given as its `locals()` on
    entry: so that a class lists each typed keyword argument once, in its signature, rather than
    once more in a dict (by keyword, `business_id`, as `RecordResource.__init__` takes them)."""
    return {name: value for name, value in arguments.items() if name not in _NOT_INPUTS}


@cache
def _python_names(model: type[RecordInputs]) -> dict[str, str]:
    """Property name in Pulumi -> Python attribute (`businessId` -> `business_id`)."""
    inputs = {to_camel(field): field for field in model.model_fields}
    return inputs | {name: to_snake(name) for name in model.output_names()}


@cache
def _pulumi_names(model: type[RecordInputs]) -> dict[str, str]:
    return {python: pulumi_name for pulumi_name, python in _python_names(model).items()}
