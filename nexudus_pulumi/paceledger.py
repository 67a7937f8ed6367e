"""The pace ledger on Redis: one budget per account for every provider process, on any machine,
that names the same `redis://` URL (`nexudus:paceUrl`).

The pace file (`pacing._FileLedger`) coordinates the processes of one machine; CI runners on
separate machines share nothing but the network. Redis is the store teams already run for this,
and its Lua scripts run atomically: the check of every limit and the record of the sends that
follow are one step for all processes, as under the pace file's lock.

Per account (the same hashed key as the pace file's) Redis holds two sorted sets, the requests
of the last hour and the writes of the last day, each scored by its time, and a pause the server
asked for. Times are Redis's own (`TIME`), so runners whose clocks disagree still agree on the
account's minute; the scripts answer times relative to Redis's now, which this module moves to
the process's clock.

Redis lost mid-run (a restart, a network cut): the process goes on pacing alone, from what it
sent itself (kept locally all along), and says so once. The other processes do the same; the
server's 409s, waited out as it asks, cover the overlap.
"""

from __future__ import annotations

import logging
import math
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from .errors import PaceLedgerError
from .pacing import (
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
"""

_BOOK = (
    _LIB
    + """
-- KEYS: requests, writes, pause.  ARGV: plan ('r'/'w' per request), member prefix,
-- min interval, requests/minute, writes/minute, requests/hour, writes/day, interval margin,
-- window margin, minute, hour, day, longest wait.
local plan, prefix = ARGV[1], ARGV[2]
local interval, rpm, wpm = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local rph, wpd = tonumber(ARGV[6]), tonumber(ARGV[7])
local imargin, wmargin = tonumber(ARGV[8]), tonumber(ARGV[9])
local minute, hour, day, longest = tonumber(ARGV[10]), tonumber(ARGV[11]),
  tonumber(ARGV[12]), tonumber(ARGV[13])
local now = clock()
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
  end
  for i = 1, 2 do redis.call('EXPIRE', KEYS[i], tonumber(ARGV[14])) end
end
for i = 1, #times do answer[#answer + 1] = fmt(times[i]) end
return answer
"""
)

_RELEASE = """
for i = 1, #ARGV do
  redis.call('ZREM', KEYS[1], ARGV[i])
  redis.call('ZREM', KEYS[2], ARGV[i])
end
return 0
"""

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

    `take`, `release`, `pause` and `writes_in_day` are `pacing._HistoryBook`'s: the `Pacer`
    calls them under its own lock. Every booking, release and pause is also kept in a local
    history, which takes over if Redis is lost."""

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
        self._keys = (base + "requests", base + "writes", base + "pause")
        self._book = self._redis.register_script(_BOOK)
        self._release = self._redis.register_script(_RELEASE)
        self._pause = self._redis.register_script(_PAUSE)
        self._writes_today = self._redis.register_script(_WRITES_TODAY)
        self._local = History()
        """What this process sent, in its own clock: the pacing it goes on with alone."""
        self._members: dict[tuple[float, bool], str] = {}
        self._lost = False
        self._lost_lock = threading.Lock()

    @property
    def lost(self) -> bool:
        """Whether Redis was lost and this process paces alone."""
        return self._lost

    def take(
        self, limits: Limits, plan: Sequence[bool], now: float, lock_wait: float = math.inf
    ) -> tuple[list[float], str, bool]:
        """Send times for `plan`, the limit that sets the first, and whether they are booked
        (the first is now). `lock_wait` is the pace file's; Redis answers each script at
        once."""
        del lock_wait
        if not self._lost:
            prefix = uuid.uuid4().hex
            args = [
                "".join("w" if write else "r" for write in plan),
                prefix,
                *_limit_args(limits),
                IDLE_EXPIRY_SECONDS,
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
                    for n, (at, write) in enumerate(zip(local, plan, strict=True), 1):
                        self._members[(at, write)] = f"{prefix}:{n}"
                        self._local.record(at, write=write)
                return local, str(limit), bool(booked)
        return take_from(self._local, limits, plan, now)

    def release(self, booked: Sequence[tuple[float, bool]], now: float) -> None:
        members = [m for key in booked if (m := self._members.pop(key, None)) is not None]
        for at, write in booked:
            self._local.unrecord(at, write=write)
        if members and not self._lost:
            try:
                self._release(keys=self._keys[:2], args=members)
            except redis.RedisError as exc:
                self._lose(exc)

    def pause(self, seconds: float, now: float) -> None:
        self._local.paused_until = max(self._local.paused_until, now + seconds)
        if not self._lost:
            try:
                self._pause(keys=self._keys[2:], args=[repr(seconds)])
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
