"""The request pipeline of DESIGN.md, one middleware per job, top to bottom.

    journal -> guard -> cors -> route -> limits -> control -> miss -> respond -> authenticate -> validate -> handler

`respond` wraps authentication and validation too, so under `--strict` their rejections are held
to the spec like any handler's answer.

`route` runs before `control` (DESIGN.md draws them the other way round) because a forced status
or fault must be rendered in the owning platform's error shape, and only the router knows the
owner. `route` only *resolves*; an unknown path is answered by `miss`, after control had its say.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from werkzeug.datastructures import Headers

from instancemock.core import errors
from instancemock.core.context import CTX, STATE, Args, Ctx, Handler, ctx, origin_of
from instancemock.core.control import control
from instancemock.core.cors import cors
from instancemock.core.examples import answer_from_examples
from instancemock.core.journal import record
from instancemock.core.routing import Miss, Route, Router
from instancemock.core.spec import Platform
from instancemock.core.validation import check_request, check_response
from instancemock.world.state import DEFAULT_SANDBOX

log = logging.getLogger("instancemock")

ROUTER = web.AppKey("router", Router)
PLUGINS = web.AppKey("plugins", dict)
MISS = web.RequestKey("miss", Miss)
OWNER = web.RequestKey("owner", object)  # the Api whose shape errors take, or None

Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]


def owner_platform(request: web.Request) -> Platform | None:
    api = request.get(OWNER)
    return api.platform if api is not None else None


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """No request ever sees a traceback: anything unexpected is a 500 in the platform's shape."""
    try:
        return await handler(request)
    except web.HTTPRequestEntityTooLarge:
        limit = request.app[STATE].settings.max_body_bytes
        return errors.error(owner_platform(request), 413, f"The request body is larger than {limit} bytes.")
    except web.HTTPException as error:
        if error.status >= 400:
            return errors.error(owner_platform(request), error.status, error.reason)
        raise
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return errors.error(owner_platform(request), 500, "An error has occurred.")


@web.middleware
async def route(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.match_info.route.name == "index":
        return await handler(request)
    found = request.app[ROUTER].resolve(request.method, request.rel_url.raw_path)
    state = request.app[STATE]
    sandbox = request.headers.get("X-Mock-Sandbox", "").strip() or DEFAULT_SANDBOX
    if isinstance(found, Route):
        request[OWNER] = found.api
        request[CTX] = Ctx(state=state, route=found, sandbox=sandbox, origin=origin_of(request))
    else:
        request[OWNER] = found.api
        request[MISS] = found
    return await handler(request)


MAX_URL_BYTES = 8190  # the request target; aiohttp's own limit, near Kestrel's 8 KB request line
MAX_HEADER_BYTES = 8190  # one header line, name and value
PARSER_CEILING = 64 * 1024  # passed to aiohttp's parser, so that `limits` sees what is over the limits


@web.middleware
async def limits(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Too long a URL or header, or a declared body over the limit: refused in the platform's shape.

    aiohttp's parser would refuse the first two itself, with a bare text 400 no platform sends, so
    the server runs it with `PARSER_CEILING` and the limits are applied here. A body whose
    `Content-Length` is too large is refused before a byte of it is read.
    """
    platform = owner_platform(request)
    if len(request.raw_path) > MAX_URL_BYTES:
        return errors.error(platform, 414, f"The request URL is longer than {MAX_URL_BYTES} bytes.")
    for name, value in request.raw_headers:
        if len(name) + len(value) + 2 > MAX_HEADER_BYTES:
            shown = name.decode("latin-1")[:64]
            return errors.error(platform, 431, f"The header {shown!r} is longer than {MAX_HEADER_BYTES} bytes.")
    limit = request.app[STATE].settings.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        return errors.error(platform, 413, f"The request body is larger than {limit} bytes.")
    return await handler(request)


@web.middleware
async def miss(request: web.Request, handler: Handler) -> web.StreamResponse:
    found: Miss | None = request.get(MISS)
    if found is None:
        return await handler(request)
    platform = found.api.platform if found.api else None
    if found.allowed:
        response = errors.error(platform, 405, _not_allowed_message(platform, request))
        response.headers["Allow"] = ", ".join(found.allowed)
        return response
    return errors.error(platform, 404, _not_found_message(platform, request))


def _not_found_message(platform: Platform | None, request: web.Request) -> str:
    if platform is Platform.KIANDA:
        return f"No HTTP resource was found that matches the request URI '{request.url}'."
    return f"No route matches {request.method} {request.path}."


def _not_allowed_message(platform: Platform | None, request: web.Request) -> str:
    if platform is Platform.KIANDA:
        return f"The requested resource does not support http method '{request.method}'."
    return f"{request.method} is not allowed on {request.path}."


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    if CTX not in request:
        return await handler(request)
    context = ctx(request)
    plugin = request.app[PLUGINS].get(context.api.name)
    if plugin is not None and plugin.authenticate is not None:
        refused = await plugin.authenticate(request, context)
        if refused is not None:
            return refused
    return await handler(request)


@web.middleware
async def validate(request: web.Request, handler: Handler) -> web.StreamResponse:
    if CTX not in request:
        return await handler(request)
    context = ctx(request)
    body = await request.read() if request.can_read_body else b""
    args, violations = check_request(
        context.api,
        context.op,
        context.route.params,
        request.rel_url.query.items(),
        request.headers.items(),
        dict(request.cookies),
        body,
        (request.headers.get("Content-Type") or "").lower(),
    )
    context.args = args
    if violations:
        return errors.reject(context.api.platform, *violations)
    return await handler(request)


@web.middleware
async def respond(request: web.Request, handler: Handler) -> web.StreamResponse:
    """With --strict, a response that breaks its own spec becomes a 500 that names the violation."""
    response = await handler(request)
    if CTX not in request or not request.app[STATE].settings.strict or type(response) is not web.Response:
        return response
    context = ctx(request)
    body = response.body if isinstance(response.body, bytes) else b""
    problems = check_response(
        context.api,
        context.op,
        response.status,
        body,
        Headers(list(response.headers.items())),
        response.content_type,
    )
    if not problems:
        return response
    log.error("response of %s breaks the spec: %s", context.op.id, problems)
    message = f"instancemock --strict: the response of {context.op.id} breaks its spec: " + "; ".join(problems)
    return errors.error(context.api.platform, 500, message)


async def dispatch(request: web.Request) -> web.StreamResponse:
    """The one catch-all route: the handler for the operation the router found."""
    context = ctx(request)
    plugin = request.app[PLUGINS].get(context.api.name)
    handler = plugin.operations.get(context.op.id) if plugin is not None else None
    if handler is None:
        return answer_from_examples(context)
    return await handler(request)


MIDDLEWARES: list[Middleware] = [record, guard, cors, route, limits, control, miss, respond, authenticate, validate]

__all__ = ["MIDDLEWARES", "PLUGINS", "ROUTER", "Args", "dispatch"]
