"""A local, in-process Nexudus for the demo and the tests, faithful to the real API by default
(see docs/nexudus-api.md), with a `Fidelity` switch for every question the sources leave open."""

from .fidelity import ADVERSARIAL, KIND, Fidelity
from .limits import Limits
from .server import (
    ACCESS_DENIED,
    DEMO_PASSWORD,
    DEMO_USER,
    OOOPS,
    READER_PASSWORD,
    READER_USER,
    UI_USER,
    Faults,
    Sandbox,
)

__all__ = [
    "ACCESS_DENIED",
    "ADVERSARIAL",
    "DEMO_PASSWORD",
    "DEMO_USER",
    "KIND",
    "OOOPS",
    "READER_PASSWORD",
    "READER_USER",
    "UI_USER",
    "Faults",
    "Fidelity",
    "Limits",
    "Sandbox",
]
