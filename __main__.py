"""Entry point Pulumi runs for this project: see nexudus_pulumi/program.py."""

from nexudus_pulumi.program import declare_groups, declare_rooms

declare_rooms()
declare_groups()
