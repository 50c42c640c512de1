"""Barium tickets: `POST /Authenticate` issues them, every other call sends one.

Tickets are shared by all sandboxes (`State.shared`: every replica too, where the store is
shared), live `barium_ticket_minutes` (50 by default) and slide: each use renews them. Like the
real endpoint, an identical login within 15 seconds gets the cached answer, i.e. the same ticket.

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
from functools import lru_cache
from typing import Any

from aiohttp import web

from instancemock.core.context import Ctx, ctx
from instancemock.core.encoding import json_response
from instancemock.core.errors import Refusal
from instancemock.core.violations import Violation
from instancemock.platforms.barium.catalog import User, catalog
from instancemock.platforms.barium.formats import Form, chosen, wants_envelope
from instancemock.settings import Settings
from instancemock.world.clock import Clock
from instancemock.world.state import State
from instancemock.world.store import Document, MemoryStore, Store, Stored

PLATFORM = "barium"
CACHE_SECONDS = 15
EXPIRED = "Ticket is missing or has expired."


TICKETS = "tickets"  # collections of the shared store (State.shared): ticket -> user and expiry,
RECENT = "recent"  # a login's key -> its cached answer
RENEW_SECONDS = 1.0  # a ticket used again within this is not written again: its expiry moved by less


@dataclass(slots=True)
class TicketBook:
    """Tickets in the store every sandbox shares (and every replica, when the store is shared)."""

    store: Store
    # A memory store's tickets in use, by key: (the stored ticket read, the clock, the clock's
    # reading from which it is due for renewal or expired, its user id), for `steady_user`.
    _steady: dict[str, tuple[Stored, Clock, int, str]] = field(default_factory=dict)

    def steady_user(self, ticket: str, clock: Clock, lifetime: timedelta) -> str | None:
        """The user of a ticket neither expired nor due for renewal, known without a coroutine or
        a datetime (a memory store: most ticketed requests); None: `use` decides.

        Exactly `use`'s answer where it answers: `use` renews from `expires - lifetime +
        RENEW_SECONDS` and refuses from `expires`, so before the earlier of the two, read once per
        stored ticket as a reading of the clock, `use` would leave the ticket as it is.
        """
        store = self.store
        if type(store) is not MemoryStore:
            return None
        key = ticket.strip().lower()
        held = store.peek(TICKETS, key)
        if held is None:
            return None
        known = self._steady.get(key)
        if known is None or known[0] is not held or known[1] is not clock:
            expires = _instant(held.doc["expires"])
            due = min(expires, expires - lifetime + _RENEW)
            if len(self._steady) >= 4096:
                self._steady.clear()
            known = self._steady[key] = (held, clock, (due - clock.start) // _MICROSECOND, str(held.doc["user"]))
        return known[3] if clock.reading() < known[2] else None

    async def issue(self, user: User, now: datetime, lifetime: timedelta) -> str:
        ticket = str(uuid.uuid4())
        await self.store.put(
            TICKETS, ticket, {"ticket": ticket, "user": user.id, "expires": (now + lifetime).isoformat()}
        )
        return ticket

    async def use(self, ticket: str, now: datetime, lifetime: timedelta) -> str | None:
        """The ticket's user id, renewing the ticket; None when unknown or expired."""
        key = ticket.strip().lower()
        expired = False

        def renew(doc: Document) -> Document | None:
            nonlocal expired
            expires = _instant(doc["expires"])
            expired = expires <= now
            if expired or (now + lifetime - expires).total_seconds() < RENEW_SECONDS:
                return None
            return {**doc, "expires": (now + lifetime).isoformat()}

        found = await self.store.update(TICKETS, key, renew)
        if found is None:
            return None
        if expired:
            await self.store.delete(TICKETS, key)
            return None
        return str(found.doc["user"])

    async def forget_expired(self, now: datetime) -> None:
        for stored in await self.store.list(TICKETS):
            if datetime.fromisoformat(stored.doc["expires"]) <= now:
                await self.store.delete(TICKETS, stored.doc["ticket"])
        for stored in await self.store.list(RECENT):
            if (now - datetime.fromisoformat(stored.doc["at"])).total_seconds() >= CACHE_SECONDS:
                await self.store.delete(RECENT, stored.doc["login"])

    async def recent(self, login: str) -> dict[str, Any] | None:
        found = await self.store.get(RECENT, login)
        return dict(found.doc["answer"]) if found is not None else None

    async def remember(self, login: str, now: datetime, answer: dict[str, Any]) -> None:
        await self.store.put(RECENT, login, {"login": login, "at": now.isoformat(), "answer": answer})


_RENEW = timedelta(seconds=RENEW_SECONDS)
_MICROSECOND = timedelta(microseconds=1)
_BOOKS: dict[int, TicketBook] = {}  # by id() of their store: a few (a server, test apps, replicas)


def book(state: State) -> TicketBook:
    """The book of the shared store: one per store, not one made per ticketed request."""
    store = state.shared(PLATFORM)
    found = _BOOKS.get(id(store))
    if found is None or found.store is not store:
        if len(_BOOKS) >= 16:
            _BOOKS.clear()
        found = _BOOKS[id(store)] = TicketBook(store)
    return found


def lifetime(settings: Settings) -> timedelta:
    return _minutes(settings.option("barium_ticket_minutes"))


@lru_cache(maxsize=16)
def _minutes(minutes: float) -> timedelta:
    return timedelta(minutes=minutes)


@lru_cache(maxsize=4096)
def _instant(text: str) -> datetime:
    """A ticket's expiry as stored (ISO text), parsed once: every call checks it, few renew it."""
    return datetime.fromisoformat(text)


def _sent_ticket(request: web.Request) -> str:
    """The `ticket` header, else the `?ticket=` query parameter; sent twice in the query is a 400.

    A repeated one-value parameter is refused everywhere else (core/validation.py), and a ticket
    is no exception: which of two tickets to believe is not the server's guess to make.
    """
    query = request.rel_url
    in_query = (
        [v.strip() for k, v in query.query.items() if k.lower() == "ticket"]
        if "ticket" in query.query_string.lower()  # most callers send the header: no query to walk
        else []
    )
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
    user_id = None
    if sent:
        tickets, life = book(c.state), lifetime(c.state.settings)
        user_id = tickets.steady_user(sent, c.state.clock, life) or await tickets.use(sent, c.now(), life)
    user = users.user(user_id) if user_id else None
    if user is None:
        raise Refusal(401, EXPIRED)
    c.principal = user
    return None


async def _answer(
    request: web.Request, c: Ctx, key: tuple[str, ...], user: User | None, web_ticket: bool, refusal: str
) -> web.Response:
    if user is None:
        raise Refusal(401, refusal)
    tickets = book(c.state)
    now = c.now()
    await tickets.forget_expired(now)
    login = "\x1f".join(key)
    cached = await tickets.recent(login)
    if cached is not None and await tickets.use(cached["Ticket"], now, lifetime(c.state.settings)):
        return _written(request, cached, web_ticket)
    body: dict[str, Any] = {"success": True, "Ticket": await tickets.issue(user, now, lifetime(c.state.settings))}
    if web_ticket:
        body["WebTicket"] = await tickets.issue(user, now, lifetime(c.state.settings))
    await tickets.remember(login, now, body)
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
    return await _answer(request, c, key, user, web_ticket, "Invalid API key, user name or password.")


async def sso_login(request: web.Request) -> web.Response:
    c = ctx(request)
    form = c.args.body or {}
    apikey, uid = str(form["APIKey"]), str(form["uid"])
    web_ticket = _wants_web_ticket(c)
    user = catalog(c.state.settings).sso_login(apikey, uid)
    key = ("sso", apikey.lower(), uid.lower(), str(web_ticket))
    return await _answer(request, c, key, user, web_ticket, "Invalid API key or user id.")


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
