"""The Pulumi program: the stack's config turned into one resource per declared room.

Stack config (`stacks/Pulumi.<stack>.yaml`):

    nexudus-rooms:businessId: 1001          # the default business of every room
    nexudus-rooms:rooms:
      lobby:                                # the key is the logical name: keep it stable
        name: Lobby
        active: true
        users: [11, 12]
        lastAgentVisit: "2025-01-15T10:30:00Z"
        businessId: 1002                    # optional, overrides the stack's
        importId: 87654321                  # optional: adopt this existing record, no POST

The program checks what only it can see, all at once and before any resource is declared: the
`nexudus:*` settings, keys it does not know (with the nearest known one), and rooms without a
business. Values are passed through unchanged: the provider's `check` validates them, so a bad
one stops `pulumi preview` with the property's name before any API call.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

import pulumi

from .chatroom import SUCCESSOR, ChatRoom
from .errors import ConfigurationError
from .settings import KEYS, Settings

ROOM_SETTINGS = {
    "name": "name",
    "active": "active",
    "users": "users",
    "lastAgentVisit": "last_agent_visit",
    "businessId": "business_id",
    "importId": "import_id",
}
"""A room's keys in stack config -> `ChatRoom` keyword arguments."""
STACK_SETTINGS = ("businessId", "rooms")
PROVIDER_NAMESPACE = "nexudus"
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
    rooms_key = config.full_key("rooms")
    problems = [*_settings_problems(), *_unknown_keys(config.name)]
    default_business = config.get_object("businessId")
    if default_business == NO_BUSINESS:
        default_business = None
    declared = config.get_object("rooms") or {}
    if not isinstance(declared, dict):
        problems.append(f"{rooms_key} must be a map from a room key to its settings")
        declared = {}
    for key, spec in sorted(declared.items()):
        problems += _room_problems(f"{rooms_key}.{key}", spec, default_business, config.name)
    if problems:
        raise pulumi.RunError(
            "the stack's config needs fixing before anything is sent to Nexudus:\n  - "
            + "\n  - ".join(problems)
        )

    # Pulumi marks a config key secret as a whole: one `--secret` value anywhere in the map
    # makes every room's settings secret, so that none lands in the state in plain text.
    secret = pulumi.runtime.is_config_secret(rooms_key)
    if declared:
        pulumi.log.warn(deprecation_notice())
    rooms = {
        key: _declare_room(key, spec, default_business, secret=secret)
        for key, spec in sorted(declared.items())
    }
    pulumi.export("rooms", {key: room.id for key, room in rooms.items()})
    return rooms


def _declare_room(
    key: str, spec: Mapping[str, Any], default_business: Any, *, secret: bool
) -> ChatRoom:
    kwargs = {ROOM_SETTINGS[name]: value for name, value in spec.items()}
    if kwargs.get("business_id") is None:
        kwargs["business_id"] = default_business
    if secret:
        kwargs = {name: pulumi.Output.secret(value) for name, value in kwargs.items()}
    return ChatRoom(key, **kwargs)


def _settings_problems() -> list[str]:
    """The provider's settings, checked here too: the provider would stop at the first room's
    check, with Python's traceback around the message; the program can say it plainly."""
    provider_config = pulumi.Config(PROVIDER_NAMESPACE)
    try:
        Settings.load(lambda key: provider_config.get(key.split(":", 1)[1]))
    except ConfigurationError as exc:
        return [str(exc)]
    return []


def _unknown_keys(project: str) -> list[str]:
    """`nexudus:*` and `<project>:*` keys nobody reads: usually a typo of one that is read."""
    known = {key.config_key for key in KEYS} | {f"{project}:{name}" for name in STACK_SETTINGS}
    problems = []
    for key in sorted(pulumi.runtime.get_config_env()):
        namespace = key.split(":", 1)[0]
        if namespace in (PROVIDER_NAMESPACE, project) and key not in known:
            candidates = sorted(k for k in known if k.startswith(namespace + ":"))
            problems.append(f"{key} is not a setting{_did_you_mean(key, candidates)}")
    return problems


def _room_problems(where: str, spec: Any, default_business: Any, project: str) -> list[str]:
    if not isinstance(spec, dict):
        return [f"{where} must be a map of room settings ({', '.join(ROOM_SETTINGS)})"]
    problems = [
        f"{where}: {name!r} is not a room setting{_did_you_mean(name, ROOM_SETTINGS)}"
        for name in spec
        if name not in ROOM_SETTINGS
    ]
    if spec.get("businessId") is None and default_business is None:
        problems.append(
            f"{where} has no business: set its own businessId, or {project}:businessId for "
            f"every room of the stack (pulumi config set {project}:businessId <id>)"
        )
    return problems


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    choices = list(known)
    lowered = {choice.lower(): choice for choice in choices}
    close = difflib.get_close_matches(name.lower(), lowered, n=1, cutoff=0.6)
    hint = f" (did you mean {lowered[close[0]]!r}?)" if close else ""
    return f"{hint}; known: {', '.join(choices)}"
