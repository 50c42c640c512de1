"""CORS, so a front end served from another origin can call the mock straight from the browser.

Preflights are answered here, before auth and validation (browsers send them without
credentials). An allowed origin is echoed rather than answered with `*`, so requests that carry
cookies (Altinn's AltinnStudioRuntime) or Authorization headers work too.

The admin API is not for web pages: its paths answer CORS only for the origins in
`admin_origins` (none by default), never for `cors_origins`; admin/guard.py refuses the rest.
"""

from __future__ import annotations

from aiohttp import web

from instancemock.core.context import APIS, STATE
from instancemock.core.routing import fold
from instancemock.core.spec import ADMIN

EXPOSED = "Location, Total-Items, Retry-After, WWW-Authenticate, X-Mock-Source, Allow"
METHODS = "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS"


def _allowed(origin: str, allowed: tuple[str, ...]) -> bool:
    return "*" in allowed or origin in allowed


def _is_admin(request: web.Request) -> bool:
    admin = request.app[APIS].get(ADMIN)
    path = fold(request.path)
    return admin is not None and any(path == fold(b) or path.startswith(fold(b) + "/") for b in admin.bases)


def allowed_origin(request: web.Request) -> str | None:
    """The request's `Origin` if it may call this path from a browser (None: no CORS at all)."""
    origin = request.headers.get("Origin")
    if origin is None:
        return None
    settings = request.app[STATE].settings
    allowed = settings.admin_origins if _is_admin(request) else settings.cors_origins
    return origin if _allowed(origin, allowed) else None


def answer_cors(request: web.Request, origin: str) -> web.StreamResponse | None:
    """The answer to a preflight from an allowed origin (before auth: browsers send it without
    credentials); None for any other request, which goes on and gets `add_cors_headers`."""
    if request.method != "OPTIONS" or "Access-Control-Request-Method" not in request.headers:
        return None
    response = web.Response(status=204)
    response.headers["Access-Control-Allow-Methods"] = METHODS
    requested = request.headers.get("Access-Control-Request-Headers")
    if requested:
        response.headers["Access-Control-Allow-Headers"] = requested
    response.headers["Access-Control-Max-Age"] = "600"
    return add_cors_headers(response, origin, preflight=True)


def add_cors_headers(response: web.StreamResponse, origin: str, preflight: bool = False) -> web.StreamResponse:
    if not preflight:
        response.headers["Access-Control-Expose-Headers"] = EXPOSED
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Allow-Credentials"] = "true"
    response.headers.add("Vary", "Origin")
    return response
