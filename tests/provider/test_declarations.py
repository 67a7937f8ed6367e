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
        # typed 2025-01-15T10:30:00Z: the suggestion is what was typed, not a +00:00 spelling
        ("2025-01-15 10:30:00 +0000 UTC", 'name: "2025-01-15T10:30:00Z"'),
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


# ----- names and dates a declaration refuses at preview, naming the field ----------------------


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("Lobby\x00", "\\x00"),
        ("\x1b[31mred", "\\x1b"),
        ("Line\nbreak", "\\n"),
        ("Tab\tbed", "\\t"),
        ("Next\x85line", "\\x85"),
        ("Delete\x7f", "\\x7f"),
    ],
)
def test_a_name_with_a_control_character_is_refused(name: str, shown: str) -> None:
    _, failures = check(name=name)
    assert list(failures) == ["name"]
    assert f"must not hold control characters, got {shown}" in failures["name"]


def test_a_name_with_a_lone_surrogate_is_refused() -> None:
    _, failures = check(name="Half \ud83d pair")
    assert failures == {"name": "must not hold a lone surrogate, got \\ud83d at 5"}


def test_a_name_longer_than_255_characters_is_refused_with_its_length() -> None:
    assert check(name="x" * 255)[1] == {}
    _, failures = check(name="x" * 20_000)
    assert failures == {"name": "must be at most 255 characters, got 20,000"}


@pytest.mark.parametrize("name", ["", "   ", "\u3000"])
def test_a_blank_room_name_is_refused(name: str) -> None:
    _, failures = check(name=name)
    assert failures == {"name": "must not be blank"}


@pytest.mark.parametrize(
    "value",
    [
        "2025-01-15",  # a date, no time
        "2025-01-15T10:30:00",  # no offset: which 10:30?
        "2025-W03-3",  # ISO week date
        "2025-W03-3T10:30:00Z",
        "2025-015",  # ordinal date
        "2025-015T10:30:00Z",
        "20250115T103000Z",  # basic format
    ],
)
def test_last_agent_visit_must_be_a_date_time_with_an_offset(value: str) -> None:
    _, failures = check(lastAgentVisit=value)
    assert list(failures) == ["lastAgentVisit"]
    assert "2025-01-15T10:30:00Z" in failures["lastAgentVisit"]


@pytest.mark.parametrize(
    ("value", "normal"),
    [
        ("2025-01-15T10:30:00Z", "2025-01-15T10:30:00Z"),
        ("2025-01-15T10:30:00.250+02:00", "2025-01-15T10:30:00.250000+02:00"),
        ("2025-01-15T10:30Z", "2025-01-15T10:30:00Z"),
        ("2025-01-15 10:30:00 +0000 UTC", "2025-01-15T10:30:00Z"),  # YAML's, via the engine
    ],
)
def test_a_date_time_with_an_offset_is_taken(value: str, normal: str) -> None:
    inputs, failures = check(lastAgentVisit=value)
    assert failures == {}
    assert inputs["lastAgentVisit"] == normal
