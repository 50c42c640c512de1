"""The served server's handler (server.py `served_handler`) answers as aiohttp's own `Application._handle` would.

The server skips aiohttp's router for every path but `/`; these tests serve two apps made from
the same settings, one through `GuardedRunner` (the handler) and one through aiohttp's plain
`AppRunner`, send each the same requests, and compare what comes back, including the requests
that must still go aiohttp's way (the index page, a path the catch-all route cannot match, a
request expecting `100-continue`).
"""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from instancemock.app import create_app
from instancemock.core.pipeline import run_pipeline
from instancemock.server import GuardedRunner, served_handler

from support import settings

# Values the server draws afresh per answer (Barium's error ids, the journal's ids and times).
VOLATILE = {"errorLogId", "ErrorId", "id", "time", "durationMs", "duration_ms", "traceId"}


def _free_socket() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


async def _serve(runner: web.BaseRunner) -> tuple[str, web.BaseRunner]:
    await runner.setup()
    sock = _free_socket()
    site = web.SockSite(runner, sock)
    await site.start()
    return f"http://127.0.0.1:{sock.getsockname()[1]}", runner


@pytest.fixture
async def pair() -> AsyncIterator[tuple[str, str]]:
    """(served by `GuardedRunner`, served by aiohttp's `AppRunner`), from the same settings."""
    guarded, guarded_runner = await _serve(GuardedRunner(create_app(settings())))
    assert guarded_runner.server is not None
    assert guarded_runner.server.request_handler != guarded_runner.app._handle  # the direct way, tested here
    plain, plain_runner = await _serve(web.AppRunner(create_app(settings())))
    try:
        yield guarded, plain
    finally:
        await plain_runner.cleanup()
        await guarded_runner.cleanup()


async def _answer(base: str, method: str, path: str, **options: Any) -> tuple[int, str | None, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, base + path, skip_auto_headers=["User-Agent"], **options) as response,
    ):
        raw = (await response.read()).replace(
            base.removeprefix("http://").encode(), b"server"
        )  # the two differ by port
        kind = response.content_type
        body: Any = _steady(json.loads(raw)) if kind == "application/json" and raw else kind
        return response.status, response.headers.get("Content-Type"), body


def _steady(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ("*" if k in VOLATILE else _steady(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_steady(v) for v in value]
    return value


REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/", {}),  # the index page: aiohttp's way
    ("POST", "/", {}),  # `/` is the index's only for GET: the catch-all answers it
    ("GET", "/__admin/health", {}),
    ("GET", "/nowhere/at/all", {}),
    ("GET", "/barium/api/v1.1/Instances?Status=active&Max=10", {}),  # no ticket: 401
    ("GET", "/barium/%0A/Instances", {}),  # a line break: no match for the catch-all, aiohttp's 404 route
    ("GET", "/kianda/api/instances", {"headers": {"Authorization": "Bearer nonsense"}}),
    ("GET", "/altinn/storage/api/v1/instances?org=ttd&size=abc", {}),
    (
        "POST",
        "/barium/api/v1.1/authenticate",
        {"data": "username=nobody&password=wrong", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
    ),
    (
        "POST",
        "/kianda/api/instances/create",
        {"data": b"{}", "headers": {"Content-Type": "application/json", "Expect": "100-continue"}},
    ),
]


async def test_the_served_handler_answers_as_aiohttps_own(pair: tuple[str, str]) -> None:
    guarded, plain = pair
    for method, path, options in REQUESTS:
        served = await _answer(guarded, method, path, **options)
        expected = await _answer(plain, method, path, **options)
        assert served == expected, (method, path)
    # The journal saw the same requests, in the same order, with the same statuses.
    listed = [await _answer(base, "GET", "/__admin/requests?limit=50") for base in (guarded, plain)]
    assert listed[0] == listed[1]
    assert listed[0][0] == 200


async def test_an_app_with_middlewares_of_its_own_is_served_aiohttps_way() -> None:
    app = create_app(settings())
    assert served_handler(app) != app._handle  # the pipeline alone: the direct way

    @web.middleware
    async def extra(request: web.Request, handler: Any) -> web.StreamResponse:
        return await handler(request)

    widened = create_app(settings())
    widened.middlewares.append(extra)
    assert served_handler(widened) == widened._handle
    assert next(iter(widened.middlewares)) is run_pipeline
