"""Altinn's error answers: ASP.NET Core ProblemDetails, bare JSON strings, and empty bodies.

Storage answers `Forbid()` and its bearer handler's 401 with no body at all, and many refusals
with `BadRequest("...")`, a JSON string literal; the App API answers 401 empty and the rest as
ProblemDetails (400s of violations as ValidationProblemDetails, messages by field).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from instancemock.core.errors import ErrorShape, error_body, messages_by_field, phrase
from instancemock.core.media import PROBLEM_JSON
from instancemock.core.violations import Violation

RFC_SECTIONS = {
    400: "15.5.1", 401: "15.5.2", 403: "15.5.4", 404: "15.5.5", 405: "15.5.6", 406: "15.5.7",
    408: "15.5.9", 409: "15.5.10", 410: "15.5.11", 413: "15.5.14", 415: "15.5.16", 422: "15.5.21",
    500: "15.6.1", 501: "15.6.2", 502: "15.6.3", 503: "15.6.4", 504: "15.6.5",
}  # fmt: skip


def problem(status: int, title: str | None = None, detail: str | None = None, **extra: Any) -> web.Response:
    """RFC 7807 as ASP.NET Core writes it: type, title, status, detail, traceId (+ extensions)."""
    section = RFC_SECTIONS.get(status)
    body: dict[str, Any] = {
        "type": f"https://tools.ietf.org/html/rfc9110#section-{section}"
        if section
        else "https://tools.ietf.org/html/rfc6585#section-4"
        if status == 429
        else "about:blank",
        "title": title or phrase(status),
        "status": status,
    }
    if detail is not None:
        body["detail"] = detail
    body.update(extra)
    trace = secrets.token_hex(24)  # one call for the W3C trace id (16 bytes) and span id (8 bytes)
    body["traceId"] = f"00-{trace[:32]}-{trace[32:]}-00"
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return error_body(body, status, PROBLEM_JSON, headers)


def json_string(status: int, message: str) -> web.Response:
    """Altinn's `BadRequest("...")`: the body is a JSON string literal."""
    return error_body(message, status)


def empty(status: int) -> web.Response:
    """Altinn's `Forbid()` and the bearer handler's 401: no body at all."""
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return web.Response(status=status, headers=headers)


def _problem_of(status: int, message: str, violations: Sequence[Violation]) -> web.Response:
    if violations and status == 400:
        return problem(400, "One or more validation errors occurred.", errors=messages_by_field(violations))
    return problem(status, detail=message)


def render_storage(status: int, message: str, violations: Sequence[Violation]) -> web.Response:
    if status in (401, 403) and not violations:
        return empty(status)
    return _problem_of(status, message, violations)


def render_app(status: int, message: str, violations: Sequence[Violation]) -> web.Response:
    if status == 401:
        return empty(401)
    return _problem_of(status, message, violations)


STORAGE = ErrorShape(render=render_storage)
APP = ErrorShape(render=render_app)
