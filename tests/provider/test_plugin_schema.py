"""The plugin's package schema, as code generators, `pulumi import` and Pulumi YAML read it: a
contract of names, written from the record descriptors and the settings, never by hand."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from pulumi.provider.experimental.provider import CheckRequest
from pydantic.alias_generators import to_camel

from nexudus_pulumi import __version__, schemadocs
from nexudus_pulumi.kinds import KINDS
from nexudus_pulumi.plugin import NexudusProvider
from nexudus_pulumi.recordkind import RESOURCE_OPTIONS, RecordKind
from nexudus_pulumi.schema import STACK_ID, package_schema, schema_text, token
from nexudus_pulumi.settings import KEYS
from tests.front_doors import run, wire

Kind = RecordKind[Any]
every_kind = pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.map_name)


def resource(kind: Kind) -> dict[str, Any]:
    return dict(package_schema()["resources"][token(kind)])


def test_the_types_are_the_record_types_and_the_stack_identity() -> None:
    assert sorted(package_schema()["resources"]) == [
        "nexudus:index:ChatRoom",
        "nexudus:index:CommunityGroup",
        "nexudus:index:CommunityThread",
        "nexudus:index:StackIdentity",
    ]
    assert package_schema()["name"] == "nexudus"
    assert package_schema()["version"] == __version__
    json.loads(schema_text())  # what the plugin serves is JSON


@every_kind
def test_inputs_are_named_as_stack_config_names_the_fields(kind: Kind) -> None:
    """`businessId`, `users`, `userId`, `groupAccess`...: a stack file's entry, less what is
    no field of the record (resource options, `importId`/`takeOver`, a key reference)."""
    stack_config = set(kind.settings) - set(RESOURCE_OPTIONS) - {"importId", "takeOver"}
    stack_config -= set(kind.references)
    assert set(resource(kind)["inputProperties"]) == stack_config | {STACK_ID}
    assert set(resource(kind)["requiredInputs"]) == {
        to_camel(name)
        for name, info in kind.model.model_fields.items()
        if info.is_required() and to_camel(name) in kind.model.record_fields()
    }


@every_kind
def test_outputs_are_every_field_the_read_only_ones_included(kind: Kind) -> None:
    outputs = set(resource(kind)["properties"])
    assert outputs == {*kind.model.record_fields(), "ownerTag", *kind.model.output_names()}
    assert resource(kind)["properties"]["systemId"]["type"] == "string"


def test_field_types_and_descriptions_come_from_the_model() -> None:
    room = resource(KINDS[0])["inputProperties"]
    assert room["businessId"]["type"] == "integer"
    assert room["users"] == {
        "type": "array",
        "items": {"type": "integer"},
        "description": room["users"]["description"],
    }
    assert room["active"]["type"] == "boolean"
    doc = KINDS[0].model.model_fields["users"].description or ""
    assert room["users"]["description"] == " ".join(doc.split())
    group = resource(KINDS[1])["inputProperties"]
    assert "`restricted`, `public`, `private`" in group["groupAccess"]["description"]


def test_a_reference_takes_the_id_output_of_another_resource() -> None:
    """`communityGroupId: ${makers.id}` in YAML: a resource's id is a string."""
    thread = resource(KINDS[2])["inputProperties"]["communityGroupId"]
    assert thread["oneOf"] == [{"type": "integer"}, {"type": "string"}]


def test_the_provider_configuration_is_the_nexudus_keys_with_secrets() -> None:
    schema = package_schema()
    names = {key.config_key.removeprefix("nexudus:") for key in KEYS}
    assert set(schema["config"]["variables"]) == names
    assert set(schema["provider"]["inputProperties"]) == names  # an explicit provider
    secret = {n for n, spec in schema["provider"]["inputProperties"].items() if spec.get("secret")}
    assert secret == {k.config_key.removeprefix("nexudus:") for k in KEYS if k.secret}
    assert {"password", "token"} <= secret
    base_url = schema["config"]["variables"]["baseUrl"]["description"]
    assert "`nexudus:baseUrl`" in base_url and "`NEXUDUS_BASE_URL`" in base_url


def test_every_plugin_page_matches_the_schema() -> None:
    """A model's field, a setting or the schema changed without `make docs` fails here."""
    stale = [str(p) for p, text in schemadocs.pages().items() if p.read_text() != text]
    assert stale == [], f"out of date, run `make docs`: {stale}"


@every_kind
def test_a_pages_yaml_example_passes_the_plugins_check(kind: Kind) -> None:
    text = schemadocs.page_path(kind).read_text()
    block = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    declared = yaml.safe_load(block)["resources"][kind.noun]
    assert declared["type"] == token(kind)
    props = {k: v for k, v in declared["properties"].items() if k != STACK_ID}
    urn = f"urn:pulumi:dev::docs::{token(kind)}::{kind.noun}"
    check = CheckRequest(urn, {}, wire(props), b"")
    response = run(NexudusProvider().check(check))
    assert [(f.property, f.reason) for f in response.failures or []] == []
    for section in (
        "## Example Usage",
        "### Python",
        "### TypeScript",
        "## Inputs",
        "## Outputs",
        "## Import",
        "## Provider Configuration",
    ):
        assert section in text
