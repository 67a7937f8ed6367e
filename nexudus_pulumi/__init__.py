"""Pulumi dynamic providers for Nexudus records: ChatRoom and its successor, CommunityGroup.

From a Pulumi program: `from nexudus_pulumi import ChatRoom, CommunityGroup`; see the README's
"Using the library from Python" and "Reference" sections.
"""

from importlib.metadata import version

from .chatroom import ChatRoom, ChatRoomProvider
from .client import NexudusClient
from .communitygroup import CommunityGroup, CommunityGroupProvider
from .errors import NexudusError

__version__ = version("nexudus-pulumi")

__all__ = [
    "ChatRoom",
    "ChatRoomProvider",
    "CommunityGroup",
    "CommunityGroupProvider",
    "NexudusClient",
    "NexudusError",
    "__version__",
]
