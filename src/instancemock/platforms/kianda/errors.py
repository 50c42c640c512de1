"""Kianda's errors, as ASP.NET Web API 2 and its OWIN token endpoint write them.

`{"Message": ...}` for a status, with `ModelState` (messages by field) for a 400 of violations;
401 is always the authorization filter's fixed sentence with `WWW-Authenticate: Bearer`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiohttp import web

from instancemock.core.errors import ErrorShape, error_body, messages_by_field
from instancemock.core.violations import Violation

DENIED = "Authorization has been denied for this request."
NO_CACHE = {"Cache-Control": "no-cache, no-store", "Pragma": "no-cache", "Expires": "-1"}


def message(status: int, text: str, **extra: Any) -> web.Response:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return error_body({"Message": text, **extra}, status, headers=headers)


def oauth_error(error: str, description: str | None = None) -> web.Response:
    """OWIN's token endpoint refusal: 400 `{"error", "error_description"?}`, never cached."""
    body = {"error": error} if description is None else {"error": error, "error_description": description}
    return error_body(body, 400, headers=NO_CACHE)


def render(status: int, text: str, violations: Sequence[Violation]) -> web.Response:
    if status == 401:
        return message(401, DENIED)
    if not violations or status != 400:
        return message(status, text)
    return message(400, "The request is invalid.", ModelState=messages_by_field(violations))


SHAPE = ErrorShape(
    render=render,
    not_found=lambda request: f"No HTTP resource was found that matches the request URI '{request.url}'.",
    not_allowed=lambda request: f"The requested resource does not support http method '{request.method}'.",
    server_error="An error has occurred.",
)
