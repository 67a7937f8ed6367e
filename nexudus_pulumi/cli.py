"""`nexudus-pulumi`: run the local sandbox; list, export or clone the records of each kind
(`kinds.KINDS`) a Nexudus account holds."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic.alias_generators import to_snake

from . import sandboxcommand
from .display import cut, visible
from .kinds import KINDS
from .ownership import Marker
from .recordkind import said

if TYPE_CHECKING:
    from .recordkind import RecordKind

# Each command imports what it runs with when it runs: `--help`, and any one command, need not
# load the client, the tools or Pulumi (tests/package/test_startup.py checks which is loaded).


def _list(args: argparse.Namespace) -> int:
    """Print the records of one kind Nexudus holds, with the credentials from the NEXUDUS_*
    variables or, with --stack, from that stack's config first (as `pulumi up` would)."""
    from .client import NexudusClient
    from .errors import NexudusError
    from .settings import Settings

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
    from .errors import NexudusError
    from .export import ExportOptions, run_export

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
    from .clone import CloneOptions, parse_business_map, run_clone
    from .errors import NexudusError

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
    from .probe import ProbeOptions, probe_command

    options = ProbeOptions(args.business, args.user_id)
    return probe_command(options, args.stack, write_config=args.write_config, config=_stack_config)


def _stack_config(stack: str) -> Callable[[str], Any]:
    """The stack's config, secrets decrypted, as `pulumi config --show-secrets` gives it (run
    in the current folder, the project's): the same values `pulumi up` would use."""
    from .errors import ConfigurationError

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


class _Parser(argparse.ArgumentParser):
    """A parser whose description may be written when its help is shown (`describe`): the
    probe's quotes figures of `probe.py`, which every other command need not import."""

    def __init__(self, *args: Any, describe: Callable[[], str] | None = None, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._describe = describe

    def format_help(self) -> str:
        if self._describe is not None:
            self.description = self._describe()
        return super().format_help()


class _Version(argparse.Action):
    """`--version`, the installed distribution's read only when asked for."""

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        from importlib.metadata import version

        print(version("nexudus-pulumi"))
        parser.exit()


def _probe_description() -> str:
    from .probe import BURST_SIZE, REQUESTS

    return (
        "Makes one temporary room and one temporary group in the business, asks the "
        "live API each open question (does a listing carry SystemId? is a SystemId filter "
        "honoured? does a PUT clear what it is not sent? does a membership change move "
        "UpdatedOn? do listings carry Users/Members? 409 or 429? what does a create answer?), "
        "deletes what it made (also on Ctrl-C or SIGTERM, and leftovers of an earlier probe "
        "first), and prints each answer with the setting it implies. "
        f"About {REQUESTS} requests, paced as the provider paces them, but for a burst of at "
        f"most {BURST_SIZE} unpaced GETs at the end that meets the 1-per-100 ms limit on "
        "purpose; more only to delete leftovers. Credentials as for `rooms`."
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = _Parser(prog="nexudus-pulumi")
    parser.add_argument(
        "--version", action=_Version, nargs=0, help="show program's version number and exit"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    sandboxcommand.add_command(commands)

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
        describe=_probe_description,
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
