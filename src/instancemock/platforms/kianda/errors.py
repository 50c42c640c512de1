"""Kianda's errors, as ASP.NET Web API 2 and its OWIN token endpoint write them.

`{"Message": ...}` for a status, with `ModelState` (messages by field) for a 400 of violations;
401 is always the authorization filter's fixed sentence with `WWW-Authenticate: Bearer`.

Model state is written as Web API 2 writes it (openapi/kianda.yaml, `BadRequest`): keys are the
action parameter's name for a query or path parameter (`names`), and the body parameter's name
`request` followed by the property path for the body (`request.FieldsMappings[0].fieldname`);
messages are ASP.NET's sentences (`The names field is required.`), translated here from the
validator's words, so no client ever sees `'' should be non-empty` or `query.names`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from instancemock.core.errors import ErrorShape, error_body
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


BODY_PARAMETER = "request"  # [I] the action's body parameter; Web API 2 prefixes body keys with it
ERROR_OCCURRED = "An error has occurred."
REQUIRED = (
    re.compile(r"^'(?P<name>[^']+)' is required$"),  # a required property is missing
    re.compile(r"^the \w+ parameter '(?P<name>[^']+)' is required$"),
    re.compile(r"^a request body is required$"),
    re.compile(r"(should be non-empty|is too short|cannot be empty)$"),  # [Required] refuses "" too
)
PATTERN = re.compile(r"^.* does not match '(?P<pattern>.*)'$")
VALUE = (
    re.compile(r"^the \w+ parameter '[^']+' must be of type \w+, got (?P<value>.*)$"),
    re.compile(
        r"^(?P<value>.+?) (is not of type|is not one of|is not valid under|is not a '|is less than|is greater than"
        r"|is too long|is expected to be empty|has non-unique elements|is not a multiple of)"
    ),
)


def model_state_key(v: Violation) -> str:
    """`names` for a parameter; `request`, `request.FieldsMappings[0].fieldname` for the body."""
    if v.location != "body":
        return v.field or v.location
    parts = [part for part in v.field.split(".") if part]
    return BODY_PARAMETER + "".join(f"[{part}]" if part.isdigit() else f".{part}" for part in parts)


def _shown(value: str) -> str:
    """A value as the validator quoted it (`'abc'`, `5`, `None`), as ASP.NET shows it (`abc`)."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return "" if value == "None" else value


def aspnet_message(v: Violation) -> str:
    """The sentence ASP.NET Web API 2 (DataAnnotations, model binding) writes for a violation.

    A message the validator did not write (a handler's own, e.g. an unknown field name) is kept.
    """
    name = model_state_key(v).rsplit(".", 1)[-1].split("[", 1)[0]
    text = v.message
    if text.startswith("the body is not valid"):
        return ERROR_OCCURRED  # Json.NET's parse error; Web API hides its detail from remote callers
    for required in REQUIRED:
        if required.search(text):
            return f"The {name} field is required."
    if matched := PATTERN.match(text):
        return f"The field {name} must match the regular expression '{matched['pattern']}'."
    for value in VALUE:
        if matched := value.match(text):
            return f"The value '{_shown(matched['value'])}' is not valid for {name}."
    return text


def model_state(violations: Sequence[Violation]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for v in violations:
        grouped.setdefault(model_state_key(v), []).append(aspnet_message(v))
    return grouped


def no_action(request: web.Request, controller: str) -> web.Response:
    """Web API 2's 404 when the route matches but no action of the controller takes the request
    (a required simple parameter missing from the URI): `Message` and `MessageDetail`."""
    return message(
        404,
        f"No HTTP resource was found that matches the request URI '{request.url}'.",
        MessageDetail=f"No action was found on the controller '{controller}' that matches the request.",
    )


def render(status: int, text: str, violations: Sequence[Violation]) -> web.Response:
    if status == 401:
        return message(401, DENIED)
    if not violations or status != 400:
        return message(status, text)
    return message(400, "The request is invalid.", ModelState=model_state(violations))


SHAPE = ErrorShape(
    render=render,
    not_found=lambda request: f"No HTTP resource was found that matches the request URI '{request.url}'.",
    not_allowed=lambda request: f"The requested resource does not support http method '{request.method}'.",
    server_error="An error has occurred.",
)
