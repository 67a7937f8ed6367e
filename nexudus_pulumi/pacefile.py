"""The pace file (`nexudus:paceFile`): one budget per account for every provider process of one
machine that names the same file, kept in it under an exclusive lock.

Several stacks of one pipeline runner share it; runners on other machines share a Redis pace
ledger instead (`paceledger.py`).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import math
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import PaceFileError
from .pacehistory import History

PACE_FILE_VERSION = 2
"""Unchanged by the requests in flight each history also holds: a process of an earlier
version reads the file as before, counting them at their send time."""
DEFAULT_LOCK_WAIT_SECONDS = 30.0
"""How long the pace file's lock is waited for when the caller states no bound: a process
holds it for a check and a record, well under a millisecond."""
LOCK_RETRY_SECONDS = 0.005


class FileLedger:
    """The history of every process naming this file, kept in it under an exclusive lock
    (`flock`), so a check and the record of the send that follows are one step for all of
    them. Only processes on one machine share it: a lock on a network file system is not to be
    trusted, and other machines' requests never reach this file.

    The file holds one history per account, so two accounts sharing one file never hold each
    other back. It is opened without following a symbolic link, and a file that holds
    anything but pace data is refused, never overwritten: the name may be a mistake, and the
    file someone's notes. So is a file another user owns, or one that the group or others may
    write: whoever can write it can plant a pause ("next turn is 86400 s away") or hold its
    lock. The lock is waited for at most as long as the caller may wait (`lock_wait`), never
    without end.
    """

    def __init__(self, path: Path, account: str) -> None:
        self.path = path
        self.account = account
        with self._locked(DEFAULT_LOCK_WAIT_SECONDS) as file:
            _accounts(file.read(), path)

    @contextlib.contextmanager
    def open(self, now: float, lock_wait: float = math.inf) -> Iterator[History]:
        with self._locked(lock_wait) as file:
            accounts = _accounts(file.read(), self.path)
            history = History.from_dict(accounts.get(self.account), now)
            yield history
            accounts[self.account] = history.to_dict()
            file.seek(0)
            file.truncate()
            file.write(
                json.dumps({"pace": PACE_FILE_VERSION, "accounts": accounts}, separators=(",", ":"))
            )

    @contextlib.contextmanager
    def _locked(self, lock_wait: float) -> Iterator[Any]:
        """The file, opened and checked, under the exclusive lock: taken without blocking,
        tried again until `lock_wait` seconds (`DEFAULT_LOCK_WAIT_SECONDS` if unbounded) have
        passed, then refused."""
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
        try:
            fd = os.open(self.path, flags, 0o600)
        except OSError as exc:
            raise _open_failure(self.path, exc) from None
        try:
            _check_owner_and_mode(self.path, os.fstat(fd))
            self._lock(fd, lock_wait if math.isfinite(lock_wait) else DEFAULT_LOCK_WAIT_SECONDS)
            with os.fdopen(os.dup(fd), "r+", encoding="utf-8", errors="replace") as file:
                yield file
        finally:
            os.close(fd)  # releases the lock

    def _lock(self, fd: int, lock_wait: float) -> None:
        give_up = time.monotonic() + max(lock_wait, LOCK_RETRY_SECONDS)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= give_up:
                    raise PaceFileError(
                        f"the pace file {self.path} stayed locked by another process for "
                        f"{max(lock_wait, LOCK_RETRY_SECONDS):g} s, longer than the request "
                        "may wait; find the process holding it (`fuser` names it), or name "
                        "a file of your own",
                        reason="locked",
                        path=self.path,
                    ) from None
                time.sleep(LOCK_RETRY_SECONDS)


def _check_owner_and_mode(path: Path, info: os.stat_result) -> None:
    """Refuse a pace file that is no regular file, that another user owns, or that the group
    or others may write: each message names the file and the fix."""
    if not stat.S_ISREG(info.st_mode):
        raise PaceFileError(
            f"the pace file {path} is not a regular file", reason="not-a-file", path=path
        )
    if info.st_uid != os.geteuid():
        raise PaceFileError(
            f"the pace file {path} belongs to another user (uid {info.st_uid}), who could "
            "hold back or stall every request through it; name a file of your own (e.g. in "
            "$RUNNER_TEMP or $XDG_RUNTIME_DIR), or delete that one",
            reason="foreign",
            path=path,
        )
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise PaceFileError(
            f"the pace file {path} may be written by the group or others (mode "
            f"{stat.S_IMODE(info.st_mode):04o}), who could plant a pause in it; make it "
            f"yours alone: chmod 600 {path}",
            reason="writable",
            path=path,
        )


def _open_failure(path: Path, exc: OSError) -> PaceFileError:
    if exc.errno == errno.ELOOP:
        return PaceFileError(
            f"the pace file {path} is a symbolic link, which is not followed; name the file itself",
            reason="symlink",
            path=path,
        )
    if exc.errno == errno.EISDIR:
        return PaceFileError(
            f"the pace file {path} is a folder; name a file in it, e.g. {path / 'nexudus.pace'}",
            reason="folder",
            path=path,
        )
    return PaceFileError(
        f"cannot open the pace file {path}: {exc.strerror}", reason="cannot-open", path=path
    )


def _accounts(text: str, path: Path) -> dict[str, Any]:
    """The per-account histories of a pace file's text; an empty file, or one of an older
    version of this module, is a fresh start; anything else is refused."""
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict) and data.get("pace") == PACE_FILE_VERSION:
        accounts = data.get("accounts")
        if isinstance(accounts, dict):
            return accounts
    if isinstance(data, dict) and set(data) == {"requests", "writes", "paused_until"}:
        return {}  # the single-account file of an earlier version
    raise PaceFileError(
        f"the pace file {path} holds something else than pace data, and is left as it is; "
        "name another file (or delete this one if it is an old pace file)",
        reason="not-pace",
        path=path,
    )
