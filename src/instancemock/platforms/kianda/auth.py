"""Kianda's OAuth 2.0 password grant (`POST /Token`) and the bearer check on every `/api` route.

The real tenant runs OWIN OAuth: refusals at the token endpoint use the OAuth error shape, and
Web API answers an unauthenticated `/api` call with 401 and its `{"Message"}` body. The OAuth
middleware takes `/Token` by its path whatever the method and reads the body as a form, so every
method is answered here (a GET, having no form, gets `unsupported_grant_type`: openapi/kianda.yaml).
"""

from __future__ import annotations

import functools
import secrets
from datetime import datetime, timedelta
from email.utils import format_datetime
from urllib.parse import parse_qsl

from aiohttp import web

from instancemock.core.context import Ctx, ctx
from instancemock.core.encoding import json_response
from instancemock.core.errors import Refusal
from instancemock.platforms.kianda import errors
from instancemock.platforms.kianda.tenant import Token, User, services

DENIED = "Authorization has been denied for this request."
NOT_ADMIN = f"{DENIED} The Administrator role is required."
REQUIRED_FORM_FIELDS = ("username", "password", "scope")
TOKENS = "tokens"  # collection of the shared store (State.shared): token -> user, issued, expires


def rfc1123(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True)


def token_form(c: Ctx) -> dict[str, str]:
    """The body read as a form whatever the method, names in any case, first value of each."""
    form: dict[str, str] = {}
    for name, value in parse_qsl(c.args.raw_body.decode("utf-8", errors="replace"), keep_blank_values=True):
        form.setdefault(name.lower(), value)
    return form


async def get_token(request: web.Request) -> web.Response:
    c = ctx(request)
    form = token_form(c)
    if form.get("grant_type") != "password":  # OWIN compares ordinally; absent is unsupported too
        raise Refusal.answer(errors.oauth_error("unsupported_grant_type"))
    for name in REQUIRED_FORM_FIELDS:
        if not form.get(name):
            raise Refusal.answer(errors.oauth_error("invalid_request", f"The {name} field is required."))
    shared = services(c.state)
    user = shared.tenant.user(str(form["username"]))
    if user is None or user.password != form["password"]:
        raise Refusal.answer(errors.oauth_error("invalid_grant", "The user name or password is incorrect."))
    if str(form["scope"]).strip().lower() != shared.tenant.subscription_id.lower():
        raise Refusal.answer(errors.oauth_error("invalid_grant", "The subscription id is not valid for this user."))

    issued = c.now().replace(microsecond=0)
    lifetime = c.state.settings.option("kianda_token_lifetime")
    token = Token(secrets.token_urlsafe(96), user, issued, issued + timedelta(seconds=lifetime))
    await _forget_expired(c)
    record = {"token": token.value, "user": user.username, "issued": issued.isoformat()}
    record["expires"] = token.expires.isoformat()
    await c.state.shared(c.api.platform).put(TOKENS, token.value, record)
    body = {
        "access_token": token.value,
        "token_type": "bearer",
        "expires_in": lifetime,
        "userName": user.username,
        "userId": user.user_id,
        "subscriptionId": shared.tenant.subscription_id,
        "securityStamp": user.security_stamp,
        "hostURL": c.base_url,
        ".issued": rfc1123(token.issued),
        ".expires": rfc1123(token.expires),
    }
    return json_response(body, headers=errors.NO_CACHE)


async def _forget_expired(c: Ctx) -> None:
    tokens = c.state.shared(c.api.platform)
    now = c.now()
    for stored in await tokens.list(TOKENS):
        if datetime.fromisoformat(stored.doc["expires"]) <= now:
            await tokens.delete(TOKENS, stored.doc["token"])


async def _token(c: Ctx, value: str) -> Token | None:
    """The token of that value, from the store every sandbox (and, shared, every replica) reads."""
    stored = await c.state.shared(c.api.platform).get(TOKENS, value) if value else None
    user = services(c.state).tenant.user(stored.doc["user"]) if stored is not None else None
    if stored is None or user is None:
        return None
    issued, expires = _instants(stored.doc["issued"], stored.doc["expires"])
    return Token(value, user, issued, expires)


@functools.lru_cache(maxsize=1024)
def _instants(issued: str, expires: str) -> tuple[datetime, datetime]:
    """A stored token's times, parsed once per token rather than on each of its calls (datetimes are immutable)."""
    return datetime.fromisoformat(issued), datetime.fromisoformat(expires)


def bearer(request: web.Request) -> str:
    scheme, _, value = request.headers.get("Authorization", "").strip().partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


async def authenticate(request: web.Request, c: Ctx) -> web.StreamResponse | None:
    """Every operation but the token endpoint needs a live token of an Administrator."""
    if c.op.spec.get("security") == []:
        return None
    shared = services(c.state)
    token = await _token(c, bearer(request))
    live = token is not None and token.expires > c.now()
    if not c.state.settings.auth:  # anything goes; a live token still says who is calling
        c.principal = token.user if token is not None and live else shared.tenant.admin
        return None
    if token is None or not live:
        raise Refusal(401, DENIED)
    if not token.user.is_admin:
        raise Refusal(403, NOT_ADMIN)
    c.principal = token.user
    return None


def principal(c: Ctx) -> User:
    user = c.principal
    return user if isinstance(user, User) else services(c.state).tenant.admin
