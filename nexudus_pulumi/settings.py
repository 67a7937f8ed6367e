"""Provider settings: where Nexudus is, who we are, and how hard we may push it.

Every value comes from stack config (`nexudus:*`, secrets already decrypted by Pulumi) or, when a
key is absent, from a `NEXUDUS_*` environment variable, at run time only: nothing here is pickled
into the state, and the secrets are `SecretStr` so they never show in a repr or a log line.

Each value remembers where it came from, so that a message about it can name the key or the
variable to change: a token left in the environment is not the same fix as a wrong password in
stack config.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from .errors import ConfigurationError, MissingCredentialsError

DEFAULT_BASE_URL = "https://spaces.nexudus.com"


@dataclass(frozen=True)
class Key:
    """A setting's stack-config key and environment variable."""

    field: str
    config_key: str
    env_var: str
    secret: bool = False


def _key(field: str, *, secret: bool = False) -> Key:
    """One rule for every setting, so that none is spelt differently from the others:
    `nexudus:<camelCase>` in stack config, `NEXUDUS_<UPPER_CASE>` in the environment."""
    return Key(field, f"nexudus:{to_camel(field)}", f"NEXUDUS_{field.upper()}", secret)


KEYS: tuple[Key, ...] = (
    _key("base_url"),
    _key("username"),
    _key("password", secret=True),
    _key("token", secret=True),
    _key("timeout_seconds"),
    _key("deadline_seconds"),
    _key("writes_per_minute"),
    _key("requests_per_minute"),
    _key("min_interval_ms"),
    _key("max_retries"),
    _key("backoff_base_ms"),
    _key("log_level"),
    _key("skip_credentials_validation"),
    _key("pace_file"),
    _key("pace_url"),
    _key("pace_password", secret=True),
    _key("quota_share"),
    _key("writes_per_day"),
    _key("membership_bumps_updated_on"),
)
KEY_OF: dict[str, Key] = {key.field: key for key in KEYS}
CREDENTIALS = ("username", "password", "token")


def is_header_safe(text: str) -> bool:
    """Whether `text` can go into an HTTP header as is: visible ASCII, no space or control
    character (a bearer token never needs more; anything else is a paste gone wrong)."""
    return bool(text) and all("!" <= c <= "~" for c in text)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Settings(BaseModel):
    """Validated provider settings. Defaults follow the published Nexudus limits."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    base_url: str = DEFAULT_BASE_URL
    """The API root; `http://` only for a loopback host (the sandbox)."""
    username: str | None = None
    """The account's email."""
    password: SecretStr | None = None
    """Its password (a secret: `pulumi config set --secret`, or the variable)."""
    token: SecretStr | None = None
    """A pre-issued bearer token, instead of a username and password (a secret)."""
    timeout_seconds: float = Field(default=30.0, gt=0, allow_inf_nan=False)
    """Per HTTP exchange, wall clock: connecting, sending and reading the whole answer (answers
    over 64 MiB are refused)."""
    deadline_seconds: float = Field(default=600.0, gt=0, allow_inf_nan=False)
    """Per API request, including every wait for throttling and every retry of it; an
    operation makes one request, sometimes a shared listing too."""
    writes_per_minute: int = Field(default=60, gt=0)
    """Pacing of POST, PUT and DELETE."""
    requests_per_minute: int = Field(default=120, gt=0)
    """Pacing of all requests."""
    min_interval_ms: int = Field(default=100, ge=0)
    """Spacing between any two requests."""
    max_retries: int = Field(default=5, ge=0)
    """Retries of one idempotent request after a 5xx, a dropped connection or a timeout. Five
    outlast the bursts of three or four consecutive 500s that Nexudus's transient faults come
    in."""
    writes_per_day: int = Field(default=5_000, gt=0)
    """The account's daily write quota: 5,000 on the current limits page, 2,500 on older
    accounts. The pacer refuses a write past it instead of meeting hours of 409s."""
    backoff_base_ms: int = Field(default=250, ge=0)
    """Retry n waits a random time up to base x 2^n (capped at 8 s): exponential, full jitter."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """INFO shows waits, retries and adoptions in the run's output; DEBUG adds every request."""
    skip_credentials_validation: bool = False
    """True: the provider does not prove the address and credentials when it starts, so a
    preview works offline (and a wrong password shows only at `up`)."""

    stack_config: bool = Field(default=True, repr=False)
    """Whether stack config was read at all (the `rooms` command without `--stack` reads only
    the environment): messages then name only the variables."""
    sources: tuple[tuple[str, str], ...] = Field(default=(), repr=False)
    """(field, config key or environment variable) of every value that was set."""
    ignored: tuple[str, ...] = Field(default=(), repr=False)
    """Credentials that were set but not used (a token in the environment when stack config
    holds a username and password)."""

    pace_file: str | None = None
    """Opt-in: a file shared by every provider process on this machine that names it, so that
    several stacks run at once pace themselves as one client of the account (see `pacing`)."""
    pace_url: SecretStr | None = None
    """Opt-in: a Redis server (`redis://host:6379/0`, `rediss://` for TLS) shared by every
    provider process, on any machine, that names it: stacks deployed at once from separate CI
    runners pace themselves as one client of the account. Unreachable when the provider starts:
    the run fails; lost later: each process goes on pacing alone, and says so. A password may be
    in the URL (then set it as a secret) or in `pacePassword`."""
    pace_password: SecretStr | None = None
    """The Redis password for `paceUrl`, if it is not in the URL (a secret)."""
    quota_share: float = Field(default=1.0, gt=0, le=1, allow_inf_nan=False)
    """The fraction of the account's limits this process paces to (or, with `paceFile` or
    `paceUrl`, every process sharing them): `0.25` for one of four runners that share neither,
    so that together they never overrun the account."""
    membership_bumps_updated_on: bool = False
    """The user vouches that on their account a change of a record's `Users`/`Members` moves its
    `UpdatedOn` (undocumented; `nexudus-pulumi probe` finds out). A refresh then skips the GET
    of every record the account's listing shows unchanged since the state last saw it."""

    @field_validator("base_url")
    @classmethod
    def _https_unless_loopback(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"must be an http(s) URL such as {DEFAULT_BASE_URL}")
        if parts.username is not None or parts.password is not None:
            raise ValueError(
                "must not carry credentials (user:password@); set nexudus:username and "
                "nexudus:password (or nexudus:token) instead"
            )
        if parts.scheme == "http" and not is_loopback(parts.hostname):
            raise ValueError(
                "plain http:// is refused except for a loopback host (127.0.0.1, ::1, localhost); "
                "use https://"
            )
        return value.rstrip("/")

    @field_validator("token", mode="before")
    @classmethod
    def _header_safe_token(cls, value: Any) -> Any:
        """Strip the whitespace a pasted secret picks up; refuse what no header can carry,
        never quoting it (an escaped copy of a token slips past Pulumi's secret filter)."""
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if not isinstance(raw, str):
            return value
        token = raw.strip()
        if not is_header_safe(token):
            raise ValueError(
                "must be the token as issued: it holds a space, a control character or a "
                "non-ASCII character (the value is not shown)"
            )
        return token

    @field_validator("pace_file")
    @classmethod
    def _folder_exists(cls, value: str | None) -> str | None:
        if value is not None and not os.path.isdir(os.path.dirname(os.path.abspath(value))):
            raise ValueError(f"the folder of the pace file {value!r} does not exist")
        return value

    @field_validator("pace_url", mode="before")
    @classmethod
    def _redis_url(cls, value: Any) -> Any:
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if not isinstance(raw, str):
            return value
        parts = urlsplit(raw.strip())
        try:
            parts.port  # noqa: B018 - raises on a port that is not a number
        except ValueError:
            raise ValueError("must be redis://host:port/db; the port is not a number") from None
        if parts.scheme not in ("redis", "rediss") or not parts.hostname:
            raise ValueError("must be a Redis URL such as redis://host:6379/0 (rediss:// for TLS)")
        if parts.path.strip("/") and not parts.path.strip("/").isdigit():
            raise ValueError("must name the database by number after the host (redis://host/0)")
        return raw.strip()

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_case(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @property
    def has_credentials(self) -> bool:
        return self.token is not None or (self.username is not None and self.password is not None)

    # ----- where each value came from ----------------------------------------------------

    def origin(self, field: str) -> str:
        """`nexudus:baseUrl in stack config`, `NEXUDUS_BASE_URL in the environment`, or
        `the default` for a value nobody set."""
        name = dict(self.sources).get(field)
        if name is None:
            return "the default"
        return f"{name} in the environment" if _is_env(field, name) else f"{name} in stack config"

    def from_environment(self, field: str) -> bool:
        name = dict(self.sources).get(field)
        return name is not None and _is_env(field, name)

    def name_of(self, field: str) -> str:
        """The name a user sets this value by: the config key (or the variable, where stack
        config is not read)."""
        key = KEY_OF[field]
        return key.config_key if self.stack_config else key.env_var

    def credentials_origin(self) -> str:
        """Which credentials are in use and where each came from, never their values."""
        if self.token is not None:
            used = f"the token from {self.origin('token')}"
        else:
            used = (
                f"the username from {self.origin('username')} and the password from "
                f"{self.origin('password')}"
            )
        if self.ignored:
            used += f" ({' and '.join(self.ignored)} also set, not used)"
        return used

    def credentials_hint(self) -> str:
        if not self.stack_config:
            return "set NEXUDUS_USERNAME and NEXUDUS_PASSWORD, or NEXUDUS_TOKEN"
        return (
            "set nexudus:username and nexudus:password (pulumi config set --secret "
            "nexudus:password ...), or nexudus:token; or the variables NEXUDUS_USERNAME and "
            "NEXUDUS_PASSWORD, or NEXUDUS_TOKEN"
        )

    # ----- loading ---------------------------------------------------------------------------

    @classmethod
    def load(
        cls,
        config_get: Callable[[str], Any] | None,
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        """Merge stack config over environment variables, naming the key of any bad value.

        `config_get` is `None` where there is no stack config (the CLI): then only the
        variables are read, and messages name only them.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        source: dict[str, str] = {}
        for key in KEYS:
            raw = config_get(key.config_key) if config_get is not None else None
            name = key.config_key
            if raw is None or raw == "":
                raw, name = env.get(key.env_var) or None, key.env_var
            if raw is not None:
                values[key.field] = raw
                source[key.field] = name
        written = dict(values)
        ignored = _choose_credentials(values, source)
        try:
            settings = cls.model_validate(
                {
                    **values,
                    "stack_config": config_get is not None,
                    "sources": tuple(sorted(source.items())),
                    "ignored": ignored,
                }
            )
        except ValidationError as exc:
            problems = [
                _problem(err, source, written, stack_config=config_get is not None)
                for err in exc.errors(include_url=False)
            ]
            raise ConfigurationError("invalid Nexudus settings: " + "; ".join(problems)) from None
        if settings.pace_url is not None and settings.pace_file is not None:
            raise ConfigurationError(
                f"invalid Nexudus settings: both {settings.origin('pace_url')} and "
                f"{settings.origin('pace_file')} are set: set one (the pace ledger on Redis "
                "already covers the processes of this machine)"
            )
        if (settings.username is None) != (settings.password is None):
            have, missing = ("username", "password")
            if settings.username is None:
                have, missing = missing, have
            raise ConfigurationError(
                f"invalid Nexudus settings: the {have} is set ({settings.origin(have)}) but not "
                f"the {missing}: set {settings.name_of(missing)} too"
                + (" (as a secret)" if missing == "password" and settings.stack_config else "")
            )
        return settings

    @classmethod
    def for_command(cls, environ: Mapping[str, str]) -> Settings:
        """The settings of a command run without a stack (export, probe): the NEXUDUS_*
        variables alone, which must hold credentials."""
        settings = cls.load(lambda _key: None, environ)
        if not settings.has_credentials:
            raise MissingCredentialsError(
                "no Nexudus credentials: set NEXUDUS_USERNAME and NEXUDUS_PASSWORD, or "
                "NEXUDUS_TOKEN (and NEXUDUS_BASE_URL for anything but https://spaces.nexudus.com)"
            )
        return settings


def _choose_credentials(values: dict[str, Any], source: dict[str, str]) -> tuple[str, ...]:
    """Keep one kind of credentials when both a token and a username/password are set.

    Stack config is more specific than the environment, as for every other key: a username
    and password in stack config win over a token left in `NEXUDUS_TOKEN`. Where both come
    from the same place, the token wins (it is the explicit choice for two-factor accounts).
    Returns the names of what was set aside, for messages.
    """
    pair = [f for f in ("username", "password") if f in values]
    if "token" not in values or not pair:
        return ()
    pair_in_config = any(not _is_env(f, source[f]) for f in pair)
    token_in_config = not _is_env("token", source["token"])
    dropped = ["token"] if pair_in_config and not token_in_config else pair
    for field in dropped:
        del values[field]
    return tuple(source.pop(field) for field in dropped)


def _is_env(field: str, name: str) -> bool:
    return name == KEY_OF[field].env_var


def _problem(
    err: Any, source: Mapping[str, str], written: Mapping[str, Any], *, stack_config: bool
) -> str:
    """`nexudus:writesPerMinute: must be a valid integer, ..., got 'sixty'`: the key or variable
    the value came from, and the value as written (never for a secret)."""
    field = str(err["loc"][0]) if err["loc"] else ""
    key = KEY_OF.get(field)
    if field in source:
        name = source[field]
    elif key is not None:
        name = key.config_key if stack_config else key.env_var
    else:
        name = field
    message = str(err["msg"]).removeprefix("Value error, ").replace("Input should be", "must be")
    if key is not None and not key.secret and field in written:
        message += f", got {_without_credentials(written[field])!r}"
    return f"{name}: {message}"


def _without_credentials(value: Any) -> Any:
    """A URL as written, with any `user:password@` replaced by `***@`."""
    if not isinstance(value, str) or "@" not in value:
        return value
    parts = urlsplit(value)
    if parts.username is None and parts.password is None:
        return value
    return parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]).geturl()
