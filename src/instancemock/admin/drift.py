"""/__admin/drift: what proxy mode found where the real service and the specs disagree (core/drift.py)."""

from __future__ import annotations

from aiohttp import web

from instancemock.core.context import Handler, ctx
from instancemock.core.drift import markdown
from instancemock.core.encoding import json_response
from instancemock.core.proxy import drift_log

EMPTY = {"exchanges": 0, "drifting": 0, "dropped": 0, "groups": []}


async def get_drift(request: web.Request) -> web.Response:
    """JSON by default; `format=md` the same as a Markdown report (what `instancemock drift-report` prints)."""
    query = ctx(request).args.query
    found = drift_log(request.app)
    report = found.report(query.get("api")) if found is not None else EMPTY
    if query.get("format") == "md":
        return web.Response(text=markdown(report), content_type="text/markdown")
    return json_response(report)


async def clear_drift(request: web.Request) -> web.Response:
    found = drift_log(request.app)
    return json_response({"deleted": found.clear() if found is not None else 0})


OPERATIONS: dict[str, Handler] = {"getDrift": get_drift, "clearDrift": clear_drift}
