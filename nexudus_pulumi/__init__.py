"""Pulumi dynamic provider for Nexudus records (ChatRoom today)."""

from .chatroom import ChatRoom, ChatRoomProvider
from .client import NexudusClient

__all__ = ["ChatRoom", "ChatRoomProvider", "NexudusClient"]
