"""The CommunityGroup record type: check, diff, and its lifecycle over real HTTP against the
sandbox (whose group validation is written from the API notes, apart from the provider's model),
including lost answers, adoption and the request budget the shared machinery promises."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from nexudus_pulumi import CommunityGroupProvider
from nexudus_pulumi.provider import UNKNOWN, RecordOperationError
from nexudus_pulumi.sandbox import READER_PASSWORD, READER_USER, Faults, Sandbox
from tests.helpers import (
    RELAXED,
    Created,
    configure,
    create,
    sandbox_config,
    settled_requests,
    spent,
)

GROUPS = "/api/community/communitygroups"


def group(key: str, **fields: Any) -> dict[str, Any]:
    """Inputs as the engine passes them after check: numbers arrive as floats."""
    props: dict[str, Any] = {
        "businessId": 1001.0,
        "name": key.title(),
        "userId": 11.0,
        "ownerTag": f"p/t/{key}",
    }
    props.update(fields)
    return props


def provider_for(sandbox: Sandbox, **overrides: Any) -> CommunityGroupProvider:
    return configure(CommunityGroupProvider(), sandbox_config(sandbox, **overrides))


@pytest.fixture
def provider(sandbox: Sandbox) -> CommunityGroupProvider:
    return provider_for(sandbox)


def stored(sandbox: Sandbox, created: Created) -> dict[str, Any]:
    record = sandbox.groups.get(int(created.id))
    assert record is not None
    return record


# ----- check ---------------------------------------------------------------------------------

VALID = {"businessId": 1001, "name": "Makers", "userId": 11}


@pytest.mark.parametrize(
    ("change", "prop", "words"),
    [
        ({"businessId": None}, "businessId", "is required"),
        ({"name": None}, "name", "is required"),
        ({"userId": None}, "userId", "is required"),  # the administrator
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
        ({"takeOver": "yes"}, "takeOver", "boolean"),
        ({"users": [12]}, "users", "not a known property"),  # a room's field, not a group's
    ],
)
def test_check_names_the_bad_property(change: dict[str, Any], prop: str, words: str) -> None:
    news = {k: v for k, v in {**VALID, **change}.items() if v is not None}
    result = CommunityGroupProvider().check({}, news)
    assert [f.property for f in result.failures] == [prop]
    assert words in result.failures[0].reason


def test_check_reports_every_missing_field_at_once() -> None:
    result = CommunityGroupProvider().check({}, {"groupAccess": "hidden"})
    assert {f.property for f in result.failures} == {"businessId", "name", "userId", "groupAccess"}


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
    result = CommunityGroupProvider().check({}, {**VALID, "userId": UNKNOWN, "members": [UNKNOWN]})
    assert result.failures == []
    result = CommunityGroupProvider().check({}, {**VALID, "userId": UNKNOWN, "groupAccess": "x"})
    assert [f.property for f in result.failures] == ["groupAccess"]


def test_check_makes_no_api_call(sandbox: Sandbox, provider: CommunityGroupProvider) -> None:
    before = settled_requests(sandbox, 1)  # configuring proved the credentials: one token POST
    provider.check({}, {"name": "Makers", "groupAccess": "secret"})
    provider.check({}, VALID)
    assert settled_requests(sandbox) == before


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
        ({}, False, []),
        ({"members": [13.0, 12.0]}, False, []),  # a set: order is never a change
        ({"groupAccess": "Public"}, False, []),
        ({"description": None, "groupAccess": None}, False, []),  # undeclared: not compared
        ({"businessId": 1002.0}, True, ["businessId"]),
        ({"businessId": UNKNOWN}, True, ["businessId"]),
        ({"description": "Laser cutting"}, True, []),
        ({"name": "Makers' club"}, True, []),
        ({"userId": 12.0}, True, []),  # a new administrator: in place
        ({"groupAccess": "private"}, True, []),
        ({"members": [12]}, True, []),
        ({"members": []}, True, []),  # declared empty: nobody, exactly
        ({"ownerTag": "p/renamed/makers"}, True, []),
    ],
)
def test_diff(change: dict[str, Any], changes: bool, replaces: list[str]) -> None:
    news = {k: v for k, v in {**DECLARED, **change}.items() if v is not None}
    result = CommunityGroupProvider().diff("1", OLD, news)
    assert result.changes is changes
    assert result.replaces == replaces


def test_diff_ignores_a_hand_edit_of_an_undeclared_field() -> None:
    olds = {**OLD, "description": "Written by a community manager", "members": [12, 13, 40]}
    news = {k: v for k, v in DECLARED.items() if k not in ("description", "members")}
    assert CommunityGroupProvider().diff("1", olds, news).changes is False


# ----- create, read, update, delete over HTTP -------------------------------------------------


def test_create_returns_the_servers_id_and_sends_the_declared_fields(
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
    assert record["SystemId"] == "pulumi:p/t/makers"
    assert created.outs["groupAccess"] == "private"
    assert created.outs["systemId"] == record["SystemId"]
    assert spent(sandbox, collection=GROUPS) == Counter({"POST": 1, "LIST": 1})


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
        ({"businessId": 4242.0}, "BusinessId: business 4242 does not exist"),
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


def test_missing_role_names_the_groups_role(sandbox: Sandbox) -> None:
    reader = provider_for(sandbox, username=READER_USER, password=READER_PASSWORD)
    with pytest.raises(RecordOperationError, match="lacks the role CommunityGroup-Create"):
        reader.create(group("makers"))


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
    return provider_for(sandbox)


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


def test_read_of_a_deleted_group_tells_the_engine_it_is_gone(
    sandbox: Sandbox, provider: CommunityGroupProvider
) -> None:
    created = create(provider, group("makers"))
    sandbox.groups.delete(int(created.id))
    assert make_refresher(sandbox).read(created.id, created.outs).id is None


def test_update_changes_in_place_and_keeps_undeclared_fields(
    sandbox: Sandbox, provider: CommunityGroupProvider
) -> None:
    created = create(provider, group("makers", members=[12.0, 13.0]))
    sandbox.groups.update(int(created.id), {"Description": "by hand", "GroupAccess": 3}, "cm")
    updater = make_refresher(sandbox)
    before = len(sandbox.requests)
    news = updater.check(created.outs, group("makers", name="Makers club", members=[13.0])).inputs
    result = updater.update(created.id, created.outs, news)
    record = stored(sandbox, created)
    assert (record["Name"], record["Members"]) == ("Makers club", [13])  # exactly the set
    assert (record["Description"], record["GroupAccess"]) == ("by hand", 3)  # not declared
    assert result.outs is not None and result.outs["name"] == "Makers club"
    # written from a fresh read by id, never from a listing
    assert spent(sandbox, before, GROUPS) == Counter({"GET by id": 1, "PUT": 1})


def test_a_new_business_replaces_the_group(
    sandbox: Sandbox, provider: CommunityGroupProvider
) -> None:
    created = create(provider, group("makers"))
    news = group("makers", businessId=1002.0)
    assert provider.diff(created.id, created.outs, news).replaces == ["businessId"]
    # what the engine then does: create the replacement (same marker), delete the old one
    replacement = create(provider, news)
    assert replacement.id != created.id
    provider.delete(created.id, created.outs)
    [record] = sandbox.groups.all()
    assert (str(record["Id"]), record["BusinessId"]) == (replacement.id, 1002)


def test_delete_removes_and_tolerates_already_deleted(
    sandbox: Sandbox, provider: CommunityGroupProvider
) -> None:
    created = create(provider, group("makers"))
    provider.delete(created.id, created.outs)
    assert sandbox.groups.all() == []
    provider.delete(created.id, created.outs)
    assert sandbox.requests[-1] == ("GET", f"{GROUPS}/{created.id}", 404)


# ----- exactly once, adoption ------------------------------------------------------------------


def test_lost_create_answer_adopts_the_committed_group(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with Sandbox(limits=RELAXED, faults=Faults(drop_after_commit_rate=1.0)) as sandbox:
        created = create(provider_for(sandbox), group("makers"))
        sandbox.wait_idle()
        [record] = sandbox.groups.all()
        assert created.id == str(record["Id"])
        assert sandbox.posts_by_record["CommunityGroup"] == 1  # found by marker, not re-posted
    err = capsys.readouterr().err
    assert (
        f"CommunityGroup 'makers' (name 'Makers'): create answer lost; found id {created.id}" in err
    )


def test_create_finds_a_group_left_by_a_killed_run(sandbox: Sandbox) -> None:
    orphan = create(provider_for(sandbox), group("makers"))  # Pulumi died before saving its id
    again = create(provider_for(sandbox), group("makers", name="Renamed since", members=[12.0]))
    assert again.id == orphan.id
    [record] = sandbox.groups.all()
    assert (record["Name"], record["Members"]) == ("Renamed since", [12])
    assert sandbox.posts_committed == 1


def test_import_id_adopts_an_existing_group_without_a_post(
    sandbox: Sandbox, provider: CommunityGroupProvider
) -> None:
    legacy = sandbox.groups.insert(
        {"BusinessId": 1001, "UserId": 11, "Name": "Legacy", "GroupAccess": 2}, "ui"
    )
    declared = group("legacy", groupAccess="public", importId=float(legacy))
    created = create(provider, declared)
    assert created.id == str(legacy)
    assert sandbox.posts_committed == 0
    assert stored(sandbox, created)["SystemId"] == "pulumi:p/t/legacy"
    del declared["importId"]  # once managed, the import id is bookkeeping
    assert provider.diff(created.id, created.outs, declared).changes is False


def test_import_id_of_another_resources_group_is_refused_unless_taken_over(
    sandbox: Sandbox, provider: CommunityGroupProvider
) -> None:
    theirs = sandbox.groups.insert(
        {"BusinessId": 1001, "UserId": 11, "Name": "Legacy", "SystemId": "pulumi:x/prod/g#cafe"},
        "ui",
    )
    with pytest.raises(RecordOperationError) as caught:
        provider.create(group("legacy", importId=float(theirs)))
    assert "managed by the Pulumi resource x/prod/g" in str(caught.value)
    assert "takeOver: true" in str(caught.value)
    create(provider, group("legacy", importId=float(theirs), takeOver=True))
    assert sandbox.groups.get(theirs)["SystemId"] == "pulumi:p/t/legacy"  # type: ignore[index]
    assert sandbox.posts_committed == 0


# ----- the request budget ----------------------------------------------------------------------

COUNT = 30


def create_groups(provider: CommunityGroupProvider) -> list[Created]:
    """As the engine runs them: four operations at a time."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda n: create(provider, group(f"group-{n:02d}")), range(COUNT)))


def test_n_creates_cost_n_posts_and_one_listing(
    sandbox: Sandbox, provider: CommunityGroupProvider
) -> None:
    created = create_groups(provider)
    assert len({c.id for c in created}) == COUNT == len(sandbox.groups.all())
    assert spent(sandbox, collection=GROUPS) == Counter({"POST": COUNT, "LIST": 1})


def test_refreshing_n_groups_costs_one_get_each_and_one_listing(
    sandbox: Sandbox, provider: CommunityGroupProvider
) -> None:
    created = create_groups(provider)
    refresher = make_refresher(sandbox)
    before = len(sandbox.requests)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda c: refresher.read(c.id, c.outs), created))
    assert [r.id for r in results] == [c.id for c in created]
    # a listing carries no Members: each group is read by id; the listing finds duplicates
    assert spent(sandbox, before, GROUPS) == Counter({"GET by id": COUNT, "LIST": 1})
