"""What a drift check (`pulumi preview --refresh --expect-no-changes`) says: the dynamic-provider
protocol carries no detailed diff, so the provider's diff names the fields that differ itself.
The end-to-end check is tests/e2e/test_pipelines.py."""

from __future__ import annotations

import logging

import pytest

from nexudus_pulumi import ChatRoomProvider
from tests.helpers import room


def test_diff_names_the_fields_that_differ_and_never_their_values(
    caplog: pytest.LogCaptureFixture,
) -> None:
    live = room("lobby", name="Renamed in the admin UI", active=True, users=[11.0])
    declared = room("lobby", name="Lobby", active=True, users=[12.0])
    with caplog.at_level(logging.INFO, logger="nexudus_pulumi"):
        assert ChatRoomProvider().diff("1", live, declared).changes is True
        assert ChatRoomProvider().diff("1", declared, declared).changes is False
    said = [record.getMessage() for record in caplog.records]
    assert said == [
        "ChatRoom 'lobby' (name 'Lobby'): Nexudus differs from the declaration in name, users"
    ]
    assert "Renamed" not in said[0] and "11" not in said[0]
