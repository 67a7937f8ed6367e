"""What every record type promises, checked for each one in the registry (`kinds.KINDS`), from its
example entry, over real HTTP against the sandbox, through both front doors: the dynamic
providers, and the plugin `pulumi-resource-nexudus` (tests/front_doors.py sends it what the
engine would).

`check` names the bad property; create, read, update and delete; a field left out is Nexudus's;
a lost create answer and a killed run's leftover are adopted, never duplicated; `importId`
adopts, refuses another owner's record unless `takeOver`; and the request budget: N creates cost
N POSTs and one listing, a refresh a GET by id per record and one listing, an update a GET and a
PUT, a delete a GET and a DELETE. A type's own rules (its field types, its API codes) are in its
module's tests (tests/provider/test_chatroom.py, tests/provider/test_communitygroup.py...).
"""

from __future__ import annotations

import inspect
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from pydantic.alias_generators import to_snake

from nexudus_pulumi.errors import ApiRejectedError, AuthorizationError
from nexudus_pulumi.kinds import KINDS
from nexudus_pulumi.models import normalise
from nexudus_pulumi.provider import UNKNOWN, RecordOperationError
from nexudus_pulumi.recordkind import RecordKind
from nexudus_pulumi.sandbox import READER_PASSWORD, READER_USER, Faults, Sandbox
from tests import helpers
from tests.front_doors import PluginDoor
from tests.helpers import (
    BUSINESS,
    RELAXED,
    Created,
    api_record,
    create,
    declaration,
    example_of,
    hand_edit,
    records,
    renamable,
    settled_requests,
    spent,
)

Kind = RecordKind[Any]
Door = Any
"""A record type's front door: a `RecordProvider`, or a `PluginDoor` answering as one."""

FRONT_DOORS = ("dynamic", "plugin")
dynamic_only = pytest.mark.dynamic_only
"""A promise of the dynamic front door alone (`importId`: the plugin adopts by `pulumi import`,
tests/e2e/test_plugin_yaml.py)."""


@pytest.fixture(autouse=True, params=FRONT_DOORS)
def front_door(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test once per front door: `provider_for` and `unconfigured` of this module open
    the door the parameter names."""
    door = str(request.param)
    if door == "plugin":
        if request.node.get_closest_marker("dynamic_only"):
            pytest.skip("the plugin adopts through `pulumi import`, not importId")
        module = sys.modules[__name__]
        monkeypatch.setattr(module, "provider_for", plugin_for)
        monkeypatch.setattr(module, "unconfigured", PluginDoor)
    return door


def provider_for(kind: Kind, sandbox: Sandbox, **overrides: Any) -> Door:
    """A new provider process for `kind`, configured for `sandbox`."""
    return helpers.provider_for(kind, sandbox, **overrides)


def plugin_for(kind: Kind, sandbox: Sandbox, **overrides: Any) -> Door:
    return PluginDoor(kind).configure(helpers.sandbox_config(sandbox, **overrides))


def unconfigured(kind: Kind) -> Door:
    """A provider before any configuration: what `check` runs with at a preview offline."""
    return kind.resource.provider_type()


def by_kind(kind: Kind) -> str:
    return kind.map_name


def required(kind: Kind) -> list[str]:
    return [
        f for f in kind.model.record_fields() if kind.model.model_fields[to_snake(f)].is_required()
    ]


def undeclared(kind: Kind) -> list[str]:
    """The kind's optional fields its example leaves out: Nexudus's to change."""
    return [f for f in kind.model.record_fields() if f not in {*example_of(kind), *required(kind)}]


def per_field(fields: Any) -> list[Any]:
    """(kind, field) parameters, one per field `fields(kind)` names, with readable ids."""
    return [
        pytest.param(kind, field, id=f"{kind.map_name}.{field}")
        for kind in KINDS
        for field in fields(kind)
    ]


every_kind = pytest.mark.parametrize("kind", KINDS, ids=by_kind)


def stored(sandbox: Sandbox, kind: Kind, created: Created) -> dict[str, Any]:
    record = records(sandbox, kind).get(int(created.id))
    assert record is not None, f"{kind.noun} {created.id} is gone"
    return record


def api(field: str) -> str:
    return field[:1].upper() + field[1:]


# ----- check ---------------------------------------------------------------------------------


@every_kind
def test_check_accepts_the_example_and_keeps_only_what_it_declares(kind: Kind) -> None:
    news = declaration(kind, "first")
    del news["ownerTag"]
    result = unconfigured(kind).check({}, news)
    assert result.failures == []
    assert set(result.inputs) == {*example_of(kind), "businessId"}  # no default: Nexudus's
    assert result.inputs["businessId"] == BUSINESS  # numbers as the engine sends them, whole


@pytest.mark.parametrize(("kind", "field"), per_field(required))
def test_check_names_a_missing_required_field(kind: Kind, field: str) -> None:
    news = {k: v for k, v in declaration(kind, "first").items() if k != field}
    result = unconfigured(kind).check({}, news)
    assert [(f.property, "required" in f.reason) for f in result.failures] == [(field, True)]


@pytest.mark.parametrize(("kind", "field"), per_field(lambda kind: kind.model.record_fields()))
def test_check_names_a_value_of_the_wrong_shape(kind: Kind, field: str) -> None:
    result = unconfigured(kind).check({}, declaration(kind, "first", **{field: {"a": 1}}))
    assert [f.property for f in result.failures] == [field]


@every_kind
def test_check_names_an_unknown_property_and_every_problem_at_once(kind: Kind) -> None:
    result = unconfigured(kind).check({}, {"colour": "red"})
    assert {f.property for f in result.failures} == {*required(kind), "colour"}
    [unknown] = [f for f in result.failures if f.property == "colour"]
    assert "not a known property" in unknown.reason


@every_kind
def test_check_accepts_values_unknown_during_preview(kind: Kind) -> None:
    unknown = dict.fromkeys(required(kind), UNKNOWN)
    result = unconfigured(kind).check({}, declaration(kind, "first", **unknown))
    assert result.failures == []
    # a known bad value is still reported next to an unknown one
    result = unconfigured(kind).check({}, {**unknown, "takeOver": "yes"})
    assert [f.property for f in result.failures] == ["takeOver"]


@every_kind
def test_check_makes_no_api_call(kind: Kind, sandbox: Sandbox) -> None:
    provider = provider_for(kind, sandbox)  # configuring proves the credentials: one token POST
    before = settled_requests(sandbox, 1)
    provider.check({}, {"businessId": "nope"})
    provider.check({}, declaration(kind, "first"))
    assert settled_requests(sandbox) == before


# ----- diff ----------------------------------------------------------------------------------


@every_kind
def test_diff_compares_what_is_declared_and_moves_a_record_to_a_new_business_in_place(
    kind: Kind, sandbox: Sandbox
) -> None:
    provider = provider_for(kind, sandbox)
    news = declaration(kind, "first")
    created = create(provider, news)
    field = renamable(kind)
    assert provider.diff(created.id, created.outs, news).changes is False
    renamed = provider.diff(created.id, created.outs, {**news, field: "Renamed"})
    assert (renamed.changes, renamed.replaces) == (True, [])
    moved_stack = provider.diff(created.id, created.outs, {**news, "ownerTag": "p/u/first"})
    assert (moved_stack.changes, moved_stack.replaces) == (True, [])  # the marker follows
    for business in (1002.0, UNKNOWN):  # BusinessId is among the update options
        moved = provider.diff(created.id, created.outs, {**news, "businessId": business})
        assert (moved.changes, moved.replaces) == (True, [])


# ----- create, read, update, delete ----------------------------------------------------------


@every_kind
def test_create_sends_only_what_was_declared_and_returns_the_servers_id(
    kind: Kind, sandbox: Sandbox
) -> None:
    provider = provider_for(kind, sandbox)
    created = create(provider, provider.check({}, declaration(kind, "first")).inputs)
    [record] = records(sandbox, kind).all()
    assert created.id == str(record["Id"])
    assert {k: record[k] for k in api_record(kind)} == api_record(kind)
    assert record["SystemId"] == "pulumi:p/t/first"
    [(method, _, body)] = sandbox.written
    assert method == "POST" and set(body) == {*api_record(kind), "SystemId"}
    # outputs: the declaration, and the read-only fields of the record read back once
    for output, field in (
        ("systemId", "SystemId"),
        ("updatedBy", "UpdatedBy"),
        ("createdOn", "CreatedOn"),
        ("uniqueId", "UniqueId"),
    ):
        assert created.outs[output] == record[field]
    assert not set(undeclared(kind)) & set(created.outs)  # no default nobody declared
    assert spent(sandbox, collection=kind.spec.collection) == Counter(
        {"POST": 1, "GET by id": 1, "LIST": 1}
    )


@every_kind
def test_create_rejected_by_the_api_names_the_record_and_quotes_the_api(
    kind: Kind, sandbox: Sandbox
) -> None:
    with pytest.raises(RecordOperationError) as caught:
        provider_for(kind, sandbox).create(declaration(kind, "first", businessId=4242.0))
    message = str(caught.value)
    named_by = kind.model.NAME_FIELD
    named = example_of(kind).get(named_by)
    label = f"{kind.spec.record_name} 'first'" + (f" ({named_by} {named!r})" if named else "")
    assert message.startswith(f"{label}: create failed")
    assert "BusinessId: business 4242 does not exist" in message
    rejected = caught.value.failure  # the API's own words, as data
    assert isinstance(rejected, ApiRejectedError)
    assert [(e.property_name, e.message) for e in rejected.field_errors] == [
        ("BusinessId", "business 4242 does not exist")
    ]
    assert records(sandbox, kind).all() == []


@every_kind
def test_missing_role_names_the_role(kind: Kind, sandbox: Sandbox) -> None:
    reader = provider_for(kind, sandbox, username=READER_USER, password=READER_PASSWORD)
    with pytest.raises(RecordOperationError) as caught:
        reader.create(declaration(kind, "first"))
    assert f"lacks the role {kind.spec.record_name}-Create" in str(caught.value)
    denied = caught.value.failure
    assert isinstance(denied, AuthorizationError)
    assert (denied.method, denied.path, denied.verb) == ("POST", kind.spec.collection, "Create")
    assert READER_PASSWORD not in str(caught.value)


@every_kind
def test_read_sees_a_hand_edit_and_keeps_the_declaration(kind: Kind, sandbox: Sandbox) -> None:
    news = declaration(kind, "first")
    created = create(provider_for(kind, sandbox), news)
    field = renamable(kind)
    records(sandbox, kind).update(int(created.id), {api(field): "Renamed by hand"}, "someone")
    refresher = provider_for(kind, sandbox)  # `pulumi refresh` is another run, another process
    result = refresher.read(created.id, created.outs)
    assert result.id == created.id and result.inputs is None  # the engine keeps the declaration
    assert result.outs is not None
    assert (result.outs[field], result.outs["updatedBy"]) == ("Renamed by hand", "someone")
    assert result.outs["ownerTag"] == "p/t/first"
    assert refresher.diff(created.id, result.outs, news).changes is True


@every_kind
def test_no_false_drift_after_create_and_refresh(kind: Kind, sandbox: Sandbox) -> None:
    provider = provider_for(kind, sandbox)
    news = provider.check({}, declaration(kind, "first")).inputs
    created = create(provider, news)
    result = provider_for(kind, sandbox).read(created.id, created.outs)
    assert result.outs is not None
    assert provider.diff(created.id, dict(result.outs), news).changes is False


@every_kind
def test_read_of_a_deleted_record_tells_the_engine_it_is_gone(kind: Kind, sandbox: Sandbox) -> None:
    created = create(provider_for(kind, sandbox), declaration(kind, "first"))
    records(sandbox, kind).delete(int(created.id))
    assert provider_for(kind, sandbox).read(created.id, created.outs).id is None


@every_kind
def test_update_changes_in_place_from_a_fresh_read(kind: Kind, sandbox: Sandbox) -> None:
    created = create(provider_for(kind, sandbox), declaration(kind, "first"))
    updater = provider_for(kind, sandbox)
    field = renamable(kind)
    before = len(sandbox.requests)
    news = updater.check(created.outs, declaration(kind, "first", **{field: "Renamed"})).inputs
    result = updater.update(created.id, created.outs, news)
    assert stored(sandbox, kind, created)[api(field)] == "Renamed"
    assert result.outs is not None and result.outs[field] == "Renamed"
    # written from a fresh read by id, never from a listing
    assert spent(sandbox, before, kind.spec.collection) == Counter({"GET by id": 1, "PUT": 1})


@every_kind
def test_update_of_a_record_deleted_behind_our_back_says_to_refresh(
    kind: Kind, sandbox: Sandbox
) -> None:
    provider = provider_for(kind, sandbox)
    created = create(provider, declaration(kind, "first"))
    records(sandbox, kind).delete(int(created.id))
    with pytest.raises(RecordOperationError, match="pulumi refresh"):
        provider.update(created.id, created.outs, declaration(kind, "first"))


@every_kind
def test_a_new_business_creates_the_replacement_then_deletes_the_old_record(
    kind: Kind, sandbox: Sandbox
) -> None:
    provider = provider_for(kind, sandbox)
    created = create(provider, declaration(kind, "first"))
    replacement = create(provider, declaration(kind, "first", businessId=1002.0))  # same marker
    assert replacement.id != created.id
    provider.delete(created.id, created.outs)
    [record] = records(sandbox, kind).all()
    assert (str(record["Id"]), record["BusinessId"]) == (replacement.id, 1002)


@every_kind
def test_delete_removes_and_tolerates_already_deleted(kind: Kind, sandbox: Sandbox) -> None:
    created = create(provider_for(kind, sandbox), declaration(kind, "first"))
    provider = provider_for(kind, sandbox)
    before = len(sandbox.requests)
    provider.delete(created.id, created.outs)
    assert records(sandbox, kind).all() == []
    assert spent(sandbox, before, kind.spec.collection) == Counter({"GET by id": 1, "DELETE": 1})
    provider.delete(created.id, created.outs)  # already gone, not an error
    # the delete reads the record first (its owner is checked when writing): 404, no DELETE
    assert sandbox.requests[-1] == ("GET", f"{kind.spec.collection}/{created.id}", 404)


# ----- a field left out is Nexudus's ---------------------------------------------------------


@pytest.mark.parametrize(("kind", "field"), per_field(undeclared))
def test_a_field_left_out_survives_refresh_and_updates(
    kind: Kind, field: str, sandbox: Sandbox
) -> None:
    provider = provider_for(kind, sandbox)
    news = provider.check({}, declaration(kind, "first")).inputs
    created = create(provider, news)
    value = hand_edit(kind, field, sandbox)
    [(_, by_hand)] = kind.model.to_api({field: value}, None).items()
    records(sandbox, kind).update(int(created.id), {api(field): by_hand}, "someone")
    olds = provider_for(kind, sandbox).read(created.id, created.outs).outs
    assert olds is not None and olds[field] == normalise(kind.model, field, value)  # shown
    assert provider.diff(created.id, dict(olds), news).changes is False  # never diffed
    renamed = provider.check(olds, {**news, renamable(kind): "Renamed"}).inputs
    provider.update(created.id, dict(olds), renamed)
    assert stored(sandbox, kind, created)[api(field)] == by_hand  # never overwritten


# ----- exactly once --------------------------------------------------------------------------


@every_kind
def test_a_lost_create_answer_adopts_the_committed_record(
    kind: Kind, capsys: pytest.CaptureFixture[str]
) -> None:
    with Sandbox(limits=RELAXED, faults=Faults(drop_after_commit_rate=1.0)) as sandbox:
        created = create(provider_for(kind, sandbox), declaration(kind, "first"))
        sandbox.wait_idle()
        [record] = records(sandbox, kind).all()
        assert created.id == str(record["Id"])
        assert sandbox.posts_by_record[kind.spec.record_name] == 1  # found, not posted again
    said = capsys.readouterr().err
    assert f"{kind.spec.record_name} 'first'" in said
    assert f"create answer lost; found id {created.id}" in said


@every_kind
def test_a_killed_runs_leftover_is_adopted_not_duplicated(kind: Kind, sandbox: Sandbox) -> None:
    orphan = create(provider_for(kind, sandbox), declaration(kind, "first"))  # state never saved
    again = create(
        provider_for(kind, sandbox), declaration(kind, "first", **{renamable(kind): "Since"})
    )
    assert again.id == orphan.id
    [record] = records(sandbox, kind).all()
    assert record[api(renamable(kind))] == "Since"  # then brought to the declaration
    assert sandbox.posts_committed == 1


# ----- adoption ------------------------------------------------------------------------------


@dynamic_only
@every_kind
def test_import_id_adopts_an_existing_record_without_a_post(kind: Kind, sandbox: Sandbox) -> None:
    legacy = records(sandbox, kind).insert(api_record(kind), "ui")
    provider = provider_for(kind, sandbox)
    news = declaration(kind, "legacy", importId=float(legacy))
    created = create(provider, provider.check({}, news).inputs)
    assert created.id == str(legacy) and sandbox.posts_committed == 0
    assert stored(sandbox, kind, created)["SystemId"] == "pulumi:p/t/legacy"
    del news["importId"]  # once managed, the import id is bookkeeping: dropping it changes nothing
    assert provider.diff(created.id, created.outs, news).changes is False


@dynamic_only
@every_kind
def test_import_id_of_another_owners_record_is_refused_unless_taken_over(
    kind: Kind, sandbox: Sandbox
) -> None:
    theirs = records(sandbox, kind).insert(
        {**api_record(kind), "SystemId": "pulumi:x/prod/theirs#cafe"}, "ui"
    )
    provider = provider_for(kind, sandbox)
    news = declaration(kind, "legacy", importId=float(theirs))
    [refused] = provider.check({}, news).failures  # at preview, before anything is written
    assert refused.property == "importId" and "x/prod/theirs" in refused.reason
    with pytest.raises(RecordOperationError) as caught:
        provider.create(news)  # and at `up`, should check have been skipped
    assert "managed by the Pulumi resource x/prod/theirs" in str(caught.value)
    assert "takeOver: true" in str(caught.value)
    create(provider, {**news, "takeOver": True})
    assert records(sandbox, kind).get(theirs)["SystemId"] == "pulumi:p/t/legacy"  # type: ignore[index]
    assert sandbox.posts_committed == 0


@dynamic_only
@every_kind
def test_import_id_of_a_record_of_another_business_is_refused(kind: Kind, sandbox: Sandbox) -> None:
    elsewhere = records(sandbox, kind).insert(api_record(kind, businessId=1002), "ui")
    provider = provider_for(kind, sandbox)
    news = declaration(kind, "elsewhere", importId=float(elsewhere))
    [refused] = provider.check({}, news).failures
    assert "its businessId is 1002, the declaration says 1001" in refused.reason
    with pytest.raises(RecordOperationError, match="businessId is 1002, the declaration says 1001"):
        provider.create(news)
    assert sandbox.posts_committed == 0 and sandbox.status_counts()[("PUT", 200)] == 0


# ----- the request budget --------------------------------------------------------------------

COUNT = 30


def create_many(kind: Kind, sandbox: Sandbox) -> list[Created]:
    """As the engine runs them: four operations at a time."""
    provider = provider_for(kind, sandbox)
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(
            pool.map(
                lambda n: create(provider, declaration(kind, f"{kind.noun}-{n:02d}")), range(COUNT)
            )
        )


@every_kind
def test_n_creates_cost_n_posts_n_reads_and_one_listing(kind: Kind, sandbox: Sandbox) -> None:
    created = create_many(kind, sandbox)
    assert len({c.id for c in created}) == COUNT == len(records(sandbox, kind).all())
    # each create is read back by id: the state holds the read-only fields Nexudus made
    assert spent(sandbox, collection=kind.spec.collection) == Counter(
        {"POST": COUNT, "GET by id": COUNT, "LIST": 1}
    )


@every_kind
def test_refreshing_n_records_costs_a_get_each_and_one_listing(
    kind: Kind, sandbox: Sandbox
) -> None:
    created = create_many(kind, sandbox)
    refresher = provider_for(kind, sandbox)
    before = len(sandbox.requests)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda c: refresher.read(c.id, c.outs), created))
    assert [r.id for r in results] == [c.id for c in created]
    # a listing carries no member lists: each record is read by id; the listing finds duplicates
    assert spent(sandbox, before, kind.spec.collection) == Counter({"GET by id": COUNT, "LIST": 1})


# ----- the resource class ----------------------------------------------------------------------


@every_kind
def test_the_resources_keyword_arguments_are_the_models_fields(kind: Kind) -> None:
    """A field the model has and the class lacks cannot be declared from Python; one the class
    has and the model lacks is refused by check at every preview."""
    parameters = inspect.signature(kind.resource.__init__).parameters
    arguments = {
        name: p.default is inspect.Parameter.empty
        for name, p in parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and name != "opts"
    }
    fields = {
        name: info.is_required()
        for name, info in kind.model.model_fields.items()
        if name != "owner_tag"  # the resource base writes it from the resource's name
    }
    assert arguments == fields
