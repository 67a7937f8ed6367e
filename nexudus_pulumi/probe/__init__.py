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

The package: `report` (the questions' record types, findings and answers), `session` (one run),
`signals` (interruptions held back during the cleanup), `command` (the CLI's entry point).
"""

from .command import probe_command, run_probe, write_settings
from .report import (
    BURST_NOTICE,
    BURST_SIZE,
    MEMBERSHIP_SETTING,
    PROBE_NAME,
    PROBE_PREFIX,
    REQUESTS,
    Answer,
    Findings,
    ProbeOptions,
    ProbeReport,
    Say,
)
from .session import Probe
from .signals import Signals

__all__ = [
    "BURST_NOTICE",
    "BURST_SIZE",
    "MEMBERSHIP_SETTING",
    "PROBE_NAME",
    "PROBE_PREFIX",
    "REQUESTS",
    "Answer",
    "Findings",
    "Probe",
    "ProbeOptions",
    "ProbeReport",
    "Say",
    "Signals",
    "probe_command",
    "run_probe",
    "write_settings",
]
