"""The SDK's pickler leak (see nexudus_pulumi/sdk_workarounds.py): thousands of rooms in one
program, under Pulumi's mocks, with a provider blob that still unpickles to the right provider."""

from __future__ import annotations

import base64
import json
import pickle
from collections.abc import Iterator
from typing import Any

import dill
import pulumi
import pytest
from pulumi.dynamic.dynamic import serialize_provider

from nexudus_pulumi import ChatRoomProvider
from nexudus_pulumi.chatroom import CHAT_ROOM, KIND
from nexudus_pulumi.program import declare_stack
from nexudus_pulumi.sdk_workarounds import undo_pickler_patches
from tests.helpers import RecordingMocks

ROOMS = 5_000
"""Five times the SDK's ceiling of about 985 dynamic resources per process."""


@pytest.fixture
def stock_pickler() -> Iterator[None]:
    """A test starts from an unpatched `pickle` and leaves one, whatever ran before or fails."""
    undo_pickler_patches()
    yield
    undo_pickler_patches()


def unpickled(blob: str) -> Any:
    return dill.loads(base64.b64decode(blob))


@pulumi.runtime.test  # type: ignore[untyped-decorator]  # the SDK leaves it untyped
def test_five_thousand_rooms_declare_in_one_program(
    mocks: RecordingMocks, stock_pickler: None
) -> Any:
    rooms = {f"room-{n:04d}": {"name": f"Room {n}"} for n in range(ROOMS)}
    pulumi.runtime.set_all_config(
        {"nexudus-rooms:businessId": "1001", "nexudus-rooms:rooms": json.dumps(rooms)}
    )
    declared = declare_stack().of(KIND)  # without the workaround: RecursionError near room 985

    def verify(ids: list[str]) -> None:
        assert len(ids) == ROOMS
        blobs = {name: inputs["__provider"] for name, inputs in mocks.created.items()}
        assert len(blobs) == ROOMS + 1  # and the stack's identity
        first, last = blobs["room-0000"], blobs[f"room-{ROOMS - 1:04d}"]
        assert first == last  # the same provider, pickled the same way: no spurious diff
        provider = unpickled(last)
        assert type(provider) is ChatRoomProvider
        assert provider.spec == CHAT_ROOM

    return pulumi.Output.all(*(room.id for room in declared.values())).apply(verify)


def test_the_provider_blob_is_what_the_sdk_alone_would_write(stock_pickler: None) -> None:
    """The SDK's sorting, and so its deterministic blob, still applies inside the workaround."""
    alone = serialize_provider(ChatRoomProvider())  # a fresh process's first resource
    for _ in range(3):
        undo_pickler_patches()
        again = serialize_provider(ChatRoomProvider())
        assert again == alone
    assert type(unpickled(again)) is ChatRoomProvider


def test_pickle_is_put_back_as_the_package_found_it(stock_pickler: None) -> None:
    before = (pickle.Pickler, dict(vars(pickle._Pickler)))
    serialize_provider(ChatRoomProvider())
    undo_pickler_patches()
    assert (pickle.Pickler, dict(vars(pickle._Pickler))) == before


def test_the_sdk_still_leaks_its_pickler_patches(stock_pickler: None) -> None:
    """The reason for the workaround. When this fails, Pulumi has fixed `serialize_provider`:
    remove `undo_pickler_patches` and `DynamicResource`."""
    original = vars(pickle._Pickler)["_batch_setitems"]
    serialize_provider(ChatRoomProvider())
    assert vars(pickle._Pickler)["_batch_setitems"] is not original
