"""The plugin's C# SDK, generated from its schema by Pulumi's own C# generator
(scripts/engine/gensdk-dotnet), read as a C# team would rely on it: each resource type, its
inputs (required ones marked so), its outputs and their C# types, the provider resource with
`password` and `token` as secrets, and the stack config class.

No .NET SDK can be installed here (Debian serves none, and NuGet, where the `Pulumi` package
lives, is out of reach), so the generated sources are parsed, not compiled."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from nexudus_pulumi.schema import package_schema, schema_text
from tests.e2e.harness import TOOLS

GENSDK_DOTNET = TOOLS / "nexudus-gensdk-dotnet"
CONTRACT = {
    "nexudus:index:ChatRoom",
    "nexudus:index:CommunityGroup",
    "nexudus:index:CommunityThread",
}
SCALARS = {"integer": "int", "boolean": "bool", "number": "double", "string": "string"}
MEMBER = re.compile(
    r'\[(?P<kind>Input|Output)\("(?P<name>\w+)"(?P<flags>[^)]*)\)\]\s*'
    r"(?:public|private) (?P<type>.+?) _?\w+(?: \{|;)"
)


@pytest.fixture(scope="module")
def sdk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not GENSDK_DOTNET.exists():
        message = f"{GENSDK_DOTNET} is missing; run `make engine`"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    folder = tmp_path_factory.mktemp("csharp")
    schema = folder / "schema.json"
    schema.write_text(schema_text())
    out = folder / "dotnet"
    subprocess.run([str(GENSDK_DOTNET), str(schema), str(out)], check=True, timeout=120)
    return out


def sections(text: str, matches: list[re.Match[str]]) -> list[tuple[re.Match[str], str]]:
    """Each match with the text from it up to the next one (or the end)."""
    ends = [m.start() for m in matches[1:]] + [len(text)]
    return [(m, text[m.start() : end]) for m, end in zip(matches, ends, strict=False)]


def classes(sdk: Path) -> dict[str, str]:
    """Each class of the SDK by name, its source up to the next class."""
    found: dict[str, str] = {}
    for source in sdk.rglob("*.cs"):
        text = source.read_text()
        for m, section in sections(text, list(re.finditer(r"\bclass (\w+)", text))):
            found[m.group(1)] = section
    return found


def resource_types(sdk: Path) -> dict[str, tuple[str, str]]:
    """Each Pulumi type token the SDK declares -> (its class, the Pulumi class it extends)."""
    declared = re.compile(
        r'\[NexudusResourceType\("([^"]+)"\)\]\s*public partial class (\w+) : global::Pulumi\.(\w+)'
    )
    return {
        m.group(1): (m.group(2), m.group(3))
        for source in sdk.rglob("*.cs")
        for m in declared.finditer(source.read_text())
    }


def members(source: str, kind: str) -> dict[str, tuple[str, str, str]]:
    """The `[Input]` or `[Output]` members of a class: name -> (C# type, attribute flags, the
    source up to the next member)."""
    matches = [m for m in MEMBER.finditer(source) if m.group("kind") == kind]
    return {
        m.group("name"): (m.group("type").rstrip("?"), m.group("flags"), section)
        for m, section in sections(source, matches)
    }


def csharp(prop: dict[str, Any]) -> str:
    if "oneOf" in prop:
        return "Union<" + ", ".join(csharp(p) for p in prop["oneOf"]) + ">"
    if prop["type"] == "array":
        return csharp(prop["items"])
    return SCALARS[prop["type"]]


def input_type(prop: dict[str, Any]) -> str:
    if "oneOf" in prop:
        return "Input" + csharp(prop)
    if prop["type"] == "array":
        return f"InputList<{csharp(prop)}>"
    return f"Input<{csharp(prop)}>"


def output_type(prop: dict[str, Any]) -> str:
    if prop.get("type") == "array":
        return f"Output<ImmutableArray<{csharp(prop)}>>"
    return f"Output<{csharp(prop)}>"


def test_each_resource_type_declares_its_inputs_and_outputs(sdk: Path) -> None:
    schema = package_schema()
    found = classes(sdk)
    types = resource_types(sdk)
    assert set(schema["resources"]) >= CONTRACT
    assert set(types) == {*schema["resources"], "pulumi:providers:nexudus"}
    for token, spec in schema["resources"].items():
        name = token.rsplit(":", 1)[1]
        assert types[token] == (name, "CustomResource"), token
        declared = found[name]
        assert f'base("{token}", name, args' in declared

        outputs = members(declared, "Output")
        assert set(outputs) == set(spec["properties"]), token
        for prop, (type_, _, _) in outputs.items():
            schema_prop = spec["properties"][prop]
            expected = output_type(schema_prop)
            # an optional output may be null, but a list is an empty one then
            if prop not in spec.get("required", []) and schema_prop.get("type") != "array":
                expected = expected[:-1] + "?>"
            assert type_ == expected, (token, prop)

        inputs = members(found[f"{name}Args"], "Input")
        assert set(inputs) == set(spec.get("inputProperties", {})), token
        for prop, (type_, flags, _) in inputs.items():
            assert type_ == input_type(spec["inputProperties"][prop]), (token, prop)
            assert ("required: true" in flags) == (prop in spec.get("requiredInputs", [])), prop


def test_the_provider_takes_the_settings_with_password_and_token_as_secrets(sdk: Path) -> None:
    schema = package_schema()
    settings = schema["provider"]["inputProperties"]
    found = classes(sdk)
    assert resource_types(sdk)["pulumi:providers:nexudus"] == ("Provider", "ProviderResource")
    assert 'base("nexudus", name, args' in found["Provider"]

    inputs = members(found["ProviderArgs"], "Input")
    assert set(inputs) == set(settings)
    secrets = {name for name, (_, _, body) in inputs.items() if "Output.CreateSecret" in body}
    assert secrets == {name for name, prop in settings.items() if prop.get("secret")}
    assert {"password", "token"} <= secrets
    for name, (type_, flags, _) in inputs.items():
        assert type_ == input_type(settings[name]), name
        # a setting that is no string travels as JSON, as the engine hands provider config over
        assert ("json: true" in flags) == (settings[name]["type"] != "string"), name

    config = (sdk / "Config" / "Config.cs").read_text()
    assert 'new global::Pulumi.Config("nexudus")' in config
    read = set(re.findall(r'__config\.Get\w*\("(\w+)"\)', config))
    assert read == set(schema["config"]["variables"])


def test_the_package_names_the_plugin_and_its_version(sdk: Path) -> None:
    version = package_schema()["version"]
    assert json.loads((sdk / "pulumi-plugin.json").read_text()) == {
        "resource": True,
        "name": "nexudus",
        "version": version,
    }
    project = (sdk / "Pulumi.Nexudus.csproj").read_text()
    assert f"<Version>{version}</Version>" in project
    assert '<PackageReference Include="Pulumi" Version="[3.76.1.0,4)" />' in project
    assert (sdk / "logo.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
