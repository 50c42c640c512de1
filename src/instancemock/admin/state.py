"""GET/PUT /__admin/state: the whole state as one document, for snapshots and CI fixtures."""

from __future__ import annotations

from aiohttp import web

from instancemock.core.context import ctx
from instancemock.core.encoding import json_response
from instancemock.core.errors import Refusal
from instancemock.world.snapshot import StateError, export_state, import_state


async def get_state(request: web.Request) -> web.Response:
    return json_response(export_state(ctx(request).state))


async def put_state(request: web.Request) -> web.Response:
    context = ctx(request)
    try:
        import_state(context.state, context.args.body)
    except StateError as error:
        raise Refusal(400, f"The state document was not loaded, nothing changed: {error}") from error
    return json_response({"loaded": True, "sandboxes": context.state.sandboxes()})


OPERATIONS = {"getState": get_state, "putState": put_state}
