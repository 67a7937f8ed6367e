"""What a sandboxed Nexudus account holds and has seen, apart from how it is reached over HTTP:
the records of every collection in `COLLECTIONS`, the businesses and users, the accounts and
their tokens, the knobs (`PublishedLimits` through the throttle, `Faults`, `Fidelity`), and the
log of every request with what was written.

`server.Sandbox` serves a `SandboxState` over HTTP; tests read and change it directly (an edit
in the admin UI, a record made undeletable, a count of what was committed). Nothing here knows
of sockets, headers or status lines but the status a request was answered with.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .collections import CHAT_ROOMS, COLLECTIONS, COMMUNITY_GROUPS
from .faults import Faults
from .fidelity import Fidelity
from .limits import PublishedLimits, Throttle
from .store import Database, RecordStore

DEMO_USER = "admin@example.com"
DEMO_PASSWORD = "sandbox-demo-password"
READER_USER = "reader@example.com"
READER_PASSWORD = "sandbox-reader-password"
ALL_ROLES = frozenset().union(*(collection.roles for collection in COLLECTIONS))
READER_ROLES = frozenset(collection.role(a) for collection in COLLECTIONS for a in ("Read", "List"))
DEFAULT_BUSINESSES = (1001, 1002, 1003)
UI_USER = "manager@example.com"
"""Who out-of-band edits (`SandboxState.edit`, `add_member`) are made by: a person in the admin
UI."""
DEFAULT_USERS = tuple(range(11, 61))
"""The account's users (ids 11 to 60): group administrators and members must be among them."""
TOKEN_LIFETIME_SECONDS = 604_799


@dataclass
class Account:
    password: str
    roles: frozenset[str]


class SandboxState:
    """The account, its records and the knobs; thread-safe, shared by every request."""

    def __init__(
        self,
        *,
        db: str = ":memory:",
        limits: PublishedLimits | None = None,
        faults: Faults | None = None,
        businesses: Iterable[int] | Mapping[int, str] = DEFAULT_BUSINESSES,
        users: Iterable[int] = DEFAULT_USERS,
        token_lifetime: float = TOKEN_LIFETIME_SECONDS,
        token_endpoint: bool = True,
        fidelity: Fidelity | None = None,
    ) -> None:
        self.throttle = Throttle(limits or PublishedLimits())
        self.faults = faults or Faults()
        self.fidelity = fidelity or Fidelity()
        """The reading of each open question the sandbox answers by; swap it at any time."""
        self.undeletable: dict[int, str] = {}
        """Record id -> why Nexudus refuses to delete it: DELETE answers HTTP 200 with
        `WasSuccessful: false` and that message, as a business-rule refusal does."""
        self.businesses: dict[int, str] = (
            dict(businesses)
            if isinstance(businesses, Mapping)
            else {b: f"Business {b}" for b in businesses}
        )
        """Business id -> name: a record's `BusinessId` must be one of them."""
        self.users: set[int] = set(users)
        """User ids a group's `UserId` and `Members` must be among (room `Users` are not
        checked)."""
        database = Database(db)
        self.stores = {
            collection.path: RecordStore(database, collection, self) for collection in COLLECTIONS
        }
        self.store = self.stores[CHAT_ROOMS.path]
        """The chat rooms (named before there were groups; `stores[path]` for any collection)."""
        self.groups = self.stores[COMMUNITY_GROUPS.path]
        """The community groups."""
        self.token_lifetime = token_lifetime
        self.token_endpoint = token_endpoint
        """False answers 404 on /api/token, as an account where it is not offered would."""
        self.accounts = {
            DEMO_USER: Account(DEMO_PASSWORD, ALL_ROLES),
            READER_USER: Account(READER_PASSWORD, READER_ROLES),
        }
        self.tokens: dict[str, tuple[str, float]] = {}
        self.refresh_tokens: dict[str, str] = {}
        self.requests: list[tuple[str, str, int]] = []
        self.observers: list[Callable[[str, str, int], None]] = []
        """Called with (method, path, status) as each request is logged, before its answer
        leaves: a test acts at a known point of a run (a person adds a member while a write
        waits out the 409 just answered), with no timing to guess."""
        self.posts_by_record: Counter[str] = Counter()
        """Record name (`ChatRoom`, `CommunityGroup`) -> POSTs committed."""
        self.written: list[tuple[str, str, Any]] = []
        """(method, path, JSON body) of every POST and PUT to a collection that was served
        (not refused by authentication, the throttle, an injected error or the role check), as
        it arrived: what a client sends is behaviour (a field it was not asked to manage must
        not be in it)."""
        self._lock = threading.Lock()
        self._idle = threading.Condition()
        self._in_flight = 0

    # ----- the log of requests --------------------------------------------------------------

    def log_request(self, method: str, path: str, status: int) -> None:
        """Add a request to `requests` (status 0: it was not answered) and tell the
        observers."""
        with self._lock:
            self.requests.append((method, path, status))
            observers = list(self.observers)
        for observer in observers:
            observer(method, path, status)

    def log_write(self, method: str, path: str, body: Any) -> None:
        """Keep the JSON body of a POST or PUT that is about to be served (`written`)."""
        with self._lock:
            self.written.append((method, path, body))

    def count_post(self, record: str) -> None:
        """Count a POST whose record was committed, whether or not it is answered."""
        with self._lock:
            self.posts_by_record[record] += 1

    @property
    def posts_committed(self) -> int:
        """POSTs committed on any collection: a create that was answered, dropped or timed out."""
        with self._lock:
            return sum(self.posts_by_record.values())

    def status_counts(self) -> Counter[tuple[str, int]]:
        with self._lock:
            return Counter((method, status) for method, _, status in self.requests)

    def begin_request(self) -> None:
        with self._idle:
            self._in_flight += 1

    def end_request(self) -> None:
        with self._idle:
            self._in_flight -= 1
            self._idle.notify_all()

    @property
    def in_flight(self) -> int:
        """Requests being served now (a test waits for creates to be under way)."""
        with self._idle:
            return self._in_flight

    def wait_idle(self, timeout: float = 60.0) -> None:
        """Wait until no request is being served: one a client gave up on (a timeout) may still
        be running here, and commit later. Tests call this before counting what was written."""
        with self._idle:
            if not self._idle.wait_for(lambda: self._in_flight == 0, timeout):
                raise TimeoutError(f"the sandbox still serves {self._in_flight} request(s)")

    # ----- the records ----------------------------------------------------------------------

    def holds(self, path: str, record_id: int) -> bool:
        return self.stores[path].get(record_id) is not None

    def target(self, path: str) -> tuple[RecordStore, int | None] | None:
        """The store of the collection a path names, and the record id if it names a record."""
        path = path.rstrip("/")
        parent, _, last = path.rpartition("/")
        if path in self.stores:
            return self.stores[path], None
        if parent in self.stores and last.isdigit():
            return self.stores[parent], int(last)
        return None

    def apply(self, store: RecordStore, record_id: int, fields: dict[str, Any], user: str) -> bool:
        """Write `fields` to a stored record as Nexudus would, honouring `fidelity`: a change of
        the member list alone moves `UpdatedOn` only if `membership_bumps_updated_on`; any other
        write (even one that changes nothing) does. False if there is no such id."""
        current = store.get(record_id)
        if current is None:
            return False
        changed = store.changes(current, fields)
        membership_only = bool(changed) and changed <= set(store.collection.collections)
        touch = self.fidelity.membership_bumps_updated_on or not membership_only
        return store.update(record_id, fields, user, touch=touch)

    def edit(self, collection_path: str, record_id: int, **fields: Any) -> None:
        """Change a record out of band, as a person in the admin UI does (by `UI_USER`), with the
        API's field names: `edit(ROOMS, 7, Name="Renamed", Users=[11])`."""
        if not self.apply(self.stores[collection_path], record_id, fields, UI_USER):
            raise KeyError(f"no record {record_id} in {collection_path}")

    def add_member(self, collection_path: str, record_id: int, user_id: int) -> None:
        """Add a user to a record's member list out of band, as the admin UI does."""
        self._change_members(collection_path, record_id, lambda ids: [*ids, user_id])

    def remove_member(self, collection_path: str, record_id: int, user_id: int) -> None:
        """Remove a user from a record's member list out of band, as the admin UI does."""
        self._change_members(
            collection_path, record_id, lambda ids: [i for i in ids if i != user_id]
        )

    def _change_members(
        self, collection_path: str, record_id: int, change: Callable[[list[int]], list[int]]
    ) -> None:
        store = self.stores[collection_path]
        record = store.get(record_id)
        if record is None:
            raise KeyError(f"no record {record_id} in {collection_path}")
        members = store.collection.membership
        self.edit(
            collection_path, record_id, **{members: list(dict.fromkeys(change(record[members])))}
        )

    # ----- the accounts and their tokens ----------------------------------------------------

    def account_user(self, email: str, password: str) -> str | None:
        """`email` when it names an account and `password` is its own, else None (compared in
        constant time: the demo passwords are public, the reader's role is not everyone's)."""
        account = self.accounts.get(email)
        if account is not None and secrets.compare_digest(account.password, password):
            return email
        return None

    def token_user(self, token: str) -> str | None:
        """Whose access token this is, None when it is unknown or expired."""
        user, expires = self.tokens.get(token, ("", 0.0))
        return user if user and expires > time.monotonic() else None

    def refresh_token_user(self, refresh_token: str) -> str | None:
        """The user of a refresh token, left unspent."""
        with self._lock:
            return self.refresh_tokens.get(refresh_token)

    def redeem(self, refresh_token: str) -> str | None:
        """The user of a refresh token, spent: each is good for one renewal."""
        with self._lock:
            return self.refresh_tokens.pop(refresh_token, None)

    def expire_tokens(self) -> None:
        """Make every issued access token expire now (refresh tokens stay valid)."""
        with self._lock:
            self.tokens = {t: (user, 0.0) for t, (user, _) in self.tokens.items()}

    def issue_token(self, user: str) -> dict[str, Any]:
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        with self._lock:
            self.tokens[access] = (user, time.monotonic() + self.token_lifetime)
            self.refresh_tokens[refresh] = user
        return {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": int(self.token_lifetime),
            "refresh_token": refresh,
        }
