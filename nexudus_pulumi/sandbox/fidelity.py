"""The sandbox's answers to the questions the Nexudus sources leave open.

`docs/nexudus-api.md` lists every behaviour the sandbox follows and its source. Where the sources
disagree or are silent, the sandbox takes one reading by default and a `Fidelity` switch gives
the other, so the provider can be tested under every reading a real account might have. A
`Sandbox` holds one as the mutable attribute `fidelity`: tests may swap it while it serves.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, fields, replace
from typing import Any

THROTTLE_STATUSES = (409, 429)


@dataclass(frozen=True)
class Fidelity:
    """One reading of each open question. The defaults are the documented or most likely
    reading; `ADVERSARIAL` and `KIND` are the readings hardest and easiest on a client."""

    listing_system_id: bool = True
    """Search results carry `SystemId` (False: the key is absent from listings, as the
    collection keys are; GET by id always shows it). Not documented either way."""
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

    def __post_init__(self) -> None:
        if self.throttle_status not in THROTTLE_STATUSES:
            raise ValueError(f"throttle_status must be 409 or 429, got {self.throttle_status}")

    @staticmethod
    def combinations() -> tuple[Fidelity, ...]:
        """Every combination of the switches (64), for parametrised tests."""
        choices: list[tuple[Any, ...]] = [
            THROTTLE_STATUSES if f.name == "throttle_status" else (False, True)
            for f in fields(Fidelity)
        ]
        names = [f.name for f in fields(Fidelity)]
        return tuple(
            Fidelity(**dict(zip(names, values, strict=True)))
            for values in itertools.product(*choices)
        )

    @staticmethod
    def variants() -> dict[str, Fidelity]:
        """A short list that still meets each reading: the default, each switch flipped alone
        from it, every switch at its hardest reading for a client, and every one at its easiest.
        Keyed by a name fit for a test id."""
        default = Fidelity()
        flipped = {
            f.name: replace(default, **{f.name: _other(f.name, getattr(default, f.name))})
            for f in fields(Fidelity)
        }
        return {"default": default, **flipped, "adversarial": ADVERSARIAL, "kind": KIND}

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
    "system_id_filter": "--system-id-filter",
    "put_clears_omitted": "--put-keeps-omitted",
    "membership_bumps_updated_on": "--membership-bumps-updated-on",
    "throttle_status": "--throttle-429",
    "create_answers_record": "--create-answers-record",
}
"""Fidelity field -> the `nexudus-pulumi sandbox` flag that flips it from its default."""

ADVERSARIAL = Fidelity(
    listing_system_id=False,
    system_id_filter=False,
    put_clears_omitted=True,
    membership_bumps_updated_on=False,
    throttle_status=429,
    create_answers_record=False,
)
"""Each switch at the reading that gives a client the least: no marker in listings, no marker
filter, omitted fields wiped, no `UpdatedOn` evidence of membership changes, throttling without
a `Retry-After` header, and only the id after a create."""

KIND = Fidelity(
    listing_system_id=True,
    system_id_filter=True,
    put_clears_omitted=False,
    membership_bumps_updated_on=True,
    throttle_status=409,
    create_answers_record=True,
)
"""Each switch at the reading that gives a client the most (a client must not depend on it)."""
