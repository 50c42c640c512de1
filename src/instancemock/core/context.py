"""What a handler gets: the request's route, parsed arguments, caller and world, in one object.

Handlers read `ctx(request)` instead of reaching into aiohttp's request dict, so the pipeline can
change how it stores things without touching any handler.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web

from instancemock.core.routing import Route
from instancemock.core.spec import Api, Operation
from instancemock.world.state import DEFAULT_SANDBOX, State
from instancemock.world.store import Store

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CTX = web.RequestKey("ctx", "Ctx")  # type: ignore[arg-type]
STATE = web.AppKey("state", State)


@dataclass(slots=True)
class Args:
    """Arguments as openapi-core parsed and cast them; names are the spec's canonical ones."""

    path: dict[str, Any] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    header: dict[str, Any] = field(default_factory=dict)
    cookie: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    raw_body: bytes = b""
    content_type: str = ""


@dataclass(slots=True)
class Ctx:
    state: State
    route: Route
    sandbox: str = DEFAULT_SANDBOX
    args: Args = field(default_factory=Args)
    principal: Any = None  # what the auth step learned about the caller (platform-specific)
    origin: str = "http://127.0.0.1:8080"  # scheme://host[:port] the client used

    @property
    def api(self) -> Api:
        return self.route.api

    @property
    def op(self) -> Operation:
        return self.route.op

    @property
    def store(self) -> Store:
        return self.state.store(self.sandbox, self.route.api.dataset)

    def now(self) -> datetime:
        return self.state.clock.now()

    @property
    def base_url(self) -> str:
        """Absolute URL of the mount base this request came through, e.g. http://host/barium/api/v1.1."""
        return self.origin + self.route.base


def ctx(request: web.Request) -> Ctx:
    return request[CTX]  # type: ignore[no-any-return]


def origin_of(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"
