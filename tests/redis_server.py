"""A real `redis-server` (Debian's package) on loopback, for the shared-store tests.

Started on a free port with its own directory; ready once it says so on its log (an event, read
line by line, not a poll). It can be stopped and started again on the same port and data, which
is how the tests take Redis away from a running replica. Without the binary, the tests that need
it are skipped with the reason, unless `REQUIRE_REDIS_TESTS=1` (which `.ci/run` sets after
installing it) makes that a failure: in CI they always run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import redis

from instancemock.world.redis_store import RedisPersistence

from support import free_port

READY = "Ready to accept connections"
START_SECONDS = 30.0


def binary() -> str:
    found = shutil.which("redis-server")
    if found is None:
        if os.environ.get("REQUIRE_REDIS_TESTS") == "1":
            pytest.fail("redis-server is missing and REQUIRE_REDIS_TESTS=1; .ci/run installs it with apt-get")
        pytest.skip("redis-server is not installed here (apt-get install redis-server; .ci/run installs it)")
    return found


class RedisServer:
    """One redis-server process at a time, on one port and one data directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [
            binary(),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.directory),
            "--save", "",
            "--appendonly", "yes",  # a restart keeps every acknowledged write (the tests restart it)
            "--appendfsync", "always",
            "--daemonize", "no",
            "--logfile", "",
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        ready = threading.Event()
        log: list[str] = []
        threading.Thread(target=_read_log, args=(self.process, ready, log), daemon=True).start()
        if not ready.wait(START_SECONDS):
            self.stop()
            raise AssertionError(f"redis-server was not ready in {START_SECONDS} s: {''.join(log[-20:])}")
        if self.process.poll() is not None:
            raise AssertionError(f"redis-server exited before it was ready: {''.join(log[-20:])}")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        self.process.wait(timeout=30)
        self.process = None

    def flush(self) -> None:
        """Every key gone: each test starts from an empty Redis."""
        with redis.Redis(host="127.0.0.1", port=self.port) as client:
            client.flushall()


def _read_log(process: subprocess.Popen[str], ready: threading.Event, log: list[str]) -> None:
    """Read redis-server's log to its end (a full pipe would stall it); set `ready` when it says so,
    or when it ends without saying so."""
    assert process.stdout is not None
    for line in process.stdout:
        log.append(line)
        if READY in line:
            ready.set()
    ready.set()


@asynccontextmanager
async def replica(url: str) -> AsyncIterator[RedisPersistence]:
    """One replica's connection to the shared Redis, closed when the test is done with it."""
    shared = RedisPersistence(url)
    try:
        yield shared
    finally:
        await shared.close()
