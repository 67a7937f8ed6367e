"""The reference tables of docs/ written from the code, so that a page cannot drift from it.

`python -m nexudus_pulumi.docgen` (or `make docs`) rewrites, in each page, what lies between
`<!-- docgen:NAME -->` and `<!-- /docgen -->`: a record type's example entry, its inputs (from
its model: the field names as stack config spells them, type, required, default, and the field's
docstring) and its outputs, on `docs/resources/<type>.md`; the provider settings (from
`settings.KEYS` and the `Settings` fields' docstrings) on `docs/configuration.md`. Prose outside
the markers is hand-written and kept. A record type without a page gets one from `TEMPLATE`, the
same headings for every type. tests/tools/test_docs.py fails when a committed page differs from what
this writes.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pydantic.alias_generators import to_snake
from pydantic_core import PydanticUndefined

from .kinds import KINDS
from .models import why_refused
from .recordkind import BUSINESS, RESOURCE_OPTIONS, RecordKind
from .settings import KEYS, Settings

DOCS = Path(__file__).resolve().parents[1] / "docs"
LINE_LENGTH = 100
"""The project's line length (pyproject.toml, `[tool.ruff]`)."""
HEADINGS = ("Example Usage", "Inputs", "Outputs", "Adoption (Import)", "Errors")
"""Every record type's page has these sections, in this order (the template's)."""

TEMPLATE = """# {record}

{summary}

<!-- docgen:deprecation -->
<!-- /docgen -->

## Example Usage

<!-- docgen:example -->
<!-- /docgen -->

## Inputs

<!-- docgen:inputs -->
<!-- /docgen -->

An input left out is not managed: Nexudus's value is kept, and shown in the outputs.

## Outputs

<!-- docgen:outputs -->
<!-- /docgen -->

## Adoption (Import)

`importId: <Nexudus id>` adopts an existing {noun} instead of creating one, once; `takeOver:
true` lets it take a {noun} another resource owns. A whole account: [Adopt an
account](../guides/adopt-an-account.md).

## Errors

A bad value stops `pulumi preview` naming the property; an API refusal names the {noun} and
quotes the API. The Nexudus user needs the `{record}-*` roles.
"""

OPTION_DESCRIPTIONS = {
    "protect": "Pulumi's resource option, never sent to Nexudus: the record cannot be deleted "
    "while set",
    "retainOnDelete": "Pulumi's resource option, never sent to Nexudus: removing the key "
    "forgets the record, which stays in Nexudus",
    "aliases": "the keys this record had before (a key, or a list of keys): a renamed key is "
    "then the same record, updated in place, not deleted and created again",
}
"""Per-record settings that are Pulumi resource options (`kinds.RESOURCE_OPTIONS`), not fields."""

OPTION_VALUES = {"protect": "True", "retainOnDelete": "True", "aliases": "[Alias(name=...)]"}

OWNER_TAG_DESCRIPTION = (
    "`<project>/<stack>/<key>#<stack id>`: the resource that owns the record; a stack or project "
    "rename changes it, as an update"
)
"""The one output every record type has that is no field of Nexudus's (the read-only fields
describe themselves: `RecordInputs.READ_ONLY_FIELDS`)."""

BLOCK = re.compile(r"(<!-- docgen:(?P<name>[a-z]+) -->\n)(?P<body>.*?)(<!-- /docgen -->)", re.S)


# ----- what is written ---------------------------------------------------------------------


def page_path(kind: RecordKind[Any]) -> Path:
    return DOCS / "resources" / f"{kind.spec.record_name.lower()}.md"


def resource_blocks(kind: RecordKind[Any]) -> dict[str, str]:
    return {
        "deprecation": f"> **Deprecated.** {kind.deprecation}\n" if kind.deprecation else "",
        "example": example_usage(kind),
        "inputs": inputs_table(kind),
        "outputs": outputs_table(kind),
    }


def example_usage(kind: RecordKind[Any]) -> str:
    example = dict(kind.example)
    key = _key_of(example, kind.noun)
    entry = "\n".join(f"      {name}: {_yaml(value)}" for name, value in example.items())
    arguments = [
        f"{to_snake(name)}={json.dumps(value, ensure_ascii=False)}"
        for name, value in {BUSINESS: 1001, **example}.items()
    ]
    resource = kind.resource.__name__
    return (
        "In a stack's config (`stacks/Pulumi.<stack>.yaml`):\n\n"
        "```yaml\nconfig:\n  nexudus-rooms:businessId: 1001\n"
        f"  nexudus-rooms:{kind.map_name}:\n    {key}:\n{entry}\n```\n\n"
        "From a Pulumi program of your own:\n\n"
        f"```python\nfrom nexudus_pulumi import {resource}\n\n"
        f"{_call(key.replace('-', '_'), resource, [json.dumps(key), *arguments])}\n```\n"
    )


def _call(variable: str, function: str, arguments: list[str]) -> str:
    """`variable = function(arguments)` as `ruff format` lays it out (it formats the docs' code
    blocks too): one line, else the arguments on one indented line, else one per line."""
    head = f"{variable} = {function}("
    inline = ", ".join(arguments)
    if len(head) + len(inline) + 1 <= LINE_LENGTH:
        return f"{head}{inline})"
    if len(inline) + 4 <= LINE_LENGTH:
        return f"{head}\n    {inline}\n)"
    return head + "".join(f"\n    {argument}," for argument in arguments) + "\n)"


def inputs_table(kind: RecordKind[Any]) -> str:
    rows = ["| stack config | Python | type | required | default | description |"]
    rows.append("|---|---|---|---|---|---|")
    fields = kind.model.model_fields
    for camel, python in kind.settings.items():
        if camel in RESOURCE_OPTIONS:
            shape = "list of keys | no | none" if camel == "aliases" else "boolean | no | `false`"
            option = f"opts=ResourceOptions({RESOURCE_OPTIONS[camel]}={OPTION_VALUES[camel]})"
            rows.append(f"| `{camel}` | `{option}` | {shape} | {OPTION_DESCRIPTIONS[camel]} |")
            continue
        if camel in kind.references:
            rows.append(_reference_row(kind, camel))
            continue
        info = fields[python]
        required = "yes" if info.is_required() else "no"
        default = _default(kind, camel)
        rows.append(
            f"| `{camel}` | `{python}` | {_type(kind, camel)} | {required} | {default} | "
            f"{_cell(info.description or '')} |"
        )
    return "\n".join(rows) + "\n"


def _reference_row(kind: RecordKind[Any], setting: str) -> str:
    reference = kind.references[setting]
    return (
        f"| `{setting}` | (a program passes the id as `{to_snake(reference.field)}`) | key of a "
        f"`nexudus-rooms:{reference.map_name}` entry | no | none | another entry of the same "
        f"stack, by its key: its record's id fills `{reference.field}`, and this {kind.noun} "
        f"depends on it; set one or the other |"
    )


def outputs_table(kind: RecordKind[Any]) -> str:
    rows = ["| state / `--diff` | Python | description |", "|---|---|---|"]
    described = [("ownerTag", OWNER_TAG_DESCRIPTION)] + [
        (field.output, field.description) for field in kind.model.READ_ONLY_FIELDS
    ]
    for name, description in described:
        rows.append(f"| `{name}` | `{to_snake(name)}` | {description} |")
    return "\n".join(rows) + "\n\nEvery input is an output too, as Nexudus holds it.\n"


def settings_table() -> str:
    rows = ["| stack config | environment | default | meaning |", "|---|---|---|---|"]
    for key in KEYS:
        info = Settings.model_fields[key.field]
        default = "none" if info.default is None else f"`{_plain(info.default)}`"
        secret = " (secret)" if key.secret else ""
        rows.append(
            f"| `{key.config_key}`{secret} | `{key.env_var}` | {default} | "
            f"{_cell(info.description or '')} |"
        )
    return "\n".join(rows) + "\n"


# ----- pages -------------------------------------------------------------------------------


def pages() -> dict[Path, str]:
    """Every generated page as it should read, from the committed page's prose (or the
    template's, for a record type without a page)."""
    result = {}
    for kind in KINDS:
        path = page_path(kind)
        text = path.read_text() if path.exists() else _new_page(kind)
        result[path] = fill(text, resource_blocks(kind).get)
    configuration = DOCS / "configuration.md"
    result[configuration] = fill(configuration.read_text(), {"settings": settings_table()}.get)
    return result


def fill(text: str, block: Callable[[str], str | None]) -> str:
    """`text` with each docgen block's body replaced by `block(name)`; an unknown name raises."""

    def replace(match: re.Match[str]) -> str:
        body = block(match["name"])
        if body is None:
            raise KeyError(f"no docgen block named {match['name']!r}")
        return f"{match[1]}{body}{match[4]}"

    return BLOCK.sub(replace, text)


def headings(text: str) -> list[str]:
    return [line[3:] for line in text.splitlines() if line.startswith("## ")]


def _new_page(kind: RecordKind[Any]) -> str:
    summary = _cell(kind.model.__doc__ or "")
    return TEMPLATE.format(record=kind.spec.record_name, summary=summary, noun=kind.noun)


# ----- cells -------------------------------------------------------------------------------


def _type(kind: RecordKind[Any], field: str) -> str:
    schema = kind.model.model_json_schema(by_alias=True)["properties"][field]
    options = [o for o in schema.get("anyOf", [schema]) if o.get("type") != "null"]
    names = [_type_name(option) for option in options]
    names = [f"{n} (a digit string is accepted)" if n == "integer id" else n for n in names]
    if names == ["string"] and "ISO 8601" in (why_refused(kind.model, field, "x") or ""):
        return "ISO 8601 date-time"
    return " or ".join(names)


def _type_name(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return "one of " + ", ".join(f"`{v}`" for v in schema["enum"])
    if schema.get("type") == "array":
        return f"list of {_type_name(schema.get('items', {}))}s"
    name = str(schema.get("type", "any"))
    return "integer id" if name == "integer" else name


def _default(kind: RecordKind[Any], field: str) -> str:
    if field == BUSINESS:
        return "`nexudus-rooms:businessId`"
    value = kind.default(field)
    if value is PydanticUndefined or value is None:
        return "none"
    return f"`{_plain(value)}`"


def _plain(value: Any) -> str:
    return json.dumps(value) if isinstance(value, (bool, list)) else str(value)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _yaml(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value


def _key_of(example: dict[str, Any], noun: str) -> str:
    words = next((v for v in example.values() if isinstance(v, str)), noun)
    return re.sub(r"[^a-z0-9]+", "-", words.lower()).strip("-") or noun


# ----- command -----------------------------------------------------------------------------


def stale(generated: Iterable[tuple[Path, str]]) -> list[Path]:
    return [path for path, text in generated if not path.exists() or path.read_text() != text]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m nexudus_pulumi.docgen",
        description="Rewrite the generated tables of docs/ from the models and settings.",
    )
    parser.add_argument("--check", action="store_true", help="write nothing; fail if stale")
    args = parser.parse_args(argv)
    generated = pages()
    out_of_date = stale(generated.items())
    if args.check:
        for path in out_of_date:
            print(f"{path}: out of date; run `make docs`", file=sys.stderr)
        return 1 if out_of_date else 0
    for path in out_of_date:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(generated[path])
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
