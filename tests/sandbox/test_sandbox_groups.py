"""The sandbox's CommunityGroup endpoints behave as the API notes describe, seen over plain HTTP,
and its commit-delay fault makes a lost answer out of a slow commit."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
import requests

from nexudus_pulumi.sandbox import DEMO_USER, Faults, Sandbox
from tests.helpers import AUTH, READER_AUTH, RELAXED

GROUPS = "/api/community/communitygroups"
ROOMS = "/api/support/chatrooms"
GROUP = {"BusinessId": 1001, "UserId": 11, "Name": "Makers", "GroupAccess": 1}

T = TypeVar("T")


def post(sandbox: Sandbox, body: Any, auth: tuple[str, str] = AUTH) -> requests.Response:
    return requests.post(sandbox.url + GROUPS, json=body, auth=auth, timeout=5)


def put(sandbox: Sandbox, body: Any) -> requests.Response:
    return requests.put(sandbox.url + GROUPS, json=body, auth=AUTH, timeout=5)


def get(sandbox: Sandbox, path: str, **params: Any) -> requests.Response:
    return requests.get(sandbox.url + path, params=params, auth=AUTH, timeout=5)


def errors(answer: requests.Response) -> dict[str, str]:
    """PropertyName -> message of a 400 answer, checking the documented envelope on the way."""
    assert answer.status_code == 400
    body = answer.json()
    assert body["WasSuccessful"] is False and body["Value"] is None
    found = {e["PropertyName"]: e["Message"] for e in body["Errors"]}
    for name, message in found.items():
        assert (f"{name}: {message}" if name else message) in body["Message"]
    return found


def created_id(answer: requests.Response) -> int:
    assert answer.status_code == 200, answer.text
    assert answer.json()["Message"] == "CommunityGroup was successfully created."
    return int(answer.json()["Value"]["Id"])


def eventually(probe: Callable[[], T | None], seconds: float = 20) -> T:
    """Poll until `probe` answers something truthy: for what the server does after answering."""
    deadline = time.monotonic() + seconds
    while not (found := probe()):
        assert time.monotonic() < deadline, "the server never got there"
        time.sleep(0.05)
    return found


def test_create_read_update_delete(sandbox: Sandbox) -> None:
    group_id = created_id(post(sandbox, {**GROUP, "Description": "3D printing", "Members": [12]}))
    record = get(sandbox, f"{GROUPS}/{group_id}").json()
    assert {k: record[k] for k in ("BusinessId", "UserId", "Name", "Description", "Members")} == {
        "BusinessId": 1001,
        "UserId": 11,
        "Name": "Makers",
        "Description": "3D printing",
        "Members": [12],
    }
    assert record["GroupAccess"] == 1
    assert record["BusinessName"] == "Business 1001"
    assert record["IsNew"] is True and record["UpdatedBy"] == DEMO_USER
    assert record["UniqueId"] and record["TeamGuid"] is None and record["CourseGuid"] is None
    assert record["SystemId"] is None
    updated = put(sandbox, {**GROUP, "Id": group_id, "Name": "Makers' guild", "GroupAccess": 3})
    assert updated.json()["Message"] == "CommunityGroup was successfully updated."
    after = sandbox.groups.get(group_id)
    assert after is not None
    assert after["Name"] == "Makers' guild" and after["GroupAccess"] == 3
    # A PUT replaces the record: what it does not send goes back to the default.
    assert after["Description"] is None and after["Members"] == []
    assert after["IsNew"] is False
    deleted = requests.delete(f"{sandbox.url}{GROUPS}/{group_id}", auth=AUTH, timeout=5)
    assert deleted.json()["Message"] == "CommunityGroup was successfully deleted."
    assert get(sandbox, f"{GROUPS}/{group_id}").status_code == 404
    assert sandbox.groups.all() == []


def test_required_fields_are_named(sandbox: Sandbox) -> None:
    assert errors(post(sandbox, {})) == {
        "BusinessId": "is a required field",
        "UserId": "is a required field",
        "Name": "is a required field",
        "GroupAccess": "is a required field",
    }
    assert errors(post(sandbox, {**GROUP, "Name": "  "})) == {"Name": "is a required field"}
    assert errors(post(sandbox, {**GROUP, "UserId": None})) == {"UserId": "is a required field"}
    assert errors(post(sandbox, [GROUP])) == {"": "the request body must be a JSON object"}
    wrong_types = {
        "BusinessId": "1001",
        "UserId": 11.5,
        "Name": 7,
        "Description": False,
        "GroupAccess": "1",
    }
    assert set(errors(post(sandbox, wrong_types))) == set(wrong_types)
    assert sandbox.groups.all() == [] and sandbox.posts_committed == 0


def test_unknown_business_and_users_are_refused(sandbox: Sandbox) -> None:
    assert errors(post(sandbox, {**GROUP, "BusinessId": 4242})) == {
        "BusinessId": "business 4242 does not exist"
    }
    assert errors(post(sandbox, {**GROUP, "UserId": 999})) == {"UserId": "user 999 does not exist"}
    assert errors(post(sandbox, {**GROUP, "Members": [12, 998, 999]})) == {
        "Members": "user 998, 999 does not exist"
    }
    assert sandbox.groups.all() == []


def test_the_known_businesses_and_users_are_the_sandbox_s() -> None:
    with Sandbox(limits=RELAXED, businesses={7: "Harbour Works"}, users=(5, 6)) as sandbox:
        harbour = {"BusinessId": 7, "UserId": 5, "Name": "Harbour", "GroupAccess": 2}
        group_id = created_id(post(sandbox, harbour))
        assert get(sandbox, f"{GROUPS}/{group_id}").json()["BusinessName"] == "Harbour Works"
        assert set(errors(post(sandbox, GROUP))) == {"BusinessId", "UserId"}


@pytest.mark.parametrize("access", [0, 4, -1, "2", 2.0, True, [1]])
def test_group_access_outside_1_to_3_is_refused(sandbox: Sandbox, access: Any) -> None:
    assert errors(post(sandbox, {**GROUP, "GroupAccess": access})) == {
        "GroupAccess": "must be one of 1, 2, 3"
    }


def test_each_group_access_value_is_kept(sandbox: Sandbox) -> None:
    for access in (1, 2, 3):
        group_id = created_id(post(sandbox, {**GROUP, "GroupAccess": access}))
        assert get(sandbox, f"{GROUPS}/{group_id}").json()["GroupAccess"] == access


@pytest.mark.parametrize("members", ["11", 11, [11, "12"], [True], [11.0], [{"Id": 11}]])
def test_members_must_be_a_list_of_user_ids(sandbox: Sandbox, members: Any) -> None:
    assert errors(post(sandbox, {**GROUP, "Members": members})) == {
        "Members": "must be a list of user ids"
    }


def test_null_optional_fields_take_their_defaults(sandbox: Sandbox) -> None:
    body = {**GROUP, "Description": None, "Members": None, "TeamGuid": None}
    record = get(sandbox, f"{GROUPS}/{created_id(post(sandbox, body))}").json()
    assert (record["Description"], record["Members"], record["TeamGuid"]) == (None, [], None)


def test_group_access_is_required_on_create_only(sandbox: Sandbox) -> None:
    """The entity reference marks `--group-access` required among the create options, and
    lists it, optional, among the update options."""
    without = {k: v for k, v in GROUP.items() if k != "GroupAccess"}
    assert errors(post(sandbox, without)) == {"GroupAccess": "is a required field"}
    assert errors(post(sandbox, {**without, "GroupAccess": None})) == {
        "GroupAccess": "is a required field"
    }
    group_id = created_id(post(sandbox, {**GROUP, "GroupAccess": 2}))
    assert put(sandbox, {**without, "Id": group_id}).status_code == 200


def test_team_and_course_guids_and_the_business_are_written_by_create_and_update(
    sandbox: Sandbox,
) -> None:
    """What the entity reference lists among a group's update options: `TeamGuid`,
    `CourseGuid` (a group Nexudus made for a Team or a Course) and `BusinessId`."""
    linked = {**GROUP, "TeamGuid": "team-1", "CourseGuid": "course-1"}
    group_id = created_id(post(sandbox, linked))
    record = get(sandbox, f"{GROUPS}/{group_id}").json()
    assert (record["TeamGuid"], record["CourseGuid"]) == ("team-1", "course-1")
    put(sandbox, {**linked, "Id": group_id, "TeamGuid": "team-2", "BusinessId": 1002})
    record = get(sandbox, f"{GROUPS}/{group_id}").json()
    assert (record["TeamGuid"], record["BusinessId"]) == ("team-2", 1002)
    # A PUT that leaves them out clears them (the sandbox's default reading): unlinked
    put(sandbox, {**GROUP, "Id": group_id})
    assert get(sandbox, f"{GROUPS}/{group_id}").json()["TeamGuid"] is None


def test_update_wants_the_id_and_every_required_field(sandbox: Sandbox) -> None:
    group_id = created_id(post(sandbox, GROUP))
    assert errors(put(sandbox, GROUP)) == {"Id": "is a required field"}
    assert errors(put(sandbox, {"Id": group_id, "Name": "Only a name"})) == {
        "BusinessId": "is a required field",
        "UserId": "is a required field",
    }
    assert errors(put(sandbox, {**GROUP, "Id": group_id, "UserId": 999})) == {
        "UserId": "user 999 does not exist"
    }
    record = sandbox.groups.get(group_id)
    assert record is not None and record["IsNew"] is True  # nothing was written


def test_added_and_removed_members(sandbox: Sandbox) -> None:
    group_id = created_id(post(sandbox, {**GROUP, "Members": [11, 12, 13]}))
    changes = {"AddedMembers": [14, 12, 15], "RemovedMembers": [11, 15, 40]}
    assert put(sandbox, {**GROUP, "Id": group_id, **changes}).status_code == 200
    assert get(sandbox, f"{GROUPS}/{group_id}").json()["Members"] == [12, 13, 14]
    # with Members given, the deltas apply to the list given
    put(sandbox, {**GROUP, "Id": group_id, "Members": [20], "AddedMembers": [21]})
    assert get(sandbox, f"{GROUPS}/{group_id}").json()["Members"] == [20, 21]
    assert errors(put(sandbox, {**GROUP, "Id": group_id, "AddedMembers": [999]})) == {
        "AddedMembers": "user 999 does not exist"
    }
    assert errors(put(sandbox, {**GROUP, "Id": group_id, "RemovedMembers": "20"})) == {
        "RemovedMembers": "must be a list of user ids"
    }
    assert get(sandbox, f"{GROUPS}/{group_id}").json()["Members"] == [20, 21]


def test_read_only_fields_are_the_api_s_own(sandbox: Sandbox) -> None:
    forged = {
        "Id": 1,
        "BusinessName": "Forged",
        "UniqueId": "forged-unique",
        "CreatedOn": "2001-01-01T00:00:00Z",
        "UpdatedBy": "forger@example.com",
        "IsNew": False,
    }
    group_id = created_id(post(sandbox, {**GROUP, **forged}))
    record = get(sandbox, f"{GROUPS}/{group_id}").json()
    assert group_id != 1
    assert all(record[name] != value for name, value in forged.items())
    assert put(sandbox, {**GROUP, **forged, "Id": group_id}).status_code == 200
    after = get(sandbox, f"{GROUPS}/{group_id}").json()
    for name in ("BusinessName", "UniqueId", "CreatedOn"):
        assert after[name] == record[name]
    assert after["UpdatedBy"] == DEMO_USER
    # BusinessName follows the record's business
    put(sandbox, {**GROUP, "Id": group_id, "BusinessId": 1003})
    assert get(sandbox, f"{GROUPS}/{group_id}").json()["BusinessName"] == "Business 1003"


def test_search_filters_and_pages(sandbox: Sandbox) -> None:
    for n in range(30):
        sandbox.groups.insert(
            {"BusinessId": 1001 if n % 3 else 1002, "UserId": 11 + n % 2, "Name": f"Group {n}"},
            "t",
        )
    page = get(sandbox, GROUPS, CommunityGroup_Business=1001, page=2, size=8).json()
    assert (page["TotalItems"], page["TotalPages"], page["CurrentPage"]) == (20, 3, 2)
    assert page["HasNextPage"] is True and page["HasPreviousPage"] is True
    assert (page["FirstItem"], page["LastItem"]) == (9, 16)
    assert len(page["Records"]) == 8
    assert all(r["BusinessId"] == 1001 for r in page["Records"])
    last = get(sandbox, GROUPS, CommunityGroup_Business=1001, page=3, size=8).json()
    assert len(last["Records"]) == 4 and last["HasNextPage"] is False
    by_user = get(sandbox, GROUPS, CommunityGroup_User=12, size=100).json()
    assert by_user["TotalItems"] == 15 and all(r["UserId"] == 12 for r in by_user["Records"])
    named = get(sandbox, GROUPS, CommunityGroup_Name="group 2").json()
    assert sorted(r["Name"] for r in named["Records"]) == ["Group 2"] + [
        f"Group {n}" for n in range(20, 30)
    ]
    both = get(sandbox, GROUPS, CommunityGroup_Business=1002, CommunityGroup_User=11).json()
    assert {r["Name"] for r in both["Records"]} == {f"Group {n}" for n in (0, 6, 12, 18, 24)}
    default = get(sandbox, GROUPS).json()
    assert default["CurrentPageSize"] == 25 and len(default["Records"]) == 25
    ordered = get(sandbox, GROUPS, orderBy="Name", dir="Descending", size=3).json()
    assert [r["Name"] for r in ordered["Records"]] == ["Group 9", "Group 8", "Group 7"]


def test_rooms_and_groups_are_separate_collections(sandbox: Sandbox) -> None:
    room = requests.post(sandbox.url + ROOMS, json={"BusinessId": 1001}, auth=AUTH, timeout=5)
    room_id = room.json()["Value"]["Id"]
    group_id = created_id(post(sandbox, GROUP))
    assert room_id != group_id
    assert get(sandbox, f"{GROUPS}/{room_id}").status_code == 404
    assert get(sandbox, f"{ROOMS}/{group_id}").status_code == 404
    assert [r["Id"] for r in get(sandbox, GROUPS).json()["Records"]] == [group_id]
    assert sandbox.posts_committed == 2
    assert sandbox.posts_by_record == {"ChatRoom": 1, "CommunityGroup": 1}


def test_roles_of_the_reader(sandbox: Sandbox) -> None:
    group_id = sandbox.groups.insert(GROUP, "ui")
    # Nexudus answers a missing role as a bad token: 401 "Access Denied.", naming no role.
    refused = post(sandbox, GROUP, auth=READER_AUTH)
    assert (refused.status_code, refused.json()) == (401, {"Message": "Access Denied."})
    edit = requests.put(
        sandbox.url + GROUPS, json={**GROUP, "Id": group_id}, auth=READER_AUTH, timeout=5
    )
    assert (edit.status_code, edit.json()) == (401, {"Message": "Access Denied."})
    gone = requests.delete(f"{sandbox.url}{GROUPS}/{group_id}", auth=READER_AUTH, timeout=5)
    assert (gone.status_code, gone.json()) == (401, {"Message": "Access Denied."})
    read = requests.get(f"{sandbox.url}{GROUPS}/{group_id}", auth=READER_AUTH, timeout=5)
    listed = requests.get(sandbox.url + GROUPS, auth=READER_AUTH, timeout=5)
    assert read.status_code == 200 and listed.json()["TotalItems"] == 1
    assert len(sandbox.groups.all()) == 1


def test_unknown_ids_are_404(sandbox: Sandbox) -> None:
    missing = get(sandbox, f"{GROUPS}/5")
    assert (missing.status_code, missing.text) == (404, "Not found")
    assert put(sandbox, {**GROUP, "Id": 5}).status_code == 404
    assert requests.delete(f"{sandbox.url}{GROUPS}/5", auth=AUTH, timeout=5).status_code == 404
    assert get(sandbox, f"{GROUPS}/not-a-number").status_code == 404
    assert get(sandbox, "/api/community/communitymessages").status_code == 404  # not served


def test_store_api(sandbox: Sandbox) -> None:
    """What tests do behind the API's back: out-of-band edits and deletes."""
    group_id = sandbox.groups.insert({**GROUP, "SystemId": "pulumi:p/t/g"}, "ui")
    assert sandbox.groups.update(group_id, {"Name": "Renamed", "Members": [11, 12]}, "someone")
    record = sandbox.groups.get(group_id)
    assert record is not None
    assert (record["Name"], record["Members"], record["UpdatedBy"]) == (
        "Renamed",
        [11, 12],
        "someone",
    )
    assert record["SystemId"] == "pulumi:p/t/g" and record["BusinessName"] == "Business 1001"
    assert sandbox.groups.delete(group_id) and not sandbox.groups.delete(group_id)
    assert not sandbox.groups.update(group_id, {"Name": "x"}, "someone")
    assert sandbox.posts_committed == 0  # the store is not the API


def test_commit_delay_times_a_short_client_out_and_the_record_lands_later() -> None:
    faults = Faults(commit_delay_ms=1500)
    with Sandbox(limits=RELAXED, faults=faults) as sandbox:
        sent = datetime.now(UTC)
        with pytest.raises(requests.Timeout):
            requests.post(sandbox.url + GROUPS, json=GROUP, auth=AUTH, timeout=0.3)
        eventually(lambda: [r for r in sandbox.requests if r[0] == "POST"])
        [record] = sandbox.groups.all()
        assert record["Name"] == "Makers"
        created = datetime.fromisoformat(record["CreatedOn"].replace("Z", "+00:00"))
        assert created - sent >= timedelta(milliseconds=1500)  # committed after the wait
        assert sandbox.posts_committed == 1


def test_commit_delay_answers_a_patient_client(sandbox: Sandbox) -> None:
    sandbox.faults.commit_delay_ms = 400
    started = time.monotonic()
    answer = requests.post(sandbox.url + ROOMS, json={"BusinessId": 1001}, auth=AUTH, timeout=10)
    assert time.monotonic() - started >= 0.4
    assert answer.json()["Message"] == "ChatRoom was successfully created."
    assert [r["Id"] for r in sandbox.store.all()] == [answer.json()["Value"]["Id"]]
