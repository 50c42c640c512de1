from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from instancemock.app import create_app

from redis_server import RedisServer
from support import MakeClient, settings

pytest_plugins = ["pytester"]  # the pytest plugin's own tests (tests/test_pytest_plugin.py)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--store",
        choices=["memory", "redis"],
        default="memory",
        help="the store every make_client server keeps its worlds in (redis: a real redis-server, emptied per test)",
    )


@pytest.fixture
def make_client(aiohttp_client: Any, request: pytest.FixtureRequest) -> MakeClient:
    """make_client(**settings overrides) -> a client of a fresh, strict, seeded server.

    With `pytest --store redis`, every such server keeps its worlds in a real Redis (emptied
    before each test), so the API suites run against both stores."""
    shared = request.getfixturevalue("redis_url") if request.config.getoption("--store") == "redis" else None

    async def make(**overrides: Any) -> TestClient:
        if shared is not None and "state_file" not in overrides:
            overrides.setdefault("store", shared)
        return await aiohttp_client(create_app(settings(**overrides)))

    return make


@pytest.fixture
async def client(make_client: MakeClient) -> TestClient:
    """A fresh strict server with the default settings (seed 7, clock at support.NOW)."""
    return await make_client()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One real redis-server for the session (skipped, with the reason, where it is not installed)."""
    server = RedisServer(Path(tmp_path_factory.mktemp("redis")))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The URL of an empty Redis: what `--store` takes."""
    if redis_server.process is None:  # a test stopped it and failed before starting it again
        redis_server.start()
    redis_server.flush()
    return redis_server.url
