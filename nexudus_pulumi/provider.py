"""Pulumi's dynamic providers for any record type: an adapter over `lifecycle.RecordLifecycle`.

A record type is a `RecordSpec` (where it lives, its inputs model, what forces a replacement);
`RecordProvider` translates Pulumi's dynamic-provider calls into the core's and its answers back
into the SDK's result types. Every rule (validation, diff, exactly-once create, ownership, the
fresh-read rule) is the core's, shared with the plugin.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)
from pulumi.output import Unknown

from .descriptor import RecordSpec
from .errors import RecordOperationError
from .lifecycle import UNKNOWN, RecordLifecycle
from .models import RecordInputs
from .sdk_workarounds import plain_errors_in_dynamic_host

__all__ = ["UNKNOWN", "RecordOperationError", "RecordProvider", "RecordSpec"]

plain_errors_in_dynamic_host()  # the host imports this module when it unpickles a provider


def _known(value: Any) -> Any:
    """`value` with the SDK's `Unknown` (a preview's value not known yet) as the wire's
    `UNKNOWN` string, the one spelling the core knows."""
    if isinstance(value, Unknown):
        return UNKNOWN
    if isinstance(value, list):
        return [_known(item) for item in value]
    if isinstance(value, dict):
        return {key: _known(item) for key, item in value.items()}
    return value


class RecordProvider(ResourceProvider):
    """The Pulumi lifecycle of one Nexudus record type; subclasses set `spec`.

    Instances are pickled into every resource's state by reference (the class is importable), and
    `__getstate__` keeps them empty: the client, session and credentials exist only in the
    provider process, built in `configure` from stack config and the environment.
    """

    spec: ClassVar[RecordSpec]
    serialize_as_secret_always = False

    def __init__(self) -> None:
        super().__init__()
        self.core = RecordLifecycle(self.spec)

    def __getstate__(self) -> dict[str, Any]:
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__()  # type: ignore[misc]

    def configure(self, req: ConfigureRequest) -> None:
        """The engine configures a provider in the provider process just before its first check
        (`get_provider` in pulumi/dynamic/__main__.py), so what is raised here stops preview."""
        self.core.configure(req.config.get)

    @property
    def model(self) -> type[RecordInputs]:
        return self.spec.inputs_model

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        checked = self.core.check(_known(olds), _known(news))
        failures = [CheckFailure(f.property, f.reason) for f in checked.failures]
        return CheckResult(checked.inputs, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = self.core.changed_properties(_id, _known(olds), _known(news))
        replaces = self.core.replaces(changed)
        return DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        created = self.core.create(props)
        assert created.id is not None
        return CreateResult(created.id, created.outputs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        found = self.core.read(id_, props)
        return ReadResult(found.id, found.outputs)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(self.core.update(id_, olds, news).outputs)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        self.core.delete(id_, props)
