"""One room, one owner: the marker scheme at the provider, over real HTTP against the sandbox.

Each test is a situation that used to lose data or make a duplicate: a renamed stack, a
new stack under an old name, `importId` of a room another resource manages, a POST that commits
late, a killed run followed by a rename or a business change, `importId` left in the config.
"""

from __future__ import annotations

from typing import Any

import pytest

from nexudus_pulumi.ownership import Marker
from nexudus_pulumi.provider import UNKNOWN, RecordOperationError
from nexudus_pulumi.sandbox import Sandbox
from tests.helpers import MakeProvider, create

PROD = "aaaaaaaaaaaaaaaa"
"""Stack ids (`StackIdentity`): the renamed stack's, and the new stack's under the old name."""
NEW_DEV = "bbbbbbbbbbbbbbbb"


def owned(key: str, stack: str = "dev", stack_id: str = PROD, **fields: Any) -> dict[str, Any]:
    """A room's inputs as the program gives them, with the full owner tag."""
    props: dict[str, Any] = {
        "businessId": 1001.0,
        "name": key.title(),
        "ownerTag": f"nexudus-rooms/{stack}/{key}#{stack_id}",
    }
    props.update(fields)
    return props


def marker_of(sandbox: Sandbox, record_id: str | int) -> str:
    record = sandbox.store.get(int(record_id))
    assert record is not None
    return str(record["SystemId"])


def test_a_renamed_stack_rewrites_its_markers_in_place(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    provider = make_provider()
    lobby = create(provider, owned("lobby", stack="dev"))
    renamed = provider.check(lobby.outs, owned("lobby", stack="prod")).inputs
    diff = provider.diff(lobby.id, lobby.outs, renamed)
    assert diff.changes is True and diff.replaces == []  # an update, not a replacement
    provider.update(lobby.id, lobby.outs, renamed)
    assert marker_of(sandbox, lobby.id) == f"pulumi:nexudus-rooms/prod/lobby#{PROD}"


def test_a_new_stack_under_an_old_name_never_adopts_the_renamed_stacks_rooms(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    # `up` dev, `pulumi stack rename prod` (no `up` yet: markers still say dev), then
    # `pulumi stack init dev --copy-config-from prod` and `up`: a new stack, a new stack id.
    prod_lobby = create(make_provider(), owned("lobby", stack="dev", stack_id=PROD))
    new_dev = make_provider()  # another run, another process
    lobby = create(new_dev, owned("lobby", stack="dev", stack_id=NEW_DEV))
    assert lobby.id != prod_lobby.id
    assert sandbox.posts_committed == 2
    new_dev.delete(lobby.id, lobby.outs)  # `destroy` of the new dev
    assert sandbox.store.get(int(prod_lobby.id)) is not None  # prod's room is untouched


def test_import_id_of_a_room_another_key_holds_is_refused_pointing_to_aliases(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    provider = make_provider()
    lobby = create(provider, owned("lobby"))
    twin = owned("lobbytwin", name="Lobby", importId=float(lobby.id))
    # At preview: check refuses, naming the key that holds it and the way (aliases).
    failures = provider.check({}, twin).failures
    assert [f.property for f in failures] == ["importId"]
    assert "held by the key 'lobby' of this stack" in failures[0].reason
    assert "aliases: [lobby]" in failures[0].reason
    # And at `up`, should check have been skipped.
    with pytest.raises(RecordOperationError, match="held by the key 'lobby'"):
        provider.create(twin)
    assert marker_of(sandbox, lobby.id) == f"pulumi:nexudus-rooms/dev/lobby#{PROD}"
    # Said explicitly, it is taken over.
    taken = create(provider, {**twin, "takeOver": True})
    assert taken.id == lobby.id
    assert marker_of(sandbox, lobby.id) == f"pulumi:nexudus-rooms/dev/lobbytwin#{PROD}"
    assert sandbox.posts_committed == 1


def test_import_id_of_another_stacks_room_is_refused_naming_the_owner(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    lobby = create(make_provider(), owned("lobby", stack="sa", stack_id=NEW_DEV))
    provider = make_provider()
    taking = owned("lobby", stack="sb", importId=float(lobby.id))
    [refused] = provider.check({}, taking).failures
    assert "managed by the Pulumi resource nexudus-rooms/sa/lobby" in refused.reason
    assert "takeOver: true" in refused.reason
    with pytest.raises(RecordOperationError, match="managed by the Pulumi resource") as caught:
        provider.create(taking)
    assert caught.value.record_id == int(lobby.id)
    assert marker_of(sandbox, lobby.id) == f"pulumi:nexudus-rooms/sa/lobby#{NEW_DEV}"


def test_import_id_of_a_room_another_integration_marked_is_refused(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    theirs = sandbox.store.insert({"BusinessId": 1001, "SystemId": "crm:42"}, "ui")
    provider = make_provider()
    with pytest.raises(RecordOperationError, match="another integration"):
        provider.create(owned("legacy", importId=float(theirs)))
    assert marker_of(sandbox, theirs) == "crm:42"


def test_adoption_is_announced_at_preview_with_what_it_changes(
    sandbox: Sandbox, make_provider: MakeProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    legacy = sandbox.store.insert({"BusinessId": 1001, "Name": "Old name", "Active": False}, "ui")
    provider = make_provider()
    before = len(sandbox.requests)
    result = provider.check({}, owned("legacy", name="Legacy", active=True, importId=legacy))
    assert result.failures == []
    sent = [(m, p) for m, p, _ in sandbox.requests[before:] if p != "/api/token"]
    assert sent and all(method == "GET" for method, _ in sent)  # looked up, nothing written
    shown = capsys.readouterr().err
    assert f"will adopt existing id {legacy}" in shown
    assert "name 'Old name' -> 'Legacy'" in shown and "active False -> True" in shown


def test_a_new_stacks_first_preview_already_shows_adoptions_and_refusals(
    sandbox: Sandbox, make_provider: MakeProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    # `stack init`, `export`, `pulumi preview`: the stack id is drawn at the first `up`, so
    # every owner tag is still unknown when the user reviews what `up` will do.
    lobby = create(make_provider(), owned("lobby"))
    legacy = sandbox.store.insert({"BusinessId": 1001, "Name": "Old name"}, "ui")
    provider = make_provider()
    adopting = {**owned("legacy", importId=float(legacy)), "ownerTag": UNKNOWN}
    assert provider.check({}, adopting).failures == []
    assert f"will adopt existing id {legacy}" in capsys.readouterr().err
    taking = {**owned("twin", importId=float(lobby.id)), "ownerTag": UNKNOWN}
    [refused] = provider.check({}, taking).failures
    assert refused.property == "importId" and "nexudus-rooms/dev/lobby" in refused.reason
    assert sandbox.posts_committed == 1 and sandbox.status_counts()[("PUT", 200)] == 0


def test_a_post_that_commits_after_the_client_gave_up_is_found_not_posted_again(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    sandbox.faults.commit_delay_ms = 3000  # the client times out after 2 s
    provider = make_provider(timeoutSeconds=2)
    lobby = create(provider, owned("lobby"))
    sandbox.wait_idle()  # a second POST, had one been sent, would still be committing
    sandbox.faults.commit_delay_ms = 0
    [stored] = sandbox.store.all()
    assert lobby.id == str(stored["Id"])
    assert sandbox.posts_committed == 1


def test_a_killed_run_then_a_rename_finds_the_orphan_by_its_marker(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    # The killed run committed the room (old name) but Pulumi never saved its id.
    marker = Marker.from_tag(owned("lobby")["ownerTag"]).text
    orphan = sandbox.store.insert({"BusinessId": 1001, "Name": "Lobby", "SystemId": marker}, "x")
    lobby = create(make_provider(), owned("lobby", name="Front lobby"))
    assert lobby.id == str(orphan)
    assert sandbox.posts_committed == 0
    assert sandbox.store.get(orphan)["Name"] == "Front lobby"  # type: ignore[index]


def test_a_record_with_the_marker_in_another_business_is_reported_never_deleted(
    sandbox: Sandbox, make_provider: MakeProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    # `lobby` kept by retainOnDelete in 1001 (or left by a killed run), then declared in 1002.
    marker = Marker.from_tag(owned("lobby")["ownerTag"]).text
    kept = sandbox.store.insert({"BusinessId": 1001, "Name": "Lobby", "SystemId": marker}, "x")
    lobby = create(make_provider(), owned("lobby", businessId=1002.0))
    assert lobby.id != str(kept)
    assert sandbox.store.get(kept) is not None  # never deleted: it may be a room someone keeps
    assert sandbox.status_counts()[("DELETE", 200)] == 0
    said = capsys.readouterr().err
    assert f"id {kept} (business 1001) also carries this resource's marker" in said
    assert "it is left as it is" in said


def test_two_rooms_with_one_marker_fail_the_drift_check_naming_both(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    provider = make_provider()
    lobby = create(provider, owned("lobby"))
    twin = sandbox.store.insert(
        {"BusinessId": 1001, "Name": "Lobby", "SystemId": marker_of(sandbox, lobby.id)}, "x"
    )
    # An update writes its own record only, from a fresh read: the twin is not its to delete.
    news = provider.check(lobby.outs, owned("lobby", name="Lobby 2")).inputs
    make_provider().update(lobby.id, lobby.outs, news)
    assert sandbox.store.get(twin) is not None
    # The drift check (a refresh) fails, naming both ids.
    with pytest.raises(RecordOperationError) as caught:
        make_provider().read(lobby.id, {**lobby.outs, "name": "Lobby 2"})
    assert f"ids {lobby.id} and {twin} both carry this resource's marker" in str(caught.value)


def test_an_import_id_that_does_not_exist_fails_at_preview_and_up(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    # A typo (or a room deleted since): adopting nothing must not quietly create a new room.
    declared = owned("legacy", name="Legacy", importId=1234.0)
    provider = make_provider()
    [refused] = provider.check({}, declared).failures
    assert refused.property == "importId"
    assert "importId 1234: no ChatRoom with that id exists in Nexudus" in refused.reason
    assert "remove importId" in refused.reason
    with pytest.raises(RecordOperationError, match="no ChatRoom with that id"):
        provider.create(declared)
    assert sandbox.posts_committed == 0
    without = {k: v for k, v in declared.items() if k != "importId"}
    assert provider.check({}, without).failures == []


def test_import_id_left_in_config_does_not_block_a_business_change(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    legacy = sandbox.store.insert({"BusinessId": 1001, "Name": "Legacy"}, "ui")
    declared = owned("legacy", name="Legacy", importId=float(legacy))
    adopted = create(make_provider(), declared)
    # businessId replaces: Pulumi creates the new room (importId still declared), then deletes
    # the old one. The old room is this resource's: importId no longer applies.
    provider = make_provider()
    moved = create(provider, {**declared, "businessId": 1003.0})
    provider.delete(adopted.id, adopted.outs)
    [held] = sandbox.store.all()
    assert (str(held["Id"]), held["BusinessId"]) == (moved.id, 1003)


def test_a_retained_marker_names_the_same_resource_and_says_it_is_kept() -> None:
    kept = Marker.from_tag("nexudus-rooms/dev/lobby#aaaaaaaaaaaaaaaa+retain")
    plain = Marker.from_tag("nexudus-rooms/dev/lobby#aaaaaaaaaaaaaaaa")
    assert kept.retained and not plain.retained
    assert kept.same_resource(plain) and kept.key == "lobby"
    assert kept.text == "pulumi:nexudus-rooms/dev/lobby#aaaaaaaaaaaaaaaa+retain"
    assert Marker.parse(kept.text) == kept


def test_import_id_of_a_room_of_a_same_named_stack_elsewhere_says_what_happened(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    """The stack `dev` made again in a new state backend, with the old file's importIds: the
    record's marker names this very resource but another stack id. Saying only "managed by
    the Pulumi resource nexudus-rooms/dev/lobby" reads as "managed by me"."""
    lobby = create(make_provider(), owned("lobby", stack_id=PROD))
    again = owned("lobby", stack_id=NEW_DEV, importId=float(lobby.id))
    [refused] = make_provider().check({}, again).failures
    assert refused.reason.startswith(
        f"importId {lobby.id}: that ChatRoom carries the marker of nexudus-rooms/dev/lobby, this "
        f"resource's own name, but the stack id {PROD}, and this stack's is {NEW_DEV}"
    ), refused.reason
    assert "another state backend" in refused.reason and "PULUMI_BACKEND_URL" in refused.reason
    assert "takeOver: true" in refused.reason
