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

    nexudus-rooms:groups:                   # CommunityGroup, the successor of ChatRoom
      makers:
        name: Makers
        userId: 11                          # the group's administrator
        description: 3D printing and laser cutting
        groupAccess: public                 # restricted (the API's default), public, private
        members: [12, 13]
        businessId: 1002                    # optional, overrides the stack's

Values are passed through unchanged: the provider's `check` validates them, so a bad one stops
`pulumi preview` with the property's name before any API call.
"""

from __future__ import annotations

from typing import Any

import pulumi

from .chatroom import SUCCESSOR, ChatRoom
from .communitygroup import CommunityGroup, CommunityGroupInputs
from .models import RecordInputs

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
    default_business = _default_business(config)
    declared = _declared_map(config, "rooms", "room")

    if declared:  # a stack whose rooms all moved to groups has nothing to be warned about
        pulumi.log.warn(deprecation_notice())
    rooms: dict[str, ChatRoom] = {}
    for key, spec in declared.items():
        rooms[key] = _declare_room(key, spec, default_business)
    pulumi.export("rooms", {key: room.id for key, room in rooms.items()})
    return rooms


def declare_groups() -> dict[str, CommunityGroup]:
    """Declare every group of the stack's `groups` map and export `groups`: key -> Nexudus id.

    A group's settings are its inputs by name (`userId`, `groupAccess`...); a key that is not
    one stops the run naming it (the resource takes typed arguments only)."""
    config = pulumi.Config()
    default_business = _default_business(config)
    groups: dict[str, CommunityGroup] = {}
    for key, spec in _declared_map(config, "groups", "group").items():
        arguments = _arguments(CommunityGroupInputs, f"nexudus-rooms:groups.{key}", spec)
        if arguments["business_id"] is None:
            arguments["business_id"] = default_business
        groups[key] = CommunityGroup(key, **arguments)
    pulumi.export("groups", {key: group.id for key, group in groups.items()})
    return groups


def _default_business(config: pulumi.Config) -> Any:
    business = config.get_object("businessId")
    return None if business == NO_BUSINESS else business


def _declared_map(config: pulumi.Config, name: str, what: str) -> dict[str, dict[str, Any]]:
    """The stack's `name` map (a key per record, its settings), in key order."""
    declared = config.get_object(name) or {}
    if not isinstance(declared, dict):
        raise pulumi.RunError(
            f"nexudus-rooms:{name} must be a map from a {what} key to its settings"
        )
    for key, spec in declared.items():
        if not isinstance(spec, dict):
            raise pulumi.RunError(f"nexudus-rooms:{name}.{key} must be a map of {what} settings")
    return dict(sorted(declared.items()))


def _arguments(model: type[RecordInputs], where: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments (`user_id`) from config settings named as inputs (`userId`): required
    fields are always passed, as None when missing, so `check` names them at preview."""
    by_input = {
        info.alias or name: name for name, info in model.model_fields.items() if name != "owner_tag"
    }
    unknown = sorted(set(spec) - by_input.keys())
    if unknown:
        raise pulumi.RunError(
            f"{where}: unknown setting {', '.join(map(repr, unknown))}; "
            f"the settings are {', '.join(by_input)}"
        )
    required = {name: None for name, info in model.model_fields.items() if info.is_required()}
    return {**required, **{by_input[key]: value for key, value in spec.items()}}


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
