"""The Nexudus REST client: HTTP, authentication, pacing and retries, and nothing else.

It knows the API's envelopes and failure modes, not what a chat room is: record shapes live in
`models`, Pulumi's lifecycle in `provider`. `NexudusClient` is the face; behind it:

- `wire`: one exchange under one wall-clock deadline, its answer capped, no redirect followed;
- `failures`: what went wrong with an attempt, and whether it can heal;
- `policy`: the pacer's turns, throttling, backoff, the budget of an operation (`Attempts`);
- `auth`: the `Authorization` header, and what a 401 means;
- `envelope`: what an answer's body says (`Value`, `WasSuccessful`, `Errors`, pages, ids).

What is sent again (see `policy` for the waits):
- GET, PUT and DELETE after a 5xx, a dropped connection or a timeout: they are idempotent. When
  the tries run out, the API's reason is shown.
- POST only when it certainly never left (the connection could not be opened). When its outcome
  is unknown (a 5xx, a lost answer) the caller gets `OutcomeUnknownError`, unless it gave
  `create` a way to find the record (`find_lost`): then the record is searched for, and the
  POST re-sent only when it is certainly not there.
- Any request after a 401 with a token we obtained ourselves, once the token is renewed.

What is trusted: nothing the API hands us. One exchange ends by `timeout_seconds` of wall-clock
time however slowly the answer drips, an operation by `deadline_seconds`; an answer over
`MAX_RESPONSE_BYTES` is refused unread; ids are checked to be record ids, pages to be pages that
advance, a token answer to hold a token. Each refusal is an error naming the URL.

Every failure names the URL and the cause in words, and where a setting can fix it, the stack
config key or variable it came from.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import requests

from ..errors import (
    AuthorizationError,
    ConfigurationError,
    InvalidAnswerError,
    NexudusError,
    NotFoundError,
    OutcomeUnknownError,
    TransientError,
)
from ..settings import DEFAULT_BASE_URL, Settings
from .auth import TOKEN_PATH, TOKEN_RENEW_MARGIN_SECONDS, Credentials
from .envelope import MAX_JSON_DEPTH, Written, page_records, parse_record_id, read_envelope
from .failures import Failure, network_failure, server_failure, verb
from .policy import (
    BACKOFF_CAP_SECONDS,
    DEFAULT_RETRY_AFTER_SECONDS,
    QUOTA_WAIT_SECONDS,
    THROTTLE_STATUSES,
    WRITE_METHODS,
    Attempts,
    Policy,
)
from .wire import MAX_RESPONSE_BYTES, READ_CHUNK_BYTES, Answer, Deadline, Wire

__all__ = [
    "BACKOFF_CAP_SECONDS",
    "DEFAULT_RETRY_AFTER_SECONDS",
    "MAX_JSON_DEPTH",
    "MAX_LISTED_RECORDS",
    "MAX_RESPONSE_BYTES",
    "QUOTA_WAIT_SECONDS",
    "READ_CHUNK_BYTES",
    "SEARCH_PAGE_SIZE",
    "THROTTLE_STATUSES",
    "TOKEN_PATH",
    "TOKEN_RENEW_MARGIN_SECONDS",
    "WRITE_METHODS",
    "Attempts",
    "FreshWrite",
    "NexudusClient",
    "Write",
    "Written",
    "shared_client",
]

log = logging.getLogger(__name__)

SEARCH_PAGE_SIZE = 1000
"""The largest page the reference allows: a listing of 1,000 records is one request."""
MAX_LISTED_RECORDS = 200_000
"""The most records one listing holds (in memory): pages of ever new ids without `TotalPages`
once ran 600 s and 4.4 million records before the deadline stopped them."""


@dataclass(frozen=True)
class Write:
    """What `fresh_write` sends, decided from the record as read in the same turn."""

    method: str
    """`PUT` (to the collection, `body` carrying the record's `Id`) or `DELETE` (by id)."""
    body: dict[str, Any] | None = None


@dataclass(frozen=True)
class FreshWrite:
    """How a `fresh_write` ended: the record as read just before the write decided from it
    (None: there was none), and the write's answer (None when none was sent, or a DELETE)."""

    record: dict[str, Any] | None
    written: Written | None
    sent: bool
    """Whether the last decision was a write that Nexudus then took."""


class _Again(Exception):  # noqa: N818 - a signal between the client's loops, never raised out
    """A request of a fresh write met a wait (a throttle, a backoff, a token renewal), already
    taken: the record must be read again before anything is written, on what is left of the
    operation's budget (`attempts`)."""

    def __init__(self, attempts: Attempts) -> None:
        super().__init__()
        self.attempts = attempts


class NexudusClient:
    """One per provider process: a pooled session, one token and one pacer shared by all threads."""

    def __init__(self, settings: Settings, session: requests.Session | None = None) -> None:
        self.settings = settings
        self._policy = Policy(settings)
        self._wire = Wire(settings, session)
        self._credentials = Credentials(settings, self._wire, self._policy)
        self._verify_lock = threading.Lock()
        self._verified = False
        self._verify_error: NexudusError | None = None
        self._plan_lock = threading.Lock()
        self._planned: dict[str, int] = {}
        self._plan_allows: int | None = None

    # ----- proving the settings ----------------------------------------------------------

    def verify(self, probe_path: str) -> None:
        """Prove that Nexudus answers at the base URL and accepts the credentials.

        One request, once per client whatever the outcome (the provider process shares one
        client per settings, and the engine configures a provider once per resource until it
        succeeds). With a username and password it is the token request every operation needs
        anyway; with a pre-issued token (or Basic) it is a one-record search of `probe_path`.
        """
        with self._verify_lock:
            if self._verify_error is not None:
                raise self._verify_error
            if self._verified:
                return
            try:
                self._probe(probe_path)
            except TransientError as exc:
                self._verify_error = type(exc)(
                    f"{exc}. (The provider checks the address and credentials when it starts; "
                    f"to preview without reaching Nexudus set "
                    f"{self.settings.name_of('skip_credentials_validation')} to true.)"
                )
                raise self._verify_error from None
            except NexudusError as exc:
                self._verify_error = exc
                raise
            self._verified = True

    def _probe(self, probe_path: str) -> None:
        self._credentials.authorization(self._policy.deadline())
        if self._credentials.token is not None:
            return  # the token endpoint accepted the username and password
        try:
            self._call("GET", probe_path, params={"page": 1, "size": 1})
        except AuthorizationError:
            return  # the credentials work; an operation lacking a role names the role
        except NotFoundError:
            raise ConfigurationError(
                f"{self.settings.base_url} ({self.settings.origin('base_url')}) does not look "
                f"like the Nexudus API: GET {probe_path} answered HTTP 404; check "
                f"{self.settings.name_of('base_url')} (e.g. {DEFAULT_BASE_URL})"
            ) from None

    # ----- for `nexudus-pulumi probe` -------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The API's whole answer to one request, paced and retried as every other: for
        `nexudus-pulumi probe`, which reads what the methods above leave out (a create's
        whole `Value`, one page of a listing)."""
        return self._call(method, path, json=json, params=params)

    def send_unpaced(self, path: str, params: Mapping[str, Any]) -> Answer:
        """One GET sent at once, outside the pacer, without retries or throttle handling: for
        `nexudus-pulumi probe` alone, which meets the account's limit on purpose to see how
        Nexudus answers it. Only the pacer is skipped: the answer is read within the timeout
        and the size cap, and a redirect is refused, as for every other request."""
        deadline = self._policy.deadline()
        headers = {"Authorization": self._credentials.authorization(deadline)}
        try:
            return self._wire.exchange(
                "GET", path, deadline=deadline, headers=headers, params=params
            )
        except requests.RequestException as exc:
            failure = network_failure(exc, self.settings)
            raise TransientError(
                f"GET {self.settings.base_url}{path} failed: {failure.reason}"
            ) from None

    # ----- record operations -------------------------------------------------------------

    def create(
        self,
        collection: str,
        body: Mapping[str, Any],
        *,
        find_lost: Callable[[], dict[str, Any] | None] | None = None,
        label: str = "",
    ) -> Written:
        """POST a record; its new id is the answer's `Value.Id`.

        Without `find_lost`, an unknown outcome (a 5xx, a lost answer) is the caller's
        `OutcomeUnknownError`. With it, the record the POST may have created is searched for
        (`find_lost` looks once: None when it is not there), until a slow commit would have
        landed; a record found is the create's answer (`Written.record`), and only a record
        certainly not there makes the POST go again, `CREATE_ATTEMPTS` POSTs at most.
        `label` names the resource in the log.
        """
        request = f"POST {self.settings.base_url}{collection}"
        attempts = self._policy.attempts()
        while True:
            try:
                envelope = self._call("POST", collection, json=dict(body))
                return Written.from_envelope(envelope, request)
            except OutcomeUnknownError as lost:
                if find_lost is None:
                    raise
                attempts = attempts.increment(Failure(str(lost), lost=True))
                if attempts.exhausted:
                    raise
                found = self._policy.search_lost(find_lost, answered=lost.answered, label=label)
                if found is not None:
                    log.info("%s: create answer lost; found id %s, adopting", label, found["Id"])
                    return Written(int(found["Id"]), {}, found)
                time.sleep(attempts.delay())

    def get(self, collection: str, record_id: int | str) -> dict[str, Any]:
        """The record by id; an answer holding another record (or none) is refused."""
        path = f"{collection}/{record_id}"
        return self._the_record(self._call("GET", path), path)

    def update(self, collection: str, body: Mapping[str, Any]) -> Written:
        request = f"PUT {self.settings.base_url}{collection}"
        return Written.from_envelope(self._call("PUT", collection, json=dict(body)), request)

    def delete(self, collection: str, record_id: int | str) -> None:
        self._call("DELETE", f"{collection}/{record_id}")

    def fresh_write(
        self,
        collection: str,
        record_id: int,
        decide: Callable[[dict[str, Any] | None], Write | None],
    ) -> FreshWrite:
        """Read the record by id and send the write `decide` makes of it, in one pacer turn.

        The turn comes first: the GET and the write are booked back to back, so only one
        request's time separates the read from the write, however long the account's limits
        hold the turn back. After any wait between them (a 409/429 `Retry-After`, a 5xx
        backoff, a lost answer, a token renewal), the record is read again and `decide` asked
        again before anything is sent: nothing is written from a read older than the last
        wait. `decide` gets None when the record does not exist, and may raise to refuse the
        write (a record another owner took meanwhile); None from it sends nothing.
        """
        policy = self._policy
        deadline = policy.deadline()
        attempts = policy.attempts()
        path = f"{collection}/{record_id}"
        while True:
            policy.check_deadline("GET", path, deadline)
            self._credentials.authorization(deadline)  # a token request, if due, before the turn
            read_at, write_at = policy.book(path, deadline)
            booked = [(write_at, True)]
            try:
                try:
                    answer = self._call(
                        "GET", path, deadline=deadline, attempts=attempts, booked=read_at
                    )
                    record: dict[str, Any] | None = self._the_record(answer, path)
                except NotFoundError:
                    record = None
                write = decide(record)
                if write is None:
                    return FreshWrite(record, None, sent=False)
                booked = []
                if write.method == "DELETE":
                    try:
                        self._call(
                            "DELETE", path, deadline=deadline, attempts=attempts, booked=write_at
                        )
                    except NotFoundError:
                        return FreshWrite(None, None, sent=False)
                    return FreshWrite(record, None, sent=True)
                envelope = self._call(
                    "PUT",
                    collection,
                    json=write.body,
                    deadline=deadline,
                    attempts=attempts,
                    booked=write_at,
                )
                request = f"PUT {self.settings.base_url}{collection}"
                return FreshWrite(record, Written.from_envelope(envelope, request), sent=True)
            except _Again as again:
                attempts = again.attempts
            finally:
                if booked:
                    policy.release(booked)

    def _the_record(self, record: dict[str, Any], path: str) -> dict[str, Any]:
        request = f"GET {self.settings.base_url}{path}"
        found = parse_record_id(record.get("Id"), f"{request} answered a record with Id")
        if f"{path.rsplit('/', 1)[0]}/{found}" != path:
            raise InvalidAnswerError(f"{request} answered the record with Id {found} instead")
        return record

    def search(self, collection: str, filters: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """Every record matching the filters, page after page, oldest first.

        Every page is checked before its records are handed on: a page of records with valid
        ids. The listing is bounded three ways, since a `HasNextPage: true` forever is no
        reason to go on: by the page's own `TotalPages`, by a repeat check (a page that says
        more follow but brings no record not listed already), by `MAX_LISTED_RECORDS`, and by
        one deadline for the whole listing.
        """
        deadline = self._policy.deadline()
        seen: set[int] = set()
        page = 1
        while True:
            params = {"page": page, "size": SEARCH_PAGE_SIZE, "orderBy": "Id", "dir": "Ascending"}
            result = self._call("GET", collection, params={**params, **filters}, deadline=deadline)
            where = f"GET {self.settings.base_url}{collection} (page {page})"
            records = page_records(result, where)
            ids = {
                parse_record_id(r.get("Id"), f"{where} listed a record with Id") for r in records
            }
            more = result.get("HasNextPage") is True
            if more and ids <= seen:
                raise InvalidAnswerError(
                    f"{where} says more pages follow but holds only records already listed (or "
                    "none): the listing does not advance"
                )
            total = result.get("TotalPages")
            if more and isinstance(total, int) and not isinstance(total, bool) and page >= total:
                raise InvalidAnswerError(
                    f"{where}: page {page} of TotalPages {total} still says HasNextPage"
                )
            seen |= ids
            if len(seen) > MAX_LISTED_RECORDS:
                raise InvalidAnswerError(
                    f"{where} takes the listing past {MAX_LISTED_RECORDS:,} records, more than "
                    "one listing may hold (a Nexudus account's records of one kind are far "
                    "fewer); the listing is stopped"
                )
            yield from records
            if not more:
                return
            page += 1

    def close(self) -> None:
        """Close the pooled connections: a process that ends closes them anyway; one that goes
        on (a test, a long-lived program) should not keep the server's side of them open."""
        self._wire.close()

    def writes_left_today(self) -> int:
        """Writes the daily quota (`writes_per_day`) still allows, as far as this process (or
        every process sharing its pace file) has seen: for a plan that needs more."""
        return self._policy.writes_left_today()

    def plan_writes(self, step: str, count: int) -> tuple[int, int]:
        """Count the `count` writes one step of this run (a resource's create, update or
        replacement) plans: (writes planned so far, writes the day allowed when planning
        began). A step counted again (the preview and the update of one `pulumi up`) counts
        once. The provider counts at check and diff, before any write is sent, so a plan the
        daily quota cannot carry is said at preview."""
        with self._plan_lock:
            if self._plan_allows is None:
                self._plan_allows = self.writes_left_today()
            self._planned[step] = count
            return sum(self._planned.values()), self._plan_allows

    # ----- one request, with everything around it ----------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        deadline: Deadline | None = None,
        attempts: Attempts | None = None,
        booked: float | None = None,
    ) -> dict[str, Any]:
        """One request and its retries, on the operation's `attempts`. With `booked` (a send
        time of a fresh write's turn), the first send goes at that time, and any wait it meets
        raises `_Again` once waited, for the fresh write to read the record again."""
        policy = self._policy
        deadline = deadline or policy.deadline()
        tried = attempts or policy.attempts()
        while True:
            policy.check_deadline(method, path, deadline)
            try:
                answer = self._send(
                    method, path, json=json, params=params, deadline=deadline, booked=booked
                )
            except requests.RequestException as exc:
                failure = network_failure(exc, self.settings)
                if method == "POST" and not failure.never_sent:
                    raise OutcomeUnknownError(
                        f"{failure.reason} on POST {self.settings.base_url}{path}: the POST may "
                        "or may not have landed",
                        answered=False,
                    ) from None
                tried = tried.increment(failure)
                policy.backoff(tried, method, path, deadline)
            else:
                status = answer.status_code
                if status in THROTTLE_STATUSES:
                    policy.wait_throttled(answer, tried, deadline, method, path)
                elif status >= 500:
                    failure = server_failure(answer)
                    if method == "POST":
                        raise OutcomeUnknownError(
                            f"{failure.reason}{failure.detail} on POST "
                            f"{self.settings.base_url}{path}: the POST may or may not have landed",
                            answered=True,
                        )
                    tried = tried.increment(failure)
                    policy.backoff(tried, method, path, deadline)
                elif status == 401:
                    tried = self._credentials.unauthorized(method, path, tried)
                elif status == 403:
                    raise AuthorizationError(method, path, verb(method, path))
                elif status == 404:
                    raise NotFoundError(f"{path} was not found (HTTP 404)")
                else:
                    self._credentials.accepted()
                    return read_envelope(answer, f"{method} {answer.url}")
            if booked is not None:
                raise _Again(tried)

    def _send(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None,
        params: Mapping[str, Any] | None,
        deadline: Deadline,
        booked: float | None = None,
    ) -> Answer:
        headers = {"Authorization": self._credentials.authorization(deadline)}
        write = method in WRITE_METHODS
        if booked is None:
            sent = self._policy.take_turn(method, path, deadline, write=write)
        else:
            sent = self._policy.sleep_until(booked, write=write)
        with self._policy.until_answered(sent, write=write):  # it counts till then
            answer = self._wire.exchange(
                method, path, deadline=deadline, headers=headers, json=json, params=params
            )
        log.debug("%s %s -> %s", method, path, answer.status_code)
        return answer


_shared_lock = threading.Lock()
_shared: dict[Settings, NexudusClient] = {}


def shared_client(settings: Settings) -> NexudusClient:
    """The process's client for these settings, so every operation reuses one session and pacer."""
    with _shared_lock:
        client = _shared.get(settings)
        if client is None:
            client = _shared[settings] = NexudusClient(settings)
        return client
