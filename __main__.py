"""Entry point Pulumi runs for this project: see nexudus_pulumi/program.py."""

from nexudus_pulumi.program import declare_stack

declare_stack()
