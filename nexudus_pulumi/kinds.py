"""The registry of record types, in the order a stack file lists their maps.

Each record module declares its own `KIND` (see `recordkind.RecordKind`); the program, export,
clone and the CLI loop over `KINDS`, and the package exports each type's resource and provider
classes from here (`X as X`). A new type is its module and its lines below. A kind whose entries
name another's (`references`) comes after it: the program declares the maps in this order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import chatroom, communitygroup, communitythread
from .chatroom import ChatRoom as ChatRoom
from .chatroom import ChatRoomProvider as ChatRoomProvider
from .communitygroup import CommunityGroup as CommunityGroup
from .communitygroup import CommunityGroupProvider as CommunityGroupProvider
from .communitythread import CommunityThread as CommunityThread
from .communitythread import CommunityThreadProvider as CommunityThreadProvider
from .recordkind import RecordKind, tally

KINDS: tuple[RecordKind[Any], ...] = (chatroom.KIND, communitygroup.KIND, communitythread.KIND)

EXPORTED = tuple(
    cls.__name__ for kind in KINDS for cls in (kind.resource, kind.resource.provider_type)
)
"""`ChatRoom`, `ChatRoomProvider`, ...: what the package exports for each record type."""


def tally_all(counts: Mapping[str, int]) -> str:
    """`1 room(s), 5 group(s) and 0 thread(s)`: every kind's count, from map name -> count (a
    map not given counts 0)."""
    return tally((kind, counts.get(kind.map_name, 0)) for kind in KINDS)
