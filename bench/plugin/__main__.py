"""The bench's program on the provider plugin `pulumi-resource-nexudus`: the same rooms as this
project's program, declared as the plugin's `nexudus:index:ChatRoom` by type token (no SDK),
with the plugin's stack identity. The engine starts the plugin found on PATH (.venv/bin); it
reads NEXUDUS_* as the dynamic providers do. Its state holds no `__provider` blob.

Config: `plugin-rooms:businessId` and `plugin-rooms:rooms`, the map from room key to {name,
active, users, ...} that this project's stacks hold.
"""

from __future__ import annotations

from typing import Any

import pulumi

config = pulumi.Config()
business = config.require_int("businessId")
rooms: dict[str, dict[str, Any]] = config.require_object("rooms")

identity = pulumi.CustomResource("nexudus:index:StackIdentity", "stack-identity", {"stackId": None})
ids: dict[str, pulumi.Output[str]] = {}
for key, fields in rooms.items():
    room = pulumi.CustomResource(
        "nexudus:index:ChatRoom",
        key,
        {"stackId": identity.stackId, "businessId": business, **fields},
    )
    ids[key] = room.id
pulumi.export("rooms", ids)
