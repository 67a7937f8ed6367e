"""A random id made once per stack and kept in its state: the stack part of every owner marker.

Pulumi gives a program its stack's name, not an identity: a renamed stack keeps its state under a
new name, and `pulumi stack init dev --copy-config-from prod` makes a new stack under an old
name. Markers built from names alone would let the new `dev` adopt the rooms the renamed stack
still manages. This resource's id is drawn at the stack's first `up` and moves with the state
(rename, export/import), so it names the stack itself. It costs no API request.
"""

from __future__ import annotations

import secrets
from typing import Any

import pulumi
import pulumi.dynamic
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, ResourceProvider
from pulumi.runtime.settings import get_monitor

from .ownership import RETAINED
from .sdk_workarounds import DynamicResource

LOGICAL_NAME = "stack-identity"


class StackIdentityProvider(ResourceProvider):
    """Draws the id; nothing else. Pickled into the state by reference, holding nothing."""

    serialize_as_secret_always = False

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(secrets.token_hex(8), {})

    def diff(self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]) -> DiffResult:
        return DiffResult(changes=False)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, props)


class StackIdentity(DynamicResource, module="nexudus", name="StackIdentity"):
    """The stack's identity; its `id` is the random stack id. One per stack: use `current()`."""

    def __init__(self, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(StackIdentityProvider(), LOGICAL_NAME, {}, opts)

    @classmethod
    def current(cls) -> StackIdentity:
        """The program's one identity resource, declared on first use."""
        monitor = get_monitor()
        held = _CURRENT.get(id(monitor))
        if held is None or held[0] is not monitor:
            held = _CURRENT[id(monitor)] = (monitor, cls())
        return held[1]


_CURRENT: dict[int, tuple[object, StackIdentity]] = {}
"""Per program run (a run has one resource monitor; tests under mocks get a new one each)."""


def owner_tag(resource_name: str, *, retained: bool = False) -> pulumi.Output[str]:
    """The resource's owner tag, `<project>/<stack>/<key>#<stack id>`, with `+retain` when the
    resource has `retainOnDelete` (see `ownership`)."""
    path = f"{pulumi.get_project()}/{pulumi.get_stack()}/{resource_name}"
    flag = RETAINED if retained else ""
    return StackIdentity.current().id.apply(lambda stack_id: f"{path}#{stack_id}{flag}")
