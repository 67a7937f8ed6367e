"""ChatRoom's own rules: its fields' checks and diffs, what a create sends, and what the provider
leaves in the state. What every record type promises is tests/provider/test_contract.py's."""

from __future__ import annotations

import base64

import dill
import pytest

from nexudus_pulumi import ChatRoomProvider
from nexudus_pulumi.errors import AuthenticationError
from nexudus_pulumi.provider import UNKNOWN
from nexudus_pulumi.sandbox import PublishedLimits, Sandbox
from tests.helpers import (
    MakeProvider,
    configured,
    create,
    edited,
    only_failure,
    room,
    sandbox_config,
    settled_requests,
)

# ----- check ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("props", "prop", "words"),
    [
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
    ],
)
def test_check_names_the_bad_property(props: dict[str, object], prop: str, words: str) -> None:
    failure = only_failure(ChatRoomProvider(), props)
    assert failure.property == prop
    assert words in failure.reason


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
    # an unknown item of a list (the id of a user made in the same run); see also test_contract
    result = ChatRoomProvider().check({}, {"businessId": 1, "users": [1, UNKNOWN]})
    assert result.failures == []


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
        ({"users": [2.0, 1.0]}, False, []),
        ({"lastAgentVisit": None}, False, []),
        ({"users": None, "active": None}, False, []),  # left out: Nexudus's, not compared
        ({"active": False}, True, []),
        ({"users": [1]}, True, []),
        ({"lastAgentVisit": "2025-01-15T10:30:00Z"}, True, []),
        ({"name": UNKNOWN}, True, []),
    ],
)
def test_diff(change: dict[str, object], changes: bool, replaces: list[str]) -> None:
    news = edited(OLD, change)
    news.pop("uniqueId")
    news.pop("createdOn")
    result = ChatRoomProvider().diff("1", OLD, news)
    assert result.changes is changes
    assert result.replaces == replaces


def test_diff_treats_equal_instants_as_equal() -> None:
    olds = {**OLD, "lastAgentVisit": "2025-01-15T10:30:00Z"}
    news = {**OLD, "lastAgentVisit": "2025-01-15T10:30:00+00:00"}
    assert ChatRoomProvider().diff("1", olds, news).changes is False


# ----- over HTTP -------------------------------------------------------------------------------


def test_create_sends_every_declared_field_in_the_apis_form(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    provider = make_provider()
    props = room("lobby", active=True, users=[12.0, 11.0], lastAgentVisit="2025-01-15T10:30:00Z")
    create(provider, provider.check({}, props).inputs)
    [stored] = sandbox.store.all()
    assert (stored["BusinessId"], stored["Name"], stored["Active"], stored["Users"]) == (
        1001,
        "Lobby",
        True,
        [11, 12],
    )
    assert stored["LastAgentVisit"] == "2025-01-15T10:30:00Z"


def test_wrong_password_fails_once_without_echoing_it(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    with pytest.raises(AuthenticationError) as caught:  # when configured: preview fails
        make_provider(password="not-the-password")
    assert "authentication failed" in str(caught.value)
    assert "not-the-password" not in str(caught.value)
    assert [path for _, path, _ in settled_requests(sandbox, 1)] == ["/api/token"]


def test_throttled_create_waits_and_succeeds() -> None:
    limits = PublishedLimits(min_interval=0, writes_per_window=1, window_seconds=1.5)
    with Sandbox(limits=limits) as sandbox:
        provider = configured(sandbox_config(sandbox))
        create(provider, room("one"))
        create(provider, room("two"))
        assert len(sandbox.store.all()) == 2
        assert sandbox.status_counts()[("POST", 409)] >= 1


# ----- what lands in the state -----------------------------------------------------------------


def test_pickled_provider_is_small_and_holds_no_credentials(make_provider: MakeProvider) -> None:
    provider = make_provider(password="pickle-secret-123", skipCredentialsValidation="true")
    provider.check({}, room("lobby"))
    blob = dill.dumps(provider, recurse=True)
    assert b"pickle-secret-123" not in blob
    assert b"Session" not in blob
    assert len(base64.b64encode(blob)) < 400
    assert ChatRoomProvider.serialize_as_secret_always is False
