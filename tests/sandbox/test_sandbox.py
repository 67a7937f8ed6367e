"""The sandbox behaves as the Nexudus reference describes, seen from a plain HTTP client."""

from __future__ import annotations

import requests

from nexudus_pulumi.sandbox import DEMO_PASSWORD, DEMO_USER, Faults, PublishedLimits, Sandbox
from tests.helpers import AUTH

ROOMS = "/api/support/chatrooms"


def test_validation_failure_uses_the_documented_envelope(sandbox: Sandbox) -> None:
    answer = requests.post(sandbox.url + ROOMS, json={"Name": 5}, auth=AUTH, timeout=5)
    assert answer.status_code == 400
    body = answer.json()
    assert body["WasSuccessful"] is False and body["Value"] is None
    assert {e["PropertyName"] for e in body["Errors"]} == {"BusinessId", "Name"}
    assert "BusinessId: is a required field" in body["Message"]


def test_create_read_update_delete(sandbox: Sandbox) -> None:
    created = requests.post(sandbox.url + ROOMS, json={"BusinessId": 1001}, auth=AUTH, timeout=5)
    assert created.json()["Message"] == "ChatRoom was successfully created."
    room_id = created.json()["Value"]["Id"]
    record = requests.get(f"{sandbox.url}{ROOMS}/{room_id}", auth=AUTH, timeout=5).json()
    assert record["BusinessId"] == 1001 and record["Active"] is False and record["Users"] == []
    assert record["IsNew"] is True and record["UniqueId"]
    updated = requests.put(
        sandbox.url + ROOMS,
        json={"Id": room_id, "BusinessId": 1001, "Name": "N", "AddedUsers": [7]},
        auth=AUTH,
        timeout=5,
    )
    assert updated.json()["Message"] == "ChatRoom was successfully updated."
    assert sandbox.store.get(room_id)["Users"] == [7]  # type: ignore[index]
    deleted = requests.delete(f"{sandbox.url}{ROOMS}/{room_id}", auth=AUTH, timeout=5)
    assert deleted.json()["WasSuccessful"] is True
    gone = requests.get(f"{sandbox.url}{ROOMS}/{room_id}", auth=AUTH, timeout=5)
    assert gone.status_code == 404


def test_search_pages_and_filters(sandbox: Sandbox) -> None:
    for n in range(30):
        sandbox.store.insert({"BusinessId": 1001 if n % 3 else 1002, "Name": f"Room {n}"}, "t")
    page = requests.get(
        sandbox.url + ROOMS,
        params={"ChatRoom_Business": 1001, "page": 2, "size": 8},
        auth=AUTH,
        timeout=5,
    ).json()
    assert page["TotalItems"] == 20 and page["TotalPages"] == 3
    assert page["HasNextPage"] is True and page["HasPreviousPage"] is True
    assert len(page["Records"]) == 8
    assert all(r["BusinessId"] == 1001 for r in page["Records"])
    named = requests.get(
        sandbox.url + ROOMS, params={"ChatRoom_Name": "room 2"}, auth=AUTH, timeout=5
    ).json()
    # a text filter matches by "contains", ignoring case: Room 2 and Room 20 to Room 29
    assert sorted(r["Name"] for r in named["Records"]) == ["Room 2"] + [
        f"Room {n}" for n in range(20, 30)
    ]


def test_token_endpoint_wants_a_form_not_json(sandbox: Sandbox) -> None:
    form = {"grant_type": "password", "username": DEMO_USER, "password": DEMO_PASSWORD}
    as_json = requests.post(sandbox.url + "/api/token", json=form, timeout=5)
    assert as_json.json()["error"] == "unsupported_grant_type"
    token = requests.post(sandbox.url + "/api/token", data=form, timeout=5).json()
    assert token["token_type"] == "bearer"
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    assert requests.get(sandbox.url + ROOMS, headers=headers, timeout=5).status_code == 200
    assert requests.get(sandbox.url + ROOMS, timeout=5).status_code == 401


def test_throttling_is_409_with_retry_after() -> None:
    with Sandbox(limits=PublishedLimits(min_interval=0.5)) as sandbox:
        first = requests.get(sandbox.url + ROOMS, auth=AUTH, timeout=5)
        second = requests.get(sandbox.url + ROOMS, auth=AUTH, timeout=5)
    assert first.status_code == 200
    assert second.status_code == 409
    assert second.headers["Retry-After"] == "1"
    assert second.content == b""


def test_injected_faults_fall_on_the_same_ordinals_whatever_the_interleaving() -> None:
    """Concurrent clients reach the sandbox in a different order on every run; a seeded fault
    test must still see the same faults, or it passes on one run and fails on the next."""

    def fates(order: list[str]) -> dict[str, list[bool]]:
        faults = Faults(error_rate=0.3, drop_after_commit_rate=0.3, seed=5)
        seen: dict[str, list[bool]] = {"GET error": [], "drop after commit": []}
        for kind in order:
            seen[kind].append(faults.roll(0.3, kind))
        return seen

    alternating = ["GET error", "drop after commit"] * 20
    grouped = sorted(alternating)
    one = fates(alternating)
    assert one == fates(grouped)
    assert any(one["GET error"]) and not all(one["GET error"])  # the rate is applied
