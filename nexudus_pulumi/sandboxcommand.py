"""`nexudus-pulumi sandbox`: its flags (faults, the published limits, a flag per `Fidelity`
switch) and the `Sandbox` they make, served until Ctrl-C.

Apart from cli.py because it is the one command that knows the sandbox's knobs; it loads the
sandbox only to serve, so `nexudus-pulumi --help` pays for `fidelity.py` alone.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import Any

from .sandbox.fidelity import CLI_FLAGS, Fidelity

READING_HELP = {
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
    "token_counts": (
        "a token request counts against the limits of the account it names "
        "(default: token requests are throttled apart)"
    ),
}
"""`Fidelity` switch -> the help of its `sandbox` flag. The flags themselves are
`fidelity.CLI_FLAGS`, the table `Fidelity.flags()` reads too, so that a reading a test selects
by its flags is the one the command line makes."""


def add_command(commands: Any) -> None:
    """Add `sandbox` to the subcommands (`argparse`'s `add_subparsers()` object)."""
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
    sandbox.add_argument("--latency-ms", type=not_negative, default=0.0)
    sandbox.add_argument(
        "--error-rate", type=fraction, default=0.0, help="share of 503 answers, 0 to 1"
    )
    sandbox.add_argument(
        "--drop-rate", type=fraction, default=0.0, help="share of POSTs committed then dropped"
    )
    sandbox.add_argument(
        "--commit-delay-ms",
        type=float,
        default=0.0,
        help="POSTs wait this long before committing, then answer",
    )
    sandbox.add_argument(
        "--transient-500-rate",
        type=fraction,
        default=0.0,
        help="share of requests that start a burst of Nexudus's 500 'Ooops!' answers, 0 to 1",
    )
    sandbox.add_argument(
        "--error-burst",
        type=positive,
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
            help=READING_HELP[name],
        )
    sandbox.add_argument("--writes-per-minute", type=positive, default=60)
    sandbox.add_argument(
        "--writes-per-day",
        type=positive,
        default=5000,
        help="the daily write quota: 5000 on the newer limits page, 2500 on older accounts",
    )
    sandbox.add_argument("--requests-per-minute", type=positive, default=120)
    sandbox.add_argument("--min-interval-ms", type=not_negative, default=100.0)
    sandbox.add_argument(
        "--window-seconds", type=float, default=60.0, help="length of the 'minute' windows"
    )
    sandbox.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from .sandbox import (
        DEMO_PASSWORD,
        DEMO_USER,
        READER_PASSWORD,
        READER_USER,
        Faults,
        PublishedLimits,
        Sandbox,
    )
    from .settings import is_loopback

    if not (is_loopback(args.host) or args.allow_remote):
        print(
            f"error: --host {args.host} is not a loopback address: the sandbox's demo accounts "
            "are printed at start and well known, so anyone who reaches the port gets "
            "administrator access. Pass --allow-remote to serve there anyway.",
            file=sys.stderr,
        )
        return 2
    limits = PublishedLimits(
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


def fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def not_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return value
