"""`nexudus-pulumi probe`: settle on a real account what the API reference leaves open.

The sources disagree or are silent on a few behaviours (see docs/nexudus-api.md): whether a
listing carries `SystemId`, whether a `SystemId` search filter is honoured, whether a PUT clears
what it is not sent, whether a membership change moves `UpdatedOn`, how the throttle answers,
and what a create answers. The probe asks each of them of the live API, by observation only,
on one temporary room and one temporary group that it makes, and deletes them again, also when
interrupted (SIGINT, SIGTERM). Each record carries a marker (`SystemId` starting
`nexudus-pulumi-probe:`) and a name starting `nexudus-pulumi probe`: a later probe finds what an
earlier one could not delete by that name, and deletes it only once a read by id shows the
marker.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from .client import NexudusClient
from .display import cut, visible
from .errors import Interrupted, NexudusError, NotFoundError, ProbeError
from .export import client_from_environment
from .models import MAX_ID
from .settings import Settings
from .stackconfig import Project, StackFile, set_value

PROBE_PREFIX = "nexudus-pulumi-probe:"
"""Every probe record's `SystemId` starts so."""
PROBE_NAME = "nexudus-pulumi probe"
"""Every probe record's name starts so: the clue a later probe lists leftovers by."""
BURST_SIZE = 5
"""Unpaced GETs sent at most to meet the 1-per-100 ms limit."""
REQUESTS = 25
"""At most the requests of one probe without `--user-id` or leftovers, the burst included."""
BURST_NOTICE = "asking: 409 or 429"
"""The progress line said just before the deliberate burst."""
MEMBERSHIP_SETTING = "nexudus:membershipBumpsUpdatedOn"
GROUP_PRIVATE = 3
"""`GroupAccess` Private: only members see the temporary group."""

Say = Callable[[str], None]


@dataclass(frozen=True)
class Collection:
    """One probed record type: where it lives and the names of its filters and members."""

    noun: str
    path: str
    record: str
    """`ChatRoom`: the prefix of its search filters (`ChatRoom_Name`)."""
    members: str

    def filter(self, name: str) -> str:
        return f"{self.record}_{name}"


ROOMS = Collection("room", "/api/support/chatrooms", "ChatRoom", "Users")
GROUPS = Collection("group", "/api/community/communitygroups", "CommunityGroup", "Members")
COLLECTIONS = (ROOMS, GROUPS)


@dataclass(frozen=True)
class ProbeOptions:
    business: int
    user_id: int | None = None
    """The temporary group's administrator, also made a member of the room and the group."""


@dataclass
class Findings:
    """What the account answered, one field per open question; None where it could not tell
    (the answer's text says why). The names are those of the sandbox's switches."""

    listing_system_id: bool | None = None
    listing_system_id_null: bool | None = None
    """Whether listings that carry the `SystemId` key leave it null where GET shows a marker
    (None too where listings leave the key out: then there is nothing to tell)."""
    system_id_filter: bool | None = None
    put_clears_omitted: bool | None = None
    membership_bumps_updated_on: bool | None = None
    throttle_status: int | None = None
    create_answers_record: bool | None = None
    listing_collections: bool | None = None
    """Whether listings carry `Users` / `Members` (the reference says they do not)."""


@dataclass(frozen=True)
class Answer:
    question: str
    observed: str
    implies: str


@dataclass
class ProbeReport:
    findings: Findings = field(default_factory=Findings)
    answers: list[Answer] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    """Stack config keys the answers set (`--write-config` writes them)."""
    left_behind: list[str] = field(default_factory=list)
    """Records the cleanup could not delete, named for the user to delete by hand."""

    @property
    def lines(self) -> list[str]:
        lines: list[str] = []
        for answer in self.answers:
            lines += [f"{answer.question} {answer.observed}", f"  -> {answer.implies}"]
        return lines


def _yes_no(value: bool | None, yes: str, no: str, neither: str) -> str:
    return neither if value is None else (yes if value else no)


def _agreed(values: Sequence[bool | None]) -> bool | None:
    """The one answer every record type gave, or None where they differ or one is unknown."""
    return values[0] if len(set(values)) == 1 else None


@dataclass
class _Made:
    """A record the probe made (or may have made: `id` None while its create is unanswered)."""

    collection: Collection
    marker: str
    id: int | None = None


class Probe:
    """One run: make the records, ask the questions, delete what was made."""

    def __init__(
        self, client: NexudusClient, options: ProbeOptions, say: Say, signals: Signals
    ) -> None:
        self.client = client
        self.signals = signals
        self.options = options
        self.say = say
        self.report = ProbeReport()
        self.token = secrets.token_hex(6)
        self.name = f"{PROBE_NAME} {self.token} (temporary, safe to delete)"
        self.made: list[_Made] = []

    # ----- the run ---------------------------------------------------------------------------

    def run(self) -> ProbeReport:
        self.sweep_leftovers()
        user = self.options.user_id or self.borrowed_administrator()
        try:
            room, group = self.create_records(user)
            room_record = self.ask_membership(room, user)
            group_record = self.client.get(GROUPS.path, group)
            self.ask_listings(room_record, group_record)
            self.ask_filter()
            self.ask_put_clears(group_record)
        finally:
            self.signals.deferring = True
            self.clean_up()
        self.signals.raise_deferred()
        self.ask_throttle()
        return self.report

    def answer(self, question: str, observed: str, implies: str) -> None:
        self.report.answers.append(Answer(question, observed, implies))

    # ----- leftovers and cleanup -------------------------------------------------------------

    def sweep_leftovers(
        self,
        collections: Sequence[Collection] = COLLECTIONS,
        marker: str = PROBE_PREFIX,
        why: str = "left by an earlier probe",
    ) -> None:
        """Delete the records whose `SystemId`, read by id, starts with `marker` (any probe's by
        default) among those of the business whose listed name says they are a probe's."""
        for collection in collections:
            filters = {
                collection.filter("Business"): self.options.business,
                collection.filter("Name"): PROBE_NAME,
            }
            for listed in self.client.search(collection.path, filters):
                listed_marker = listed.get("SystemId")
                if not str(listed.get("Name") or "").startswith(PROBE_NAME) or (
                    isinstance(listed_marker, str) and not listed_marker.startswith(marker)
                ):
                    continue
                record_id = int(listed["Id"])
                try:
                    record = self.client.get(collection.path, record_id)
                except NotFoundError:
                    continue
                if str(record.get("SystemId") or "").startswith(marker):
                    self.delete(collection, record_id, why)

    def delete(self, collection: Collection, record_id: int, why: str = "") -> None:
        with contextlib.suppress(NotFoundError):  # gone already: as good
            self.client.delete(collection.path, record_id)
        self.say(f"deleted {collection.noun} {record_id}" + (f" ({why})" if why else ""))

    def clean_up(self) -> None:
        """Delete what this probe made, each record once a read by id shows this probe's
        marker (an id the API answered might name someone else's record); one whose create
        went unanswered is looked for by its marker. What cannot be deleted is named, for
        deleting by hand."""
        for made in self.made:
            try:
                if made.id is not None:
                    self.delete_marked(made)
                else:
                    self.sweep_leftovers(
                        [made.collection], made.marker, "its create went unanswered"
                    )
            except NexudusError as exc:
                what = f"{made.collection.noun} {made.id or made.marker}"
                self.report.left_behind.append(what)
                self.say(f"error: could not delete {what}: {exc}")
        self.made.clear()

    def delete_marked(self, made: _Made) -> None:
        """Delete the record `made.id` if it carries `made.marker`, else leave it, saying so."""
        assert made.id is not None
        try:
            record = self.client.get(made.collection.path, made.id)
        except NotFoundError:
            return  # gone already: as good
        if record.get("SystemId") == made.marker:
            self.delete(made.collection, made.id)
            return
        what = f"{made.collection.noun} {made.id}"
        self.say(
            f"warning: not deleting {what}: it does not carry this probe's marker "
            f"{made.marker!r} (its SystemId is {visible(cut(repr(record.get('SystemId')), 60))})"
        )

    # ----- records -----------------------------------------------------------------------------

    def borrowed_administrator(self) -> int:
        """The administrator of a group of the business: the temporary group needs one."""
        page = self.client.request(
            "GET",
            GROUPS.path,
            params={GROUPS.filter("Business"): self.options.business, "page": 1, "size": 1},
        )
        records = page.get("Records")
        for record in records if isinstance(records, list) else []:
            if isinstance(record, dict) and _is_id(record.get("UserId")):
                return int(record["UserId"])
        raise ProbeError(
            f"business {self.options.business} has no community group to take an administrator "
            "from, and the temporary group needs one: pass --user-id with the id of a user of "
            "the account"
        )

    def create(self, collection: Collection, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """POST a record with a fresh marker; its id and the envelope's `Value`."""
        made = _Made(collection, f"{PROBE_PREFIX}{self.token}-{collection.noun}")
        self.made.append(made)
        envelope = self.client.request(
            "POST", collection.path, json={**body, "SystemId": made.marker}
        )
        value = envelope.get("Value")
        if not isinstance(value, dict) or not _is_id(value.get("Id")):
            shown = visible(cut(repr(value.get("Id") if isinstance(value, dict) else value), 60))
            raise ProbeError(
                f"creating the {collection.noun} answered no record id (a whole number from 1 "
                f"to {MAX_ID}) as Value.Id, but {shown}: the probe stops; look for a record "
                f"whose SystemId is {made.marker!r} and delete it by hand"
            )
        made.id = int(value["Id"])
        self.say(f"created {collection.noun} {made.id} ({self.name!r})")
        return made.id, value

    def create_records(self, user: int) -> tuple[int, int]:
        business = self.options.business
        room, room_value = self.create(ROOMS, {"BusinessId": business, "Name": self.name})
        group, group_value = self.create(
            GROUPS,
            {
                "BusinessId": business,
                "UserId": user,
                "Name": self.name,
                "Description": "made by nexudus-pulumi probe; deleted when it ends",
                "GroupAccess": GROUP_PRIVATE,
                "Members": [user],
            },
        )
        whole = _agreed([set(v) > {"Id"} for v in (room_value, group_value)])
        self.report.findings.create_answers_record = whole
        self.answer(
            "What does a create answer?",
            _yes_no(whole, "the whole record", "{Id} only", "rooms and groups differ"),
            "no setting needed: the provider reads the new id from Value.Id, which either answer "
            "carries",
        )
        return room, group

    # ----- the questions ---------------------------------------------------------------------

    def ask_membership(self, room: int, user: int) -> dict[str, Any]:
        """PUT the room back whole, with only `Users` changed; compare `UpdatedOn` by GET."""
        self.say("asking: does a membership change move UpdatedOn?")
        before = self.client.get(ROOMS.path, room)
        stamp = str(before.get("UpdatedOn") or "")
        resolution = _resolution(stamp)
        time.sleep(resolution * 1.05)  # a stamp in the same unit would hide a move
        self.client.request("PUT", ROOMS.path, json={**before, "Users": [user]})
        after = self.client.get(ROOMS.path, room)
        moved = None if not stamp else after.get("UpdatedOn") != stamp
        self.report.findings.membership_bumps_updated_on = moved
        observed = _yes_no(moved, "yes", "no", "cannot tell: GET shows no UpdatedOn")
        if stamp:
            observed += f" (UpdatedOn {stamp!r} -> {after.get('UpdatedOn')!r}, "
            observed += f"resolution {_shown_resolution(resolution)})"
        self.answer(
            "Does a change of members alone move UpdatedOn?",
            observed,
            f"{MEMBERSHIP_SETTING}: true (a refresh of an unchanged account costs the listing "
            "pages only)"
            if moved
            else f"{MEMBERSHIP_SETTING}: false, the default (a refresh reads each record by id)",
        )
        if moved is not None:
            self.report.settings[MEMBERSHIP_SETTING] = moved
        return after

    def ask_listings(self, room: dict[str, Any], group: dict[str, Any]) -> None:
        """List each record by its name: does the listing carry what GET shows?"""
        self.say("asking: what does a listing carry?")
        carries_marker: list[bool | None] = []
        nulls_marker: list[bool | None] = []
        carries_members: list[bool | None] = []
        for collection, full in ((ROOMS, room), (GROUPS, group)):
            filters = {
                collection.filter("Business"): self.options.business,
                collection.filter("Name"): self.name,
            }
            listed = next(
                (
                    r
                    for r in self.client.search(collection.path, filters)
                    if r.get("Id") == full["Id"]
                ),
                None,
            )
            if listed is None:
                carries_marker.append(None)
                nulls_marker.append(None)
                carries_members.append(None)
                continue
            if "SystemId" not in listed:
                carries_marker.append(False)
                nulls_marker.append(None)
            else:
                shown = listed["SystemId"]
                carries_marker.append(True if shown is None else shown == full.get("SystemId"))
                nulls_marker.append(shown is None and full.get("SystemId") is not None)
            carries_members.append(
                collection.members in listed
                and listed[collection.members] == full.get(collection.members)
            )
        marker = _agreed(carries_marker)
        members = _agreed(carries_members)
        findings = self.report.findings
        findings.listing_system_id, findings.listing_collections = marker, members
        findings.listing_system_id_null = null = _agreed(nulls_marker) if marker else None
        carried = "yes, but always null" if marker and null else "yes"
        self.answer(
            "Does a listing carry SystemId?",
            _yes_no(marker, carried, "no", "rooms and groups differ, or the record was not listed"),
            "no setting needed: the provider is right under either reading (without it, telling "
            "its records apart costs a read by id each)",
        )
        self.answer(
            "Does a listing carry Users / Members?",
            _yes_no(members, "yes", "no", "rooms and groups differ, or the record was not listed"),
            "no setting needed: the provider is right under either reading (members are read by "
            "id)",
        )

    def ask_filter(self) -> None:
        """List with a `SystemId` filter that matches nothing: records back mean it is ignored."""
        self.say("asking: is a SystemId filter honoured?")
        honoured: list[bool | None] = []
        nothing = f"{PROBE_PREFIX}{self.token}-matches-nothing"
        for collection in COLLECTIONS:
            params = {
                collection.filter("Business"): self.options.business,
                collection.filter("SystemId"): nothing,
                "page": 1,
                "size": 1,
            }
            page = self.client.request("GET", collection.path, params=params)
            honoured.append(not page.get("Records"))
        value = _agreed(honoured)
        self.report.findings.system_id_filter = value
        self.answer(
            "Is a SystemId search filter honoured?",
            _yes_no(
                value, "yes", "no: ignored, every record comes back", "rooms and groups differ"
            ),
            "no setting needed: the provider does not depend on that filter",
        )

    def ask_put_clears(self, before: dict[str, Any]) -> None:
        """PUT the group back whole (as GET gave it) but for `Description` and `Members`; GET
        it."""
        self.say("asking: does a PUT clear what it is not sent?")
        body = {k: v for k, v in before.items() if k not in ("Description", GROUPS.members)}
        self.client.request("PUT", GROUPS.path, json=body)
        after = self.client.get(GROUPS.path, before["Id"])
        cleared = [not after.get("Description"), not after.get(GROUPS.members)]
        value = _agreed(cleared)
        self.report.findings.put_clears_omitted = value
        self.answer(
            "Does a PUT clear an optional field or collection it is not sent?",
            _yes_no(
                value,
                "yes: cleared",
                "no: kept",
                f"Description {'cleared' if cleared[0] else 'kept'}, Members "
                f"{'cleared' if cleared[1] else 'kept'}",
            ),
            "no setting needed: the provider PUTs whole records, so under either reading the "
            "fields it does not manage stay as they are",
        )

    def ask_throttle(self) -> None:
        """A few GETs back to back, unpaced, until the account refuses one."""
        self.say(f"{BURST_NOTICE}? (up to {BURST_SIZE} GETs without pacing)")
        params = {ROOMS.filter("Business"): self.options.business, "page": 1, "size": 1}
        observed = f"not met within {BURST_SIZE} unpaced GETs: cannot tell"
        status: int | None = None
        for _ in range(BURST_SIZE):
            answer = self.client.send_unpaced(ROOMS.path, params)
            if answer.status_code in (409, 429):
                status = answer.status_code
                after = answer.headers.get("Retry-After")
                body = answer.content[:1000].decode("utf-8", "replace").strip()
                shown_after = visible(after[:40]) if after is not None else "absent"
                observed = f"HTTP {status}, Retry-After: {shown_after}, body: {body[:80]!r}"
                break
        self.report.findings.throttle_status = status
        self.answer(
            "How does Nexudus throttle?",
            observed,
            "no setting needed: the provider waits as either answer asks (Retry-After, or the "
            "seconds in the body)",
        )


def _is_id(value: Any) -> bool:
    """A record id: a whole number from 1 to 2^31-1 (not `true`, not `7.0`)."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def _resolution(stamp: str) -> float:
    """The unit of an `UpdatedOn` text: `...T10:00:00.123Z` counts in ms, `...T10:00Z` in
    minutes. A move within one unit does not show."""
    match = re.search(r"T\d{2}:\d{2}(:\d{2}(\.(\d+))?)?", stamp)
    if match is None or match.group(1) is None:
        return 60.0
    digits = match.group(3)
    return 10.0 ** -len(digits) if digits else 1.0


def _shown_resolution(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:g} s"
    return f"{seconds * 1000:g} ms" if seconds >= 0.001 else f"{seconds * 1e6:g} µs"


class Signals:
    """SIGINT and SIGTERM during a probe: the first raises `Interrupted` where the probe stands,
    so that its `finally` deletes what it made; once the cleanup has begun (`deferring`), a
    signal is only noted, and raised when the cleanup is done, so it never cuts the cleanup
    short."""

    def __init__(self, say: Say) -> None:
        self.say = say
        self.deferring = False
        self.arrived: list[int] = []

    def __call__(self, signum: int, _frame: FrameType | None) -> None:
        self.arrived.append(signum)
        if not self.deferring:
            raise Interrupted(signum)
        self.say("deleting the temporary records first; a moment")

    def raise_deferred(self) -> None:
        """Raise for a signal that arrived while the cleanup ran."""
        self.deferring = False
        if self.arrived:
            raise Interrupted(self.arrived[0])

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        """Handle the signals meanwhile (only the main thread receives them); the handlers
        before are back afterwards."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {s: signal.signal(s, self) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


def run_probe(client: NexudusClient, options: ProbeOptions, say: Say) -> ProbeReport:
    """Probe the account; `say` hears progress (records made and deleted, each question)."""
    signals = Signals(say)
    with signals.installed():
        return Probe(client, options, say, signals).run()


def write_settings(root: Path, stack: str, settings: dict[str, Any]) -> Path:
    """Set the keys in the stack's config file, keeping everything else in it."""
    project = Project.find(root)
    stack_file = StackFile.load(project.stack_file(stack.rsplit("/", 1)[-1]), missing_ok=True)
    for key, value in settings.items():
        set_value(stack_file.config, key, value)
    stack_file.save()
    return stack_file.path


def probe_command(
    options: ProbeOptions,
    stack: str | None,
    *,
    write_config: bool,
    config: Callable[[str], Callable[[str], Any]],
) -> int:
    """`nexudus-pulumi probe`: credentials from the NEXUDUS_* variables or, with a stack, from
    its config first (`config(stack)` reads it, as for `rooms`); the exit code."""
    if write_config and not stack:
        print(
            "error: --write-config needs --stack, the stack whose file it writes", file=sys.stderr
        )
        return 2
    try:
        if stack:
            client = NexudusClient(Settings.load(config(stack), os.environ))
        else:
            client = client_from_environment(os.environ)
        report = run_probe(client, options, _progress)
    except Interrupted as exc:
        print("interrupted: stopped once the cleanup above was done", file=sys.stderr)
        return 128 + exc.signum
    except NexudusError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print("\n" + "\n".join(report.lines))  # the answers, apart from the progress above
    if report.left_behind:
        print(f"warning: delete by hand: {', '.join(report.left_behind)}", file=sys.stderr)
    if write_config and stack and report.settings:
        try:
            path = write_settings(Path.cwd(), stack, report.settings)
        except NexudusError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        keys = ", ".join(f"{k}: {str(v).lower()}" for k, v in report.settings.items())
        print(f"wrote {keys} to {path}")
    return 1 if report.left_behind else 0


def _progress(line: str) -> None:
    print(line, flush=True)
