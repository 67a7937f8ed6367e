"""The Pulumi program: the stack's config turned into one resource per declared room.

Stack config (`stacks/Pulumi.<stack>.yaml`):

    nexudus-rooms:businessId: 1001          # the default business of every room
    nexudus-rooms:rooms:
      lobby:                                # the key is the logical name: keep it stable
        name: Lobby
        active: true
        users: [11, 12]
        lastAgentVisit: 2025-01-15T10:30:00Z
        businessId: 1002                    # optional, overrides the stack's
        importId: 87654321                  # optional: adopt this existing record, no POST

Values are passed through unchanged: the provider's `check` validates them, so a bad one stops
`pulumi preview` with the property's name before any API call.
"""

from __future__ import annotations

from typing import Any

import pulumi

from .chatroom import SUCCESSOR, ChatRoom

ROOM_KEYS = {
    "name": "name",
    "active": "active",
    "lastAgentVisit": "last_agent_visit",
    "users": "users",
    "businessId": "business_id",
}
IMPORT_KEY = "importId"
NO_BUSINESS = 0
"""Pulumi.yaml's default for `businessId`: Pulumi has no optional keys without a default."""


def deprecation_notice() -> str:
    return (
        "Nexudus marks the ChatRoom API as deprecated; plan a move to "
        f"{SUCCESSOR}. This stack's rooms keep working until Nexudus removes it."
    )


def declare_rooms() -> dict[str, ChatRoom]:
    """Declare every room of the stack's `rooms` map and export `rooms`: key -> Nexudus id."""
    config = pulumi.Config()
    default_business = config.get_object("businessId")
    if default_business == NO_BUSINESS:
        default_business = None
    declared = config.get_object("rooms") or {}
    if not isinstance(declared, dict):
        raise pulumi.RunError("nexudus-rooms:rooms must be a map from a room key to its settings")

    pulumi.log.warn(deprecation_notice())
    rooms: dict[str, ChatRoom] = {}
    for key, spec in sorted(declared.items()):
        if not isinstance(spec, dict):
            raise pulumi.RunError(f"nexudus-rooms:rooms.{key} must be a map of room settings")
        rooms[key] = _declare_room(key, spec, default_business)
    pulumi.export("rooms", {key: room.id for key, room in rooms.items()})
    return rooms


def _declare_room(key: str, spec: dict[str, Any], default_business: Any) -> ChatRoom:
    settings = dict(spec)
    # `protect` and `retainOnDelete` are Pulumi resource options, not room fields: the provider
    # never sees them.
    protect, retain = (settings.pop(option, None) for option in ("protect", "retainOnDelete"))
    for option, value in (("protect", protect), ("retainOnDelete", retain)):
        if value is not None and not isinstance(value, bool):
            raise pulumi.RunError(
                f"nexudus-rooms:rooms.{key}.{option} must be true or false, got {value!r}"
            )
    kwargs: dict[str, Any] = {
        "business_id": settings.pop("businessId", default_business),
        "import_id": settings.pop(IMPORT_KEY, None),
    }
    extra: dict[str, Any] = {}
    for config_key, value in settings.items():
        if config_key in ROOM_KEYS:
            kwargs[ROOM_KEYS[config_key]] = value
        else:
            extra[config_key] = value  # the provider's check names it as unknown
    options = pulumi.ResourceOptions(protect=protect, retain_on_delete=retain)
    return ChatRoom(key, **kwargs, **extra, opts=options)
