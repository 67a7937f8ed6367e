"""Pulumi dynamic provider for Nexudus records (ChatRoom today).

From a Pulumi program: `from nexudus_pulumi import ChatRoom`; see the README's "Using the
library from Python" and "Reference" sections.
"""

from importlib.metadata import version

from .chatroom import ChatRoom, ChatRoomProvider
from .client import NexudusClient
from .errors import NexudusError

__version__ = version("nexudus-pulumi")

__all__ = ["ChatRoom", "ChatRoomProvider", "NexudusClient", "NexudusError", "__version__"]
