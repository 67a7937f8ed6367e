"""One probe run: make the temporary records, ask each question of the live API, delete what
was made (and what an earlier probe left), whatever happens meanwhile."""

from __future__ import annotations

import contextlib
import re
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..client import NexudusClient
from ..display import cut, visible
from ..errors import NexudusError, NotFoundError, ProbeError
from ..models import MAX_ID
from .report import (
    BURST_NOTICE,
    BURST_SIZE,
    COLLECTIONS,
    GROUP_PRIVATE,
    GROUPS,
    MEMBERSHIP_SETTING,
    PROBE_NAME,
    PROBE_PREFIX,
    ROOMS,
    Answer,
    Collection,
    ProbeOptions,
    ProbeReport,
    Say,
    agreed,
    yes_no,
)
from .signals import Signals


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
            "the account",
            reason="no-administrator",
            business=self.options.business,
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
                f"whose SystemId is {made.marker!r} and delete it by hand",
                reason="no-record-id",
                business=self.options.business,
                noun=collection.noun,
                marker=made.marker,
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
        whole = agreed([set(v) > {"Id"} for v in (room_value, group_value)])
        self.report.findings.create_answers_record = whole
        self.answer(
            "What does a create answer?",
            yes_no(whole, "the whole record", "{Id} only", "rooms and groups differ"),
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
        observed = yes_no(moved, "yes", "no", "cannot tell: GET shows no UpdatedOn")
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
        marker = agreed(carries_marker)
        members = agreed(carries_members)
        findings = self.report.findings
        findings.listing_system_id, findings.listing_collections = marker, members
        findings.listing_system_id_null = null = agreed(nulls_marker) if marker else None
        carried = "yes, but always null" if marker and null else "yes"
        self.answer(
            "Does a listing carry SystemId?",
            yes_no(marker, carried, "no", "rooms and groups differ, or the record was not listed"),
            "no setting needed: the provider is right under either reading (without it, telling "
            "its records apart costs a read by id each)",
        )
        self.answer(
            "Does a listing carry Users / Members?",
            yes_no(members, "yes", "no", "rooms and groups differ, or the record was not listed"),
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
        value = agreed(honoured)
        self.report.findings.system_id_filter = value
        self.answer(
            "Is a SystemId search filter honoured?",
            yes_no(value, "yes", "no: ignored, every record comes back", "rooms and groups differ"),
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
        value = agreed(cleared)
        self.report.findings.put_clears_omitted = value
        self.answer(
            "Does a PUT clear an optional field or collection it is not sent?",
            yes_no(
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
