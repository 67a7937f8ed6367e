"""Pulumi dynamic providers for Nexudus records: one resource class per record type of
`kinds.KINDS` (ChatRoom, its successor CommunityGroup, ...), each with its provider class.

From a Pulumi program: `from nexudus_pulumi import CommunityGroup`; see docs/library.md and
each type's page under docs/resources/.
"""

from importlib.metadata import version

from . import resources
from .client import NexudusClient
from .errors import NexudusError
from .resources import *  # noqa: F403 - each record type's resource and provider classes

__version__ = version("nexudus-pulumi")

__all__ = [*resources.__all__, "NexudusClient", "NexudusError", "__version__"]
