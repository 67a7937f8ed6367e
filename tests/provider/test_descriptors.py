"""Each record type's descriptor (its inputs model and `Api` tags) against the sandbox, which
follows Nexudus's reference and never the provider's models: two readings of one reference
that must agree on where a type lives, its fields' API names, its collections' `Added*` and
`Removed*` deltas, and the search filters derived from its name."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import pytest

from nexudus_pulumi.kinds import KINDS
from nexudus_pulumi.models import Api, RecordInputs
from nexudus_pulumi.recordkind import RecordKind
from nexudus_pulumi.sandbox.collections import COLLECTIONS, SandboxCollection

every_kind = pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.map_name)


def reference(kind: RecordKind[Any]) -> SandboxCollection:
    return next(c for c in COLLECTIONS if c.path == kind.spec.collection)


@every_kind
def test_the_descriptor_names_the_records_the_reference_names(kind: RecordKind[Any]) -> None:
    collection = reference(kind)
    assert kind.spec.record_name == collection.record
    model = kind.model
    assert {model.wire_name(f) for f in model.record_fields()} == {
        f.name for f in collection.fields
    }


@every_kind
def test_a_collections_deltas_are_the_references(kind: RecordKind[Any]) -> None:
    model = kind.model
    deltas = {
        model.wire_name(f): model.api(f).deltas
        for f in model.record_fields()
        if model.api(f).deltas
    }
    assert deltas == dict(reference(kind).list_deltas)


@every_kind
def test_the_filters_derived_from_the_record_name_are_the_references(
    kind: RecordKind[Any],
) -> None:
    filters = reference(kind).filters
    name_field = kind.model.wire_name(kind.model.NAME_FIELD)
    assert kind.spec.filter("Business") in filters
    assert kind.spec.filter(name_field) in filters
    lookup = kind.model.model_validate({"businessId": 7, **dict(kind.example)}).lookup_filters()
    assert set(lookup) == {kind.spec.filter("Business"), kind.spec.filter(name_field)}


def test_a_tag_says_what_a_field_is_and_no_tag_says_nothing() -> None:
    """`Api(...)` on a field is read back by name; an untagged field is sent as named."""

    class Gadget(RecordInputs):
        RECORD_NAME: ClassVar[str] = "Gadget"
        COLLECTION: ClassVar[str] = "/api/gadgets"

        business_id: int
        colour: Annotated[str, Api(name="Hue", replace=True, codes={"red": 1})] = "red"

    assert Gadget.wire_name("colour") == "Hue" and Gadget.wire_name("businessId") == "BusinessId"
    assert Gadget.tagged("replace") == {"colour"} and Gadget.tagged("pinned") == frozenset()
    assert Gadget.to_api({"colour": "red", "businessId": 3}, None) == {"Hue": 1, "BusinessId": 3}
    assert Gadget.live_view({"Hue": 1, "BusinessId": 3}) == {"businessId": 3, "colour": "red"}
    assert Gadget.filter("Business") == "Gadget_Business"
