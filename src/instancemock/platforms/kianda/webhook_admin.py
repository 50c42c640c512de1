"""/__admin/webhooks: the Kianda webhook URLs at run time, and what was delivered to them.

The operations are declared by the admin spec and handled here: the plugin adds them to the
admin API (`Plugin.admin_operations`), so the admin package knows no platform.
"""

from __future__ import annotations

from aiohttp import web

from instancemock.core.context import ctx
from instancemock.core.encoding import json_response
from instancemock.core.errors import Refusal
from instancemock.platforms.kianda import webhooks as hooks


async def list_webhooks(request: web.Request) -> web.Response:
    state = ctx(request).state
    return json_response({"urls": hooks.webhooks(state), "deliveries": hooks.deliveries(state)})


async def add_webhook(request: web.Request) -> web.Response:
    context = ctx(request)
    try:
        urls = hooks.add_webhook(context.state, context.args.body["url"])
    except ValueError as error:
        raise Refusal(400, str(error)) from error
    return json_response({"urls": urls}, status=201)


async def remove_webhook(request: web.Request) -> web.Response:
    context = ctx(request)
    url = context.args.query["url"]
    if not hooks.remove_webhook(context.state, url):
        raise Refusal(404, f"No webhook {url!r} is registered.")
    return json_response({"urls": hooks.webhooks(context.state)})


OPERATIONS = {"listWebhooks": list_webhooks, "addWebhook": add_webhook, "removeWebhook": remove_webhook}
