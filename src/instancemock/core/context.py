"""What the pipeline learns about a request, computed once, and what a handler gets.

`Facts` (owning API, route or miss, sandbox, the path after the mount base) are worked out once by
the routing step and read by every later step and by the journal. `Ctx` is a handler's view: the
route, the parsed arguments, the caller and its world. Handlers read `ctx(request)` instead of
reaching into aiohttp's request dict, so the pipeline can change how it stores things without
touching any handler.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web

from instancemock.core.routing import Miss, Route
from instancemock.core.spec import Api, Operation
from instancemock.world.state import DEFAULT_SANDBOX, State
from instancemock.world.store import Store

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CTX: web.RequestKey[Ctx] = web.RequestKey("ctx", "Ctx")  # type: ignore[arg-type]
FACTS: web.RequestKey[Facts] = web.RequestKey("facts", "Facts")  # type: ignore[arg-type]
STATE = web.AppKey("state", State)
APIS = web.AppKey("apis", dict[str, Api])  # the mounted APIs by name, the admin API among them


@dataclass(frozen=True, slots=True)
class Facts:
    """Where a request goes: set by the routing step, read by every later step and the journal."""

    found: Route | Miss
    sandbox: str  # X-Mock-Sandbox, or the default sandbox
    api_path: str  # the path after the owning API's mount base (the path as sent if no API owns it)

    @property
    def owner(self) -> Api | None:
        """The API whose error shape answers for this path (None: no API owns it)."""
        return self.found.api


def facts(request: web.Request) -> Facts | None:
    return request.get(FACTS)


def owner_of(request: web.Request) -> Api | None:
    found = request.get(FACTS)
    return found.owner if found is not None else None


def sandbox_of(request: web.Request) -> str:
    """The sandbox a request names (before routing too: the journal records it from the start)."""
    return request.headers.get("X-Mock-Sandbox", "").strip() or DEFAULT_SANDBOX


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
    # scheme://host[:port] the client used. Read as the request arrives, not kept as the request:
    # the request holds this context, and a context holding it back would make every request a
    # cycle only the collector frees (the journal keeps the last thousand: bench/README.md, session 6).
    origin: str = "http://127.0.0.1:8080"

    @property
    def api(self) -> Api:
        return self.route.api

    @property
    def op(self) -> Operation:
        return self.route.op

    @property
    def store(self) -> Store:
        return self.state.store(self.sandbox, self.route.api.platform)

    def now(self) -> datetime:
        return self.state.clock.now()

    @property
    def base_url(self) -> str:
        """Absolute URL of the mount base this request came through, e.g. http://host/barium/api/v1.1."""
        return self.origin + self.route.base


def ctx(request: web.Request) -> Ctx:
    return request[CTX]


def origin_of(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"
