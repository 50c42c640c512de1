"""/__admin/requests: what the journal recorded, filtered; and how many, for CI assertions."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from instancemock.core.context import Handler, ctx
from instancemock.core.encoding import json_response
from instancemock.core.journal import JOURNAL, Filter
from instancemock.settings import parse_now


def _filter(query: dict[str, Any]) -> Filter:
    return Filter(
        api=query.get("api"),
        method=query.get("method"),
        path=query.get("path"),
        status=str(query["status"]) if query.get("status") is not None else None,
        sandbox=query.get("sandbox"),
        since=parse_now(query.get("since")),
    )


async def list_requests(request: web.Request) -> web.Response:
    """Newest first; `total` counts every match, `requests` holds at most `limit` of them."""
    query = ctx(request).args.query
    found = await request.app[JOURNAL].search(_filter(query))
    limit = query.get("limit")
    shown = found if limit is None else found[:limit]
    return json_response({"total": len(found), "requests": [entry.as_json() for entry in shown]})


async def count_requests(request: web.Request) -> web.Response:
    found = await request.app[JOURNAL].search(_filter(ctx(request).args.query))
    return json_response({"count": len(found)})


async def clear_requests(request: web.Request) -> web.Response:
    return json_response({"deleted": await request.app[JOURNAL].wipe()})


OPERATIONS: dict[str, Handler] = {
    "listRequests": list_requests,
    "countRequests": count_requests,
    "clearRequests": clear_requests,
}
