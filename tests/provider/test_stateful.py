"""The provider against the sandbox under a random interleaving of what a busy account sees.

A Hypothesis state machine holds a model of what the account should hold and drives room
providers (each rule a step of a `pulumi up`, a new provider instance a new process) while, at
random, people and another integration act on the account: declarations, renames and removals;
hand edits and members added in the admin UI; takeovers by another integration; writes
throttled (a person adds a member while the write waits out the 409); 5xx bursts; killed runs
that leave a committed create behind. After every step it checks the invariants:

- nothing undeclared changed: members people added are still there;
- nothing another owner holds was written or deleted;
- one record per key carrying the stack's marker;
- the drift check holds: a refresh of each held room finds no change against its declaration.

It is seeded and bounded here (`make check`); `make soak` runs it far longer
(`NEXUDUS_SOAK_EXAMPLES`), to find the next class of defect before a user does.
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from nexudus_pulumi import ChatRoomProvider
from nexudus_pulumi import client as client_module
from nexudus_pulumi.errors import NexudusError
from nexudus_pulumi.ownership import Marker
from nexudus_pulumi.provider import RecordOperationError
from nexudus_pulumi.sandbox import Faults, Fidelity, PublishedLimits, Sandbox
from tests.helpers import RELAXED, ROOMS_PATH, configure, sandbox_config

SA = "aaaaaaaaaaaaaaaa"
KEYS = ("lobby", "hall", "desk")
NAMES = st.sampled_from(["Lobby", "Hall", "Front desk", "Café", "Room 1"])
THROTTLED_WINDOW_SECONDS = 1.0
SOAK = int(os.environ.get("NEXUDUS_SOAK_EXAMPLES", "0"))


def tag(key: str) -> str:
    return f"nexudus-rooms/dev/{key}#{SA}"


def declaration(key: str, name: str) -> dict[str, Any]:
    return {"businessId": 1001.0, "name": name, "ownerTag": tag(key)}


class AccountUnderLoad(RuleBasedStateMachine):
    keys = Bundle("keys")

    def __init__(self) -> None:
        super().__init__()
        self.sandbox = Sandbox(limits=RELAXED, faults=Faults(seed=1)).start()
        self.provider = self._process()
        self.declared: dict[str, str] = {}
        """key -> the declared name."""
        self.held: dict[str, tuple[str, dict[str, Any]]] = {}
        """key -> (id, outputs) as Pulumi's state holds them."""
        self.members: dict[str, set[int]] = {}
        """record id -> members people added in the admin UI (never declared)."""
        self.theirs: dict[int, dict[str, Any]] = {}
        """record id -> the record as another integration left it when it took it."""

    def teardown(self) -> None:
        for made in list(client_module._shared.values()):  # each example is its own process
            made.close()
        client_module._shared.clear()
        self.sandbox.stop()

    def _process(self) -> ChatRoomProvider:
        """A new provider process, as each `pulumi up` starts one."""
        return configure(ChatRoomProvider(), sandbox_config(self.sandbox, maxRetries=8))

    @initialize(fidelity=st.sampled_from(sorted(Fidelity.variants())))
    def reading(self, fidelity: str) -> None:
        self.sandbox.fidelity = Fidelity.variants()[fidelity]

    # ----- what the stack declares ------------------------------------------------------------

    @rule(target=keys, key=st.sampled_from(KEYS), name=NAMES)
    def declare(self, key: str, name: str) -> str:
        """`up` with `key` declared as `name`: a create, or a rename of the room held."""
        props = declaration(key, name)
        try:
            if key in self.held:
                record_id, outs = self.held[key]
                if self.provider.diff(record_id, outs, props).changes:
                    result = self.provider.update(record_id, outs, props)
                    self.held[key] = (record_id, dict(result.outs or {}))
            else:
                created = self.provider.create(props)
                self.held[key] = (created.id, dict(created.outs or {}))
        except (RecordOperationError, NexudusError):
            return key  # the step failed, as `up` would: the model is unchanged
        self.declared[key] = name
        return key

    @rule(key=keys)
    def remove(self, key: str) -> None:
        """`up` with `key` removed from the stack."""
        if key not in self.held:
            return
        record_id, outs = self.held[key]
        try:
            self.provider.delete(record_id, outs)
        except (RecordOperationError, NexudusError):
            return
        del self.held[key]
        self.declared.pop(key, None)

    @rule()
    def new_process(self) -> None:
        self.provider = self._process()

    # ----- what people and other integrations do ----------------------------------------------

    @rule(key=keys, user=st.integers(min_value=20, max_value=25))
    def person_adds_member(self, key: str, user: int) -> None:
        if key in self.held:
            record_id = int(self.held[key][0])
            self.sandbox.add_member(ROOMS_PATH, record_id, user)
            self.members.setdefault(str(record_id), set()).add(user)

    @rule(key=keys, name=NAMES)
    def person_renames(self, key: str, name: str) -> None:
        """A hand edit of a declared field: the next refresh and `up` put it back."""
        if key in self.held:
            self.sandbox.edit(ROOMS_PATH, int(self.held[key][0]), Name=name + " (edited)")
            self._refresh_and_restore(key)

    @rule(key=keys)
    def integration_takes_over(self, key: str) -> None:
        """Another integration takes the room; this stack's next refresh lets it go."""
        if key not in self.held:
            return
        record_id = int(self.held[key][0])
        self.sandbox.edit(ROOMS_PATH, record_id, SystemId="crm-sync:room", Name="CRM", Users=[14])
        record = self.sandbox.store.get(record_id)
        assert record is not None
        self.theirs[record_id] = record
        self.members.pop(str(record_id), None)
        _, outs = self.held[key]
        faults, self.sandbox.faults = self.sandbox.faults, Faults(seed=1)
        try:  # this stack's next refresh lets it go
            assert self.provider.read(str(record_id), outs).id is None
        finally:
            self.sandbox.faults = faults
        del self.held[key]

    @rule(key=st.sampled_from(KEYS), name=NAMES)
    @precondition(lambda self: any(key not in self.held for key in KEYS))
    def killed_run_left_a_create(self, key: str, name: str) -> None:
        """A run killed after Nexudus committed its create: the record carries the marker, and
        Pulumi never heard of it. The next create of the key must adopt it."""
        marker = Marker.from_tag(tag(key))
        if key in self.held or any(marker.marks(r) for r in self.sandbox.store.all()):
            return
        self.sandbox.store.insert({"BusinessId": 1001, "Name": name, "SystemId": marker.text}, "x")

    # ----- what the account does --------------------------------------------------------------

    @rule(on=st.booleans())
    def throttle_writes(self, on: bool) -> None:
        """One write a second, and a person adds a member to a room while its PUT waits."""
        if not on:
            self.sandbox.throttle.limits = RELAXED
            self.sandbox.observers.clear()
            return
        self.sandbox.throttle.limits = PublishedLimits(
            min_interval=0,
            requests_per_window=100_000,
            writes_per_window=1,
            window_seconds=THROTTLED_WINDOW_SECONDS,
        )
        if not self.sandbox.observers:
            self.sandbox.observers.append(self._person_acts_during_wait)

    def _person_acts_during_wait(self, method: str, _path: str, status: int) -> None:
        if method != "PUT" or status not in (409, 429):
            return
        puts = [body for seen, _, body in self.sandbox.written[-1:] if seen == "PUT"]
        record_id = puts[0].get("Id") if puts and isinstance(puts[0], dict) else None
        theirs = record_id in self.theirs  # a person edits our rooms; theirs are checked as is
        if isinstance(record_id, int) and not theirs and self.sandbox.store.get(record_id):
            self.sandbox.add_member(ROOMS_PATH, record_id, 30)
            self.members.setdefault(str(record_id), set()).add(30)

    @rule(seed=st.integers(min_value=0, max_value=1_000))
    def server_errors(self, seed: int) -> None:
        """A burst of 5xx for the next steps (each request 503s at 30%, two in a row)."""
        self.sandbox.faults = Faults(error_rate=0.3, error_burst=2, seed=seed)

    @rule()
    def server_heals(self) -> None:
        self.sandbox.faults = Faults(seed=1)

    # ----- the invariants ---------------------------------------------------------------------

    def _refresh_and_restore(self, key: str) -> None:
        record_id, outs = self.held[key]
        props = declaration(key, self.declared[key])
        try:
            refreshed = self.provider.read(record_id, outs)
            if refreshed.outs and self.provider.diff(record_id, refreshed.outs, props).changes:
                result = self.provider.update(record_id, refreshed.outs, props)
                self.held[key] = (record_id, dict(result.outs or {}))
        except (RecordOperationError, NexudusError):
            pass  # a failed step; the invariants still hold for what was written

    @invariant()
    def one_record_per_key(self) -> None:
        for key in KEYS:
            marked = [
                r
                for r in self.sandbox.store.all()
                if Marker.from_tag(tag(key)).marks(r) and int(r["Id"]) not in self.theirs
            ]
            if key in self.held:
                assert [str(r["Id"]) for r in marked] == [self.held[key][0]], (key, marked)

    @invariant()
    def nothing_undeclared_changed(self) -> None:
        for record_id, added in self.members.items():
            record = self.sandbox.store.get(int(record_id))
            if record is not None:
                assert added <= set(record["Users"]), (record_id, added, record["Users"])

    @invariant()
    def nothing_another_owner_holds_was_written(self) -> None:
        for record_id, as_taken in self.theirs.items():
            now = self.sandbox.store.get(record_id)
            assert now is not None, f"room {record_id} of another integration was deleted"
            assert (now["SystemId"], now["Name"], now["Users"]) == (
                as_taken["SystemId"],
                as_taken["Name"],
                as_taken["Users"],
            )

    @invariant()
    def the_drift_check_holds(self) -> None:
        """Every held room, refreshed by a provider of its own, matches its declaration
        (unless the last step failed half-way: then it is what `up` would fix)."""
        if self.sandbox.faults.error_rate:
            return  # a refresh during a burst may fail; it is checked once the server heals
        checker = self._process()
        for key, (record_id, outs) in self.held.items():
            refreshed = checker.read(record_id, outs)
            assert refreshed.id == record_id, f"{key}: the stack's room {record_id} is gone"
            if refreshed.outs and self.declared.get(key):
                record = self.sandbox.store.get(int(record_id))
                assert record is not None
                if record["Name"] == self.declared[key]:
                    diff = checker.diff(record_id, refreshed.outs, declaration(key, record["Name"]))
                    assert diff.changes is False, (key, refreshed.outs)


AccountUnderLoad.TestCase.settings = settings(
    max_examples=SOAK or 6,
    stateful_step_count=25 if SOAK else 12,
    deadline=None,
    derandomize=not SOAK,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_account_under_load = AccountUnderLoad.TestCase
