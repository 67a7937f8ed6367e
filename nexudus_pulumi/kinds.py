"""The registry of record types, in the order a stack file lists their maps.

Each record module declares its own `KIND` (see `recordkind.RecordKind`); the program, export,
clone, the CLI and the plugin loop over `KINDS`. Nothing here imports Pulumi: a kind loads its
resource class on first use. A new type is its module and its line below. A kind whose entries
name another's (`references`) comes after it: the program declares the maps in this order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import chatroom, communitygroup, communitythread
from .recordkind import RecordKind, tally

KINDS: tuple[RecordKind[Any], ...] = (chatroom.KIND, communitygroup.KIND, communitythread.KIND)


def tally_all(counts: Mapping[str, int]) -> str:
    """`1 room(s), 5 group(s) and 0 thread(s)`: every kind's count, from map name -> count (a
    map not given counts 0)."""
    return tally((kind, counts.get(kind.map_name, 0)) for kind in KINDS)
