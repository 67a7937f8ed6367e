"""The plugin `pulumi-resource-nexudus` behind the dynamic providers' interface, so that the
contract suite (tests/provider/test_contract.py) holds both front doors to the same promises.

`PluginDoor` takes what a test hands a `RecordProvider` (dicts, `ownerTag` among the inputs) and
sends what the engine would send the plugin: the same properties, marshalled to the wire and
back as gRPC carries them, under the URN the owner tag names (`p/t/first#id` is resource
`first` of stack `t` in project `p`, `stackId` `id`); then it reads the plugin's answer back as
the dynamic result it corresponds to. Two translations, both of the protocols' words, not of
what is promised: where the dynamic front door returns no inputs from a refresh (the engine keeps
the declaration) the plugin returns the declaration it was given; and the owner tag, an input
that a dynamic program computes, is what the plugin computes from the URN.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    UpdateResult,
)
from pulumi.provider.experimental.property_value import PropertyValue
from pulumi.provider.experimental.provider import (
    CheckRequest,
    ConfigureRequest,
    CreateRequest,
    DeleteRequest,
    DiffRequest,
    ReadRequest,
    UpdateRequest,
)

from nexudus_pulumi.plugin import NexudusProvider, plain_map, property_map
from nexudus_pulumi.recordkind import RecordKind
from nexudus_pulumi.schema import STACK_ID, token

OWNER_TAG = "ownerTag"
T = TypeVar("T")


def run(call: Coroutine[Any, Any, T]) -> T:
    """`call` to its end on a loop of its own, as the plugin's server would await it. Not
    `asyncio.run`, which leaves the thread with no event loop at all: a later test under
    Pulumi's mocks, which asks for the current one, would then fail."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(call)
    finally:
        loop.close()


def wire(values: dict[str, Any]) -> dict[str, PropertyValue]:
    """`values` as the plugin receives them: marshalled to protobuf and back."""
    return PropertyValue.unmarshal_map(PropertyValue.marshal_map(property_map(values, frozenset())))


class PluginDoor:
    """One record type of the plugin, called as a `RecordProvider` is."""

    def __init__(self, kind: RecordKind[Any]) -> None:
        self.kind = kind
        self.plugin = NexudusProvider()

    def configure(self, config: dict[str, Any]) -> PluginDoor:
        """`config`: stack config as the dynamic providers get it (`nexudus:baseUrl`...), sent
        as a default provider's inputs."""
        args = {key.removeprefix("nexudus:"): value for key, value in config.items()}
        run(self.plugin.configure(ConfigureRequest({}, wire(args), True, True)))
        return self

    def _urn(self, props: dict[str, Any]) -> str:
        tag = props.get(OWNER_TAG)
        path = tag.partition("#")[0] if isinstance(tag, str) else "p/t/first"
        project, stack, name = path.split("/", 2)
        return f"urn:pulumi:{stack}::{project}::{token(self.kind)}::{name}"

    @staticmethod
    def _inputs(props: dict[str, Any]) -> dict[str, Any]:
        """The properties the program would declare: the owner tag becomes `stackId`."""
        declared = {k: v for k, v in props.items() if k != OWNER_TAG}
        tag = props.get(OWNER_TAG)
        if isinstance(tag, str) and "#" in tag:
            declared[STACK_ID] = tag.partition("#")[2]
        return declared

    @staticmethod
    def _back(values: dict[str, PropertyValue]) -> dict[str, Any]:
        return {k: v for k, v in plain_map(values).items() if k != STACK_ID}

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        request = CheckRequest(self._urn(news), wire(olds), wire(self._inputs(news)), b"")
        response = run(self.plugin.check(request))
        inputs = self._back(response.inputs or {})
        if OWNER_TAG not in news:  # a declaration under no tag: the URN's is no input of its
            inputs.pop(OWNER_TAG, None)
        failures = [CheckFailure(f.property, f.reason) for f in response.failures or []]
        return CheckResult(inputs, failures)

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        request = DiffRequest(self._urn(news), id_, wire(olds), wire(news), [])
        response = run(self.plugin.diff(request))
        return DiffResult(changes=response.changes, replaces=response.replaces)

    def create(self, props: dict[str, Any]) -> CreateResult:
        request = CreateRequest(self._urn(props), wire(props), 60.0, False)
        response = run(self.plugin.create(request))
        assert response.resource_id is not None
        return CreateResult(response.resource_id, self._back(response.properties))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        state = wire(props)
        request = ReadRequest(self._urn(props), id_, state, state)
        response = run(self.plugin.read(request))
        if response.resource_id is None:
            return ReadResult(None, {})
        outs = self._back(response.properties)
        if response.inputs == state:  # the declaration, kept as the engine keeps it
            return ReadResult(response.resource_id, outs)
        return ReadResult(response.resource_id, outs, self._back(response.inputs))

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        request = UpdateRequest(self._urn(news), id_, wire(olds), wire(news), 60.0, [], False)
        response = run(self.plugin.update(request))
        return UpdateResult(self._back(response.properties))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        run(self.plugin.delete(DeleteRequest(self._urn(props), id_, wire(props), 60.0)))
