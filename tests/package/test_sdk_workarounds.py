"""The SDK's defects of nexudus_pulumi/sdk_workarounds.py: its pickler leak (thousands of rooms
in one program, under Pulumi's mocks, with a provider blob that still unpickles to the right
provider), and the traceback its dynamic-provider host and its provider server put after every
error."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import pickle
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dill
import grpc  # type: ignore[import-untyped]  # no stubs installed: the SDK needs none
import pulumi
import pulumi.dynamic
import pytest
from google.protobuf import struct_pb2  # type: ignore[import-untyped]
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.provider.experimental import server
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from nexudus_pulumi import ChatRoomProvider
from nexudus_pulumi.chatroom import CHAT_ROOM, KIND
from nexudus_pulumi.errors import ConfigurationError
from nexudus_pulumi.program import declare_stack
from nexudus_pulumi.sdk_workarounds import plain_errors_in_plugin, undo_pickler_patches
from nexudus_pulumi.settings import Settings
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


@pytest.fixture
def dynamic_host() -> Iterator[Any]:
    """The SDK's dynamic-provider host, `python -m pulumi.dynamic` as the engine starts it (via
    scripts/pulumi-resource-pulumi-python), and a gRPC stub talking to it."""
    host = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.dynamic"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PULUMI_PROJECT": "nexudus-rooms"},
    )
    try:
        assert host.stdout is not None
        port = int(host.stdout.readline())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield provider_pb2_grpc.ResourceProviderStub(channel)
    finally:
        host.kill()
        host.wait()


def checked(stub: Any, news: dict[str, Any]) -> str:
    """What the host answers a Check of `news` that fails: the text the engine shows."""
    props = struct_pb2.Struct()
    props.update(news)
    request = provider_pb2.CheckRequest(urn="urn:pulumi:dev::p::t::lobby", news=props)
    with pytest.raises(grpc.RpcError) as caught:
        stub.Check(request, timeout=60)
    return str(caught.value.details())


def test_the_dynamic_host_reports_an_error_of_ours_as_its_message_alone(
    dynamic_host: Any, stock_pickler: None
) -> None:
    """The host sends `traceback.format_exc()` for any exception; `pulumi up` showed a
    refusal's message followed by a Python traceback."""
    config = {"nexudus:baseUrl": "ftp://127.0.0.1:1"}
    args = struct_pb2.Struct()
    args.update(config)
    dynamic_host.Configure(provider_pb2.ConfigureRequest(args=args), timeout=60)
    with pytest.raises(ConfigurationError) as expected:
        Settings.load(config.get)
    blob = serialize_provider(ChatRoomProvider())
    said = checked(dynamic_host, {"__provider": blob, "name": "Lobby", "businessId": 1001})
    assert said == str(expected.value)
    assert "Traceback" not in said


def test_the_dynamic_host_keeps_the_traceback_of_any_other_exception(
    dynamic_host: Any, stock_pickler: None
) -> None:
    """A bug is reported with its traceback, for whoever fixes it: here the host's own
    KeyError (a Check without the provider blob), once our package is loaded in the host."""
    dynamic_host.Configure(provider_pb2.ConfigureRequest(args=struct_pb2.Struct()), timeout=60)
    props = struct_pb2.Struct()
    props.update({"__provider": serialize_provider(ChatRoomProvider()), "name": "Lobby"})
    request = provider_pb2.CheckRequest(urn="urn:pulumi:dev::p::t::lobby", news=props)
    assert dynamic_host.Check(request, timeout=60).failures  # loaded, and no business: refused
    said = checked(dynamic_host, {"name": "Lobby"})
    assert said.startswith("Traceback (most recent call last):") and "KeyError" in said


def test_the_sdk_host_still_sends_a_traceback_for_every_error() -> None:
    """The reason for `plain_errors_in_dynamic_host`. When this fails, Pulumi's host reports
    errors some other way: check what `pulumi up` shows, and remove the workaround if it is
    the message alone."""
    host = Path(pulumi.dynamic.__file__).with_name("__main__.py").read_text()
    assert "context.abort(grpc.StatusCode.UNKNOWN, traceback.format_exc())" in host


@pytest.fixture
def plugin() -> Iterator[Any]:
    """The provider plugin `pulumi-resource-nexudus` as `make venv` installs it, started as the
    engine starts it (with the engine's address; nothing here dials it), and a stub to it."""
    process = subprocess.Popen(
        [str(Path(sys.prefix) / "bin" / "pulumi-resource-nexudus"), "127.0.0.1:1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield provider_pb2_grpc.ResourceProviderStub(channel)
    finally:
        process.kill()
        process.wait()


def test_the_plugin_reports_an_error_of_ours_as_its_message_alone(plugin: Any) -> None:
    """The SDK's server turned every exception into "Unexpected <class 'Exception'>: ..." and
    the Python stack, which the engine printed under the resource."""
    config = {"baseUrl": "ftp://127.0.0.1:1"}
    with pytest.raises(ConfigurationError) as expected:
        Settings.load({f"nexudus:{k}": v for k, v in config.items()}.get)
    args = struct_pb2.Struct()
    args.update(config)
    with pytest.raises(grpc.RpcError) as caught:
        plugin.Configure(provider_pb2.ConfigureRequest(args=args), timeout=60)
    assert caught.value.details() == str(expected.value)


class _Context:
    """What a servicer method sees of gRPC's context: `abort` ends the call with a status."""

    aborted: tuple[Any, str] | None = None

    async def abort(self, code: Any, details: str) -> None:
        self.aborted = (code, details)
        raise grpc.aio.AbortError()


def test_the_plugin_keeps_the_stack_of_any_other_exception() -> None:
    """A bug is reported as the SDK reports it, stack included, for whoever fixes it."""

    class Servicer:
        @server._raise_with_traceback  # type: ignore[untyped-decorator]  # the SDK's own
        async def Check(self, request: Any, context: Any) -> Any:  # noqa: N802 - gRPC's name
            known: dict[str, Any] = {}
            return known["missing"]

    plain_errors_in_plugin(Servicer)
    context = _Context()
    with pytest.raises(Exception, match="'missing':\n") as caught:
        asyncio.run(Servicer().Check(None, context))
    assert "File " in str(caught.value) and context.aborted is None


def test_the_sdk_server_still_appends_the_stack_to_every_error() -> None:
    """The reason for `plain_errors_in_plugin`. When this fails, Pulumi's provider server
    reports errors some other way: check what `pulumi up` shows under a plugin resource, and
    remove the workaround if it is the message alone."""
    source = Path(server.__file__).read_text()
    assert 'raise Exception(f"{str(e)}:\\n{pretty_stack}")' in source
