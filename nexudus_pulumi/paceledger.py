"""The pace ledger on Redis: one budget per account for every provider process, on any machine,
that names the same `redis://` URL (`nexudus:paceUrl`).

The pace file (`pacefile.FileLedger`) coordinates the processes of one machine; CI runners on
separate machines share nothing but the network. Redis is the store teams already run for this,
and its Lua scripts run atomically: the check of every limit and the record of the sends that
follow are one step for all processes, as under the pace file's lock.

Per account (the same hashed key as the pace file's) Redis holds two sorted sets, the requests
of the last hour and the writes of the last day, each scored by its time, a third of the
requests in flight (booked, their answer not yet arrived), scored by when they are taken as
answered if their sender never says, and a pause the server asked for. A request in flight
counts as sent now, at every check, until its answer arrives: each script first moves the
score of every request in flight up to Redis's now. Times are Redis's own (`TIME`), so runners
whose clocks disagree still agree on the account's minute; the scripts answer times relative to
Redis's now, which this module moves to the process's clock.

Redis lost mid-run (a restart, a network cut): the process goes on pacing alone, from what it
sent itself (kept locally all along), and says so once. The other processes do the same; the
server's 409s, waited out as it asks, cover the overlap.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from .errors import PaceLedgerError
from .pacehistory import (
    DAY,
    HOUR,
    INTERVAL_MARGIN_SECONDS,
    LONGEST_WAIT_SECONDS,
    MINUTE,
    WINDOW_MARGIN_SECONDS,
    History,
    Limits,
    take_from,
)

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 3.0
"""Connecting to Redis, and each command: a pacer turn must never hang on a dead link."""
KEY_PREFIX = "nexudus-pulumi:pace:"
IDLE_EXPIRY_SECONDS = int(DAY + HOUR)
"""An account's keys outlive its last send by the longest window, then Redis drops them."""

_LIB = """
if redis.replicate_commands then redis.replicate_commands() end
local function fmt(x) return string.format('%.17g', x) end
local function clock()
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1e6
end
-- The requests in flight (`flight`, scored by when each is taken as answered) count as sent at
-- `now` until answered: their scores in `requests` and `writes` move up to it. One past its
-- time is taken as answered then.
local function settle(requests, writes, flight, now)
  local entries = redis.call('ZRANGE', flight, 0, -1, 'WITHSCORES')
  for i = 1, #entries, 2 do
    local member, at = entries[i], math.min(now, tonumber(entries[i + 1]))
    for _, key in ipairs({requests, writes}) do
      local score = redis.call('ZSCORE', key, member)
      if score and tonumber(score) < at then redis.call('ZADD', key, fmt(at), member) end
    end
  end
  redis.call('ZREMRANGEBYSCORE', flight, '-inf', fmt(now))
end
"""

_BOOK = (
    _LIB
    + """
-- KEYS: requests, writes, pause, in flight.  ARGV: plan ('r'/'w' per request), member prefix,
-- min interval, requests/minute, writes/minute, requests/hour, writes/day, interval margin,
-- window margin, minute, hour, day, longest wait, idle expiry, seconds a request may be in
-- flight.
local plan, prefix = ARGV[1], ARGV[2]
local interval, rpm, wpm = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local rph, wpd = tonumber(ARGV[6]), tonumber(ARGV[7])
local imargin, wmargin = tonumber(ARGV[8]), tonumber(ARGV[9])
local minute, hour, day, longest = tonumber(ARGV[10]), tonumber(ARGV[11]),
  tonumber(ARGV[12]), tonumber(ARGV[13])
local now = clock()
settle(KEYS[1], KEYS[2], KEYS[4], now)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', fmt(now - hour - wmargin))
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', fmt(now - day - wmargin))
local paused = tonumber(redis.call('GET', KEYS[3]) or '') or -math.huge
if paused > now + longest then paused = now + longest end

-- The k-th newest time among the set and `extra` (the plan's own earlier sends): it lies
-- among the set's ranks k-1-#extra .. k-1 or in `extra`; counting what lies above each
-- candidate finds it without reading the whole window.
local function kth_newest(key, k, extra)
  local candidates = {}
  local got = redis.call('ZREVRANGE', key, math.max(0, k - 1 - #extra), k - 1, 'WITHSCORES')
  for i = 2, #got, 2 do candidates[#candidates + 1] = tonumber(got[i]) end
  for _, x in ipairs(extra) do candidates[#candidates + 1] = x end
  for _, c in ipairs(candidates) do
    local above = redis.call('ZCOUNT', key, '(' .. fmt(c), '+inf')
    local atleast = redis.call('ZCOUNT', key, fmt(c), '+inf')
    for _, x in ipairs(extra) do
      if x > c then above = above + 1 end
      if x >= c then atleast = atleast + 1 end
    end
    if above < k and atleast >= k then return c end
  end
  return -math.huge
end

-- As pacing.History.earliest: the first moment from `at` one more request keeps within
-- every limit, and the limit that sets it (the first of equals, in the same order).
local function earliest(write, at, treq, twr)
  local best, why = at, 'interval'
  if paused > best then best, why = paused, 'pause' end
  if interval > 0 then
    local last = -math.huge
    local top = redis.call('ZREVRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    if #top > 0 then last = tonumber(top[2]) end
    for _, x in ipairs(treq) do if x > last then last = x end end
    if last > -math.huge and last + interval + imargin > best then
      best, why = last + interval + imargin, 'interval'
    end
  end
  local function window(key, extra, limit, span, name)
    if limit <= 0 or redis.call('ZCARD', key) + #extra < limit then return end
    local opens = kth_newest(key, limit, extra) + span + wmargin
    if opens > best then best, why = opens, name end
  end
  window(KEYS[1], treq, rpm, minute, 'requests_per_minute')
  window(KEYS[1], treq, rph, hour, 'requests_per_hour')
  if write then
    window(KEYS[2], twr, wpm, minute, 'writes_per_minute')
    window(KEYS[2], twr, wpd, day, 'writes_per_day')
  end
  return best, why
end

-- As pacing.History.plan: the plan's requests back to back, the first delayed when a later
-- one must wait, so that the read of a read-and-write turn is never older than one request.
local step = 0
if interval > 0 then step = interval + imargin end
local longest_plan = step * (#plan - 1) + 1e-6
local start, reason, times, limit, bound = now, '', {}, '', ''
for _ = 1, #plan + 2 do
  local treq, twr = {}, {}
  times, limit = {}, ''
  for i = 1, #plan do
    local write = plan:sub(i, i) == 'w'
    local from = start
    if #times > 0 then from = times[#times] end
    local at
    at, bound = earliest(write, from, treq, twr)
    if limit == '' then limit = bound end
    treq[#treq + 1] = at
    if write then twr[#twr + 1] = at end
    times[#times + 1] = at
  end
  if times[#times] - times[1] <= longest_plan then break end
  start, reason = times[#times] - step * (#plan - 1), bound
end
if reason == '' then reason = limit end

local answer = {0, fmt(now), reason}
if times[1] <= now then
  answer[1] = 1
  for i = 1, #plan do
    local member = prefix .. ':' .. i
    redis.call('ZADD', KEYS[1], fmt(times[i]), member)
    if plan:sub(i, i) == 'w' then redis.call('ZADD', KEYS[2], fmt(times[i]), member) end
    redis.call('ZADD', KEYS[4], fmt(times[i] + tonumber(ARGV[15])), member)
  end
  for _, i in ipairs({1, 2, 4}) do redis.call('EXPIRE', KEYS[i], tonumber(ARGV[14])) end
end
for i = 1, #times do answer[#answer + 1] = fmt(times[i]) end
return answer
"""
)

_RELEASE = """
-- KEYS: requests, writes, in flight.  ARGV: members.
for i = 1, #ARGV do
  for k = 1, 3 do redis.call('ZREM', KEYS[k], ARGV[i]) end
end
return 0
"""

_ANSWERED = (
    _LIB
    + """
-- KEYS: requests, writes, in flight.  ARGV: member.  Its answer arrived: it counts as sent now.
local now = clock()
settle(KEYS[1], KEYS[2], KEYS[3], now)
if redis.call('ZREM', KEYS[3], ARGV[1]) == 1 then
  for k = 1, 2 do
    local score = redis.call('ZSCORE', KEYS[k], ARGV[1])
    if score and tonumber(score) < now then redis.call('ZADD', KEYS[k], fmt(now), ARGV[1]) end
  end
end
return 0
"""
)

_HOLD_BACK = (
    _LIB
    + """
-- KEYS: requests, writes, in flight.  ARGV: member, min interval, interval margin.  As
-- pacing.History.hold_back: the member's send time pushed back to keep the interval after
-- every other request (those in flight count as sent now). Answers {moved (0/1), now, time},
-- or {} when the member is not in flight.
local now = clock()
settle(KEYS[1], KEYS[2], KEYS[3], now)
local member, interval, margin = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
if not redis.call('ZSCORE', KEYS[3], member) then return {} end
local at = tonumber(redis.call('ZSCORE', KEYS[1], member))
-- The latest request before it: not itself, nor one of its turn booked after it (members
-- `prefix:1`, `prefix:2`... go in that order).
local prefix, order = string.match(member, '^(.*):(%d+)$')
local latest = -math.huge
local top = redis.call('ZREVRANGE', KEYS[1], 0, 9, 'WITHSCORES')
for i = 1, #top, 2 do
  local p, o = string.match(top[i], '^(.*):(%d+)$')
  local later = p ~= nil and p == prefix and tonumber(o) >= tonumber(order)
  if not later and tonumber(top[i + 1]) > latest then latest = tonumber(top[i + 1]) end
end
local wanted = latest + interval + margin
if interval <= 0 or wanted <= at then return {0, fmt(now), fmt(at)} end
redis.call('ZADD', KEYS[1], fmt(wanted), member)
if redis.call('ZSCORE', KEYS[2], member) then redis.call('ZADD', KEYS[2], fmt(wanted), member) end
redis.call('ZINCRBY', KEYS[3], fmt(wanted - at), member)
return {1, fmt(now), fmt(wanted)}
"""
)

_PAUSE = (
    _LIB
    + """
-- KEYS: pause.  ARGV: seconds.  The later of the pause held and now + seconds.
local now = clock()
local seconds = tonumber(ARGV[1])
local held = tonumber(redis.call('GET', KEYS[1]) or '') or -math.huge
if now + seconds > held then
  redis.call('SET', KEYS[1], fmt(now + seconds), 'PX', math.ceil(seconds * 1000) + 1000)
end
return 0
"""
)

_WRITES_TODAY = (
    _LIB
    + """
-- KEYS: writes.  ARGV: day, window margin.
local now = clock()
return redis.call('ZCOUNT', KEYS[1], '(' .. fmt(now - tonumber(ARGV[1]) - tonumber(ARGV[2])),
  '+inf')
"""
)


def shown_url(url: str) -> str:
    """The URL without its password (or user): what a message may print."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    return parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]).geturl()


class RedisLedger:
    """The history of every process naming this Redis URL, kept in Redis by Lua scripts.

    `take`, `answered`, `hold_back`, `release`, `pause` and `writes_in_day` are
    `pacing._HistoryBook`'s: the `Pacer` calls them under its own lock. Every booking, answer,
    release and pause is also kept in a local history, which takes over if Redis is lost."""

    def __init__(
        self,
        url: str,
        account: str,
        clock: Callable[[], float],
        *,
        password: str | None = None,
        connect: Callable[..., redis.Redis] = redis.Redis.from_url,
    ) -> None:
        self.shown = shown_url(url)
        self._clock = clock
        options: dict[str, Any] = {
            "socket_connect_timeout": CONNECT_TIMEOUT_SECONDS,
            "socket_timeout": CONNECT_TIMEOUT_SECONDS,
            "retry": Retry(NoBackoff(), 1),
            "decode_responses": True,
        }
        if password is not None:
            options["password"] = password
        try:
            self._redis = connect(url, **options)
            self._redis.ping()
        except (redis.RedisError, ValueError) as exc:
            raise PaceLedgerError(
                f"cannot reach the pace ledger at {self.shown}: {_reason(exc)}", url=self.shown
            ) from None
        base = KEY_PREFIX + "{" + account + "}:"  # one hash slot per account (Redis Cluster)
        self._keys = (base + "requests", base + "writes", base + "pause", base + "in-flight")
        self._sets = (self._keys[0], self._keys[1], self._keys[3])
        self._book = self._redis.register_script(_BOOK)
        self._answered = self._redis.register_script(_ANSWERED)
        self._hold_back = self._redis.register_script(_HOLD_BACK)
        self._release = self._redis.register_script(_RELEASE)
        self._pause = self._redis.register_script(_PAUSE)
        self._writes_today = self._redis.register_script(_WRITES_TODAY)
        self._local = History()
        """What this process sent, in its own clock: the pacing it goes on with alone."""
        self._lost = False
        self._lost_lock = threading.Lock()

    @property
    def lost(self) -> bool:
        """Whether Redis was lost and this process paces alone."""
        return self._lost

    def take(
        self,
        limits: Limits,
        plan: Sequence[bool],
        now: float,
        keys: Sequence[str],
        answer_within: float,
        lock_wait: float = math.inf,
    ) -> tuple[list[float], str, bool]:
        """Send times for `plan`, the limit that sets the first, and whether they are booked
        (the first is now), in flight under `keys` (`prefix:1`, `prefix:2`...). `lock_wait` is
        the pace file's; Redis answers each script at once."""
        del lock_wait
        if not self._lost:
            args = [
                "".join("w" if write else "r" for write in plan),
                keys[0].rpartition(":")[0],
                *_limit_args(limits),
                IDLE_EXPIRY_SECONDS,
                answer_within,
            ]
            try:
                answer = self._book(keys=self._keys, args=args)
            except redis.RedisError as exc:
                self._lose(exc)
            else:
                booked, redis_now, limit, *times = answer
                here = self._clock()  # read after the answer: a late reading only delays
                local = [here + float(t) - float(redis_now) for t in times]
                if booked:
                    for key, at, write in zip(keys, local, plan, strict=True):
                        self._local.book(key, at, write=write, until=at + answer_within)
                return local, str(limit), bool(booked)
        return take_from(self._local, limits, plan, now, keys, answer_within)

    def answered(self, key: str, now: float) -> None:
        self._local.answered(key, now)
        if not self._lost:
            try:
                self._answered(keys=self._sets, args=[key])
            except redis.RedisError as exc:
                self._lose(exc)

    def hold_back(self, key: str, limits: Limits, now: float) -> float | None:
        if not self._lost:
            args: list[str | float] = [key, limits.min_interval, INTERVAL_MARGIN_SECONDS]
            try:
                answer = self._hold_back(keys=self._sets, args=args)
            except redis.RedisError as exc:
                self._lose(exc)
            else:
                if not answer:
                    return None
                moved, redis_now, at = answer
                if not int(moved):
                    entry = self._local.in_flight.get(key)
                    return entry[0] if entry else None
                return self._local.reschedule(key, self._clock() + float(at) - float(redis_now))
        self._local.forget_before(now)
        return self._local.hold_back(key, limits, now)

    def release(self, keys: Sequence[str], now: float) -> None:
        for key in keys:
            self._local.release(key)
        if keys and not self._lost:
            try:
                self._release(keys=self._sets, args=list(keys))
            except redis.RedisError as exc:
                self._lose(exc)

    def pause(self, seconds: float, now: float) -> None:
        self._local.paused_until = max(self._local.paused_until, now + seconds)
        if not self._lost:
            try:
                self._pause(keys=self._keys[2:3], args=[repr(seconds)])
            except redis.RedisError as exc:
                self._lose(exc)

    def writes_in_day(self, limits: Limits, now: float) -> int:
        if not self._lost:
            try:
                return int(
                    self._writes_today(keys=self._keys[1:2], args=[DAY, WINDOW_MARGIN_SECONDS])
                )
            except redis.RedisError as exc:
                self._lose(exc)
        self._local.forget_before(now)
        return len(self._local.writes)

    def _lose(self, exc: redis.RedisError) -> None:
        with self._lost_lock:
            if self._lost:
                return
            self._lost = True
        log.warning(
            "the pace ledger at %s is unreachable (%s): this process goes on pacing alone, "
            "from what it sent itself; other processes of the account no longer count "
            "against its budget, so Nexudus may answer 409 (each waited out as it asks)",
            self.shown,
            _reason(exc),
        )


def _limit_args(limits: Limits) -> list[float | int]:
    return [
        limits.min_interval,
        limits.requests_per_minute,
        limits.writes_per_minute,
        limits.requests_per_hour,
        limits.writes_per_day,
        INTERVAL_MARGIN_SECONDS,
        WINDOW_MARGIN_SECONDS,
        MINUTE,
        HOUR,
        DAY,
        LONGEST_WAIT_SECONDS,
    ]


def _reason(exc: BaseException) -> str:
    """The error in words, without a URL (which may carry the password)."""
    text = str(exc) or type(exc).__name__
    return type(exc).__name__ if "://" in text or "@" in text else text
