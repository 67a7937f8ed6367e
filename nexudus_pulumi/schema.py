"""The Pulumi package schema of the plugin `pulumi-resource-nexudus`, written from the code.

Nothing here is hand-written JSON: each record type of `kinds.KINDS` becomes a resource
`nexudus:index:<RecordName>` whose inputs are its model's fields under the names stack config
uses (`businessId`, `users`...), typed and described from the model (the fields' docstrings),
and whose outputs are those fields plus every read-only one (`uniqueId`, `systemId`...). The
provider's configuration is `settings.KEYS`, under the names of the `nexudus:` stack-config
keys, with `password` and `token` secret. The steering inputs of the dynamic providers
(`importId`, `takeOver`) are left out: `pulumi import` and the `import` resource option adopt a
record, and `stackId` (from a `nexudus:index:StackIdentity`) gives the owner marker its stack id.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.metadata import version
from typing import Any

from pydantic.alias_generators import to_camel

from .docgen import OWNER_TAG_DESCRIPTION
from .kinds import KINDS
from .models import STEERING
from .recordkind import RecordKind
from .settings import KEYS, Settings

PACKAGE = "nexudus"
STACK_IDENTITY = f"{PACKAGE}:index:StackIdentity"
STACK_ID = "stackId"
"""The input of every record resource that gives its owner marker the stack's id."""
STACK_ID_DESCRIPTION = (
    "The stack's id, for the owner marker `<project>/<stack>/<key>#<stack id>`: the `stackId` "
    "of the program's one `nexudus:index:StackIdentity`. It tells this stack's records from "
    "those of a stack renamed away, or of a clone made with `--copy-config-from`, that have the "
    "same names. Left out, the marker is `<project>/<stack>/<key>`, matched by its whole text."
)
GO_IMPORT_PATH = "github.com/nexudus-pulumi/nexudus-pulumi/sdk/go/nexudus"
"""Where the generated Go SDK's package would live (its module: `sdk/go`)."""


def token(kind: RecordKind[Any]) -> str:
    """`nexudus:index:ChatRoom`."""
    return f"{PACKAGE}:index:{kind.spec.record_name}"


def kind_of(type_token: str) -> RecordKind[Any] | None:
    return next((kind for kind in KINDS if token(kind) == type_token), None)


def _pulumi_type(json_schema: dict[str, Any]) -> dict[str, Any]:
    """A pydantic JSON schema of one field as a Pulumi schema type (an optional field is its
    non-null alternative; an enum a string)."""
    if "anyOf" in json_schema:
        json_schema = next(s for s in json_schema["anyOf"] if s.get("type") != "null")
    if json_schema["type"] == "array":
        return {"type": "array", "items": _pulumi_type(json_schema["items"])}
    return {"type": json_schema["type"]}


def _described(json_schema: dict[str, Any]) -> dict[str, Any]:
    spec = _pulumi_type(json_schema)
    if "description" in json_schema:
        spec["description"] = " ".join(json_schema["description"].split())
    if "enum" in json_schema:
        choices = ", ".join(f"`{choice}`" for choice in json_schema["enum"])
        spec["description"] = f"{spec.get('description', '')} One of {choices}.".strip()
    return spec


REFERENCE_ID = {
    "oneOf": [{"type": "integer"}, {"type": "string"}],
    "description": "a record id, or the `id` of the resource that holds it (a string of "
    "digits), which makes this resource depend on that one.",
}


def _resource(kind: RecordKind[Any]) -> dict[str, Any]:
    model = kind.model
    fields = model.model_json_schema(by_alias=True)
    inputs = {
        name: _described(spec)
        for name, spec in fields["properties"].items()
        if name in model.record_fields()
    }
    for reference in kind.references.values():  # `communityGroupId: ${makers.id}`
        described = inputs[reference.field].get("description", "")
        inputs[reference.field] = {
            "oneOf": REFERENCE_ID["oneOf"],
            "description": f"{described} Takes {REFERENCE_ID['description']}".strip(),
        }
    read_only = {"ownerTag": {"type": "string", "description": OWNER_TAG_DESCRIPTION}} | {
        field.output: {"type": field.schema_type, "description": field.description}
        for field in model.READ_ONLY_FIELDS
    }
    required = [name for name in fields.get("required", []) if name not in STEERING]
    summary = " ".join((model.__doc__ or kind.spec.record_name).split())
    return {
        "description": f"{summary} The resource id is the Nexudus record id.",
        "inputProperties": {
            **inputs,
            STACK_ID: {"type": "string", "description": STACK_ID_DESCRIPTION},
        },
        "requiredInputs": required,
        "properties": {**inputs, **read_only},
        "required": required,
    }


def _settings() -> dict[str, dict[str, Any]]:
    fields = Settings.model_json_schema()["properties"]
    config = {}
    for key in KEYS:
        spec = _described(fields[key.field])
        spec["description"] += f" (stack config `{key.config_key}`, or `{key.env_var}`)"
        if key.secret:
            spec["secret"] = True
        config[to_camel(key.field)] = spec
    return config


@cache
def package_schema() -> dict[str, Any]:
    """The schema the plugin serves (`pulumi package get-schema pulumi-resource-nexudus`)."""
    settings = _settings()
    return {
        "name": PACKAGE,
        "displayName": "Nexudus",
        "version": version("nexudus-pulumi"),
        "description": "Nexudus records (chat rooms, community groups and threads), managed "
        "with exactly-once creates and owner markers.",
        "keywords": ["pulumi", "nexudus", "category/utility", "kind/native"],
        "license": "Apache-2.0",
        "publisher": "nexudus-pulumi",
        "config": {"variables": settings},
        "provider": {
            "description": "A Nexudus account: declare one per account to use several in one "
            "program (a clone from staging into production).",
            "inputProperties": settings,
        },
        "resources": {
            STACK_IDENTITY: {
                "description": "The stack's identity: a random id drawn at the stack's first "
                "`up` and kept in its state, the `#<stack id>` of every owner marker. It costs no "
                "API request. Declare one per program and pass its `stackId` to every record.",
                "properties": {STACK_ID: {"type": "string", "description": "The random stack id."}},
                "required": [STACK_ID],
            },
            **{token(kind): _resource(kind) for kind in KINDS},
        },
        "language": {
            "csharp": {"respectSchemaVersion": True},
            "go": {
                "importBasePath": GO_IMPORT_PATH,
                "generateResourceContainerTypes": False,
                "respectSchemaVersion": True,
            },
            "nodejs": {"packageName": "@nexudus-pulumi/nexudus", "respectSchemaVersion": True},
            "python": {"packageName": "nexudus_pulumi_sdk", "respectSchemaVersion": True},
        },
    }


def schema_text() -> str:
    return json.dumps(package_schema(), indent=2, sort_keys=True)
