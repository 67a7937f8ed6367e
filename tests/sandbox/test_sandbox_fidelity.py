"""The sandbox answers as Nexudus really does (the notes' section "Listings, updates and errors as
Nexudus really behaves"), point by point over plain HTTP, and each `Fidelity` switch gives the
other reading of a question the sources leave open."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import requests

from nexudus_pulumi.cli import main
from nexudus_pulumi.sandbox import ACCESS_DENIED, OOOPS, Faults, Fidelity, PublishedLimits, Sandbox
from tests.helpers import AUTH, READER_AUTH, RELAXED

ROOMS = "/api/support/chatrooms"
GROUPS = "/api/community/communitygroups"
GROUP = {"BusinessId": 1001, "UserId": 11, "Name": "Makers", "GroupAccess": 1}
MARKER = "pulumi:p/t/lobby#aaaaaaaaaaaaaaaa"


def get(sandbox: Sandbox, path: str, **params: Any) -> requests.Response:
    return requests.get(sandbox.url + path, params=params, auth=AUTH, timeout=5)


def listed(sandbox: Sandbox, path: str, **params: Any) -> list[dict[str, Any]]:
    answer = get(sandbox, path, **params)
    assert answer.status_code == 200, answer.text
    records: list[dict[str, Any]] = answer.json()["Records"]
    return records


def put(sandbox: Sandbox, path: str, body: dict[str, Any]) -> requests.Response:
    return requests.put(sandbox.url + path, json=body, auth=AUTH, timeout=5)


def post(sandbox: Sandbox, path: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(sandbox.url + path, json=body, auth=AUTH, timeout=5)


def record(sandbox: Sandbox, path: str, record_id: int) -> dict[str, Any]:
    answer = get(sandbox, f"{path}/{record_id}")
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


# ----- listings are a projection ----------------------------------------------------------------


def test_listings_leave_out_the_collections_and_get_by_id_shows_them(sandbox: Sandbox) -> None:
    full = sandbox.store.insert({"BusinessId": 1001, "Users": [11, 12], "SystemId": MARKER}, "ui")
    empty = sandbox.store.insert({"BusinessId": 1001}, "ui")
    group = sandbox.groups.insert({**GROUP, "Members": [12, 13]}, "ui")
    for path, keys in (
        (ROOMS, ("Users", "AddedUsers", "RemovedUsers")),
        (GROUPS, ("Members", "AddedMembers", "RemovedMembers")),
    ):
        for listed_record in listed(sandbox, path):
            assert not set(keys) & listed_record.keys(), listed_record
            assert listed_record["BusinessId"] == 1001  # the scalars are there
    assert listed(sandbox, ROOMS)[0]["SystemId"] == MARKER  # by default listings carry it
    assert record(sandbox, ROOMS, full)["Users"] == [11, 12]
    assert record(sandbox, ROOMS, empty)["Users"] == []
    assert record(sandbox, GROUPS, group)["Members"] == [12, 13]


def test_without_listing_system_id_only_get_by_id_shows_the_marker(sandbox: Sandbox) -> None:
    sandbox.fidelity = Fidelity(listing_system_id=False)
    room = sandbox.store.insert({"BusinessId": 1001, "SystemId": MARKER}, "ui")
    group = sandbox.groups.insert({**GROUP, "SystemId": MARKER}, "ui")
    assert "SystemId" not in listed(sandbox, ROOMS)[0]
    assert "SystemId" not in listed(sandbox, GROUPS)[0]
    assert record(sandbox, ROOMS, room)["SystemId"] == MARKER
    assert record(sandbox, GROUPS, group)["SystemId"] == MARKER


def test_listings_may_carry_the_system_id_key_always_null(sandbox: Sandbox) -> None:
    """One more reading the sources allow: the key is in the listing's projection, its value
    never filled. Only GET by id shows the marker."""
    sandbox.fidelity = Fidelity(listing_system_id_null=True)
    room = sandbox.store.insert({"BusinessId": 1001, "SystemId": MARKER}, "ui")
    group = sandbox.groups.insert({**GROUP, "SystemId": MARKER}, "ui")
    for path, record_id in ((ROOMS, room), (GROUPS, group)):
        [listed_record] = listed(sandbox, path)
        assert "SystemId" in listed_record and listed_record["SystemId"] is None
        assert record(sandbox, path, record_id)["SystemId"] == MARKER


# ----- query parameters -------------------------------------------------------------------------


@pytest.mark.parametrize("path", [ROOMS, GROUPS])
def test_unknown_parameters_are_ignored_and_the_system_id_filter_is_a_switch(
    sandbox: Sandbox, path: str
) -> None:
    store = sandbox.stores[path]
    mine = store.insert({**GROUP, "SystemId": MARKER}, "ui")
    store.insert({**GROUP, "SystemId": MARKER + "x"}, "ui")
    store.insert(GROUP, "ui")
    name = store.collection.record + "_SystemId"
    assert len(listed(sandbox, path, **{f"{store.collection.record}_Colour": "red"})) == 3
    assert len(listed(sandbox, path, **{name: MARKER})) == 3  # not honoured: every record
    sandbox.fidelity = Fidelity(system_id_filter=True)
    assert [r["Id"] for r in listed(sandbox, path, **{name: MARKER})] == [mine]  # exact match


def test_a_page_holds_up_to_1000_records(sandbox: Sandbox) -> None:
    for n in range(1003):
        sandbox.store.insert({"BusinessId": 1001, "Name": f"Room {n}"}, "t")
    page = get(sandbox, ROOMS, size=5000).json()
    assert (page["CurrentPageSize"], len(page["Records"]), page["TotalPages"]) == (1000, 1000, 2)
    assert len(listed(sandbox, ROOMS, size=1000, page=2)) == 3


@pytest.mark.parametrize("path", [ROOMS, GROUPS])
def test_updated_on_range_filters(sandbox: Sandbox, path: str) -> None:
    store = sandbox.stores[path]
    record_id = store.insert(GROUP, "ui")
    minute = str(store.get(record_id)["UpdatedOn"])[:16]  # type: ignore[index]
    name = f"{store.collection.record}_UpdatedOn"
    assert len(listed(sandbox, path, **{f"from_{name}": minute, f"to_{name}": minute})) == 1
    assert listed(sandbox, path, **{f"from_{name}": "2999-01-01T00:00"}) == []
    assert listed(sandbox, path, **{f"to_{name}": "2000-01-01T00:00"}) == []


# ----- PUT needs the whole record ---------------------------------------------------------------


def test_put_refuses_a_missing_required_field_and_clears_what_it_is_not_sent(
    sandbox: Sandbox,
) -> None:
    room = sandbox.store.insert(
        {"BusinessId": 1001, "Name": "Lobby", "Active": True, "Users": [11], "SystemId": MARKER},
        "ui",
    )
    refused = put(sandbox, ROOMS, {"Id": room, "Name": "Only the name"})
    assert refused.status_code == 400
    assert refused.json()["Message"] == "BusinessId: is a required field"
    assert put(sandbox, ROOMS, {"Id": room, "BusinessId": 1001}).status_code == 200
    after = record(sandbox, ROOMS, room)
    assert (after["Name"], after["Active"], after["Users"], after["SystemId"]) == (
        None,
        False,
        [],
        None,
    )


def test_put_keeps_what_it_is_not_sent_under_the_switch(sandbox: Sandbox) -> None:
    sandbox.fidelity = Fidelity(put_clears_omitted=False)
    room = sandbox.store.insert(
        {"BusinessId": 1001, "Name": "Lobby", "Active": True, "Users": [11], "SystemId": MARKER},
        "ui",
    )
    assert put(sandbox, ROOMS, {"Id": room, "BusinessId": 1002}).status_code == 200
    after = record(sandbox, ROOMS, room)
    assert (after["BusinessId"], after["Name"], after["Active"]) == (1002, "Lobby", True)
    assert (after["Users"], after["SystemId"]) == ([11], MARKER)
    # a value sent, even null, is written
    put(sandbox, ROOMS, {"Id": room, "BusinessId": 1002, "Name": None, "Users": [12]})
    after = record(sandbox, ROOMS, room)
    assert (after["Name"], after["Users"], after["SystemId"]) == (None, [12], MARKER)


@pytest.mark.parametrize("clears", [True, False])
def test_added_and_removed_users_merge_into_the_list(sandbox: Sandbox, clears: bool) -> None:
    sandbox.fidelity = Fidelity(put_clears_omitted=clears)
    room = sandbox.store.insert({"BusinessId": 1001, "Users": [11, 12]}, "ui")
    body = {"Id": room, "BusinessId": 1001, "AddedUsers": [13, 11], "RemovedUsers": [12]}
    assert put(sandbox, ROOMS, body).status_code == 200
    assert record(sandbox, ROOMS, room)["Users"] == [11, 13]
    # with a full list, the list replaces, and the deltas apply to it
    put(sandbox, ROOMS, {"Id": room, "BusinessId": 1001, "Users": [20], "AddedUsers": [21]})
    assert record(sandbox, ROOMS, room)["Users"] == [20, 21]


# ----- UpdatedOn and membership -----------------------------------------------------------------


@pytest.mark.parametrize("bumps", [False, True])
def test_a_membership_change_moves_updated_on_only_under_the_switch(
    sandbox: Sandbox, bumps: bool
) -> None:
    sandbox.fidelity = Fidelity(membership_bumps_updated_on=bumps)
    room = sandbox.store.insert({"BusinessId": 1001, "Name": "Lobby"}, "ui")
    stamps = [record(sandbox, ROOMS, room)["UpdatedOn"]]
    answer = put(sandbox, ROOMS, {"Id": room, "BusinessId": 1001, "Name": "Lobby", "Users": [11]})
    stamps.append(record(sandbox, ROOMS, room)["UpdatedOn"])
    assert answer.json()["UpdatedOn"] == stamps[-1]  # the answer tells the record's UpdatedOn
    sandbox.add_member(ROOMS, room, 12)
    stamps.append(record(sandbox, ROOMS, room)["UpdatedOn"])
    sandbox.remove_member(ROOMS, room, 11)
    stamps.append(record(sandbox, ROOMS, room)["UpdatedOn"])
    assert record(sandbox, ROOMS, room)["Users"] == [12]
    assert all((before != after) is bumps for before, after in itertools.pairwise(stamps))
    # any other change moves it, under either reading
    sandbox.edit(ROOMS, room, Name="Front desk")
    assert record(sandbox, ROOMS, room)["UpdatedOn"] != stamps[-1]
    put(sandbox, ROOMS, {"Id": room, "BusinessId": 1001, "Name": "Lobby", "Users": [12]})
    assert record(sandbox, ROOMS, room)["Name"] == "Lobby"


def test_out_of_band_helpers_work_on_groups(sandbox: Sandbox) -> None:
    group = sandbox.groups.insert({**GROUP, "Members": [11]}, "ui")
    sandbox.add_member(GROUPS, group, 12)
    sandbox.add_member(GROUPS, group, 12)  # already a member: no repeat
    sandbox.edit(GROUPS, group, Description="3D printing")
    after = record(sandbox, GROUPS, group)
    assert (after["Members"], after["Description"]) == ([11, 12], "3D printing")
    with pytest.raises(KeyError):
        sandbox.add_member(GROUPS, 1, 12)


# ----- writes' answers --------------------------------------------------------------------------


def test_a_create_answers_the_id_or_under_the_switch_the_whole_record(sandbox: Sandbox) -> None:
    first = post(sandbox, ROOMS, {"BusinessId": 1001, "Users": [11]}).json()
    assert first["Value"] == {"Id": first["Value"]["Id"]}
    sandbox.fidelity = Fidelity(create_answers_record=True)
    second = post(sandbox, GROUPS, GROUP).json()
    assert second["Value"] == record(sandbox, GROUPS, second["Value"]["Id"])
    assert second["Value"]["Members"] == [] and second["WasSuccessful"] is True


def test_a_business_rule_refusal_is_http_200_with_was_successful_false(sandbox: Sandbox) -> None:
    room = sandbox.store.insert({"BusinessId": 1001}, "ui")
    sandbox.undeletable[room] = "This chat room has messages and cannot be deleted."
    answer = requests.delete(f"{sandbox.url}{ROOMS}/{room}", auth=AUTH, timeout=5)
    assert answer.status_code == 200
    body = answer.json()
    assert body["WasSuccessful"] is False
    assert body["Message"] == "This chat room has messages and cannot be deleted."
    assert sandbox.store.get(room) is not None


def test_a_missing_id_is_404_not_found(sandbox: Sandbox) -> None:
    room = sandbox.store.insert({"BusinessId": 1001}, "ui")
    assert requests.delete(f"{sandbox.url}{ROOMS}/{room}", auth=AUTH, timeout=5).ok
    answers = [
        get(sandbox, f"{ROOMS}/{room}"),
        put(sandbox, ROOMS, {"Id": room, "BusinessId": 1001}),
        requests.delete(f"{sandbox.url}{ROOMS}/{room}", auth=AUTH, timeout=5),  # again
        get(sandbox, f"{GROUPS}/{room}"),
    ]
    assert [(a.status_code, a.text) for a in answers] == [(404, "Not found")] * 4


def test_a_missing_role_is_401_access_denied(sandbox: Sandbox) -> None:
    refused = requests.post(
        sandbox.url + ROOMS, json={"BusinessId": 1001}, auth=READER_AUTH, timeout=5
    )
    assert (refused.status_code, refused.json()) == (401, {"Message": ACCESS_DENIED})
    assert requests.get(sandbox.url + ROOMS, auth=READER_AUTH, timeout=5).status_code == 200
    assert sandbox.store.all() == [] and sandbox.written == []


# ----- failures ---------------------------------------------------------------------------------


def test_transient_500s_carry_the_plain_message_and_come_in_bursts() -> None:
    faults = Faults(transient_500_rate=0.1, error_burst=3, seed=4)
    with Sandbox(limits=RELAXED, faults=faults) as sandbox:
        with requests.Session() as http:
            answers = [http.get(sandbox.url + ROOMS, auth=AUTH, timeout=5) for _ in range(80)]
            posted = [
                http.post(sandbox.url + ROOMS, json={"BusinessId": 1001}, auth=AUTH, timeout=5)
                for _ in range(20)
            ]
        answers += posted
        failed = [a for a in answers if a.status_code == 500]
        assert failed and all(a.json() == {"Message": OOOPS} for a in failed)
        statuses = "".join("x" if a.status_code == 500 else "." for a in answers)
        runs = statuses.rstrip("x").replace(".", " ").split()  # a burst cut by the end aside
        assert runs and all(len(run) >= 3 for run in runs), statuses
        # a refused POST wrote nothing
        assert len(sandbox.store.all()) == sum(a.status_code == 200 for a in posted)


def test_bursts_fall_on_the_same_ordinals_whatever_the_interleaving() -> None:
    def fates(order: list[str]) -> dict[str, list[bool]]:
        faults = Faults(seed=9)
        seen: dict[str, list[bool]] = {"server error": [], "drop after commit": []}
        for kind in order:
            seen[kind].append(faults.roll(0.2, kind, burst=4))
        return seen

    alternating = ["server error", "drop after commit"] * 30
    assert fates(alternating) == fates(sorted(alternating))


@pytest.mark.parametrize("status", [409, 429])
def test_throttling_reads_as_the_switch_says(status: int) -> None:
    with Sandbox(
        limits=PublishedLimits(min_interval=0.5), fidelity=Fidelity(throttle_status=status)
    ) as box:
        assert get(box, ROOMS).status_code == 200
        throttled = get(box, ROOMS)
    assert throttled.status_code == status
    if status == 409:
        assert (throttled.headers["Retry-After"], throttled.content) == ("1", b"")
    else:
        assert "Retry-After" not in throttled.headers
        assert throttled.headers["Content-Type"].startswith("text/plain")
        assert throttled.text == "Wait 1 seconds."


def test_the_fidelity_can_change_while_the_sandbox_serves(sandbox: Sandbox) -> None:
    sandbox.store.insert({"BusinessId": 1001, "SystemId": MARKER}, "ui")
    assert "SystemId" in listed(sandbox, ROOMS)[0]
    sandbox.fidelity.listing_system_id = False  # changed in place, as Faults are
    assert "SystemId" not in listed(sandbox, ROOMS)[0]


# ----- the switches themselves ------------------------------------------------------------------


def test_combinations_enumerate_every_reading_once() -> None:
    combinations = {fidelity.key() for fidelity in Fidelity.combinations()}
    assert len(Fidelity.combinations()) == len(combinations) == 256
    variants = Fidelity.variants()
    assert {v.key() for v in variants.values()} <= combinations
    assert variants["default"] == Fidelity()
    assert variants["throttle_status"] == Fidelity(throttle_status=429)
    assert variants["adversarial"] == Fidelity(
        listing_system_id=False, throttle_status=429, token_counts=True
    )
    assert len({v.key() for v in variants.values()}) == len(variants) == 11
    with pytest.raises(ValueError, match="409 or 429"):
        Fidelity(throttle_status=500)
    with pytest.raises(ValueError, match="409 or 429"):
        variants["default"].throttle_status = 503


# ----- the command line -------------------------------------------------------------------------


def sandbox_of(monkeypatch: pytest.MonkeyPatch, *flags: str) -> Sandbox:
    """The sandbox `nexudus-pulumi sandbox FLAGS` makes, without serving it."""
    served: list[Sandbox] = []

    def serve(self: Sandbox) -> None:
        served.append(self)
        self._server.server_close()  # never served: nothing to shut down

    monkeypatch.setattr(Sandbox, "serve_forever", serve)
    assert main(["sandbox", "--port", "0", *flags]) == 0
    [sandbox] = served
    return sandbox


@pytest.mark.parametrize(("name", "fidelity"), sorted(Fidelity.variants().items()))
def test_each_reading_has_a_sandbox_flag(
    name: str, fidelity: Fidelity, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert sandbox_of(monkeypatch, *fidelity.flags()).fidelity == fidelity, name


def test_faults_quotas_and_hosts_have_sandbox_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    flags = ["--transient-500-rate", "0.2", "--error-burst", "3", "--writes-per-day", "2500"]
    sandbox = sandbox_of(monkeypatch, *flags, "--allow-host", "sandbox.test")
    assert (sandbox.faults.transient_500_rate, sandbox.faults.error_burst) == (0.2, 3)
    assert sandbox.throttle.limits.writes_per_day == 2500
    assert any(host.startswith("sandbox.test:") for host in sandbox.allowed_hosts)
