"""Serving the app: aiohttp's server with the connection-level guards a mock on a developer's machine needs.

What aiohttp's own `web.run_app` leaves open, and what this module adds:

- A request aiohttp's HTTP parser refuses (a header over the parser's ceiling, too many headers,
  NUL or CR in a header, a raw 0xFF in the path, a 1 MB URL) was answered by aiohttp itself with a
  bare text 400 that quotes the offending bytes, once as HTTP/1.0. `GuardedRequestHandler` answers
  it like any other refusal: in the error shape of the API whose path the request line names (the
  first bytes of the request, kept as they arrive), 414 for a request line over the limit, 431 for
  headers, 400 for the rest, and it quotes nothing back.
- The number of open connections is bounded (`max_connections`): one more is answered 503 and
  closed at once, so a crowd of stalled clients cannot use up the process's file descriptors.
  (How long a body may take to arrive is bounded by the pipeline: core/bodies.py.)
"""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import re
import signal
import socket
import sys
from collections.abc import Awaitable, Callable
from typing import Any, cast

from aiohttp import HttpVersion11, hdrs, web
from aiohttp.http_exceptions import HttpProcessingError, InvalidURLError, LineTooLong
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest
from aiohttp.web_urldispatcher import UrlMappingMatchInfo

from instancemock.core import errors
from instancemock.core.context import STATE
from instancemock.core.pipeline import MAX_HEADER_BYTES, MAX_URL_BYTES, MIDDLEWARES, ROUTER, dispatch
from instancemock.core.routing import Router

log = logging.getLogger("instancemock.server")

# The start of a request line: a method, a space and the start of the target (enough to route it).
_REQUEST_LINE = re.compile(rb"([A-Z]{3,7}) (/[^ \r\n]{0,2048})")
SWITCH_SECONDS = 0.001
LINGER_SECONDS = 2.0  # after refusing an unreadable request: how long the client's further bytes are drained
_FULL = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json; charset=utf-8\r\n"
    b"Retry-After: 1\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s"
)


class GuardedRequestHandler(RequestHandler):
    """One connection: aiohttp's handler, with protocol errors in the platforms' shapes and a connection cap."""

    router: Router | None = None
    max_connections = 0  # 0: no cap

    def __init__(self, manager: web.Server, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._target = b""  # the request target of the request being received, as far as it came
        self._in_request_line = False  # its request line has not ended yet
        self._refused = False  # over the connection cap: answered 503, never served
        self._unreadable = False  # the parser gave up: the rest of what the client sends is discarded

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        manager = self._manager
        if self.max_connections and manager is not None and len(manager.connections) >= self.max_connections:
            self._refused = True
            body = errors.error(None, 503, "Too many open connections; try again shortly.").body
            payload = body if isinstance(body, bytes) else b""
            # A stream server's transport; uvloop's are no subclasses of asyncio.Transport, so no
            # isinstance here (with one, the 503 was never written and the client saw a reset).
            stream = cast(asyncio.Transport, transport)
            stream.write(_FULL % (len(payload), payload))
            _close_gently(self._loop, stream)
            return
        super().connection_made(transport)

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._refused:
            return
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused or self._unreadable:
            return
        found = _REQUEST_LINE.match(data)
        if found is not None:
            self._target = found.group(2)
            self._in_request_line = b"\n" not in data
        elif self._in_request_line and b"\n" in data:
            self._in_request_line = False
        super().data_received(data)

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if not isinstance(exc, HttpProcessingError):
            return super().handle_error(request, status, exc, message)
        self._unreadable = True
        status, text = _protocol_refusal(exc, self._in_request_line)
        log.info("refused a request the HTTP parser could not read (%s): %s", type(exc).__name__, text)
        # aiohttp answers parser errors as if the request were HTTP/1.0; the client spoke 1.1
        request._version = HttpVersion11  # the one way to set the status line's version
        response = errors.error(self._owner_shape(), status, text)
        response.force_close()
        return response

    async def finish_response(
        self, request: BaseRequest, resp: web.StreamResponse, start_time: float | None
    ) -> tuple[web.StreamResponse, bool]:
        """After answering an unreadable request, close gently: closing with the client's bytes unread
        would reset the connection, and the client would see a reset instead of the answer."""
        finished = await super().finish_response(request, resp, start_time)
        transport = self.transport
        if self._unreadable and transport is not None and not transport.is_closing():
            self.transport = None  # aiohttp closes what it holds at once; this one lingers
            _close_gently(self._loop, transport)
        return finished

    def _owner_shape(self) -> errors.ErrorShape | None:
        if self.router is None or not self._target:
            return None
        found = self.router.resolve("GET", self._target.decode("latin-1").split("?", 1)[0])
        return found.api.errors if found.api is not None else None


def _close_gently(loop: asyncio.AbstractEventLoop, transport: asyncio.Transport) -> None:
    """Send what is written and end our side; drop what the client still sends, then close.

    Closing a socket with the client's bytes unread makes the kernel reset the connection, and the
    client sees the reset instead of the answer it was sent.
    """
    if transport.can_write_eof():
        transport.write_eof()
    loop.call_later(LINGER_SECONDS, transport.close)


def _protocol_refusal(exc: HttpProcessingError, in_request_line: bool) -> tuple[int, str]:
    """The status and a message that quotes none of the offending bytes."""
    text = str(exc.message or "").lower()
    if isinstance(exc, LineTooLong):
        if in_request_line:
            return 414, f"The request URL is longer than {MAX_URL_BYTES} bytes."
        return 431, f"A request header is longer than {MAX_HEADER_BYTES} bytes."
    if "too many headers" in text:
        return 431, "The request has too many headers."
    if isinstance(exc, InvalidURLError) or "url" in text:
        return 400, "The request target is not a valid URL."
    if "header" in text:
        return 400, "A request header is malformed (a forbidden character, or no name)."
    return 400, "The request could not be read as HTTP/1.1."


class GuardedServer(web.Server):
    """aiohttp's Server, making `GuardedRequestHandler`s."""

    def __call__(self) -> RequestHandler:
        return GuardedRequestHandler(self, loop=self._loop, **self._kwargs)


class PipelineRequest(web.Request):
    """aiohttp's request, with the lookups the pipeline makes of its per-request values made directly.

    `web.Request` is a `MutableMapping` whose `get` and `in` are the generic ones: a `get` of an
    absent key raises and catches a `KeyError`, and each request asks a score of times (the routing
    facts, the context, the journal's notes, most of them absent), a few per cent of a small
    request (bench/README.md). The values are aiohttp's own (`__getitem__` reads the same dict).
    """

    def get(self, key: Any, default: Any = None) -> Any:
        return self._state.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._state


# What aiohttp's catch-all route `/{tail:.*}` (app.py) matches: any path but one with a line break.
_CATCH_ALL = re.compile(r"/.*")


def served_handler(app: web.Application) -> Callable[[BaseRequest], Awaitable[web.StreamResponse]]:
    """What the server calls per request: the pipeline on the catch-all route, without aiohttp's router.

    `Application._handle` resolves every request through the router (the path's prefixes looked up,
    the catch-all's pattern matched, the path unquoted into a match dict nothing reads), builds a
    new match info, and wraps the middleware: ~8% of a small request's CPU in a profile of the
    Barium list (bench/README.md "The shared hot path, session 6"). Every path but `/` (the index
    page) goes to the one catch-all route, so a path that is not `/` gets one frozen match info,
    shared (it holds the app and the route, and no request's values), and the pipeline at once.
    `/`, a path the catch-all does not match (a line break in it: aiohttp's own 404 route), a
    request that expects `100-continue`, and an app with middlewares of its own go aiohttp's way.
    """
    resource = app.router.named_resources().get("dispatch")
    if resource is None or tuple(app.middlewares) != tuple(MIDDLEWARES):
        return cast(Callable[[BaseRequest], Awaitable[web.StreamResponse]], app._handle)
    (route,) = list(resource)
    shared = UrlMappingMatchInfo({}, route)
    shared.add_app(app)
    shared.freeze()
    pipeline = MIDDLEWARES[0]
    aiohttps_way = app._handle
    catch_all = _CATCH_ALL.fullmatch

    async def handle(served: BaseRequest) -> web.StreamResponse:
        request = cast(web.Request, served)  # the server's request factory makes `PipelineRequest`s
        path = request.rel_url.path_safe
        if path == "/" or catch_all(path) is None or hdrs.EXPECT in request.headers:
            return await aiohttps_way(request)
        request._match_info = shared
        return await pipeline(request, dispatch)

    return handle


class GuardedRunner(web.AppRunner):
    """An AppRunner whose server is a `GuardedServer`, making `PipelineRequest`s, served by `served_handler`."""

    async def _make_server(self) -> web.Server:
        made = await super()._make_server()
        return GuardedServer(
            served_handler(self.app),
            request_factory=functools.partial(self.app._make_request, _cls=PipelineRequest),
            handler_cancellation=made.handler_cancellation,
            loop=made._loop,
            **made._kwargs,
        )


def run(
    app: web.Application,
    *,
    sock: list[socket.socket],
    print: Callable[[str], None] | None = None,  # web.run_app's name for it
    shutdown_timeout: float = 5,
    **server_options: Any,
) -> None:
    """`web.run_app` on bound sockets, with the guards above; until SIGINT/SIGTERM, then a clean
    shutdown (in-flight requests get `shutdown_timeout`). `print` hears "Running on ..." once
    every socket listens, as with `web.run_app`."""
    settings = app[STATE].settings
    # While a worker thread checks a large body (core/offload.py), the event loop waits for the
    # interpreter lock at every turn; at the default 5 ms a health check waited ~100 ms in all.
    sys.setswitchinterval(SWITCH_SECONDS)
    GuardedRequestHandler.router = app[ROUTER]
    GuardedRequestHandler.max_connections = settings.max_connections
    asyncio.run(_serve(app, sock, print, shutdown_timeout, server_options))


async def _serve(
    app: web.Application,
    sockets: list[socket.socket],
    printer: Callable[[str], None] | None,
    shutdown_timeout: float,
    server_options: dict[str, Any],
) -> None:
    runner = GuardedRunner(app, handle_signals=False, shutdown_timeout=shutdown_timeout, **server_options)
    await runner.setup()
    # Everything made so far (specs, validators, the seeded worlds) lives as long as the server:
    # out of the collector's sight, a full collection no longer walks it, holding the interpreter
    # lock for a tenth of a second while a large body is checked beside the loop.
    gc.collect()
    gc.freeze()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        for sock in sockets:
            await web.SockSite(runner, sock).start()
        if printer is not None:
            names = sorted(str(s.name) for s in runner.sites)
            printer(f"======== Running on {', '.join(names)} ========\n(Press CTRL+C to quit)")
        await stop.wait()
    finally:
        await runner.cleanup()
