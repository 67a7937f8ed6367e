"""The plugin's resource pages, written from its package schema as a registry page shows a
provider's: what the resource is, examples in YAML, Python and TypeScript, its inputs and
outputs, how to import one, and the provider's configuration.

`python -m nexudus_pulumi.schemadocs` (part of `make docs`) writes `docs/plugin/<type>.md`,
whole: nothing on these pages is hand-written, so nothing on them can drift from the schema.
tests/provider/test_plugin_schema.py fails when a committed page differs from what this writes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from .kinds import KINDS
from .recordkind import BUSINESS, RecordKind
from .schema import STACK_ID, STACK_IDENTITY, package_schema, token

DOCS = Path(__file__).resolve().parents[1] / "docs" / "plugin"
BUSINESS_ID = 1001


def page_path(kind: RecordKind[Any]) -> Path:
    return DOCS / f"{kind.spec.record_name.lower()}.md"


def _example(kind: RecordKind[Any]) -> dict[str, Any]:
    return {BUSINESS: BUSINESS_ID, **kind.example}


def _yaml_value(value: Any) -> str:
    return json.dumps(value) if isinstance(value, str | bool) else str(value)


def _python_value(value: Any) -> str:
    return json.dumps(value) if isinstance(value, str) else repr(value)


def _type_name(spec: dict[str, Any]) -> str:
    if "oneOf" in spec:
        return " or ".join(_type_name(choice) for choice in spec["oneOf"])
    if spec["type"] == "array":
        return f"list of {_type_name(spec['items'])}"
    return str(spec["type"])


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _examples(kind: RecordKind[Any]) -> str:
    key = kind.noun
    fields = _example(kind)
    record = token(kind)
    yaml_lines = "\n".join(f"      {k}: {_yaml_value(v)}" for k, v in fields.items())
    python_args = ",\n".join(f'        "{k}": {_python_value(v)}' for k, v in fields.items())
    ts_args = ",\n".join(f"    {k}: {json.dumps(v)}" for k, v in fields.items())
    return f"""### YAML

```yaml
resources:
  identity:
    type: {STACK_IDENTITY}
  {key}:
    type: {record}
    properties:
      {STACK_ID}: ${{identity.{STACK_ID}}}
{yaml_lines}
```

### Python

```python
import pulumi

identity = pulumi.CustomResource("{STACK_IDENTITY}", "identity", {{"{STACK_ID}": None}})
{key} = pulumi.CustomResource(
    "{record}",
    "{key}",
    {{
        "{STACK_ID}": identity.{STACK_ID},
{python_args},
    }},
)
```

### TypeScript

```typescript
import * as pulumi from "@pulumi/pulumi";

const identity = new pulumi.CustomResource("{STACK_IDENTITY}", "identity", {{
    {STACK_ID}: undefined,
}}) as pulumi.CustomResource & {{ {STACK_ID}: pulumi.Output<string> }};
const {key} = new pulumi.CustomResource("{record}", "{key}", {{
    {STACK_ID}: identity.{STACK_ID},
{ts_args},
}});
```
"""


def _properties(specs: dict[str, Any], required: list[str] | None = None) -> str:
    """A table of properties; with `required`, a column that says which are."""
    head = "| property | type |" + (" required |" if required is not None else "")
    rows = [
        f"{head} description |",
        "|---|---|" + ("---|" if required is not None else "") + "---|",
    ]
    for name, spec in sorted(specs.items()):
        secret = " (secret)" if spec.get("secret") else ""
        cells = [f"`{name}`", _type_name(spec) + secret]
        if required is not None:
            cells.append("yes" if name in required else "")
        cells.append(_cell(spec.get("description", "")))
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _read_only(resource: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in resource["properties"].items() if k not in resource["inputProperties"]}


def page(kind: RecordKind[Any]) -> str:
    schema = package_schema()
    resource = schema["resources"][token(kind)]
    config = schema["provider"]["inputProperties"]
    return f"""# {token(kind)}

<!-- written by `make docs` (nexudus_pulumi/schemadocs.py) from the plugin's schema -->

{resource["description"]}

Package `{schema["name"]}` {schema["version"]}, served by the plugin `pulumi-resource-nexudus`
([the provider plugin](../plugin.md)). The Python library's dynamic resource of the same record:
[{kind.spec.record_name}](../resources/{kind.spec.record_name.lower()}.md).

## Example Usage

{_examples(kind)}
## Inputs

{_properties(resource["inputProperties"], resource["requiredInputs"])}

An input left out is not managed: Nexudus's value is kept, and shown in the outputs.

## Outputs

Every input, as Nexudus holds it, and the read-only fields:

{_properties(_read_only(resource))}

## Import

```sh
pulumi import {token(kind)} {kind.noun} <id>
```

reads the record by its Nexudus id (no write) and writes the code that declares it; its owner
marker is written at its first update. A missing id is an error naming it.

## Provider Configuration

Stack config `nexudus:<property>` (or the `NEXUDUS_*` variable) for the default provider; the
properties of a `pulumi:providers:{schema["name"]}` resource for an explicit one.

{_properties(config)}
"""


def pages() -> dict[Path, str]:
    return {page_path(kind): page(kind) for kind in KINDS}


def stale() -> list[Path]:
    return [path for path, text in pages().items() if not path.exists() or path.read_text() != text]


def main() -> int:
    DOCS.mkdir(parents=True, exist_ok=True)
    for path, text in pages().items():
        path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
