"""CommunityGroup's own rules: its fields' checks and diffs, the access level's API codes, its
read-only fields, and the API's refusals of its user ids, against the sandbox (whose group
validation is written from the API notes, apart from the provider's model). What every record
type promises is tests/provider/test_contract.py's."""

from __future__ import annotations

from typing import Any

import pytest

from nexudus_pulumi import CommunityGroupProvider
from nexudus_pulumi.provider import UNKNOWN, RecordOperationError
from nexudus_pulumi.sandbox import Sandbox
from tests.helpers import (
    Created,
    create,
    edited,
    group,
    group_provider,
    only_failure,
)

GROUPS = "/api/community/communitygroups"


@pytest.fixture
def provider(sandbox: Sandbox) -> CommunityGroupProvider:
    return group_provider(sandbox)


def stored(sandbox: Sandbox, created: Created) -> dict[str, Any]:
    record = sandbox.groups.get(int(created.id))
    assert record is not None
    return record


# ----- check ---------------------------------------------------------------------------------

VALID = {"businessId": 1001, "name": "Makers", "userId": 11}


@pytest.mark.parametrize(
    ("change", "prop", "words"),
    [
        ({"name": "   "}, "name", "must not be blank"),
        ({"name": 42}, "name", "string"),
        ({"userId": "eleven"}, "userId", "integer"),
        ({"userId": 0}, "userId", "greater than 0"),
        ({"description": 5}, "description", "string"),
        ({"groupAccess": "secret"}, "groupAccess", "'restricted', 'public' or 'private'"),
        ({"groupAccess": 2}, "groupAccess", "'restricted', 'public' or 'private'"),
        ({"members": [12, 12]}, "members", "id 12 is listed twice"),
        ({"members": [12, "bob"]}, "members", "item 1"),
        ({"members": 12}, "members", "list"),
    ],
)
def test_check_names_the_bad_property(change: dict[str, Any], prop: str, words: str) -> None:
    failure = only_failure(CommunityGroupProvider(), edited(VALID, change))
    assert failure.property == prop
    assert words in failure.reason


def test_check_normalises_and_keeps_only_what_was_declared() -> None:
    news = {**VALID, "businessId": 1001.0, "members": [13.0, 12.0], "groupAccess": "Private"}
    result = CommunityGroupProvider().check({}, news)
    assert result.failures == []
    assert result.inputs == {
        "businessId": 1001,
        "name": "Makers",
        "userId": 11,
        "members": [12, 13],
        "groupAccess": "private",
    }  # no description, no default: those stay Nexudus's


def test_check_accepts_values_unknown_during_preview() -> None:
    # an unknown member (a user made in the same run); see also test_contract
    result = CommunityGroupProvider().check({}, {**VALID, "members": [12, UNKNOWN]})
    assert result.failures == []


# ----- diff ----------------------------------------------------------------------------------

OLD = {
    "businessId": 1001,
    "name": "Makers",
    "userId": 11,
    "description": "3D printing",
    "groupAccess": "public",
    "members": [12, 13],
    "ownerTag": "p/t/makers",
    "businessName": "Business 1001",
    "teamGuid": "t",
}
DECLARED = {k: v for k, v in OLD.items() if k not in ("businessName", "teamGuid")}


@pytest.mark.parametrize(
    ("change", "changes", "replaces"),
    [
        ({"members": [13.0, 12.0]}, False, []),  # a set: order is never a change
        ({"groupAccess": "Public"}, False, []),
        ({"description": None, "groupAccess": None}, False, []),  # undeclared: not compared
        ({"description": "Laser cutting"}, True, []),
        ({"userId": 12.0}, True, []),  # a new administrator: in place
        ({"groupAccess": "private"}, True, []),
        ({"members": [12]}, True, []),
        ({"members": []}, True, []),  # declared empty: nobody, exactly
    ],
)
def test_diff(change: dict[str, Any], changes: bool, replaces: list[str]) -> None:
    news = edited(DECLARED, change)
    result = CommunityGroupProvider().diff("1", OLD, news)
    assert result.changes is changes
    assert result.replaces == replaces


# ----- create, read, update, delete over HTTP -------------------------------------------------


def test_create_sends_the_declared_fields_in_the_apis_form(
    sandbox: Sandbox, provider: CommunityGroupProvider
) -> None:
    news = group("makers", description="3D printing", groupAccess="private", members=[13.0, 12.0])
    created = create(provider, provider.check({}, news).inputs)
    [record] = sandbox.groups.all()
    assert created.id == str(record["Id"])
    assert {k: record[k] for k in ("BusinessId", "Name", "UserId", "Description")} == {
        "BusinessId": 1001,
        "Name": "Makers",
        "UserId": 11,
        "Description": "3D printing",
    }
    assert (record["GroupAccess"], record["Members"]) == (3, [12, 13])  # private is 3
    assert created.outs["groupAccess"] == "private"


def test_an_undeclared_access_level_is_the_apis_default(
    sandbox: Sandbox, provider: CommunityGroupProvider
) -> None:
    created = create(provider, provider.check({}, group("makers")).inputs)
    assert (stored(sandbox, created)["GroupAccess"], stored(sandbox, created)["Members"]) == (1, [])
    # the state holds what Nexudus told: a create's answer shows no default, a refresh does
    assert "groupAccess" not in created.outs and "members" not in created.outs
    refreshed = make_refresher(sandbox).read(created.id, created.outs).outs
    assert refreshed is not None
    assert (refreshed["groupAccess"], refreshed["members"]) == ("restricted", [])


@pytest.mark.parametrize(
    ("fields", "api_message"),
    [
        ({"userId": 99.0}, "UserId: user 99 does not exist"),
        ({"members": [12.0, 98.0]}, "Members: user 98 does not exist"),
    ],
)
def test_create_rejected_by_the_api_names_the_group_and_quotes_the_api(
    sandbox: Sandbox, provider: CommunityGroupProvider, fields: dict[str, Any], api_message: str
) -> None:
    with pytest.raises(RecordOperationError) as caught:
        provider.create(group("makers", **fields))
    message = str(caught.value)
    assert message.startswith("CommunityGroup 'makers' (name 'Makers'): create failed")
    assert api_message in message
    assert sandbox.groups.all() == []


def test_read_sees_drift_and_the_groups_read_only_fields(
    sandbox: Sandbox, provider: CommunityGroupProvider
) -> None:
    news = group("makers", groupAccess="public", members=[12.0])
    created = create(provider, news)
    sandbox.groups.update(
        int(created.id), {"Name": "Renamed by hand", "GroupAccess": 3, "Members": [12, 40]}, "cm"
    )
    result = make_refresher(sandbox).read(created.id, created.outs)
    assert result.id == created.id and result.inputs is None  # the declaration is kept
    assert result.outs is not None
    outs = result.outs
    assert (outs["name"], outs["groupAccess"], outs["members"]) == (
        "Renamed by hand",
        "private",
        [12, 40],
    )
    record = stored(sandbox, created)
    assert outs["businessName"] == "Business 1001"
    assert (outs["teamGuid"], outs["courseGuid"]) == (record["TeamGuid"], record["CourseGuid"])
    assert (outs["ownerTag"], outs["updatedBy"]) == ("p/t/makers", "cm")
    assert provider.diff(created.id, outs, news).changes is True


def make_refresher(sandbox: Sandbox) -> CommunityGroupProvider:
    """`pulumi refresh` is another run, another provider process."""
    return group_provider(sandbox)


def test_read_shows_what_the_api_holds_even_when_it_breaks_the_rules(
    sandbox: Sandbox, provider: CommunityGroupProvider
) -> None:
    news = group("makers", groupAccess="public", members=[12.0])
    created = create(provider, news)
    sandbox.groups.update(int(created.id), {"GroupAccess": 7, "Members": [12, 12]}, "import")
    outs = make_refresher(sandbox).read(created.id, created.outs).outs
    assert outs is not None and (outs["groupAccess"], outs["members"]) == (7, [12, 12])
    assert provider.diff(created.id, outs, news).changes is True
    provider.update(created.id, outs, news)  # `up` puts the declared state back
    assert (stored(sandbox, created)["GroupAccess"], stored(sandbox, created)["Members"]) == (
        2,
        [12],
    )


def test_a_declared_member_list_is_the_exact_set(
    sandbox: Sandbox, provider: CommunityGroupProvider
) -> None:
    created = create(provider, group("makers", members=[12.0, 13.0]))
    sandbox.groups.update(int(created.id), {"Description": "by hand", "GroupAccess": 3}, "cm")
    updater = make_refresher(sandbox)
    news = updater.check(created.outs, group("makers", name="Makers club", members=[13.0])).inputs
    result = updater.update(created.id, created.outs, news)
    record = stored(sandbox, created)
    assert (record["Name"], record["Members"]) == ("Makers club", [13])  # exactly the set
    assert (record["Description"], record["GroupAccess"]) == ("by hand", 3)  # not declared
    assert result.outs is not None and result.outs["members"] == [13]
