"""`pulumi-resource-nexudus`: the record types as a Pulumi provider plugin, for every language.

A second front door to the machinery the dynamic providers use: each call of the engine is
translated into the call of `lifecycle.RecordLifecycle`, the core the dynamic providers adapt
too (the same check, diff, exactly-once create, owner markers, fresh writes and pacing, through
`custody.Custody`), and its answer translated back. Nothing of a record type is repeated here:
the types, their inputs and the schema (`schema.py`) come from `kinds.KINDS`.

What differs from the dynamic front door, and why:
- The owner tag is not computed by the program but here, in `check`, from the resource's URN
  (`<project>/<stack>/<key>`) and its `stackId` input (`#<stack id>`), which the program takes
  from a `nexudus:index:StackIdentity`: the plugin's own stack identity resource, drawn at
  `create` as the dynamic one is, and importable by the id of a dynamic stack's identity.
- Adoption is Pulumi's own: `pulumi import nexudus:index:ChatRoom lobby <id>` and the `import`
  resource option call `read` with the id alone, which returns the record's fields as inputs.
- Settings come from the provider's inputs (a default provider's are the stack's `nexudus:`
  keys), then the `NEXUDUS_*` variables, as `settings.Settings.load` reads them. Each explicit
  provider resource is its own plugin process, so one program can use two accounts.
- The engine calls concurrently; the blocking work runs on a pool of as many threads as the
  dynamic providers' host has (4), so pacing and the process's client behave as they do there.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import version
from typing import Any, TypeVar

from pulumi.dynamic import Config
from pulumi.provider.experimental.property_value import PropertyValue
from pulumi.provider.experimental.provider import (
    CheckFailure,
    CheckRequest,
    CheckResponse,
    ConfigureRequest,
    ConfigureResponse,
    CreateRequest,
    CreateResponse,
    DeleteRequest,
    DiffRequest,
    DiffResponse,
    GetSchemaRequest,
    GetSchemaResponse,
    PropertyDiff,
    PropertyDiffKind,
    Provider,
    ReadRequest,
    ReadResponse,
    UpdateRequest,
    UpdateResponse,
)
from pulumi.provider.experimental.server import ProviderServicer
from pulumi.provider.experimental.server import main as serve

from .errors import RecordOperationError
from .identity import StackIdentityProvider
from .kinds import KINDS
from .lifecycle import UNKNOWN, RecordLifecycle
from .models import STEERING, why_refused
from .ownership import Marker, describe_owner
from .schema import PACKAGE, STACK_ID, STACK_IDENTITY, kind_of, schema_text
from .sdk_workarounds import plain_errors_in_plugin

WORKERS = 4
"""Provider calls at once, as in the dynamic providers' host (its gRPC pool)."""

T = TypeVar("T")

Plain = Any
"""A property as `RecordLifecycle` takes it: None, bool, int/float, str, list, dict, or
`provider.UNKNOWN` for a value not known yet."""


def plain(value: PropertyValue) -> Plain:
    """A property value as the dynamic providers receive it (secrets unwrapped). A value not
    known yet arrives as the wire's `UNKNOWN` string, as the dynamic providers see it too: the
    SDK's unmarshalling leaves it a string (pulumi 3.260)."""
    inner = value.value
    if isinstance(inner, tuple):
        return [plain(item) for item in inner]
    if isinstance(inner, Mapping):
        return {key: plain(item) for key, item in inner.items()}
    return inner


def plain_map(values: Mapping[str, PropertyValue]) -> dict[str, Plain]:
    return {key: plain(value) for key, value in values.items()}


def property_value(value: Plain, *, secret: bool = False) -> PropertyValue:
    """`value` for the engine. An unknown one goes as the wire's `UNKNOWN` string: the SDK
    cannot marshal `PropertyValue.computed()` (pulumi 3.260, `PropertyValue.marshal`)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        wrapped = PropertyValue(value)
    elif isinstance(value, int | float):
        wrapped = PropertyValue(float(value))
    elif isinstance(value, list | tuple):
        wrapped = PropertyValue([property_value(item) for item in value])
    elif isinstance(value, Mapping):
        wrapped = PropertyValue({k: property_value(v) for k, v in value.items()})
    else:
        raise TypeError(f"cannot send a {type(value).__name__} to the engine")
    return wrapped.with_secret(True) if secret else wrapped


def property_map(values: Mapping[str, Plain], secrets: frozenset[str]) -> dict[str, PropertyValue]:
    """Outputs for the engine, secret where the user's input of the same name was."""
    return {k: property_value(v, secret=k in secrets) for k, v in values.items() if v is not None}


def secret_keys(*maps: Mapping[str, PropertyValue]) -> frozenset[str]:
    return frozenset(k for values in maps for k, v in values.items() if v.contains_secret())


def urn_parts(urn: str) -> tuple[str, str, str]:
    """(project, stack, resource name) of `urn:pulumi:<stack>::<project>::<type>::<name>`."""
    head, project, _type, name = urn.split("::", 3)
    return project, head.split(":", 2)[2], name


def owner_tag(urn: str, stack_id: Plain) -> Plain:
    """`<project>/<stack>/<key>#<stack id>`, the tag the dynamic resources compute in the
    program (`identity.owner_tag`); unknown while the stack id is (a new stack's preview)."""
    if stack_id == UNKNOWN:
        return UNKNOWN
    project, stack, name = urn_parts(urn)
    path = f"{project}/{stack}/{name}"
    return f"{path}#{stack_id}" if isinstance(stack_id, str) and stack_id else path


class NexudusProvider(Provider):
    """The engine's calls, by resource type, onto one `RecordLifecycle` per record type."""

    def __init__(self) -> None:
        self._records: dict[str, RecordLifecycle] = {
            kind.spec.record_name: RecordLifecycle(kind.spec) for kind in KINDS
        }
        self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="nexudus")

    async def _run(self, call: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, call, *args)

    def _record(self, type_token: str) -> RecordLifecycle:
        kind = kind_of(type_token)
        if kind is None:
            raise RecordOperationError(f"the nexudus plugin has no resource type {type_token!r}")
        return self._records[kind.spec.record_name]

    async def get_schema(self, request: GetSchemaRequest) -> GetSchemaResponse:
        return GetSchemaResponse(schema_text())

    async def configure(self, request: ConfigureRequest) -> ConfigureResponse:
        """Validate the settings and prove them once (one request), as the dynamic providers'
        `configure` does; a bad value names its `nexudus:` key."""
        args = plain_map(request.args)
        raw = {f"{PACKAGE}:{k}": v for k, v in args.items() if v is not None and v != UNKNOWN}
        config = Config(raw_config=raw, project_name=PACKAGE)
        for record in self._records.values():
            await self._run(record.configure, config.get)
        return ConfigureResponse(accept_secrets=True, supports_preview=True)

    # ----- the record types --------------------------------------------------------------

    async def check(self, request: CheckRequest) -> CheckResponse:
        news = plain_map(request.new_inputs)
        if request.type == STACK_IDENTITY:
            return CheckResponse(inputs={}, failures=[])
        stack_id = news.pop(STACK_ID, None)
        olds = plain_map(request.old_inputs)
        olds.pop(STACK_ID, None)
        news["ownerTag"] = owner_tag(request.urn, stack_id)
        # `importId`/`takeOver` steer the dynamic providers; here `pulumi import` adopts
        steering = sorted(k for k in STEERING if k in news and k != "ownerTag")
        failures = [CheckFailure(k, "is not a property of this resource") for k in steering]
        for key in steering:
            del news[key]
        result = await self._run(self._record(request.type).check, olds, news)
        failures += [CheckFailure(f.property, f.reason) for f in result.failures]
        inputs = dict(result.inputs or news)
        if stack_id is not None:
            inputs[STACK_ID] = stack_id
        secrets = secret_keys(request.new_inputs)
        return CheckResponse(inputs=property_map(inputs, secrets), failures=failures)

    async def diff(self, request: DiffRequest) -> DiffResponse:
        if request.type == STACK_IDENTITY:
            return DiffResponse(changes=False)
        olds = plain_map(request.old_state)
        news = {k: v for k, v in plain_map(request.new_inputs).items() if k != STACK_ID}
        if olds.get("ownerTag") is None:
            # Imported: the record carries no marker of ours yet. Its first update writes
            # one; until then an owner tag alone is no change (the `import` option would
            # refuse the record for it).
            news.pop("ownerTag", None)
        for ignored in request.ignore_changes:
            if ignored in olds:
                news[ignored] = olds[ignored]
        record = self._record(request.type)
        changed = await self._run(record.changed_properties, request.resource_id, olds, news)
        replaces = record.replaces(changed)
        detailed = {
            k: PropertyDiff(
                PropertyDiffKind.UPDATE_REPLACE if k in replaces else PropertyDiffKind.UPDATE,
                input_diff=False,
            )
            for k in changed
        }
        return DiffResponse(
            changes=bool(changed),
            replaces=replaces,
            diffs=changed,
            detailed_diff=detailed,
            delete_before_replace=False,
        )

    async def create(self, request: CreateRequest) -> CreateResponse:
        props = plain_map(request.properties)
        if request.type == STACK_IDENTITY:
            drawn = StackIdentityProvider().create({}).id
            return CreateResponse(drawn, {STACK_ID: PropertyValue(drawn)})
        stack_id = props.pop(STACK_ID, None)
        secrets = secret_keys(request.properties)
        if request.preview:  # what `up` will know: the declaration, the rest unknown
            outputs = {**dict.fromkeys(self._all_outputs(request.type), UNKNOWN), **props}
            return CreateResponse(None, property_map(_with(outputs, stack_id), secrets))
        result = await self._run(self._record(request.type).create, props)
        return CreateResponse(result.id, property_map(_with(result.outputs, stack_id), secrets))

    async def read(self, request: ReadRequest) -> ReadResponse:
        """Refresh (state given), or adoption by id alone (`pulumi import`, the `import`
        option), which needs the record's fields back as inputs `check` accepts."""
        if request.type == STACK_IDENTITY:
            stack_id = PropertyValue(request.resource_id)
            return ReadResponse(request.resource_id, {STACK_ID: stack_id}, {})
        if not request.properties:
            return await self._adopt(request)
        props = plain_map(request.properties)
        stack_id = props.pop(STACK_ID, None)
        result = await self._run(self._record(request.type).read, request.resource_id, props)
        if result.id is None:
            return ReadResponse(None, {}, {})
        secrets = secret_keys(request.properties, request.inputs)
        outputs = property_map(_with(result.outputs, stack_id), secrets)
        return ReadResponse(result.id, outputs, request.inputs)  # the declaration stays

    async def _adopt(self, request: ReadRequest) -> ReadResponse:
        """The record by id, for `pulumi import`: never written, and refused when another
        resource's marker names it. A marker of the same key is this resource's own, moved from
        another program (a dynamic stack's, docs/guides/dynamic-to-plugin.md): its stack id
        becomes the `stackId` input, so the owner stays the same."""
        record = self._record(request.type)
        name = record.spec.record_name
        where = f"{record.spec.collection}/{request.resource_id}"
        if not request.resource_id.isdigit():
            raise RecordOperationError(f"{name} id {request.resource_id!r} is not a Nexudus id")
        found = await self._run(record.fetch, int(request.resource_id))
        if found is None:
            raise RecordOperationError(
                f"{name} id {request.resource_id} was not found in Nexudus ({where}): "
                "nothing to import",
                record_id=int(request.resource_id),
            )
        marker = Marker.parse(found.get("SystemId"))
        _, _, key = urn_parts(request.urn)
        props = {"ownerTag": marker.tag} if marker is not None and marker.key == key else {}
        result = await self._run(record.read, request.resource_id, props)
        if result.id is None:
            raise RecordOperationError(
                f"{name} id {request.resource_id} ({where}) is managed by "
                f"{describe_owner(found.get('SystemId'))}, not by a resource {key!r}: it is not "
                "imported. Import it under the key its marker names, or let its owner release it",
                record_id=int(request.resource_id),
            )
        outputs: dict[str, Plain] = result.outputs
        inputs = {
            field: value
            for field, value in outputs.items()
            if field in record.model.record_fields()
            and value is not None
            and why_refused(record.model, field, value) is None
        }
        if props and marker is not None and marker.stack_id:
            inputs[STACK_ID] = marker.stack_id
        return ReadResponse(
            result.id,
            property_map(_with(outputs, inputs.get(STACK_ID)), frozenset()),
            property_map(inputs, frozenset()),
        )

    async def update(self, request: UpdateRequest) -> UpdateResponse:
        olds = plain_map(request.olds)
        news = plain_map(request.news)
        olds.pop(STACK_ID, None)
        stack_id = news.pop(STACK_ID, None)
        record = self._record(request.type)
        if request.preview:
            changed = {k: v for k, v in news.items() if olds.get(k) != v}
            outputs = {**olds, **changed, **dict.fromkeys(self._read_only(request.type), UNKNOWN)}
        else:
            updated = await self._run(record.update, request.resource_id, olds, news)
            outputs = updated.outputs
        secrets = secret_keys(request.news)
        return UpdateResponse(property_map(_with(outputs, stack_id), secrets))

    async def delete(self, request: DeleteRequest) -> None:
        if request.type == STACK_IDENTITY:
            return
        props = plain_map(request.properties)
        props.pop(STACK_ID, None)
        await self._run(self._record(request.type).delete, request.resource_id, props)

    def _read_only(self, type_token: str) -> tuple[str, ...]:
        return self._record(type_token).model.output_names()

    def _all_outputs(self, type_token: str) -> tuple[str, ...]:
        model = self._record(type_token).model
        return (*model.record_fields(), *model.output_names())


def _with(outputs: Mapping[str, Plain], stack_id: Plain) -> dict[str, Plain]:
    return {**outputs, STACK_ID: stack_id} if stack_id is not None else dict(outputs)


def main() -> None:
    """The executable `pulumi-resource-nexudus`: the engine starts it with its address."""
    plain_errors_in_plugin(ProviderServicer)
    serve(sys.argv[1:], version("nexudus-pulumi"), NexudusProvider())
