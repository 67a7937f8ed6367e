"""A local, in-process Nexudus for the demo and the tests."""

from .limits import Limits
from .server import DEMO_PASSWORD, DEMO_USER, READER_PASSWORD, READER_USER, Faults, Sandbox

__all__ = [
    "DEMO_PASSWORD",
    "DEMO_USER",
    "READER_PASSWORD",
    "READER_USER",
    "Faults",
    "Limits",
    "Sandbox",
]
