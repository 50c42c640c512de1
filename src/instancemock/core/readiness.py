"""The pipeline step that holds a request until the world it reads and writes is seeded.

With the worlds seeded in the background (`create_app(background=True)`, world/state.py), the
server answers before they are in: `/__admin/health` says "seeding", and every other request
waits here for its own sandbox's world of its platform, so nothing is ever answered from a
half-made world. A new sandbox is seeded the same way on its first request.
"""

from __future__ import annotations

from aiohttp import web

from instancemock.core.context import FACTS, STATE
from instancemock.core.routing import Route
from instancemock.core.spec import ADMIN

# Admin operations that read no world: answered at once, while seeding.
WORLDLESS_ADMIN = frozenset({"getHealth", "getSpec"})


def world_settled(request: web.Request) -> bool:
    """Nothing for `await_world` to wait for: no route, a world-less admin call, or the request's
    world is in (the pipeline asks first, and skips the step's coroutine)."""
    found = request.get(FACTS)
    if found is None or not isinstance(found.found, Route):
        return True
    state = request.app[STATE]
    platform = found.found.api.platform
    if platform == ADMIN:
        return found.found.op.id in WORLDLESS_ADMIN
    return platform not in state.platform_apis or state.settled(found.sandbox, platform)


async def await_world(request: web.Request) -> None:
    if world_settled(request):
        return
    found = request[FACTS]
    assert isinstance(found.found, Route)  # `world_settled` answered for every other request
    state = request.app[STATE]
    platform = found.found.api.platform
    if platform == ADMIN:
        await state.ready_all()
    else:
        await state.ready(found.sandbox, platform)
