"""`nexudus-pulumi`: run the local sandbox; list, export or clone the records of each kind
(`kinds.KINDS`) a Nexudus account holds."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

from pydantic.alias_generators import to_snake

from .client import NexudusClient
from .clone import CloneOptions, parse_business_map, run_clone
from .display import cut, visible
from .errors import ConfigurationError, NexudusError
from .export import ExportOptions, run_export
from .kinds import KINDS
from .ownership import Marker
from .probe import BURST_SIZE, REQUESTS, ProbeOptions, probe_command
from .recordkind import RecordKind, said
from .sandbox import (
    DEMO_PASSWORD,
    DEMO_USER,
    READER_PASSWORD,
    READER_USER,
    Faults,
    Fidelity,
    Limits,
    Sandbox,
)
from .sandbox.fidelity import CLI_FLAGS
from .settings import Settings, is_loopback


def _sandbox(args: argparse.Namespace) -> int:
    if not (is_loopback(args.host) or args.allow_remote):
        print(
            f"error: --host {args.host} is not a loopback address: the sandbox's demo accounts "
            "are printed at start and well known, so anyone who reaches the port gets "
            "administrator access. Pass --allow-remote to serve there anyway.",
            file=sys.stderr,
        )
        return 2
    limits = Limits(
        min_interval=args.min_interval_ms / 1000,
        requests_per_window=args.requests_per_minute,
        writes_per_window=args.writes_per_minute,
        window_seconds=args.window_seconds,
        writes_per_day=args.writes_per_day,
    )
    faults = Faults(
        latency_ms=args.latency_ms,
        error_rate=args.error_rate,
        transient_500_rate=args.transient_500_rate,
        error_burst=args.error_burst,
        drop_after_commit_rate=args.drop_rate,
        commit_delay_ms=args.commit_delay_ms,
        seed=args.seed,
    )
    fidelity = Fidelity(**{name: getattr(args, name) for name in CLI_FLAGS})
    try:
        sandbox = Sandbox(
            host=args.host,
            port=args.port,
            db=args.db,
            limits=limits,
            faults=faults,
            businesses=tuple(args.business or (1001, 1002, 1003)),
            fidelity=fidelity,
            allowed_hosts=args.allow_host or (),
        )
    except OSError as exc:
        print(
            f"error: cannot serve on {args.host}:{args.port}: {exc.strerror or exc}; "
            "is another sandbox running? Choose another port with --port",
            file=sys.stderr,
        )
        return 1
    print(
        f"Nexudus sandbox on {sandbox.url}  (businesses: {sorted(sandbox.businesses)}, "
        f"users: {min(sandbox.users)}-{max(sandbox.users)})"
    )
    print(f"  full access: {DEMO_USER} / {DEMO_PASSWORD}")
    print(f"  read only:   {READER_USER} / {READER_PASSWORD}")
    print(f"  faults: {faults}  limits: {limits}")
    print(f"  fidelity: {fidelity}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        sandbox.serve_forever()
    return 0


def _list(args: argparse.Namespace) -> int:
    """Print the records of one kind Nexudus holds, with the credentials from the NEXUDUS_*
    variables or, with --stack, from that stack's config first (as `pulumi up` would)."""
    kind: RecordKind[Any] = args.kind
    try:
        config_get = _stack_config(args.stack) if args.stack else None
        client = NexudusClient(Settings.load(config_get, os.environ))
        filters = {kind.spec.filter("Business"): args.business} if args.business else {}
        records = list(client.search(kind.spec.collection, filters))
    except NexudusError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    shown = _shown_fields(kind, records)
    header = "".join(f"{f:{CELL}}  " for f in shown)
    named = kind.model.wire_name(kind.model.NAME_FIELD)  # `Name`; a thread's `Subject`
    print(f"{'Id':>10}  {'Business':>8}  {header}{'Managed by':{OWNER}}  {named}")
    for record in records:
        print(_row(kind, record, shown))
    print(kind.count(len(records)))
    unlisted = [f for f in _shown_fields(kind, []) if f not in shown]
    if unlisted:
        print(f"(Nexudus's listings leave out {said(unlisted)}: a record read by id shows them)")
    return 0


RECORDS = said([kind.plural for kind in KINDS])
"""`rooms, groups and threads`: what export and clone handle, in help texts."""
CELL = 20
"""Width of a listed field: a timestamp fits."""
OWNER = 30
NAME = 60
"""Names longer than this are cut: one row per record, whatever Nexudus holds."""


def _shown_fields(kind: RecordKind[Any], records: list[dict[str, Any]]) -> list[str]:
    """The fields a column each: those the listing carries (it leaves out `Users`, `Members`:
    an empty column would read as "none"), or every one when it lists nothing."""
    listed = {key for record in records for key in record}
    return [
        f
        for f in kind.fields
        if f not in ("businessId", kind.model.NAME_FIELD)
        and (not records or kind.model.wire_name(f) in listed)
    ]


def _row(kind: RecordKind[Any], record: dict[str, Any], shown: list[str]) -> str:
    """One record on one line. Every text from the API is escaped (`display.visible`) and cut
    to its column: an ESC cannot drive the terminal, a line break cannot start a row, a lone
    surrogate cannot stop the printing."""
    view = kind.model.live_view(record)
    owner = _cell(_managed_by(record.get("SystemId")), OWNER) or "-"
    cells = "".join(f"{_cell(view[f]):{CELL}}  " for f in shown)
    name = _cell(view[kind.model.NAME_FIELD], NAME) or "(unnamed)"
    ids = f"{_cell(record['Id'], 10):>10}  {_cell(view['businessId'], 8):>8}"
    return f"{ids}  {cells}{owner:{OWNER}}  {name}"


def _managed_by(system_id: Any) -> str:
    """Who a record's `SystemId` says manages it: a stack's resource (`project/stack/key`),
    another integration (its `SystemId` as it is), or nobody ("")."""
    marker = Marker.parse(system_id)
    if marker is not None:
        return marker.path
    if isinstance(system_id, str) and system_id.strip():
        return f"SystemId {system_id.strip()}"
    return ""


def _cell(value: Any, width: int = CELL) -> str:
    if isinstance(value, list):
        text = ",".join(map(str, value))
    else:
        text = "" if value is None else str(value)
    return cut(visible(text), width)


def _on_request() -> list[tuple[RecordKind[Any], str]]:
    """The fields export writes only when asked, each with its kind: one flag each."""
    return [(kind, name) for kind in KINDS for name in sorted(kind.on_request)]


def _export(args: argparse.Namespace) -> int:
    """Write the records of a business into a stack's config, each with the importId
    adopting it."""
    only = set(args.only or [kind.map_name for kind in KINDS])
    options = ExportOptions(
        business=args.business,
        protect=args.protect,
        include_owned=args.include_owned,
        with_fields=frozenset(name for _, name in _on_request() if getattr(args, to_snake(name))),
        kinds=tuple(kind for kind in KINDS if kind.map_name in only),
        keep_unmatched=args.keep_unmatched,
    )
    try:
        report = run_export(
            Path.cwd(),
            args.stack,
            options,
            environ=os.environ,
            force=args.force,
            to_stdout=args.output == "-",
        )
    except NexudusError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.output == "-":
        sys.stdout.write(report.text)
    print("\n".join(report.lines), file=sys.stderr if args.output == "-" else sys.stdout)
    return 0


def _clone(args: argparse.Namespace) -> int:
    """Make a new stack with another stack's records, in another business."""
    try:
        options = CloneOptions(
            source=args.source,
            target=args.target,
            business=args.business,
            business_map=parse_business_map(args.map_business or []),
            keep_protect=args.keep_protect,
            secrets_provider=args.secrets_provider,
        )
        report = run_clone(Path.cwd(), options)
    except NexudusError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print("\n".join(report.lines))
    return 0


def _probe(args: argparse.Namespace) -> int:
    """Ask the open questions of the live API; print the answers and what each implies."""
    options = ProbeOptions(args.business, args.user_id)
    return probe_command(options, args.stack, write_config=args.write_config, config=_stack_config)


def _stack_config(stack: str) -> Callable[[str], Any]:
    """The stack's config, secrets decrypted, as `pulumi config --show-secrets` gives it (run
    in the current folder, the project's): the same values `pulumi up` would use."""
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        raise ConfigurationError(
            "--stack needs the pulumi CLI on PATH (make engine installs it into .tools/bin)"
        )
    command = [pulumi, "config", "--json", "--show-secrets", "--stack", stack]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
        raise ConfigurationError(f"`pulumi config --stack {stack}` failed: {said[-1]}")
    values = {key: entry.get("value") for key, entry in json.loads(done.stdout).items()}
    return values.get


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _not_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return value


_READING_HELP = {
    "listing_system_id": (
        "listings leave SystemId out (default: listings carry it; GET by id always does)"
    ),
    "system_id_filter": (
        "honour a ChatRoom_SystemId / CommunityGroup_SystemId search filter, exact match "
        "(default: ignored like any unknown parameter, so it lists every record)"
    ),
    "put_clears_omitted": (
        "a PUT keeps an optional field or list it is not sent (default: it is reset to its default)"
    ),
    "membership_bumps_updated_on": (
        "a change of Users/Members alone moves the record's UpdatedOn "
        "(default: UpdatedOn stays as it was)"
    ),
    "listing_system_id_null": (
        "listings carry the SystemId key but always null (default: the value GET shows)"
    ),
    "throttle_status": (
        "throttle with 429 and a text body 'Wait N seconds.', no Retry-After "
        "(default: 409 with Retry-After: N and an empty body)"
    ),
    "create_answers_record": (
        "a create's answer carries the whole record in Value (default: Value is {Id})"
    ),
}
"""`Fidelity` switch -> the help of its `sandbox` flag. The flags themselves are
`fidelity.CLI_FLAGS`, the table `Fidelity.flags()` reads too, so that a reading a test selects
by its flags is the one the command line makes."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nexudus-pulumi")
    parser.add_argument("--version", action="version", version=version("nexudus-pulumi"))
    commands = parser.add_subparsers(dest="command", required=True)

    sandbox = commands.add_parser("sandbox", help="serve a local Nexudus on loopback")
    sandbox.add_argument("--host", default="127.0.0.1", help="a loopback address")
    sandbox.add_argument(
        "--allow-remote",
        action="store_true",
        help="serve on a non-loopback --host although the demo credentials are public",
    )
    sandbox.add_argument("--port", type=int, default=8787)
    sandbox.add_argument("--db", default=":memory:", help="SQLite file (default: memory only)")
    sandbox.add_argument("--business", type=int, action="append", help="a known business id")
    sandbox.add_argument("--latency-ms", type=_not_negative, default=0.0)
    sandbox.add_argument(
        "--error-rate", type=_fraction, default=0.0, help="share of 503 answers, 0 to 1"
    )
    sandbox.add_argument(
        "--drop-rate", type=_fraction, default=0.0, help="share of POSTs committed then dropped"
    )
    sandbox.add_argument(
        "--commit-delay-ms",
        type=float,
        default=0.0,
        help="POSTs wait this long before committing, then answer",
    )
    sandbox.add_argument(
        "--transient-500-rate",
        type=_fraction,
        default=0.0,
        help="share of requests that start a burst of Nexudus's 500 'Ooops!' answers, 0 to 1",
    )
    sandbox.add_argument(
        "--error-burst",
        type=_positive,
        default=1,
        help="consecutive requests each 503 or 500 fault hits once drawn (default 1)",
    )
    sandbox.add_argument("--seed", type=int, default=0, help="seed of the fault dice")
    sandbox.add_argument(
        "--allow-host",
        action="append",
        metavar="NAME",
        help="also serve requests whose Host header names NAME (besides the --host address, "
        "localhost and 127.0.0.1); any other Host is refused, against DNS rebinding",
    )
    readings = sandbox.add_argument_group(
        "readings of what the Nexudus sources leave open (docs/nexudus-api.md)"
    )
    default, flipped = Fidelity(), Fidelity.variants()
    for name, flag in CLI_FLAGS.items():
        readings.add_argument(
            flag,
            dest=name,
            action="store_const",
            const=getattr(flipped[name], name),
            default=getattr(default, name),
            help=_READING_HELP[name],
        )
    sandbox.add_argument("--writes-per-minute", type=_positive, default=60)
    sandbox.add_argument(
        "--writes-per-day",
        type=_positive,
        default=5000,
        help="the daily write quota: 5000 on the newer limits page, 2500 on older accounts",
    )
    sandbox.add_argument("--requests-per-minute", type=_positive, default=120)
    sandbox.add_argument("--min-interval-ms", type=_not_negative, default=100.0)
    sandbox.add_argument(
        "--window-seconds", type=float, default=60.0, help="length of the 'minute' windows"
    )
    sandbox.set_defaults(run=_sandbox)

    for kind in KINDS:
        lister = commands.add_parser(
            kind.map_name,
            help=f"list {kind.plural} (NEXUDUS_* variables, or a stack's config with --stack)",
            description=f"List the {kind.plural} of a Nexudus account. Settings come from the "
            "NEXUDUS_* variables; with --stack, from that stack's nexudus:* config first "
            "(read with `pulumi config --show-secrets`, run in the current folder).",
        )
        lister.add_argument("--business", type=int)
        lister.add_argument("--stack", help="read the settings from this stack's config")
        lister.set_defaults(run=_list, kind=kind)

    export = commands.add_parser(
        "export",
        help=f"write a business's existing {RECORDS} into a stack's config, to adopt them",
        description="Run in the project's root, with NEXUDUS_* credentials. Writes "
        "stacks/Pulumi.STACK.yaml: the business, and one entry per existing record "
        f"({RECORDS}), with its importId; `pulumi up` then adopts them without creating any record "
        "(Pulumi still counts each adoption as `+ created`: it creates the resource's state).",
    )
    export.add_argument("--business", type=int, required=True, help="the Nexudus business id")
    export.add_argument("--stack", required=True, help="the stack whose config file is written")
    export.add_argument(
        "--force",
        action="store_true",
        help="merge into a stack that already declares some: keys already there keep their "
        "place; keys of the business that match no record (no importId or marker of theirs "
        "exists) are removed, each named, unless --keep-unmatched",
    )
    export.add_argument(
        "--keep-unmatched",
        action="store_true",
        help=f"with --force, keep the keys that match no record ({RECORDS} written by "
        "hand, still to be created) instead of removing them",
    )
    export.add_argument(
        "--only",
        action="append",
        choices=[kind.map_name for kind in KINDS],
        help="export this map only, leaving the others as they are (repeatable; default: all)",
    )
    export.add_argument(
        "--output", choices=["-"], help="`-`: print the stack file instead of writing it"
    )
    export.add_argument(
        "--no-protect",
        dest="protect",
        action="store_false",
        help=f"do not write `protect: true` on the {RECORDS} (written by default)",
    )
    export.add_argument(
        "--include-owned",
        action="store_true",
        help=f"also write {RECORDS} another stack or integration manages (a SystemId "
        "of theirs), with `takeOver: true`: `pulumi up` then makes them this stack's",
    )
    for kind, name in _on_request():  # `lastAgentVisit` is --last-agent-visit
        export.add_argument(
            f"--{to_snake(name).replace('_', '-')}",
            action="store_true",
            help=f"also write each {kind.noun}'s {name} (left to Nexudus by default)",
        )
    export.set_defaults(run=_export)

    clone = commands.add_parser(
        "clone",
        help=f"make a new stack with another stack's {RECORDS}, in another business",
        description="Run in the project's root, with the pulumi CLI on PATH and the backend and "
        "passphrase of the source stack. Creates TARGET (Pulumi re-encrypts the secrets) and "
        f"writes its config: the same {RECORDS}, without importId, in the new business.",
    )
    clone.add_argument("--from", dest="source", required=True, help="the stack to copy")
    clone.add_argument("--to", dest="target", required=True, help="the new stack")
    clone.add_argument("--business", type=int, required=True, help="the new stack's business")
    clone.add_argument(
        "--map-business",
        action="append",
        metavar="OLD=NEW",
        help=f"where {RECORDS} that set their own businessId OLD go (OLD=OLD keeps it); repeatable",
    )
    clone.add_argument(
        "--keep-protect",
        action="store_true",
        help="keep the records' protect and retainOnDelete",
    )
    clone.add_argument("--secrets-provider", help="for the new stack (default: Pulumi's)")
    clone.set_defaults(run=_clone)

    probe = commands.add_parser(
        "probe",
        help="settle on a real account what the API reference leaves open",
        description="Makes one temporary room and one temporary group in the business, asks the "
        "live API each open question (does a listing carry SystemId? is a SystemId filter "
        "honoured? does a PUT clear what it is not sent? does a membership change move "
        "UpdatedOn? do listings carry Users/Members? 409 or 429? what does a create answer?), "
        "deletes what it made (also on Ctrl-C or SIGTERM, and leftovers of an earlier probe "
        "first), and prints each answer with the setting it implies. "
        f"About {REQUESTS} requests, paced as the provider paces them, but for a burst of at "
        f"most {BURST_SIZE} unpaced GETs at the end that meets the 1-per-100 ms limit on "
        "purpose; more only to delete leftovers. Credentials as for `rooms`.",
    )
    probe.add_argument("--business", type=int, required=True, help="the Nexudus business id")
    probe.add_argument(
        "--user-id",
        type=int,
        help="administrator of the temporary group (default: that of a group of the business)",
    )
    probe.add_argument("--stack", help="read the settings from this stack's config")
    probe.add_argument(
        "--write-config",
        action="store_true",
        help="write the implied settings into the stack's file (stacks/Pulumi.STACK.yaml)",
    )
    probe.set_defaults(run=_probe)

    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
