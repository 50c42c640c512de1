"""/__admin/worlds: a platform's instances as the dashboard browses them, and one instance whole.

Which collection holds the instances, and what to show of each (title, status, process position),
is the platform's to say (`Plugin.instances`, core/plugin.py); this module knows no platform.
Newest first, so what a test or the simulation just made is on top.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from instancemock.core.context import APIS, Handler, ctx
from instancemock.core.encoding import json_response
from instancemock.core.errors import Refusal
from instancemock.core.plugin import INSTANCE_VIEWS, InstanceView
from instancemock.world.state import DEFAULT_SANDBOX
from instancemock.world.store import Document


def _view(request: web.Request) -> tuple[str, InstanceView]:
    api = request.app[APIS][ctx(request).args.path["api"]]
    view = request.app[INSTANCE_VIEWS].get(api.platform)
    if view is None:
        raise Refusal(404, f"The API {api.name!r} has no instances to browse.")
    return api.platform, view


def matches(document: Document, summary: dict[str, Any], words: list[str]) -> bool:
    """Every word occurs in the document or its summary (case-insensitive)."""
    text = orjson.dumps([summary, document], option=orjson.OPT_NON_STR_KEYS).decode("utf-8").lower()
    return all(word in text for word in words)


async def browse_instances(request: web.Request) -> web.Response:
    context = ctx(request)
    platform, view = _view(request)
    query = context.args.query
    sandbox = query.get("sandbox") or DEFAULT_SANDBOX
    documents = (await context.state.store(sandbox, platform).dump()).get(view.collection, {})
    words = str(query.get("q") or "").lower().split()
    found = []
    for key, document in reversed(documents.items()):
        summary = view.summarize(document)
        if matches(document, summary, words):
            found.append({"key": key, **{k: _text(summary.get(k)) for k in ("id", "title", "status", "position")}})
    offset, limit = int(query.get("offset", 0)), int(query.get("limit", 50))
    return json_response(
        {
            "api": context.args.path["api"],
            "sandbox": sandbox,
            "sandboxes": context.state.sandboxes(),
            "total": len(found),
            "instances": found[offset : offset + limit],
        }
    )


async def get_instance(request: web.Request) -> web.Response:
    context = ctx(request)
    platform, view = _view(request)
    sandbox = context.args.query.get("sandbox") or DEFAULT_SANDBOX
    key = context.args.query["key"]
    stored = await context.state.store(sandbox, platform).get(view.collection, key)
    if stored is None:
        raise Refusal(404, f"No instance {key!r} in the {platform} world of sandbox {sandbox!r}.")
    summary = {k: _text(v) for k, v in view.summarize(stored.doc).items()}
    return json_response(
        {"key": key, "sandbox": sandbox, "version": stored.version, "summary": summary, "document": stored.doc}
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


OPERATIONS: dict[str, Handler] = {"browseInstances": browse_instances, "getWorldInstance": get_instance}
