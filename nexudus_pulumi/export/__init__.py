"""`nexudus-pulumi export`: a business's existing records, of every kind, written into a stack's
config.

The model is `pulumi import` and Terraform's generated import blocks: declarations generated from
what exists, each with the `importId` that adopts it, reviewed, then applied with no change.
Records another stack manages are not offered for adoption unless asked (`--include-owned`), and
every written record is protected by default, so a mistaken `destroy` cannot delete production
records.

Every record type goes through the same code (`kinds.KINDS`): a record is what its model's
`live_view` reads from the API, and what is written is decided field by field from the model's
defaults, so another record type needs no code here.

The package reads in the order of the work: `records` (what Nexudus holds), `keys` (what new
records are called), `plan` (what each map becomes), `write` (into the file, secrets encrypted)
and `command` (the whole run, checked before any request).
"""

from .command import ExportReport, run_export
from .keys import derive_keys, slug
from .plan import ExportOptions, ExportPlan, link_references, managed_fields, plan_export
from .records import ExistingRecord, fetch_records
from .write import apply_plan

__all__ = [
    "ExistingRecord",
    "ExportOptions",
    "ExportPlan",
    "ExportReport",
    "apply_plan",
    "derive_keys",
    "fetch_records",
    "link_references",
    "managed_fields",
    "plan_export",
    "run_export",
    "slug",
]
