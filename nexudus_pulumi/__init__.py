"""Pulumi dynamic providers for Nexudus records: one resource class per record type of
`kinds.KINDS` (ChatRoom, its successor CommunityGroup, ...), each with its provider class.

From a Pulumi program: `from nexudus_pulumi import CommunityGroup`; see the README's
"Using the library from Python" and "Reference" sections.
"""

from importlib.metadata import version

from . import kinds
from .client import NexudusClient
from .errors import NexudusError
from .kinds import *  # noqa: F403 - each record type's resource and provider classes

__version__ = version("nexudus-pulumi")

__all__ = [*kinds.EXPORTED, "NexudusClient", "NexudusError", "__version__"]
