"""What every Nexudus record's Pulumi resource class shares: turning its typed keyword arguments
into the property bag a dynamic resource registers.

A record type's resource class only lists its keyword arguments (typed, snake_case, for people
writing programs) and hands them over as the camelCase inputs `check` knows; this base adds the
owner tag, and declares every field and read-only field of the record, so that each exists as an
Output attribute even when it was not declared (it then resolves to what Nexudus holds).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import pulumi
import pulumi.dynamic

from .identity import owner_tag
from .provider import RecordProvider


class RecordResource(pulumi.dynamic.Resource):
    """Base of `ChatRoom`, `CommunityGroup`...: subclasses set `provider_type`. The resource id
    is the Nexudus record id, as a string."""

    provider_type: ClassVar[type[RecordProvider]]

    uniqueId: pulumi.Output[str]
    createdOn: pulumi.Output[str]
    updatedOn: pulumi.Output[str]
    updatedBy: pulumi.Output[str]
    systemId: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        inputs: Mapping[str, Any],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """`inputs`: the declaration by input name (`businessId`); a None value is not declared,
        so that field stays Nexudus's (see `models.RecordInputs`)."""
        model = self.provider_type.spec.inputs_model
        props: dict[str, Any] = dict.fromkeys((*model.record_fields(), *model.output_names()))
        props.update({k: v for k, v in inputs.items() if v is not None})
        props["ownerTag"] = owner_tag(resource_name)
        super().__init__(self.provider_type(), resource_name, props, opts)
