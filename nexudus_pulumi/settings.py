"""Provider settings: where Nexudus is, who we are, and how hard we may push it.

Every value comes from stack config (`nexudus:*`, secrets already decrypted by Pulumi) or, when a
key is absent, from a `NEXUDUS_*` environment variable, at run time only: nothing here is pickled
into the state, and the secrets are `SecretStr` so they never show in a repr or a log line.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from .errors import ConfigurationError

DEFAULT_BASE_URL = "https://spaces.nexudus.com"


class _Key:
    """A setting's stack-config key and environment variable."""

    def __init__(self, field: str, config_key: str, env_var: str) -> None:
        self.field = field
        self.config_key = config_key
        self.env_var = env_var


KEYS: tuple[_Key, ...] = (
    _Key("base_url", "nexudus:baseUrl", "NEXUDUS_BASE_URL"),
    _Key("username", "nexudus:username", "NEXUDUS_USERNAME"),
    _Key("password", "nexudus:password", "NEXUDUS_PASSWORD"),
    _Key("token", "nexudus:token", "NEXUDUS_TOKEN"),
    _Key("timeout_seconds", "nexudus:timeoutSeconds", "NEXUDUS_TIMEOUT_SECONDS"),
    _Key("deadline_seconds", "nexudus:deadlineSeconds", "NEXUDUS_DEADLINE_SECONDS"),
    _Key("writes_per_minute", "nexudus:writesPerMinute", "NEXUDUS_WRITES_PER_MINUTE"),
    _Key("requests_per_minute", "nexudus:requestsPerMinute", "NEXUDUS_REQUESTS_PER_MINUTE"),
    _Key("min_interval_ms", "nexudus:minIntervalMs", "NEXUDUS_MIN_INTERVAL_MS"),
    _Key("max_retries", "nexudus:maxRetries", "NEXUDUS_MAX_RETRIES"),
    _Key("backoff_base_ms", "nexudus:backoffBaseMs", "NEXUDUS_BACKOFF_BASE_MS"),
    _Key("log_level", "nexudus:logLevel", "NEXUDUS_LOG_LEVEL"),
    _Key("pace_file", "nexudus:paceFile", "NEXUDUS_PACE_FILE"),
)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Settings(BaseModel):
    """Validated provider settings. Defaults follow the published Nexudus limits."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str = DEFAULT_BASE_URL
    username: str | None = None
    password: SecretStr | None = None
    token: SecretStr | None = None
    timeout_seconds: float = Field(default=30.0, gt=0)
    """Per HTTP request: connect and read each."""
    deadline_seconds: float = Field(default=600.0, gt=0)
    """Per provider operation, including every wait for throttling and every retry."""
    writes_per_minute: int = Field(default=60, gt=0)
    requests_per_minute: int = Field(default=120, gt=0)
    min_interval_ms: int = Field(default=100, ge=0)
    max_retries: int = Field(default=5, ge=0)
    """Retries of one idempotent request after a 5xx, a dropped connection or a timeout."""
    backoff_base_ms: int = Field(default=250, ge=0)
    """Retry n waits a random time up to base x 2^n (capped at 8 s): exponential, full jitter."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """INFO shows waits, retries and adoptions in the run's output; DEBUG adds every request."""
    pace_file: str | None = None
    """Opt-in: a file shared by every provider process on this machine that names it, so that
    several stacks run at once pace themselves as one client of the account (see `pacing`)."""

    @field_validator("base_url")
    @classmethod
    def _https_unless_loopback(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"must be an http(s) URL, got {value!r}")
        if parts.scheme == "http" and not _is_loopback(parts.hostname):
            raise ValueError(
                "plain http:// is refused except for a loopback host (127.0.0.1, ::1, localhost); "
                "use https://"
            )
        return value.rstrip("/")

    @field_validator("pace_file")
    @classmethod
    def _folder_exists(cls, value: str | None) -> str | None:
        if value is not None and not os.path.isdir(os.path.dirname(os.path.abspath(value))):
            raise ValueError(f"the folder of the pace file {value!r} does not exist")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_case(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @property
    def has_credentials(self) -> bool:
        return self.token is not None or (self.username is not None and self.password is not None)

    @classmethod
    def load(
        cls,
        config_get: Callable[[str], Any],
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        """Merge stack config over environment variables, naming the key of any bad value."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        source: dict[str, str] = {}
        for key in KEYS:
            raw = config_get(key.config_key)
            name = key.config_key
            if raw is None or raw == "":
                raw, name = env.get(key.env_var) or None, key.env_var
            if raw is not None:
                values[key.field] = raw
                source[key.field] = name
        try:
            settings = cls.model_validate(values)
        except ValidationError as exc:
            problems = []
            for err in exc.errors(include_input=False, include_url=False):
                field = str(err["loc"][0]) if err["loc"] else ""
                problems.append(f"{source.get(field, field)}: {err['msg']}")
            raise ConfigurationError("invalid Nexudus settings: " + "; ".join(problems)) from None
        if (settings.username is None) != (settings.password is None):
            raise ConfigurationError(
                "nexudus:username and nexudus:password (or NEXUDUS_USERNAME and NEXUDUS_PASSWORD) "
                "must be set together"
            )
        return settings
