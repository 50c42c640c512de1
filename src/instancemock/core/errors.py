"""Each platform's own error body, rendered in one place.

Handlers and pipeline steps never build error dicts themselves: they call `error()` (a status and
a message) or `reject()` (violations), or one of the platform-specific shapes below when the real
platform answers in an unusual way (Altinn Storage's bare JSON strings and empty 403s).
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Callable, Sequence
from http import HTTPStatus
from typing import Any

from aiohttp import web

from instancemock.core.media import PROBLEM_JSON
from instancemock.core.spec import Platform
from instancemock.core.violations import Violation

RANK = {401: 0, 403: 1, 404: 2, 405: 3, 413: 4, 415: 5}  # who, where, how big, what format; then the rest

JSON_UTF8 = "application/json"


def _json(body: Any, status: int, content_type: str = JSON_UTF8, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=json.dumps(body, ensure_ascii=False).encode(),
        status=status,
        content_type=content_type,
        charset="utf-8",
        headers=headers,
    )


def phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


# --- Kianda: ASP.NET Web API ---------------------------------------------------------------


def kianda_message(status: int, message: str, **extra: Any) -> web.Response:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return _json({"Message": message, **extra}, status, headers=headers)


KIANDA_NO_CACHE = {"Cache-Control": "no-cache, no-store", "Pragma": "no-cache", "Expires": "-1"}


def kianda_oauth_error(error: str, description: str | None = None) -> web.Response:
    """OWIN's token endpoint refusal: 400 `{"error", "error_description"?}`, never cached."""
    body = {"error": error} if description is None else {"error": error, "error_description": description}
    return _json(body, 400, headers=KIANDA_NO_CACHE)


def _kianda(status: int, message: str, violations: Sequence[Violation]) -> web.Response:
    if status == 401:
        return kianda_message(401, "Authorization has been denied for this request.")
    if not violations or status != 400:
        return kianda_message(status, message)
    state: dict[str, list[str]] = {}
    for v in violations:
        state.setdefault(_field_key(v), []).append(v.message)
    return kianda_message(400, "The request is invalid.", ModelState=state)


# --- Barium Live: the success/errorCode envelope ----------------------------------------------


def barium_error(status: int, message: str, violations: Sequence[Violation] = ()) -> web.Response:
    log_id = str(uuid.uuid4())
    data: dict[str, Any] = {"ErrorId": log_id}
    if violations:
        data["Violations"] = [v.as_dict() for v in violations]
    body = {
        "success": False,
        "errorCode": status,
        "errorMessage": message,
        "errorLogId": log_id,
        "errorData": data,
    }
    return _json(body, status)


def _barium(status: int, message: str, violations: Sequence[Violation]) -> web.Response:
    return barium_error(status, message, violations)


# --- Altinn: ProblemDetails, bare JSON strings, empty bodies -----------------------------------

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
    body["traceId"] = f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-00"
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return _json(body, status, PROBLEM_JSON, headers)


def json_string(status: int, message: str) -> web.Response:
    """Altinn's `BadRequest("...")`: the body is a JSON string literal."""
    return _json(message, status)


def empty(status: int) -> web.Response:
    """Altinn's `Forbid()` and the bearer handler's 401: no body at all."""
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return web.Response(status=status, headers=headers)


def _altinn_problem(status: int, message: str, violations: Sequence[Violation]) -> web.Response:
    if violations and status == 400:
        errors: dict[str, list[str]] = {}
        for v in violations:
            errors.setdefault(_field_key(v), []).append(v.message)
        return problem(400, "One or more validation errors occurred.", errors=errors)
    return problem(status, detail=message)


def _altinn_storage(status: int, message: str, violations: Sequence[Violation]) -> web.Response:
    if status in (401, 403) and not violations:
        return empty(status)
    return _altinn_problem(status, message, violations)


def _altinn_app(status: int, message: str, violations: Sequence[Violation]) -> web.Response:
    if status == 401:
        return empty(401)
    return _altinn_problem(status, message, violations)


# --- the admin API and paths no API owns -------------------------------------------------------


def _plain(status: int, message: str, violations: Sequence[Violation]) -> web.Response:
    body: dict[str, Any] = {"error": message, "status": status}
    if violations:
        body["violations"] = [v.as_dict() for v in violations]
    return _json(body, status)


Render = Callable[[int, str, Sequence[Violation]], web.Response]
RENDERERS: dict[Platform | None, Render] = {
    Platform.KIANDA: _kianda,
    Platform.BARIUM: _barium,
    Platform.ALTINN_STORAGE: _altinn_storage,
    Platform.ALTINN_APP: _altinn_app,
    Platform.ADMIN: _plain,
    None: _plain,
}


def _field_key(v: Violation) -> str:
    return f"{v.location}.{v.field}" if v.field and v.location not in ("body",) else v.field or v.location


def summary(violations: Sequence[Violation]) -> str:
    parts = [f"{v.location} {v.field}: {v.message}" if v.field else f"{v.location}: {v.message}" for v in violations]
    return "The request is invalid: " + "; ".join(parts)


def error(platform: Platform | None, status: int, message: str | None = None) -> web.Response:
    """The platform's error body for a status, e.g. a forced 503 or an unknown path's 404."""
    return RENDERERS[platform](status, message or phrase(status), ())


# A platform that answers a violation with another status than the usual one: Barium rejects a
# request body in a content type it does not take with 400, not 415 (reference §1.1, §1.3).
RESTATUS: dict[Platform | None, dict[int, int]] = {Platform.BARIUM: {415: 400}}


def reject(platform: Platform | None, *violations: Violation) -> web.Response:
    """One response for all violations; the status is the most fundamental one among them."""
    status = min((v.status for v in violations), key=lambda s: RANK.get(s, len(RANK)))
    chosen = [v for v in violations if v.status == status]
    return RENDERERS[platform](RESTATUS.get(platform, {}).get(status, status), summary(chosen), chosen)
