"""The sandbox's answers to the questions the Nexudus sources leave open.

`docs/nexudus-api.md` lists every behaviour the sandbox follows and its source. Where the sources
disagree or are silent, the sandbox takes one reading by default and a `Fidelity` switch gives
the other, so the provider can be tested under every reading a real account might have. A
`Sandbox` holds one as the attribute `fidelity`: tests may replace it, or change one of its
fields, while the sandbox serves (like `Faults`).
"""

from __future__ import annotations

import itertools
from dataclasses import astuple, dataclass, fields, replace
from typing import Any

THROTTLE_STATUSES = (409, 429)


@dataclass
class Fidelity:
    """One reading of each open question. The defaults are the documented or most likely
    reading; `adversarial()` and `lenient()` are the readings hardest and easiest on a client."""

    listing_system_id: bool = True
    """Search results carry `SystemId` (False: the key is absent from listings, as the
    collection keys are; GET by id always shows it). Not documented either way."""
    listing_system_id_null: bool = False
    """Where listings carry `SystemId`, they carry the key with the value `null`, whatever the
    record holds (False: the value GET shows). One more reading the sources allow: a listing
    projection may name a field it does not fill. Only GET by id is evidence of a marker."""
    system_id_filter: bool = False
    """A `<Record>_SystemId` query parameter is honoured, exact match (False: ignored, as every
    unknown parameter is, so it returns every record). The older reference had it; the current
    one does not."""
    put_clears_omitted: bool = True
    """A PUT resets an optional field or collection it is not sent to its default (False: keeps
    the stored value). Not documented; the notes say to assume it may be cleared."""
    membership_bumps_updated_on: bool = False
    """A change of the member list alone (`Users`, `Members`), by PUT or in the admin UI, moves
    `UpdatedOn` (False: `UpdatedOn` stays as it was). Not documented."""
    throttle_status: int = 409
    """409 with `Retry-After: N` and an empty body (documented), or 429 with no `Retry-After`
    and a text/plain body `Wait N seconds.` (seen live by one tool)."""
    create_answers_record: bool = False
    """A create's envelope `Value` is the whole record as GET shows it (False: `{"Id": n}`, as
    documented; some clients report the whole record)."""
    token_counts: bool = False
    """A token request counts among the requests of the account it names, against the per
    100 ms, minute, hour and day limits (False: token requests are throttled apart, in one
    budget of their own). The limits are published per account for "all" requests; whether the
    token endpoint, which no account's credentials reach yet, is among them is not said."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "throttle_status" and value not in THROTTLE_STATUSES:
            raise ValueError(f"throttle_status must be 409 or 429, got {value!r}")
        super().__setattr__(name, value)

    @staticmethod
    def adversarial() -> Fidelity:
        """Each switch at the reading that gives a client the least: no marker in listings, no
        marker filter, omitted fields wiped, no `UpdatedOn` evidence of membership changes,
        throttling without a `Retry-After` header, only the id after a create, and token
        requests counted against the account."""
        return Fidelity(listing_system_id=False, throttle_status=429, token_counts=True)

    @staticmethod
    def lenient() -> Fidelity:
        """Each switch at the reading that gives a client the most (a client must not depend
        on any of it)."""
        return Fidelity(
            system_id_filter=True,
            put_clears_omitted=False,
            membership_bumps_updated_on=True,
            create_answers_record=True,
        )

    @staticmethod
    def combinations() -> tuple[Fidelity, ...]:
        """Every combination of the switches (256), fresh instances, for parametrised tests."""
        names = [f.name for f in fields(Fidelity)]
        choices: list[tuple[Any, ...]] = [
            THROTTLE_STATUSES if n == "throttle_status" else (False, True) for n in names
        ]
        return tuple(
            Fidelity(**dict(zip(names, values, strict=True)))
            for values in itertools.product(*choices)
        )

    @staticmethod
    def variants() -> dict[str, Fidelity]:
        """A short list that still meets each reading, fresh instances keyed by a name fit for a
        test id: the default, each switch flipped alone from it (keyed by the switch's name),
        `adversarial` and `lenient`."""
        default = Fidelity()
        flipped = {
            f.name: replace(default, **{f.name: _other(f.name, getattr(default, f.name))})
            for f in fields(Fidelity)
        }
        return {
            "default": default,
            **flipped,
            "adversarial": Fidelity.adversarial(),
            "lenient": Fidelity.lenient(),
        }

    def key(self) -> tuple[Any, ...]:
        """The switches' values, in field order: hashable, to compare or collect readings."""
        return astuple(self)

    def flags(self) -> list[str]:
        """The `nexudus-pulumi sandbox` flags that select this reading."""
        default = Fidelity()
        return [
            flag
            for name, flag in CLI_FLAGS.items()
            if getattr(self, name) != getattr(default, name)
        ]


def _other(name: str, value: Any) -> Any:
    if name == "throttle_status":
        return 429 if value == 409 else 409
    return not value


CLI_FLAGS = {
    "listing_system_id": "--no-listing-system-id",
    "listing_system_id_null": "--listing-system-id-null",
    "system_id_filter": "--system-id-filter",
    "put_clears_omitted": "--put-keeps-omitted",
    "membership_bumps_updated_on": "--membership-bumps-updated-on",
    "throttle_status": "--throttle-429",
    "create_answers_record": "--create-answers-record",
    "token_counts": "--token-counts",
}
"""Fidelity field -> the `nexudus-pulumi sandbox` flag that flips it from its default."""
