"""Pulumi dynamic providers for Nexudus records: one resource class per record type of
`kinds.KINDS` (ChatRoom, its successor CommunityGroup, ...), each with its provider class.

From a Pulumi program: `from nexudus_pulumi import CommunityGroup`; see docs/library.md and
each type's page under docs/resources/.

Every name is loaded on first use (PEP 562): the resource classes import Pulumi and gRPC, which
take seconds, and the command line and the sandbox, which live in this package too, start
without them (tests/package/test_startup.py).
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .client import NexudusClient as NexudusClient
    from .errors import NexudusError as NexudusError
    from .resources import *  # noqa: F403 - each record type's resource and provider classes

    __version__: str
    __all__: list[str]

_FROM = {"NexudusClient": "client", "NexudusError": "errors"}
"""A public name that is not a record type's -> the module that defines it."""


if not TYPE_CHECKING:  # a type checker reads the imports above, and flags any other name

    def __getattr__(name: str) -> Any:
        """A public name, imported now: a submodule (`nexudus_pulumi.cli`), `__version__`,
        `__all__`, or a record type's class (`ChatRoom`, `CommunityGroupProvider`)."""
        if name == "__version__":
            from importlib.metadata import version

            value: Any = version("nexudus-pulumi")
        elif name == "__all__":
            value = [*_resources().__all__, *_FROM, "__version__"]
        elif name.startswith("_"):
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        elif name in _FROM:
            value = getattr(importlib.import_module(f".{_FROM[name]}", __name__), name)
        elif importlib.util.find_spec(f"{__name__}.{name}") is not None:
            # a submodule (`from nexudus_pulumi import cli`): never the registry's import cost
            value = importlib.import_module(f".{name}", __name__)
        else:
            try:
                value = getattr(_resources(), name)
            except AttributeError:
                raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
        globals()[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *__getattr__("__all__")})

    def _resources() -> Any:
        return importlib.import_module(".resources", __name__)
