"""The /__admin API: handlers by operationId of openapi/admin.yaml.

It runs through the same pipeline as the platform APIs, so its requests are validated against
its own spec; its "auth" is the admin token, needed only when the server listens beyond loopback.
"""

from __future__ import annotations

import copy
import hmac

from aiohttp import web

from instancemock.admin import faults as admin_faults
from instancemock.admin import journal as admin_journal
from instancemock.admin import simulate as admin_simulate
from instancemock.admin import state as admin_state
from instancemock.admin import webhooks as admin_webhooks
from instancemock.core import errors
from instancemock.core.context import STATE, Ctx, ctx
from instancemock.core.plugin import Plugin
from instancemock.core.spec import Platform


async def authenticate(request: web.Request, context: Ctx) -> web.StreamResponse | None:
    token = context.state.settings.admin_token
    if token is None or context.op.spec.get("security") == []:  # health and specs stay open
        return None
    sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    sent = sent or request.headers.get("X-Admin-Token", "")
    if hmac.compare_digest(sent.encode(), token.encode()):
        return None
    return errors.error(Platform.ADMIN, 401, "The admin API needs 'Authorization: Bearer <admin token>'.")


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def get_spec(request: web.Request) -> web.Response:
    """The spec as written, with `servers` pointing at this server so tools can call it directly."""
    context = ctx(request)
    name = context.args.path["api"]
    api = context.state.apis.get(name)
    if api is None:
        return errors.error(Platform.ADMIN, 404, f"No API named {name!r}; known: {', '.join(context.state.apis)}.")
    spec = copy.deepcopy(api.spec)
    spec["servers"] = [{"url": context.origin + base, "description": f"instancemock {name}"} for base in api.bases]
    return web.json_response(spec)


async def reset(request: web.Request) -> web.Response:
    context = ctx(request)
    state = request.app[STATE]
    api_name = context.args.query.get("api")
    sandbox = context.args.query.get("sandbox")
    dataset = None
    if api_name is not None:
        api = state.apis.get(api_name)
        if api is None or api_name == "admin":
            return errors.error(Platform.ADMIN, 400, f"No API named {api_name!r}.")
        dataset = api.dataset
    state.reset(sandbox, dataset)
    return web.json_response({"reset": True, "api": api_name, "sandbox": sandbox})


PLUGIN = Plugin(
    operations={"getHealth": health, "getSpec": get_spec, "reset": reset}
    | admin_state.OPERATIONS
    | admin_faults.OPERATIONS
    | admin_journal.OPERATIONS
    | admin_webhooks.OPERATIONS
    | admin_simulate.OPERATIONS,
    authenticate=authenticate,
)
