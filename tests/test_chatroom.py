"""The ChatRoom provider's lifecycle over real HTTP against the sandbox."""

from __future__ import annotations

import base64

import dill
import pytest

from nexudus_pulumi import ChatRoomProvider
from nexudus_pulumi.errors import AuthenticationError
from nexudus_pulumi.provider import UNKNOWN, RecordOperationError
from nexudus_pulumi.sandbox import READER_PASSWORD, READER_USER, Limits, Sandbox
from tests.helpers import MakeProvider, configured, create, room, sandbox_config, settled_requests

# ----- check ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("props", "prop", "words"),
    [
        ({"name": "x"}, "businessId", "required"),
        ({"businessId": "10O1"}, "businessId", "integer"),
        ({"businessId": 1001.5}, "businessId", "whole number"),
        ({"businessId": True}, "businessId", "not a boolean"),
        ({"businessId": -3}, "businessId", "greater than 0"),
        ({"businessId": 1, "name": 42}, "name", "string"),
        ({"businessId": 1, "active": "yes"}, "active", "boolean"),
        ({"businessId": 1, "lastAgentVisit": "last tuesday"}, "lastAgentVisit", "ISO 8601"),
        ({"businessId": 1, "users": [1, "bob"]}, "users", "item 1"),
        ({"businessId": 1, "users": [4, 4]}, "users", "listed twice"),
        ({"businessId": 1, "users": 5}, "users", "list"),
        ({"businessId": 1, "colour": "red"}, "colour", "not a known property"),
    ],
)
def test_check_names_the_bad_property(props: dict[str, object], prop: str, words: str) -> None:
    result = ChatRoomProvider().check({}, props)
    assert [f.property for f in result.failures] == [prop]
    assert words in result.failures[0].reason


def test_check_reports_every_problem_at_once() -> None:
    result = ChatRoomProvider().check({}, {"users": ["a"], "lastAgentVisit": "soon"})
    assert {f.property for f in result.failures} == {"businessId", "users", "lastAgentVisit"}


def test_check_normalises_what_the_engine_sends() -> None:
    news = {
        "businessId": 1001.0,
        "users": [12.0, 3.0],
        "lastAgentVisit": "2025-01-15T10:30:00+00:00",
    }
    result = ChatRoomProvider().check({}, news)
    assert result.failures == []
    assert result.inputs["businessId"] == 1001
    assert result.inputs["users"] == [3, 12]
    assert result.inputs["lastAgentVisit"] == "2025-01-15T10:30:00Z"


def test_check_reads_an_unquoted_yaml_timestamp_from_stack_config() -> None:
    # `lastAgentVisit: 2025-01-15T10:30:00Z` unquoted in Pulumi.<stack>.yaml arrives like this
    result = ChatRoomProvider().check(
        {}, {"businessId": 1, "lastAgentVisit": "2025-01-15 10:30:00 +0000 UTC"}
    )
    assert result.failures == []
    assert result.inputs["lastAgentVisit"] == "2025-01-15T10:30:00Z"


def test_check_accepts_values_unknown_during_preview() -> None:
    result = ChatRoomProvider().check({}, {"businessId": UNKNOWN, "users": [1, UNKNOWN]})
    assert result.failures == []
    # a known bad value is still reported next to an unknown one
    result = ChatRoomProvider().check({}, {"businessId": UNKNOWN, "active": "maybe"})
    assert [f.property for f in result.failures] == ["active"]


def test_check_makes_no_api_call(sandbox: Sandbox, make_provider: MakeProvider) -> None:
    provider = make_provider()  # configuring proves the credentials: one token request
    assert settled_requests(sandbox, 1) == [("POST", "/api/token", 200)]
    provider.check({}, {"businessId": "nope"})
    provider.check({}, room("lobby"))
    assert settled_requests(sandbox) == [("POST", "/api/token", 200)]


# ----- diff ----------------------------------------------------------------------------------

OLD = {
    "businessId": 1001,
    "name": "Lobby",
    "active": True,
    "users": [1, 2],
    "ownerTag": "p/t/a",
    "uniqueId": "u",
    "createdOn": "2025-01-01T00:00:00Z",
}


@pytest.mark.parametrize(
    ("change", "changes", "replaces"),
    [
        ({}, False, []),
        ({"users": [2.0, 1.0]}, False, []),
        ({"lastAgentVisit": None}, False, []),
        ({"ownerTag": "renamed-stack/p/a"}, True, []),  # the marker follows: in place
        ({"users": None, "active": None}, False, []),  # left out: Nexudus's, not compared
        ({"name": "Lobby 2"}, True, []),
        ({"active": False}, True, []),
        ({"users": [1]}, True, []),
        ({"lastAgentVisit": "2025-01-15T10:30:00Z"}, True, []),
        ({"businessId": 1002.0}, True, ["businessId"]),
        ({"businessId": UNKNOWN}, True, ["businessId"]),
        ({"name": UNKNOWN}, True, []),
    ],
)
def test_diff(change: dict[str, object], changes: bool, replaces: list[str]) -> None:
    news = {k: v for k, v in {**OLD, **change}.items() if v is not None}
    news.pop("uniqueId")
    news.pop("createdOn")
    result = ChatRoomProvider().diff("1", OLD, news)
    assert result.changes is changes
    assert result.replaces == replaces


def test_diff_treats_equal_instants_as_equal() -> None:
    olds = {**OLD, "lastAgentVisit": "2025-01-15T10:30:00Z"}
    news = {**OLD, "lastAgentVisit": "2025-01-15T10:30:00+00:00"}
    assert ChatRoomProvider().diff("1", olds, news).changes is False


# ----- create, read, update, delete ---------------------------------------------------------


def test_create_returns_the_servers_id_and_sends_every_field(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    provider = make_provider()
    props = room("lobby", active=True, users=[11.0, 12.0], lastAgentVisit="2025-01-15T10:30:00Z")
    result = create(provider, provider.check({}, props).inputs)
    [stored] = sandbox.store.all()
    assert result.id == str(stored["Id"])
    assert (stored["BusinessId"], stored["Name"], stored["Active"], stored["Users"]) == (
        1001,
        "Lobby",
        True,
        [11, 12],
    )
    assert stored["LastAgentVisit"] == "2025-01-15T10:30:00Z"
    assert stored["SystemId"] == "pulumi:p/t/lobby"
    # Outputs come from the declaration and the POST's answer: no GET after the create.
    assert result.outs["updatedBy"] == stored["UpdatedBy"]
    assert result.outs["systemId"] == stored["SystemId"]
    assert [m for m, _, _ in sandbox.requests].count("GET") == 1  # the account listing


def test_create_rejected_by_the_api_names_the_room_and_the_field(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    with pytest.raises(RecordOperationError) as caught:
        make_provider().create(room("lobby", businessId=4242.0))
    message = str(caught.value)
    assert message.startswith("ChatRoom 'lobby' (name 'Lobby'): create failed")
    assert "BusinessId: business 4242 does not exist" in message
    assert sandbox.store.all() == []


def test_wrong_password_fails_once_without_echoing_it(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    with pytest.raises(AuthenticationError) as caught:  # when configured: preview fails
        make_provider(password="not-the-password")
    assert "authentication failed" in str(caught.value)
    assert "not-the-password" not in str(caught.value)
    assert [path for _, path, _ in settled_requests(sandbox, 1)] == ["/api/token"]


def test_missing_role_names_the_role(sandbox: Sandbox, make_provider: MakeProvider) -> None:
    provider = make_provider(username=READER_USER, password=READER_PASSWORD)
    with pytest.raises(RecordOperationError) as caught:
        create(provider, room("lobby"))
    assert "lacks the role ChatRoom-Create" in str(caught.value)
    assert READER_PASSWORD not in str(caught.value)


def test_read_sees_drift_and_keeps_the_declaration(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    provider = make_provider()
    created = create(provider, room("lobby", users=[1.0]))
    sandbox.store.update(int(created.id), {"Name": "Renamed by hand", "Users": [1, 9]}, "someone")
    result = provider.read(created.id, created.outs)
    assert result.id == created.id
    # Live values in the outputs; no inputs, so the engine keeps what the user declared.
    assert result.inputs is None
    assert result.outs is not None
    assert (result.outs["name"], result.outs["users"]) == ("Renamed by hand", [1, 9])
    assert result.outs["ownerTag"] == "p/t/lobby"
    assert result.outs["updatedBy"] == "someone"
    assert provider.diff(created.id, result.outs, room("lobby", users=[1.0])).changes is True


def test_read_of_a_deleted_room_tells_the_engine_it_is_gone(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    provider = make_provider()
    created = create(provider, room("lobby"))
    sandbox.store.delete(int(created.id))
    assert provider.read(created.id, created.outs).id is None


def test_update_changes_the_room_in_place(sandbox: Sandbox, make_provider: MakeProvider) -> None:
    provider = make_provider()
    created = create(provider, room("lobby", active=True, users=[1.0]))
    news = provider.check(created.outs, room("lobby", name="Front desk", users=[2.0])).inputs
    result = provider.update(created.id, created.outs, news)
    [stored] = sandbox.store.all()
    assert str(stored["Id"]) == created.id
    # `active` is no longer declared: it keeps its live value, it is not reset to the default
    assert (stored["Name"], stored["Active"], stored["Users"]) == ("Front desk", True, [2])
    assert result.outs is not None and result.outs["name"] == "Front desk"
    assert ("PUT", "/api/support/chatrooms", 200) in sandbox.requests


def test_update_of_a_room_deleted_behind_our_back_says_to_refresh(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    provider = make_provider()
    created = create(provider, room("lobby"))
    sandbox.store.delete(int(created.id))
    with pytest.raises(RecordOperationError, match="pulumi refresh"):
        provider.update(created.id, created.outs, room("lobby", name="x"))


def test_delete_removes_and_tolerates_already_deleted(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    provider = make_provider()
    created = create(provider, room("lobby"))
    provider.delete(created.id, created.outs)
    assert sandbox.store.all() == []
    provider.delete(created.id, created.outs)  # already gone, not an error
    # the delete reads the record first (its owner is checked when writing): 404, no DELETE
    assert sandbox.requests[-1] == ("GET", f"/api/support/chatrooms/{created.id}", 404)


def test_throttled_create_waits_and_succeeds() -> None:
    limits = Limits(min_interval=0, writes_per_window=1, window_seconds=1.5)
    with Sandbox(limits=limits) as sandbox:
        provider = configured(sandbox_config(sandbox))
        create(provider, room("one"))
        create(provider, room("two"))
        assert len(sandbox.store.all()) == 2
        assert sandbox.status_counts()[("POST", 409)] >= 1


def test_import_id_adopts_an_existing_room_without_a_post(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    legacy = sandbox.store.insert({"BusinessId": 1001, "Name": "Legacy", "Active": True}, "ui")
    provider = make_provider()
    result = create(provider, room("legacy", name="Legacy", active=True, importId=float(legacy)))
    assert result.id == str(legacy)
    assert sandbox.posts_committed == 0
    assert sandbox.store.get(legacy)["SystemId"] == "pulumi:p/t/legacy"  # type: ignore[index]
    # once managed, the import id is bookkeeping: dropping it changes nothing
    assert (
        provider.diff(result.id, result.outs, room("legacy", name="Legacy", active=True)).changes
        is False
    )


def test_import_id_refuses_a_room_of_another_business(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    legacy = sandbox.store.insert({"BusinessId": 1002, "Name": "Legacy"}, "ui")
    with pytest.raises(RecordOperationError, match="businessId is 1002, the declaration says 1001"):
        make_provider().create(room("legacy", importId=legacy))
    assert sandbox.posts_committed == 0


# ----- what lands in the state -----------------------------------------------------------------


def test_pickled_provider_is_small_and_holds_no_credentials(make_provider: MakeProvider) -> None:
    provider = make_provider(password="pickle-secret-123", skipCredentialsValidation="true")
    provider.check({}, room("lobby"))
    blob = dill.dumps(provider, recurse=True)
    assert b"pickle-secret-123" not in blob
    assert b"Session" not in blob
    assert len(base64.b64encode(blob)) < 400
    assert ChatRoomProvider.serialize_as_secret_always is False
