"""The /__admin API: handlers by operationId of openapi/admin.yaml.

It runs through the same pipeline as the platform APIs, so its requests are validated against
its own spec; its "auth" is the admin token, needed only when the server listens beyond loopback.
"""

from __future__ import annotations

import copy
import hmac
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from instancemock.admin import drift as admin_drift
from instancemock.admin import faults as admin_faults
from instancemock.admin import guard
from instancemock.admin import journal as admin_journal
from instancemock.admin import pages as admin_pages
from instancemock.admin import simulate as admin_simulate
from instancemock.admin import state as admin_state
from instancemock.admin import stubs as admin_stubs
from instancemock.admin import worlds as admin_worlds
from instancemock.core.context import APIS, STATE, Ctx, Handler, ctx
from instancemock.core.encoding import json_response
from instancemock.core.errors import PLAIN, Refusal
from instancemock.core.plugin import ApiPlugin, Plugin
from instancemock.core.spec import ADMIN, SPEC_DIR, read_spec
from instancemock.world.redis_store import RedisPersistence
from instancemock.world.sqlite_store import SqlitePersistence
from instancemock.world.store import StoreUnavailable


async def authenticate(request: web.Request, context: Ctx) -> web.StreamResponse | None:
    """The admin guard (admin/guard.py: Host and web origin), then the admin token where one is set."""
    if context.op.spec.get("security") == []:  # health and specs stay open
        return None
    guard.check(request, context)
    token = context.state.settings.admin_token
    if token is None:
        return None
    sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    sent = sent or request.headers.get("X-Admin-Token", "")
    if hmac.compare_digest(sent.encode(), token.encode()):
        return None
    raise Refusal(401, "The admin API needs 'Authorization: Bearer <admin token>'.")


async def health(request: web.Request) -> web.Response:
    """200 once every world of the default sandbox is seeded and the store they are kept in answers;
    503 while seeding in the background, or while a shared store is out of reach (a load balancer
    then sends traffic to a replica that can serve it)."""
    state = request.app[STATE]
    store = await _store_health(state.persistence)
    if not store["reachable"]:
        return json_response({"status": "unavailable", "store": store}, status=503)
    if state.failure is not None:
        return json_response({"status": "failed", "error": str(state.failure), "store": store}, status=503)
    seeding = state.still_seeding()
    if seeding:
        return json_response({"status": "seeding", "seeding": seeding, "store": store}, status=503)
    return json_response({"status": "ok", "store": store})


async def _store_health(persistence: object) -> dict[str, Any]:
    """Where the worlds are kept, and whether it answers (only a shared store can fail to)."""
    if isinstance(persistence, RedisPersistence):
        try:
            await persistence.check()
        except StoreUnavailable as error:
            return {"kind": "redis", "url": persistence.url, "reachable": False, "error": str(error)}
        return {"kind": "redis", "url": persistence.url, "reachable": True}
    if isinstance(persistence, SqlitePersistence):
        return {"kind": "sqlite", "path": str(persistence.path), "reachable": True}
    return {"kind": "memory", "reachable": True}


async def get_spec(request: web.Request) -> web.Response:
    """The spec as written, with `servers` pointing at this server so tools can call it directly."""
    context = ctx(request)
    name = context.args.path["api"]
    apis = request.app[APIS]
    api = apis.get(name)
    if api is None:
        raise Refusal(404, f"No API named {name!r}; known: {', '.join(apis)}.")
    spec = copy.deepcopy(api.spec)
    spec["servers"] = [{"url": context.origin + base, "description": f"instancemock {name}"} for base in api.bases]
    return json_response(spec)


async def reset(request: web.Request) -> web.Response:
    context = ctx(request)
    state = request.app[STATE]
    api_name = context.args.query.get("api")
    sandbox = context.args.query.get("sandbox")
    platform = None
    if api_name is not None:
        api = request.app[APIS].get(api_name)
        if api is None or api_name == ADMIN:
            raise Refusal(400, f"No API named {api_name!r}.")
        platform = api.platform
    state.reset(sandbox, platform)
    await state.persistence.flush()  # acknowledged once durable: a restart must not bring the old world back
    return json_response({"reset": True, "api": api_name, "sandbox": sandbox})


OPERATIONS = (
    {"getHealth": health, "getSpec": get_spec, "reset": reset}
    | admin_state.OPERATIONS
    | admin_faults.OPERATIONS
    | admin_stubs.OPERATIONS
    | admin_journal.OPERATIONS
    | admin_simulate.OPERATIONS
    | admin_drift.OPERATIONS
    | admin_worlds.OPERATIONS
    | admin_pages.OPERATIONS
)


def plugin(platforms: Iterable[Plugin]) -> Plugin:
    """The admin API, with the admin operations the platforms contribute (Kianda's webhooks)."""
    extra: dict[str, Handler] = {}
    for platform in platforms:
        extra.update(platform.admin_operations)
    names = [api.name for platform in platforms for api in platform.apis]
    api = ApiPlugin(ADMIN, admin_spec(names), PLAIN, OPERATIONS | extra, authenticate=authenticate)
    return Plugin(name=ADMIN, apis=(api,))


def admin_spec(api_names: list[str]) -> dict[str, Any]:
    """openapi/admin.yaml with `ApiName` listing the APIs this server has, so a new platform's name validates."""
    spec = copy.deepcopy(read_spec(SPEC_DIR / "admin.yaml"))
    schemas = spec["components"]["schemas"]
    schemas["ApiName"]["enum"] = list(api_names)
    schemas["ApiNameOrAdmin"]["enum"] = [*api_names, ADMIN]
    return spec
