"""Property-based: `check` never raises, whatever JSON-like value a user puts in stack config,
and every failure names a property."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from nexudus_pulumi import ChatRoomProvider
from nexudus_pulumi.provider import UNKNOWN

FIELDS = ["businessId", "name", "active", "lastAgentVisit", "users", "ownerTag"]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.just(UNKNOWN),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
props = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=10), json_values, max_size=8)


@settings(max_examples=400, deadline=None)
@given(news=props)
def test_check_never_raises_and_names_a_property(news: dict[str, Any]) -> None:
    result = ChatRoomProvider().check({}, news)
    for failure in result.failures:
        assert failure.property, f"unnamed failure: {failure.reason}"
        # A key that is the empty string is reported quoted, as `""`.
        named = {failure.property} | ({""} if failure.property == '""' else set())
        assert named & news.keys() or failure.property == "businessId"
        assert failure.reason


@settings(max_examples=200, deadline=None)
@given(
    business=st.integers(min_value=1, max_value=2**31 - 1),
    users=st.lists(st.integers(min_value=1, max_value=2**31 - 1), unique=True, max_size=6),
    # a name a declaration takes: not blank, no control character (those are refused)
    name=st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=40).filter(
        str.strip
    ),
)
def test_valid_rooms_pass_and_their_normal_form_is_stable(
    business: int, users: list[int], name: str
) -> None:
    provider = ChatRoomProvider()
    first = provider.check({}, {"businessId": float(business), "users": users, "name": name})
    assert first.failures == []
    second = provider.check({}, first.inputs)
    assert second.inputs == first.inputs
    assert provider.diff("1", first.inputs, second.inputs).changes is False
