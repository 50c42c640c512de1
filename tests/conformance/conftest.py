"""The session's running servers (see conformance_support.py): one per store the suite runs on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conformance_support import Server, start_server, stop_server

from redis_server import RedisServer
from support import default_store, stores_for


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Each test of the session server runs against a server on each store (tests/support.py,
    STORE_SUITES); the servers live for the session, so the parameter is session-scoped."""
    if "server" in metafunc.fixturenames:
        stores = stores_for(metafunc.config, metafunc.definition.path, metafunc.function.__name__)
        if stores is not None:
            metafunc.parametrize("server", stores, indirect=True, scope="session")


@pytest.fixture(scope="session")
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One strict server for the whole session per store; tests keep apart by sandbox (X-Mock-Sandbox).

    On Redis it has a redis-server of its own: the make_client tests empty theirs before each test."""
    store = str(getattr(request, "param", default_store(request.config)))
    redis = RedisServer(tmp_path_factory.mktemp("conformance-redis")) if store == "redis" else None
    if redis is not None:
        redis.start()
    try:
        running = start_server(*(["--store", redis.url] if redis is not None else []))
        try:
            yield running
        finally:
            stop_server(running)
    finally:
        if redis is not None:
            redis.stop()
