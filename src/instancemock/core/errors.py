"""Error answers: each API's own shape, chosen from the API's plugin, and one way for handlers to refuse.

The core knows no platform's error body. Each API declares an `ErrorShape` (its renderer, and the
few ways its platform differs: a status it uses instead of another, its 404/405 wording, its 500
message), and every error the pipeline or a handler makes goes through `error()` or `reject()`
with the owning API's shape. Paths no API owns, and the admin API, use `PLAIN`.

Handlers refuse by raising `Refusal` (a status and the platform's message, or violations, or a
ready response where the platform answers in an unusual form); the pipeline catches it once and
renders it with the API's shape.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from aiohttp import web

from instancemock.core.encoding import json_response
from instancemock.core.violations import Violation

RANK = {401: 0, 403: 1, 404: 2, 405: 3, 413: 4, 415: 5}  # who, where, how big, what format; then the rest

JSON_UTF8 = "application/json"

Render = Callable[[int, str, Sequence[Violation]], web.Response]


def error_body(
    body: Any, status: int, content_type: str = JSON_UTF8, headers: Mapping[str, str] | None = None
) -> web.Response:
    """An error answer's JSON body, encoded as every answer is (core/encoding.py)."""
    return json_response(body, status=status, content_type=content_type, headers=headers)


def phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _no_route(request: web.Request) -> str:
    return f"No route matches {request.method} {request.path}."


def _no_method(request: web.Request) -> str:
    return f"{request.method} is not allowed on {request.path}."


@dataclass(frozen=True, slots=True)
class ErrorShape:
    """How one API writes its errors."""

    render: Render
    # A platform that answers a violation with another status than the usual one (Barium refuses
    # a body in a content type it does not take with 400, not 415).
    restatus: Mapping[int, int] = field(default_factory=dict)
    not_found: Callable[[web.Request], str] = _no_route
    not_allowed: Callable[[web.Request], str] = _no_method
    server_error: str | None = None  # the message of a 500, where the platform has a fixed one


def field_key(v: Violation) -> str:
    """`query.names`, `header.X-Mock-Delay`, or a body field's own path: the key of a field's messages."""
    return f"{v.location}.{v.field}" if v.field and v.location not in ("body",) else v.field or v.location


def summary(violations: Sequence[Violation]) -> str:
    parts = [f"{v.location} {v.field}: {v.message}" if v.field else f"{v.location}: {v.message}" for v in violations]
    return "The request is invalid: " + "; ".join(parts)


def messages_by_field(violations: Sequence[Violation]) -> dict[str, list[str]]:
    """ASP.NET's model state: every message, grouped under the field it is about."""
    grouped: dict[str, list[str]] = {}
    for v in violations:
        grouped.setdefault(field_key(v), []).append(v.message)
    return grouped


def _plain(status: int, message: str, violations: Sequence[Violation]) -> web.Response:
    body: dict[str, Any] = {"error": message, "status": status}
    if violations:
        body["violations"] = [v.as_dict() for v in violations]
    return error_body(body, status)


PLAIN = ErrorShape(render=_plain)  # the admin API, and paths no API owns


def error(shape: ErrorShape | None, status: int, message: str | None = None) -> web.Response:
    """The API's error body for a status, e.g. a forced 503 or an unknown path's 404."""
    shape = shape or PLAIN
    default = shape.server_error if status == 500 and shape.server_error else phrase(status)
    return shape.render(status, message or default, ())


# ASP.NET stops collecting model errors at 200 (MvcOptions.MaxModelValidationErrors) and says so; a
# 10,000-element body with a mistake in each would otherwise make an answer larger than the request.
MAX_VIOLATIONS = 200
TOO_MANY = "The maximum number of allowed model errors has been reached."


def capped(violations: Sequence[Violation]) -> list[Violation]:
    if len(violations) <= MAX_VIOLATIONS:
        return list(violations)
    first = violations[0]
    return [*violations[:MAX_VIOLATIONS], Violation(first.location, "", TOO_MANY, first.status)]


def reject(shape: ErrorShape | None, *violations: Violation) -> web.Response:
    """One response for all violations; the status is the most fundamental one among them."""
    shape = shape or PLAIN
    status = min((v.status for v in violations), key=lambda s: RANK.get(s, len(RANK)))
    chosen = capped([v for v in violations if v.status == status])
    return shape.render(shape.restatus.get(status, status), summary(chosen), chosen)


class Refusal(Exception):
    """A handler's "no", raised from wherever it is found; the pipeline renders it once.

    `Refusal(404, "Instance not found")` is rendered in the API's shape; `Refusal.invalid(...)`
    carries violations (a 400 with the model state); `Refusal.answer(response)` stops with a
    response the platform writes in an unusual form (Altinn's bare JSON strings, empty 403s).
    """

    def __init__(
        self,
        status: int,
        message: str | None = None,
        violations: Sequence[Violation] = (),
        response: web.Response | None = None,
    ) -> None:
        super().__init__(message or phrase(status))
        self.status = status
        self.message = message
        self.violations = tuple(violations)
        self.response = response

    @classmethod
    def invalid(cls, *violations: Violation) -> Refusal:
        return cls(min(v.status for v in violations), violations=violations)

    @classmethod
    def answer(cls, response: web.Response) -> Refusal:
        return cls(response.status, response=response)

    def render(self, shape: ErrorShape | None) -> web.Response:
        if self.response is not None:
            return self.response
        if self.violations and self.message is None:
            return reject(shape, *self.violations)
        if self.violations:
            return (shape or PLAIN).render(self.status, self.message or phrase(self.status), capped(self.violations))
        return error(shape, self.status, self.message)
