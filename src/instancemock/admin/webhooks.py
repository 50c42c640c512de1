"""/__admin/webhooks: the Kianda webhook URLs at run time, and what was delivered to them."""

from __future__ import annotations

from aiohttp import web

from instancemock.core import errors
from instancemock.core.context import ctx
from instancemock.core.spec import Platform
from instancemock.platforms.kianda import webhooks as hooks


async def list_webhooks(request: web.Request) -> web.Response:
    state = ctx(request).state
    return web.json_response({"urls": hooks.webhooks(state), "deliveries": hooks.deliveries(state)})


async def add_webhook(request: web.Request) -> web.Response:
    context = ctx(request)
    try:
        urls = hooks.add_webhook(context.state, context.args.body["url"])
    except ValueError as error:
        return errors.error(Platform.ADMIN, 400, str(error))
    return web.json_response({"urls": urls}, status=201)


async def remove_webhook(request: web.Request) -> web.Response:
    context = ctx(request)
    url = context.args.query["url"]
    if not hooks.remove_webhook(context.state, url):
        return errors.error(Platform.ADMIN, 404, f"No webhook {url!r} is registered.")
    return web.json_response({"urls": hooks.webhooks(context.state)})


OPERATIONS = {"listWebhooks": list_webhooks, "addWebhook": add_webhook, "removeWebhook": remove_webhook}
