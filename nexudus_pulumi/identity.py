"""A random id made once per stack and kept in its state: the stack part of every owner marker.

Pulumi gives a program its stack's name, not an identity: a renamed stack keeps its state under a
new name, and `pulumi stack init dev --copy-config-from prod` makes a new stack under an old
name. Markers built from names alone would let the new `dev` adopt the rooms the renamed stack
still manages. This resource's id is drawn at the stack's first `up` and moves with the state
(rename, export/import), so it names the stack itself.

It also holds the keys the program declares, per record type, so that every preview (the drift
check) and `destroy` can name the records that carry the stack's markers but that no resource
holds (`census`). That costs one listing per record type per run, plus reads by id where a
listing shows no `SystemId`.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi.dynamic
from pulumi.dynamic import (
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)
from pulumi.runtime.settings import get_monitor

from .ownership import RETAINED
from .sdk_workarounds import DynamicResource

if TYPE_CHECKING:
    from .client import NexudusClient

log = logging.getLogger(__name__)

LOGICAL_NAME = "stack-identity"
KEYS = "keys"
"""The input holding the declared keys: record name (`ChatRoom`) -> keys."""


class StackIdentityProvider(ResourceProvider):
    """Draws the id, and reports the stack's orphans. Pickled into the state by reference,
    holding nothing: the client exists only in the provider process, built in `configure`."""

    serialize_as_secret_always = False

    def __init__(self) -> None:
        super().__init__()
        self._client: NexudusClient | None = None
        self._census: dict[tuple[str, str], list[Any]] = {}
        """(stack id, keys) -> the orphans found: the engine asks for the identity's diff at
        the refresh and again at the update of one run; the census is taken once per process."""

    def __getstate__(self) -> dict[str, Any]:
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__()  # type: ignore[misc]

    def configure(self, req: ConfigureRequest) -> None:
        """The records' providers check the settings and fail preview on a bad one; the census
        is a report, so it only runs where the settings and credentials are there."""
        from .client import shared_client  # the client imports nothing of Pulumi's lifecycle
        from .diagnostics import show_logs
        from .errors import NexudusError
        from .settings import Settings

        try:
            settings = Settings.load(req.config.get)
        except NexudusError:
            return
        show_logs(settings.log_level)
        if settings.has_credentials:
            self._client = shared_client(settings)

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(secrets.token_hex(8), props)

    def diff(self, id_: str, _olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """A change only when records carry the stack's markers that no resource holds: then
        the drift check fails, naming them, until they are deleted or their key is declared
        again. A new or removed key is no change of the identity (its own record says so)."""
        keys = news.get(KEYS)
        if not isinstance(keys, dict):
            return DiffResult(changes=False)
        asked = (id_, repr(sorted(keys.items())))
        first = asked not in self._census
        if first:
            self._census[asked] = self._orphans(id_, keys)
        stray = self._census[asked]
        if stray and first:
            from .census import report

            log.warning("%s", report(stray))
        return DiffResult(changes=bool(stray))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(news)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, props)

    def delete(self, id_: str, _props: dict[str, Any]) -> None:
        """The last step of `destroy` (every record depends on the identity): what the stack
        leaves behind is said."""
        stray = self._orphans(id_, {})
        if stray:
            from .census import report

            log.warning("%s", report(stray, destroying=True))

    def _orphans(self, stack_id: str, keys: Mapping[str, Sequence[str]]) -> list[Any]:
        if self._client is None:
            return []
        from .census import orphans
        from .errors import NexudusError
        from .kinds import KINDS

        try:
            return orphans(self._client, stack_id, keys, [kind.spec for kind in KINDS])
        except NexudusError as exc:
            log.info("the census of this stack's records could not run: %s", exc)
            return []


class StackIdentity(DynamicResource, module="nexudus", name="StackIdentity"):
    """The stack's identity; its `id` is the random stack id. One per stack: use `current()`."""

    def __init__(
        self,
        keys: Mapping[str, Sequence[str]] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {} if keys is None else {KEYS: {name: sorted(k) for name, k in keys.items()}}
        super().__init__(StackIdentityProvider(), LOGICAL_NAME, props, opts)

    @classmethod
    def current(cls, keys: Mapping[str, Sequence[str]] | None = None) -> StackIdentity:
        """The program's one identity resource, declared on first use: with the keys the
        program declares, when it is the program that declares it first."""
        monitor = get_monitor()
        held = _CURRENT.get(id(monitor))
        if held is None or held[0] is not monitor:
            held = _CURRENT[id(monitor)] = (monitor, cls(keys))
        return held[1]


_CURRENT: dict[int, tuple[object, StackIdentity]] = {}
"""Per program run (a run has one resource monitor; tests under mocks get a new one each)."""


def owner_tag(resource_name: str, *, retained: bool = False) -> pulumi.Output[str]:
    """The resource's owner tag, `<project>/<stack>/<key>#<stack id>`, with `+retain` when the
    resource has `retainOnDelete` (see `ownership`)."""
    path = f"{pulumi.get_project()}/{pulumi.get_stack()}/{resource_name}"
    flag = RETAINED if retained else ""
    return StackIdentity.current().id.apply(lambda stack_id: f"{path}#{stack_id}{flag}")
