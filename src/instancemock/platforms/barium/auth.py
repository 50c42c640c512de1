"""Barium tickets: `POST /Authenticate` issues them, every other call sends one.

Tickets are shared by all sandboxes (`state.services`), live `barium_ticket_minutes`
(50 by default) and slide: each use renews them. Like the real endpoint, an identical login within
15 seconds gets the cached answer, i.e. the same ticket.

The login answers the bare ticket as `text/plain` unless the query string asks for `format` or
`webTicket=true` is sent (query or form): clients that take the raw body as their ticket
(Barium.psm1, barium-feeder) must get nothing else. `format` in the form body does not count,
because barium-feeder sends `format=json` there and still reads the raw body (openapi/barium.yaml,
`POST /Authenticate`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from instancemock.core.context import Ctx, ctx
from instancemock.core.encoding import json_response
from instancemock.core.errors import Refusal
from instancemock.core.violations import Violation
from instancemock.platforms.barium.catalog import User, catalog
from instancemock.platforms.barium.formats import Form, chosen, wants_envelope
from instancemock.settings import Settings
from instancemock.world.state import State

CACHE_SECONDS = 15
EXPIRED = "Ticket is missing or has expired."


@dataclass(slots=True)
class Ticket:
    user_id: str
    expires: datetime


@dataclass(slots=True)
class TicketBook:
    tickets: dict[str, Ticket] = field(default_factory=dict)
    recent: dict[tuple[str, ...], tuple[datetime, dict[str, Any]]] = field(default_factory=dict)

    def issue(self, user: User, now: datetime, lifetime: timedelta) -> str:
        ticket = str(uuid.uuid4())
        self.tickets[ticket] = Ticket(user.id, now + lifetime)
        return ticket

    def use(self, ticket: str, now: datetime, lifetime: timedelta) -> str | None:
        """The ticket's user id, renewing the ticket; None when unknown or expired."""
        found = self.tickets.get(ticket.strip().lower())
        if found is None:
            return None
        if found.expires <= now:
            del self.tickets[ticket.strip().lower()]
            return None
        found.expires = now + lifetime
        return found.user_id

    def forget_expired(self, now: datetime) -> None:
        for key in [k for k, t in self.tickets.items() if t.expires <= now]:
            del self.tickets[key]
        for login in [k for k, (at, _) in self.recent.items() if (now - at).total_seconds() >= CACHE_SECONDS]:
            del self.recent[login]


def book(state: State) -> TicketBook:
    return state.service(TicketBook, TicketBook)


def lifetime(settings: Settings) -> timedelta:
    return timedelta(minutes=settings.option("barium_ticket_minutes"))


def _sent_ticket(request: web.Request) -> str:
    """The `ticket` header, else the `?ticket=` query parameter; sent twice in the query is a 400.

    A repeated one-value parameter is refused everywhere else (core/validation.py), and a ticket
    is no exception: which of two tickets to believe is not the server's guess to make.
    """
    in_query = [v.strip() for k, v in request.rel_url.query.items() if k.lower() == "ticket"]
    if len(in_query) > 1:
        message = f"the query parameter 'ticket' takes one value, got {len(in_query)}"
        raise Refusal.invalid(Violation("query", "ticket", message))
    header = request.headers.get("ticket", "").strip()
    if header:
        return header
    return in_query[0] if in_query else ""


async def authenticate(request: web.Request, c: Ctx) -> web.StreamResponse | None:
    """Sets `c.principal` to the ticket's User; login operations need no ticket."""
    users = catalog(c.state.settings)
    if c.op.spec.get("security") == []:
        c.principal = users.default_user
        return None
    sent = _sent_ticket(request)
    if not c.state.settings.auth:
        c.principal = users.default_user
        return None
    user_id = book(c.state).use(sent, c.now(), lifetime(c.state.settings)) if sent else None
    user = users.user(user_id) if user_id else None
    if user is None:
        raise Refusal(401, EXPIRED)
    c.principal = user
    return None


def _answer(
    request: web.Request, c: Ctx, key: tuple[str, ...], user: User | None, web_ticket: bool, refusal: str
) -> web.Response:
    if user is None:
        raise Refusal(401, refusal)
    tickets = book(c.state)
    now = c.now()
    tickets.forget_expired(now)
    cached = tickets.recent.get(key)
    if cached is not None and tickets.use(cached[1]["Ticket"], now, lifetime(c.state.settings)):
        return _written(request, cached[1], web_ticket)
    body: dict[str, Any] = {"success": True, "Ticket": tickets.issue(user, now, lifetime(c.state.settings))}
    if web_ticket:
        body["WebTicket"] = tickets.issue(user, now, lifetime(c.state.settings))
    tickets.recent[key] = (now, body)
    return _written(request, body, web_ticket)


def _written(request: web.Request, body: dict[str, Any], web_ticket: bool) -> web.Response:
    """The object when JSON (or XML) was asked for; else the ticket alone, as text or for `jsonp`."""
    query = request.rel_url.query.items()
    if web_ticket or wants_envelope(query):
        return json_response(body)
    if chosen(query) is Form.JSONP:
        return json_response(body["Ticket"])
    return web.Response(text=body["Ticket"], content_type="text/plain", charset="utf-8")


def _wants_web_ticket(c: Ctx) -> bool:
    """`webTicket=true` counts in the form body or, like `format=json`, in the query string."""
    form = c.args.body or {}
    return bool(form.get("webTicket", False)) or bool(c.args.query.get("webTicket", False))


async def login(request: web.Request) -> web.Response:
    c = ctx(request)
    form = c.args.body or {}
    apikey, username, password = str(form["APIKey"]), str(form["Username"]), str(form["Password"])
    web_ticket = _wants_web_ticket(c)
    user = catalog(c.state.settings).login(apikey, username, password)
    key = ("login", apikey.lower(), username.lower(), password, str(web_ticket))
    return _answer(request, c, key, user, web_ticket, "Invalid API key, user name or password.")


async def sso_login(request: web.Request) -> web.Response:
    c = ctx(request)
    form = c.args.body or {}
    apikey, uid = str(form["APIKey"]), str(form["uid"])
    web_ticket = _wants_web_ticket(c)
    user = catalog(c.state.settings).sso_login(apikey, uid)
    key = ("sso", apikey.lower(), uid.lower(), str(web_ticket))
    return _answer(request, c, key, user, web_ticket, "Invalid API key or user id.")


def credentials(settings: Settings, origin: str) -> dict[str, Any]:
    """Anna Berg's login, named as the spec and the vendor's documentation name the form fields."""
    users = catalog(settings)
    user = users.default_user
    return {
        "APIKey": users.apikey,
        "Username": user.username,
        "Password": user.password,
        "authenticate": f"{origin}/barium/api/v1.1/Authenticate",
        "header": "ticket",
    }
