"""A local, in-process Nexudus for the demo and the tests, faithful to the real API by default
(see docs/nexudus-api.md), with a `Fidelity` switch for every question the sources leave open.

The account's state (`SandboxState`: records, accounts, the request log) is apart from its HTTP
handling (`Sandbox`, which serves one); the knobs sit beside it: `Faults`, `PublishedLimits`,
`Fidelity`. It follows the published Nexudus reference alone and imports nothing of the
provider, so it never loads Pulumi.

Each name is loaded on first use (PEP 562): `nexudus-pulumi --help` reads `fidelity.py` for the
`sandbox` flags, and need not load the server, SQLite and `http.server` with it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .faults import Faults as Faults
    from .fidelity import Fidelity as Fidelity
    from .limits import PublishedLimits as PublishedLimits
    from .server import ACCESS_DENIED as ACCESS_DENIED
    from .server import OOOPS as OOOPS
    from .server import Sandbox as Sandbox
    from .state import DEMO_PASSWORD as DEMO_PASSWORD
    from .state import DEMO_USER as DEMO_USER
    from .state import READER_PASSWORD as READER_PASSWORD
    from .state import READER_USER as READER_USER
    from .state import UI_USER as UI_USER
    from .state import SandboxState as SandboxState

_FROM = {
    "ACCESS_DENIED": "server",
    "DEMO_PASSWORD": "state",
    "DEMO_USER": "state",
    "OOOPS": "server",
    "READER_PASSWORD": "state",
    "READER_USER": "state",
    "UI_USER": "state",
    "Faults": "faults",
    "Fidelity": "fidelity",
    "PublishedLimits": "limits",
    "Sandbox": "server",
    "SandboxState": "state",
}
"""Each public name -> the module that defines it."""

__all__ = list(_FROM)


if not TYPE_CHECKING:  # a type checker reads the imports above, and flags any other name

    def __getattr__(name: str) -> Any:
        if name not in _FROM:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{_FROM[name]}", __name__), name)
        globals()[name] = value
        return value
