"""Pulumi dynamic provider for Nexudus records: ChatRoom and its successor, CommunityGroup."""

from .chatroom import ChatRoom, ChatRoomProvider
from .client import NexudusClient
from .communitygroup import CommunityGroup, CommunityGroupProvider

__all__ = [
    "ChatRoom",
    "ChatRoomProvider",
    "CommunityGroup",
    "CommunityGroupProvider",
    "NexudusClient",
]
