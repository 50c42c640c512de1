"""The request pipeline: fifteen small steps run in order by one coroutine (ARCHITECTURE.md lists them).

    record_in_journal -> catch_crashes -> answer_cors -> resolve_route -> enforce_limits
    -> apply_mock_controls -> forward_to_upstream -> answer_unrouted -> await_world
    -> check_response_strict -> present_answers -> render_refusals -> authenticate_caller
    -> validate_request -> answer_from_stubs
    -> dispatch (the operation's handler)

`run_pipeline`, the application's one aiohttp middleware, is that list: each step is a named function
that either answers in the request's place (returns a response) or lets it go on (returns None);
the steps that wrap the rest (the journal, the crash guard, CORS headers, the strict check, the
representation, refusals) are the `try` blocks and the lines after the answer in `run_pipeline`.
As fifteen aiohttp middlewares the steps cost a partial, a coroutine and a frame each per
request, a third of the pipeline's time on a Barium list (bench/README.md).

`forward_to_upstream` (core/proxy.py) answers the requests of a proxied API from the real service,
after the controls (a fault rule still applies) and a matching stub, and before everything a real
service does itself.

`check_response_strict` wraps authentication, validation and refusals too, so under `--strict`
every answer of a routed request is held to the spec. `resolve_route` runs before
`apply_mock_controls` because a forced status must be rendered in the owning API's error shape,
and only the router knows the owner; it only *resolves*: an unknown path is answered by
`answer_unrouted`, after the controls had their say (a forced status works on any path).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from aiohttp import web
from werkzeug.datastructures import Headers

from instancemock.core import errors
from instancemock.core.bodies import read_body
from instancemock.core.context import CTX, FACTS, STATE, Ctx, Facts, Handler, ctx, origin_of, sandbox_of
from instancemock.core.control import apply_mock_controls, controls_idle
from instancemock.core.cors import add_cors_headers, allowed_origin, answer_cors
from instancemock.core.examples import answer_from_examples
from instancemock.core.journal import STUB_NOTE, close_entry, open_entry, record_entry_now
from instancemock.core.offload import checked
from instancemock.core.plugin import ApiPlugin
from instancemock.core.proxy import PROXYING, forward_to_upstream
from instancemock.core.readiness import await_world, world_settled
from instancemock.core.routing import Miss, Route, Router
from instancemock.core.stubs import STUBS, answer_from_stubs, stubs_in_force
from instancemock.core.validation import check_bodiless, check_request, check_response
from instancemock.world.store import StoreUnavailable

log = logging.getLogger("instancemock")

ROUTER = web.AppKey("router", Router)
API_PLUGINS = web.AppKey("api_plugins", Mapping[str, ApiPlugin])  # by API name


def owner_shape(request: web.Request) -> errors.ErrorShape | None:
    found = request.get(FACTS)
    return found.owner.errors if found is not None and found.owner is not None else None


def catch_crashes(request: web.Request, error: Exception) -> web.StreamResponse:
    """No request ever sees a traceback: anything unexpected is a 500 in the API's shape.

    The answer for what a later step raised; what is not a crash (a redirect, a client that
    left) is raised again.
    """
    if isinstance(error, web.HTTPRequestEntityTooLarge):
        limit = request.app[STATE].settings.max_body_bytes
        return errors.error(owner_shape(request), 413, f"The request body is larger than {limit} bytes.")
    if isinstance(error, web.HTTPException):
        if error.status >= 400:
            return errors.error(owner_shape(request), error.status, error.reason)
        raise error
    if isinstance(error, ConnectionResetError):
        raise error
    if isinstance(error, StoreUnavailable):  # Redis is away: nothing was acknowledged, the client may retry
        log.warning("%s %s: %s", request.method, request.path, error)
        refused = errors.error(owner_shape(request), 503, "The shared store is unavailable; try again shortly.")
        refused.headers["Retry-After"] = "1"
        return refused
    log.error("unhandled error on %s %s", request.method, request.path, exc_info=error)
    return errors.error(owner_shape(request), 500)


def resolve_route(request: web.Request) -> None:
    """The operation (or the miss) of the path, and the request facts every later step reads."""
    if request.match_info.route.name == "index":
        return
    router = request.app[ROUTER]
    found = router.resolve(request.method, request.rel_url.raw_path)
    sandbox = sandbox_of(request)
    request[FACTS] = Facts(found, sandbox, router.api_path(request.path, found.api))
    if isinstance(found, Route):
        request[CTX] = Ctx(request.app[STATE], found, sandbox, origin=origin_of(request))


MAX_URL_BYTES = 8190  # the request target; aiohttp's own limit, near Kestrel's 8 KB request line
MAX_HEADER_BYTES = 8190  # one header line, name and value
PARSER_CEILING = 64 * 1024  # passed to aiohttp's parser, so that `enforce_limits` sees what is over the limits


def enforce_limits(request: web.Request) -> web.StreamResponse | None:
    """Too long a URL or header, or a declared body over the limit: refused in the API's shape.

    aiohttp's parser would refuse the first two itself, with a bare text 400 no platform sends, so
    the server runs it with `PARSER_CEILING` and the limits are applied here. A body whose
    `Content-Length` is too large is refused before a byte of it is read.
    """
    if len(request.raw_path) > MAX_URL_BYTES:
        return errors.error(owner_shape(request), 414, f"The request URL is longer than {MAX_URL_BYTES} bytes.")
    for name, value in request.raw_headers:
        if len(name) + len(value) + 2 > MAX_HEADER_BYTES:
            shown = name.decode("latin-1")[:64]
            return errors.error(
                owner_shape(request), 431, f"The header {shown!r} is longer than {MAX_HEADER_BYTES} bytes."
            )
    declared = request.content_length
    if declared is not None and declared > (limit := body_limit(request)):
        return errors.error(owner_shape(request), 413, f"The request body is larger than {limit} bytes.")
    return None


def streams_body(request: web.Request) -> bool:
    """The operation reads its body itself (`x-streamed-body` in its spec), under its own limit."""
    context = request.get(CTX)
    return context is not None and bool(context.op.spec.get("x-streamed-body"))


def body_limit(request: web.Request) -> int:
    settings = request.app[STATE].settings
    return settings.max_state_bytes if streams_body(request) else settings.max_body_bytes


def answer_unrouted(request: web.Request) -> web.StreamResponse | None:
    """404 for a path no operation has, 405 (with `Allow`) for a method the path does not take."""
    found = request.get(FACTS)
    if found is None or not isinstance(found.found, Miss):
        return None
    miss = found.found
    shape = miss.api.errors if miss.api is not None else errors.PLAIN
    if miss.allowed:
        response = errors.error(shape, 405, shape.not_allowed(request))
        response.headers["Allow"] = ", ".join(miss.allowed)
        return response
    return errors.error(shape, 404, shape.not_found(request))


async def authenticate_caller(request: web.Request) -> web.StreamResponse | None:
    """The API's own scheme (token, ticket, cookie); it sets `ctx.principal` or refuses."""
    context = request.get(CTX)
    if context is None:
        return None
    plugin = request.app[API_PLUGINS].get(context.api.name)
    if plugin is not None and plugin.authenticate is not None:
        return await plugin.authenticate(request, context)
    return None


async def validate_request(request: web.Request) -> web.StreamResponse | None:
    """Parameters and body against the operation; violations are one 400 (or 401/415...) listing them all."""
    context = request.get(CTX)
    if context is None or context.op.spec.get("x-streamed-body"):  # see `streams_body`
        return None
    content_type = (request.headers.get("Content-Type") or "").lower()
    if not request.can_read_body:
        args, violations = check_bodiless(
            context.api,
            context.op,
            context.route.params,
            request.rel_url.raw_query_string,
            request.rel_url.query.items(),
            request.headers,
            request.headers.get("Cookie"),
            lambda: dict(request.cookies),
            content_type,
        )
        context.args = args
        return errors.reject(context.api.errors, *violations) if violations else None
    seconds = context.state.settings.body_timeout
    body = await read_body(request, context.api.errors, seconds)
    args, violations = await checked(
        len(body),
        check_request,
        context.api,
        context.op,
        context.route.params,
        request.rel_url.query.items(),
        request.headers.items(),
        dict(request.cookies),
        body,
        content_type,
    )
    context.args = args
    if violations:
        return errors.reject(context.api.errors, *violations)
    return None


def render_refusals(request: web.Request, refusal: errors.Refusal) -> web.StreamResponse:
    """A `Refusal` raised by a handler or a helper below it, written once in the API's shape."""
    return refusal.render(owner_shape(request))


def present_answers(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    """The API's own representation of an answer (Barium's `format=xml`), refusals included.

    Inside `check_response_strict`, so `--strict` holds the representation actually sent to the
    spec's media types; outside `render_refusals`, so errors follow the chosen format too.
    """
    context = request.get(CTX)
    if context is None:
        return response
    plugin = request.app[API_PLUGINS].get(context.api.name)
    if plugin is None or plugin.present is None:
        return response
    return plugin.present(request, response)


async def check_response_strict(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    """With --strict, a response that breaks its own spec becomes a 500 that names the violation."""
    if CTX not in request or not request.app[STATE].settings.strict or type(response) is not web.Response:
        return response
    if request.get(STUB_NOTE, {}).get("offContract"):  # allowed with --allow-off-contract-stubs, marked in the journal
        return response
    context = ctx(request)
    body = response.body if isinstance(response.body, bytes) else b""
    problems = await checked(
        len(body),
        check_response,
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
    return errors.error(context.api.errors, 500, message)


async def dispatch(request: web.Request) -> web.StreamResponse:
    """The one catch-all route: the handler for the operation the router found."""
    context = ctx(request)
    plugin = request.app[API_PLUGINS].get(context.api.name)
    handler = plugin.operations.get(context.op.id) if plugin is not None else None
    if handler is None:
        return answer_from_examples(context)
    return await handler(request)


@web.middleware
async def run_pipeline(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The steps, outermost first, in one coroutine; `handler` is `dispatch` (or the index page).

    A step that returns a response answers in the request's place: the steps after it do not
    run, the wrapping ones (journal, CORS headers, representation, strict check) still do.
    """
    opening = open_entry(request)  # 1. record_in_journal
    response: web.StreamResponse | None = None
    try:
        try:  # 2. catch_crashes
            origin = allowed_origin(request)  # 3. answer_cors
            response = answer_cors(request, origin) if origin is not None else None
            if response is None:
                response = await _routed(request, handler)
                if origin is not None:
                    add_cors_headers(response, origin)
        except Exception as error:
            response = catch_crashes(request, error)
        return response
    finally:
        if not record_entry_now(request, opening, response):
            await close_entry(request, opening, response)


async def _routed(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Steps 4 to 15, then the handler (`run_pipeline` wraps them in the first three)."""
    # A step with nothing to do for this request (no control header nor rule, no proxy, the world
    # in, no stub, not --strict: most requests) is skipped after a synchronous check, without the
    # coroutine it would cost (the step itself checks the same and answers None).
    app = request.app
    resolve_route(request)
    answer = enforce_limits(request)
    if answer is None and not controls_idle(request):
        answer = await apply_mock_controls(request)
    if answer is None and app[PROXYING]:
        answer = await forward_to_upstream(request)
    if answer is None:
        answer = answer_unrouted(request)
    if answer is not None:
        return answer
    if not world_settled(request):
        await await_world(request)
    try:  # 12. render_refusals, inside 10. check_response_strict and 11. present_answers
        answer = await authenticate_caller(request)
        if answer is None:
            answer = await validate_request(request)
        if answer is None and stubs_in_force(app.get(STUBS)):
            answer = await answer_from_stubs(request)
        if answer is None:
            answer = await handler(request)
    except errors.Refusal as refusal:
        answer = render_refusals(request, refusal)
    answer = present_answers(request, answer)
    return await check_response_strict(request, answer) if app[STATE].settings.strict else answer


# The application's one middleware, not a handler the routes call: a path aiohttp's router cannot
# match (a newline in it, `OPTIONS *`) gets aiohttp's own 404 route, which only a middleware sees,
# and the pipeline answers it in the owning API's shape like any other.
MIDDLEWARES = [run_pipeline]
