from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from instancemock.app import create_app

from redis_server import RedisServer
from support import STORES, MakeClient, default_store, settings, stores_for

pytest_plugins = ["pytester"]  # the pytest plugin's own tests (tests/test_pytest_plugin.py)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--store",
        choices=["both", *STORES],
        default="both",
        help="the store the API suites' servers keep their worlds in: both (each such test runs on memory and on "
        "a real redis-server), memory, or redis (then every make_client server uses Redis, emptied per test)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "store" in metafunc.fixturenames:
        stores = stores_for(metafunc.config, metafunc.definition.path, metafunc.function.__name__)
        if stores is not None:
            metafunc.parametrize("store", stores, indirect=True)


@pytest.fixture
def store(request: pytest.FixtureRequest) -> str:
    """`memory` or `redis`: where the test's servers keep their worlds (a parameter in the API
    suites, see STORE_SUITES; elsewhere what `--store` says)."""
    return str(getattr(request, "param", default_store(request.config)))


@pytest.fixture
def make_client(aiohttp_client: Any, request: pytest.FixtureRequest, store: str) -> MakeClient:
    """make_client(**settings overrides) -> a client of a fresh, strict, seeded server.

    On the `redis` store every such server keeps its worlds in a real Redis (emptied before each
    test), unless the test chose a store or a state file itself."""
    shared = request.getfixturevalue("redis_url") if store == "redis" else None

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
    """One real redis-server for the session (per xdist worker); skipped, with the reason, where it
    is not installed, unless REQUIRE_REDIS_TESTS=1 (.ci/run) makes that a failure."""
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
