"""Never write over what is not ours: every write from a fresh read, ownership checked when writing.

Each test is one of the reproductions that deleted or overwrote records a user meant to keep,
at the provider (the end-to-end walks are in tests/e2e/test_write_safety.py): a stack that lost a
room to `takeOver`, an `importId` left in config across a key rename, one `importId` under two
keys, an adoption across businesses, members a person added while a run was paced, a declared
value equal to a default nobody read.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from nexudus_pulumi.errors import NotOursError
from nexudus_pulumi.provider import RecordOperationError
from nexudus_pulumi.sandbox import Sandbox
from tests.helpers import MakeProvider, create

SA, SB = "aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb"


def declared(key: str, stack: str = "sa", stack_id: str = SA, **fields: Any) -> dict[str, Any]:
    props: dict[str, Any] = {
        "businessId": 1001.0,
        "name": key.title(),
        "ownerTag": f"nexudus-rooms/{stack}/{key}#{stack_id}",
    }
    return {**props, **fields}


def test_a_stack_that_lost_a_room_to_take_over_no_longer_writes_or_deletes_it(
    sandbox: Sandbox, make_provider: MakeProvider, caplog: pytest.LogCaptureFixture
) -> None:
    lobby = create(make_provider(), declared("lobby"))
    taken = create(
        make_provider(),
        declared("lobby", stack="sb", stack_id=SB, importId=float(lobby.id), takeOver=True),
    )
    assert taken.id == lobby.id
    sa = make_provider()
    # sa's update is refused, naming the new owner and the way back
    with pytest.raises(RecordOperationError) as refused:
        sa.update(lobby.id, lobby.outs, declared("lobby", name="Mine again"))
    assert isinstance(refused.value, NotOursError)
    assert refused.value.record_id == int(lobby.id)
    assert refused.value.owner.startswith("the Pulumi resource nexudus-rooms/sb/lobby")
    assert "now managed by the Pulumi resource nexudus-rooms/sb/lobby" in str(refused.value)
    assert f"importId: {lobby.id} and takeOver: true" in str(refused.value)
    # sa's refresh drops it from sa's stack; sa's destroy leaves it to sb
    assert sa.read(lobby.id, lobby.outs).id is None
    sa.delete(lobby.id, lobby.outs)
    record = sandbox.store.get(int(lobby.id))
    assert record is not None and record["Name"] == "Lobby"
    assert record["SystemId"] == f"pulumi:nexudus-rooms/sb/lobby#{SB}"
    assert "released from this stack, not deleted" in caplog.text


def test_import_id_left_in_config_and_a_key_rename_never_adopts_then_deletes(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    legacy_id = sandbox.store.insert({"BusinessId": 1001, "Name": "Legacy"}, "ui")
    legacy = create(make_provider(), declared("legacy", importId=float(legacy_id)))
    provider = make_provider()  # the run after the key was renamed to `lobby`
    renamed = declared("lobby", name="Legacy", importId=float(legacy_id))
    [refused] = provider.check({}, renamed).failures
    assert "aliases: [legacy]" in refused.reason
    # Following the other advice (takeOver) adopts under the new key; the old key's delete,
    # which Pulumi runs next, then finds the record is the new key's and leaves it.
    adopted = create(provider, {**renamed, "takeOver": True})
    provider.delete(legacy.id, legacy.outs)
    assert adopted.id == legacy.id and sandbox.store.get(legacy_id) is not None


def test_one_import_id_under_two_keys_fails_at_preview_naming_both(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    legacy_id = sandbox.store.insert({"BusinessId": 1001, "Name": "Legacy"}, "ui")
    provider = make_provider()
    assert provider.check({}, declared("lobby", importId=float(legacy_id))).failures == []
    [refused] = provider.check({}, declared("hall", importId=float(legacy_id))).failures
    assert refused.property == "importId"
    assert f"importId {legacy_id} is also declared by ChatRoom 'lobby'" in refused.reason


def test_adoption_across_businesses_fails_at_preview_as_at_up(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    elsewhere = sandbox.store.insert({"BusinessId": 1003, "Name": "Elsewhere"}, "ui")
    provider = make_provider()
    adopting = declared("elsewhere", importId=float(elsewhere))
    [refused] = provider.check({}, adopting).failures
    assert "its businessId is 1003, the declaration says 1001" in refused.reason
    with pytest.raises(RecordOperationError, match="its businessId is 1003"):
        provider.create(adopting)
    assert sandbox.status_counts()[("PUT", 200)] == 0


def test_members_a_person_adds_during_a_run_survive_its_updates(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    provider = make_provider()
    lobby = create(provider, declared("lobby"))
    hall = create(provider, declared("hall"))
    provider.read(lobby.id, lobby.outs)  # the run has read the account
    sandbox.store.update(int(hall.id), {"Name": "Hall", "Users": [15]}, "someone")
    provider.update(hall.id, hall.outs, declared("hall", name="Great hall"))
    record = sandbox.store.get(int(hall.id))
    assert record is not None and (record["Name"], record["Users"]) == ("Great hall", [15])


def test_declaring_an_empty_member_list_after_a_person_added_one_is_applied(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    provider = make_provider()
    lobby = create(provider, provider.check({}, declared("lobby")).inputs)
    sandbox.store.update(int(lobby.id), {"Users": [15]}, "someone")
    news = provider.check(lobby.outs, declared("lobby", users=[])).inputs
    assert provider.diff(lobby.id, lobby.outs, news).changes is True
    provider.update(lobby.id, lobby.outs, news)
    record = sandbox.store.get(int(lobby.id))
    assert record is not None and record["Users"] == []


def test_a_late_commit_of_a_killed_run_is_adopted_once_the_lost_answer_window_passed(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    # The re-run starts while a create the killed run sent may still commit: its marker
    # lookup is taken again once that window (the request timeout) has passed.
    provider = make_provider(timeoutSeconds=1)
    create(provider, declared("hall"))  # the run's first create lists the account
    marker = f"pulumi:nexudus-rooms/sa/lobby#{SA}"
    late = sandbox.store.insert({"BusinessId": 1001, "Name": "Lobby", "SystemId": marker}, "x")
    time.sleep(1.2)
    lobby = create(provider, declared("lobby"))
    assert lobby.id == str(late) and sandbox.posts_committed == 1


def test_take_over_is_spent_once_it_has_worked(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    """Two stacks declaring importId + takeOver for one room once took it from each other on
    every `up --refresh`, each rewriting its name and users. Now the first taking holds: the
    stack that lost it keeps it in its state, and its update fails naming the new owner."""
    legacy = sandbox.store.insert({"BusinessId": 1001, "Name": "Legacy", "Users": [7]}, "ui")
    steal: dict[str, Any] = {"importId": float(legacy), "takeOver": True}
    sa = make_provider()
    mine = create(sa, declared("legacy", **steal))
    theirs = create(
        make_provider(), declared("legacy", stack="sb", stack_id=SB, name="Theirs", **steal)
    )
    assert mine.id == theirs.id == str(legacy)
    # sa's `up --refresh`: the read keeps the room (takeOver is spent), the diff sees it is
    # another owner's, and the update is refused
    refreshed = sa.read(mine.id, mine.outs)
    assert refreshed.id == mine.id and refreshed.outs is not None
    diff = sa.diff(mine.id, refreshed.outs, declared("legacy", **steal))
    assert diff.changes is True
    with pytest.raises(RecordOperationError) as refused:
        sa.update(mine.id, refreshed.outs, declared("legacy", **steal))
    assert "now managed by the Pulumi resource nexudus-rooms/sb/legacy" in str(refused.value)
    assert "takeOver is spent" in str(refused.value)
    record = sandbox.store.get(legacy)
    assert record is not None
    assert (record["Name"], record["SystemId"]) == (
        "Theirs",
        f"pulumi:nexudus-rooms/sb/legacy#{SB}",
    )


def test_a_room_kept_by_retain_on_delete_is_never_a_duplicate_to_delete(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    """The drift check once failed on every run after retainOnDelete, asking the user to
    delete the very room they chose to keep."""
    kept_tag = f"nexudus-rooms/sa/lobby#{SA}+retain"
    kept = create(make_provider(), declared("lobby", ownerTag=kept_tag, users=[20.0]))
    # the key removed (Pulumi forgets, Nexudus keeps), then declared again in another business
    again = create(make_provider(), declared("lobby", businessId=1002.0))
    assert again.id != kept.id
    refreshed = make_provider().read(again.id, again.outs)
    assert refreshed.id == again.id  # no "both carry this resource's marker" failure
    record = sandbox.store.get(int(kept.id))
    assert record is not None and record["Users"] == [20]
