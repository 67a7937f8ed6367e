"""Provider settings as a user meets them: every bad value named by the key it came from, at
configure time (so `pulumi preview` fails on it), and credentials taken from the right place."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from nexudus_pulumi.errors import ConfigurationError
from nexudus_pulumi.sandbox import DEMO_PASSWORD, DEMO_USER, Sandbox
from nexudus_pulumi.settings import KEYS, Settings
from tests.helpers import BAD_VALUES, configured, sandbox_config, settled_requests


def load(config: dict[str, Any], environ: dict[str, str] | None = None) -> Settings:
    return Settings.load(config.get, environ or {})


def test_every_key_with_a_value_check_has_a_bad_value_here() -> None:
    unchecked = {
        "nexudus:username",
        "nexudus:password",
        "nexudus:token",
        "nexudus:paceFile",
        "nexudus:pacePassword",
    }
    assert set(BAD_VALUES) == {key.config_key for key in KEYS} - unchecked


@pytest.mark.parametrize(("key", "value"), sorted(BAD_VALUES.items()))
def test_a_bad_value_fails_configure_naming_the_key_and_the_value(
    sandbox: Sandbox, key: str, value: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        configured({**sandbox_config(sandbox), key: value})
    message = str(caught.value)
    assert message.startswith("invalid Nexudus settings: ")
    assert f"{key}: " in message
    assert repr(value) in message  # as the user wrote it
    assert settled_requests(sandbox) == []


def test_every_bad_value_is_named_at_once() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load(BAD_VALUES)
    for key in BAD_VALUES:
        assert f"{key}: " in str(caught.value)


def test_a_bad_value_from_the_environment_names_the_variable() -> None:
    with pytest.raises(ConfigurationError, match=r"NEXUDUS_WRITES_PER_MINUTE: .*'sixty'"):
        load({}, {"NEXUDUS_WRITES_PER_MINUTE": "sixty"})


def test_a_username_without_a_password_says_which_key_to_set() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load({"nexudus:username": DEMO_USER})
    assert "username is set (nexudus:username in stack config)" in str(caught.value)
    assert "set nexudus:password too (as a secret)" in str(caught.value)
    with pytest.raises(ConfigurationError, match="set NEXUDUS_USERNAME too"):
        Settings.load(None, {"NEXUDUS_PASSWORD": "x"})  # the CLI reads only variables


def test_stack_config_credentials_win_over_a_token_left_in_the_environment() -> None:
    settings = load(
        {"nexudus:username": DEMO_USER, "nexudus:password": DEMO_PASSWORD},
        {"NEXUDUS_TOKEN": "stale-token"},
    )
    assert settings.token is None and settings.username == DEMO_USER
    assert settings.credentials_origin() == (
        "the username from nexudus:username in stack config and the password from "
        "nexudus:password in stack config (NEXUDUS_TOKEN also set, not used)"
    )


def test_a_token_wins_over_a_username_and_password_from_the_same_place() -> None:
    settings = load(
        {},
        {"NEXUDUS_TOKEN": "t", "NEXUDUS_USERNAME": DEMO_USER, "NEXUDUS_PASSWORD": "p"},
    )
    assert settings.username is None and settings.token is not None
    assert settings.credentials_origin() == (
        "the token from NEXUDUS_TOKEN in the environment "
        "(NEXUDUS_USERNAME and NEXUDUS_PASSWORD also set, not used)"
    )


def test_a_secret_is_never_echoed_in_a_settings_error() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load({"nexudus:password": 123456789, "nexudus:username": "u"})
    assert "nexudus:password" in str(caught.value)
    assert "123456789" not in str(caught.value)


def test_skipping_the_check_sends_nothing_when_configured(sandbox: Sandbox) -> None:
    configured(sandbox_config(sandbox, password="wrong", skipCredentialsValidation="true"))
    assert settled_requests(sandbox) == []


@pytest.mark.parametrize("key", ["nexudus:timeoutSeconds", "nexudus:deadlineSeconds"])
@pytest.mark.parametrize("value", ["inf", "nan", "-inf"])
def test_a_time_that_is_not_a_finite_number_is_refused(key: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=f"{key}: .*finite.*'{value}'"):
        load({key: value})


def test_the_quota_and_refresh_settings_have_documented_defaults() -> None:
    settings = load({})
    assert settings.writes_per_day == 5_000
    assert settings.membership_bumps_updated_on is False
    older = load(
        {}, {"NEXUDUS_WRITES_PER_DAY": "2500", "NEXUDUS_MEMBERSHIP_BUMPS_UPDATED_ON": "true"}
    )
    assert older.writes_per_day == 2_500
    assert older.membership_bumps_updated_on is True


@pytest.mark.parametrize(
    "pasted", ["MYSECRETTOKEN123\n", "  MYSECRETTOKEN123 ", "\tMYSECRETTOKEN123\r\n"]
)
def test_a_token_with_surrounding_whitespace_is_stripped(pasted: str) -> None:
    settings = load({}, {"NEXUDUS_TOKEN": pasted})
    assert settings.token is not None
    assert settings.token.get_secret_value() == "MYSECRETTOKEN123"


@pytest.mark.parametrize(
    "bad", ["MYSECRET\nTOKEN123", "MYSECRET TOKEN123", "MYSECRET\x1bTOKEN123", "MYSECRETTÖKEN123"]
)
@pytest.mark.parametrize("where", ["config", "environment"])
def test_a_token_no_header_can_carry_is_refused_without_quoting_it(
    bad: str, where: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    config, environ = (
        ({"nexudus:token": bad}, {}) if where == "config" else ({}, {"NEXUDUS_TOKEN": bad})
    )
    with pytest.raises(ConfigurationError) as caught:
        load(config, environ)
    message = str(caught.value)
    assert ("nexudus:token: " if where == "config" else "NEXUDUS_TOKEN: ") in message
    for fragment in ("MYSECRET", "TOKEN123", "Bearer"):
        assert fragment not in message
        assert fragment not in caplog.text


def test_a_base_url_carrying_credentials_is_refused_without_repeating_them() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load({"nexudus:baseUrl": "https://admin:Hunter2@spaces.nexudus.com"})
    message = str(caught.value)
    assert "nexudus:baseUrl: must not carry credentials" in message
    assert "Hunter2" not in message and "admin" not in message
    assert "spaces.nexudus.com" in message
