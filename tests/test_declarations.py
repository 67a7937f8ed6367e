"""What stack config hands the provider, as users write it: quoted ids, unquoted YAML dates."""

from __future__ import annotations

import pytest

from nexudus_pulumi import ChatRoomProvider


def check(**props: object) -> tuple[dict[str, object], dict[str, str]]:
    result = ChatRoomProvider().check({}, {"businessId": 1001.0, **props})
    return result.inputs, {f.property: f.reason for f in result.failures}


@pytest.mark.parametrize("field", ["businessId", "importId"])
def test_an_id_quoted_in_stack_config_is_an_id(field: str) -> None:
    # `businessId: "1002"` in a room, or an id pasted from `pulumi stack output rooms`
    inputs, failures = check(**{field: "87654321"})
    assert failures == {}
    assert inputs[field] == 87654321


FULL_WIDTH_12 = "\uff11\uff12"


@pytest.mark.parametrize("text", ["12a", "1.5", " 12", "-3", "", FULL_WIDTH_12])
def test_a_string_that_is_not_digits_is_still_refused(text: str) -> None:
    _, failures = check(importId=text)
    assert list(failures) == ["importId"]


def test_an_unquoted_timestamp_with_an_offset_is_read() -> None:
    # `lastAgentVisit: 2025-01-15T10:30:00+02:00`, unquoted, reaches the provider like this
    inputs, failures = check(lastAgentVisit="2025-01-15 10:30:00 +0200 +0200")
    assert failures == {}
    assert inputs["lastAgentVisit"] == "2025-01-15T10:30:00+02:00"


@pytest.mark.parametrize(
    ("passed", "quoted"),
    [
        ("2025-03-01 00:00:00 +0000 UTC", 'name: "2025-03-01"'),
        ("2025-03-01 10:30:00 +0200 +0200", 'name: "2025-03-01T10:30:00+02:00"'),
    ],
)
def test_a_name_that_yaml_turned_into_a_timestamp_is_refused(passed: str, quoted: str) -> None:
    _, failures = check(name=passed)
    assert "unquoted date" in failures["name"]
    assert quoted in failures["name"]


def test_a_name_that_merely_contains_a_date_is_fine() -> None:
    inputs, failures = check(name="Planning 2025-03-01")
    assert failures == {}
    assert inputs["name"] == "Planning 2025-03-01"
