"""A real `redis-server` (Debian's package) for the pace ledger's tests: started on a free
loopback port in a temporary folder, with nothing persisted, and stopped by its own process id.

Without the binary a test skips on a dev machine and fails under CI=true (`.ci/run` installs
it)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis


class RedisServer:
    """One `redis-server` process; `url` names it, `stop`/`start` end and restart it on the
    same port (Redis lost mid-run, then back)."""

    def __init__(self, folder: Path, password: str | None = None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            reason = "no redis-server on PATH (apt-get install redis-server; .ci/run does)"
            if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
                pytest.fail(reason)
            pytest.skip(reason)
        self.binary = binary
        self.folder = folder
        self.password = password
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        for _ in range(5):  # a free port can be taken between choosing it and binding it
            port = self.port or _free_port()
            args = [
                self.binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.folder),
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--logfile",
                str(self.folder / "redis.log"),
            ]
            if self.password is not None:
                args += ["--requirepass", self.password]
            self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL)
            if self._ready(port):
                self.port = port
                return self
            self.stop()
        raise RuntimeError(f"redis-server did not start: {(self.folder / 'redis.log').read_text()}")

    def _ready(self, port: int) -> bool:
        client = redis.Redis(host="127.0.0.1", port=port, password=self.password)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                return False
            with contextlib.suppress(redis.ConnectionError):
                # ours, not another test's server that took the port first
                return bool(client.info("server")["process_id"] == self.process.pid)
            time.sleep(0.05)
        return False

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, password=self.password)

    def stop(self) -> None:
        """SIGKILL, as a crash or a lost host: no goodbye to the clients."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def redis_server(folder: Path, password: str | None = None) -> Iterator[RedisServer]:
    folder.mkdir(parents=True, exist_ok=True)
    server = RedisServer(folder, password).start()
    try:
        yield server
    finally:
        server.stop()
