"""What went wrong with one attempt, in words, and whether trying again can mend it.

A failure is classified once, here, from an exception of the wire (no answer) or a server error
answer; the retry policy (`policy`) decides from the classification alone whether to wait and
try again, and the error it raises says the reason this module wrote.
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import NameResolutionError, NewConnectionError

from ..settings import Settings
from .envelope import server_reason
from .wire import Answer, origin


@dataclass(frozen=True)
class Failure:
    """One failed attempt: what went wrong, in words."""

    reason: str
    detail: str = ""
    """The API's own words, when it gave any."""
    network: bool = False
    """No answer at all (the connection failed), as opposed to an error answer."""
    never_sent: bool = False
    """The connection could not be opened, so even a POST is safe to send again."""
    permanent: bool = False
    """Retrying cannot mend it (a name that does not resolve, a port that refuses)."""
    lost: bool = False
    """A create whose outcome is unknown and whose record a search did not find: counted
    apart from the failures of one request (`Attempts.lost`)."""


def server_failure(answer: Answer) -> Failure:
    """A 5xx: transient for Nexudus, with the API's reason when its envelope gave one."""
    return Failure(f"HTTP {answer.status_code} from Nexudus", server_reason(answer))


def network_failure(exc: requests.RequestException, settings: Settings) -> Failure:
    """What went wrong with the connection, in words; whether the request certainly never
    left (the connection could not be opened), which makes even a POST safe to send again;
    and whether it cannot heal (a name that does not resolve, a port that refuses)."""
    chain = _exception_chain(exc)
    parts = urlsplit(settings.base_url)
    host = parts.hostname or settings.base_url
    timeout = f"{settings.timeout_seconds:g} s ({settings.name_of('timeout_seconds')})"
    unresolved = any(isinstance(e, NameResolutionError | socket.gaierror) for e in chain)
    refused = any(isinstance(e, ConnectionRefusedError) for e in chain)

    def failure(reason: str, *, never_sent: bool, permanent: bool = False) -> Failure:
        return Failure(reason, network=True, never_sent=never_sent, permanent=permanent)

    if isinstance(exc, requests.exceptions.ProxyError):
        proxy = _proxy_named(settings.base_url)
        what = "refused the connection" if refused else f"failed ({_last_words(chain)})"
        return failure(
            f"the proxy {proxy} {what}", never_sent=True, permanent=refused or unresolved
        )
    if unresolved:
        reason = f"the host name {host!r} does not resolve (DNS: {_last_words(chain)})"
        return failure(reason, never_sent=True, permanent=True)
    if isinstance(exc, requests.ConnectTimeout):
        return failure(f"no connection to {host} within {timeout}", never_sent=True)
    if refused:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        reason = f"{host} refused the connection on port {port} (nothing listens there)"
        return failure(reason, never_sent=True, permanent=True)
    if isinstance(exc, requests.exceptions.SSLError):
        return failure(
            f"the TLS handshake with {host} failed ({_last_words(chain)})", never_sent=True
        )
    if isinstance(exc, requests.ReadTimeout):
        return failure(f"no answer within {timeout}", never_sent=False)
    if any(isinstance(e, NewConnectionError) for e in chain):
        return failure(f"cannot connect to {host} ({_last_words(chain)})", never_sent=True)
    reason = f"the connection broke without an answer ({_last_words(chain)})"
    return failure(reason, never_sent=False)


def verb(method: str, path: str) -> str:
    """The verb of the Nexudus role a request needs (roles are `<Record>-<Verb>`)."""
    named = {"POST": "Create", "PUT": "Edit", "DELETE": "Delete"}.get(method)
    if named is not None:
        return named
    return "Read" if path.rstrip("/").split("/")[-1].isdigit() else "List"


def _proxy_named(url: str) -> str:
    """The proxy requests uses for `url`, without credentials, and the variable naming it."""
    proxy = requests.utils.select_proxy(url, requests.utils.get_environ_proxies(url)) or ""
    scheme = urlsplit(url).scheme
    names = (f"{scheme}_proxy", f"{scheme.upper()}_PROXY", "all_proxy", "ALL_PROXY")
    variable = next((name for name in names if os.environ.get(name) == proxy), None)
    shown = origin(proxy if "://" in proxy else f"http://{proxy}")
    return f"{shown} ({variable})" if variable else shown


def _exception_chain(exc: BaseException) -> list[BaseException]:
    """The exception and everything it wraps (`args`, urllib3's `reason`, causes), outermost
    first."""
    seen: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo and len(seen) < 20:
        current = todo.pop(0)
        if any(current is known for known in seen):
            continue
        seen.append(current)
        inner = [*current.args, getattr(current, "reason", None)]
        inner += [current.__cause__, current.__context__]
        todo += [e for e in inner if isinstance(e, BaseException)]
    return seen


_OBJECT_REPR = re.compile(r"<[^<>]* at 0x[0-9a-f]+>: |\w+\(host='[^']*', port=\d+\): ")


def _last_words(chain: list[BaseException]) -> str:
    """The innermost message, without urllib3's object and pool prefixes."""
    return _OBJECT_REPR.sub("", str(chain[-1])) or type(chain[-1]).__name__
