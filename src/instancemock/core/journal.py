"""The request journal: what clients sent and what they got, bounded so memory stays flat.

`record` is the outermost middleware, so it sees the final status, including the 500s `guard`
makes and the faults `control` applies (a reset, empty or timed-out request has no status).
Credentials never reach the journal: `Authorization`, `Ticket`, cookies and the admin token are
redacted from headers, and `ticket` (and other credential names) from the query.

Admin calls go to a separate, smaller journal, so a CI job polling `/__admin/requests/count`
never pushes the requests it is counting out of the bounded one; `?api=admin` lists them.

With a shared store (`--store redis://...`), `SharedJournal` keeps both in Redis streams capped
with MAXLEN, so `GET /__admin/requests` on any replica lists what every replica served; entries
get their ids from Redis then, in the order they were recorded.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from aiohttp import web

from instancemock.core.context import STATE, Handler, api_path_of, facts, sandbox_of
from instancemock.core.faults import path_matches
from instancemock.core.spec import ADMIN
from instancemock.world.clock import iso
from instancemock.world.store import StoreUnavailable

log = logging.getLogger("instancemock")

REDACTED = "[redacted]"
SECRET_HEADERS = {"authorization", "proxy-authorization", "ticket", "cookie", "set-cookie", "x-admin-token"}
SECRET_QUERY = {"ticket", "access_token", "token", "password", "apikey", "api_key"}
ADMIN_JOURNAL_SIZE = 100

JOURNAL_NOTE = web.RequestKey("journal_note", dict)  # what `control` applied, for the entry
ENTRY_ID = web.RequestKey("journal_entry_id", int)  # the request's id in the journal, for cross-references
PROXY_NOTE = web.RequestKey("proxy_note", dict)  # where core/proxy.py forwarded it, and the drift it found


@dataclass(slots=True)
class JournalEntry:
    id: int
    time: datetime
    api: str | None
    sandbox: str
    method: str
    path: str  # as sent
    api_path: str  # after the API's mount base: what fault rules match on
    query: dict[str, list[str]]
    headers: dict[str, str]
    body_size: int
    status: int | None = None  # None: the connection was reset, closed or left hanging
    duration_ms: float = 0.0
    fault: dict[str, Any] | None = None
    upstream: str | None = None  # proxied: the URL it was forwarded to (credentials redacted)
    drift: list[dict[str, str]] | None = None  # proxied: how request and answer broke the spec

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "time": iso(self.time),
            "api": self.api,
            "sandbox": self.sandbox,
            "method": self.method,
            "path": self.path,
            "apiPath": self.api_path,
            "query": self.query,
            "headers": self.headers,
            "bodySize": self.body_size,
            "status": self.status,
            "durationMs": self.duration_ms,
            "fault": self.fault,
            "upstream": self.upstream,
            "drift": self.drift,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JournalEntry:
        """An entry as `as_json` wrote it (the shared journal keeps them so)."""
        return cls(
            id=data["id"],
            time=datetime.fromisoformat(data["time"].replace("Z", "+00:00")),
            api=data["api"],
            sandbox=data["sandbox"],
            method=data["method"],
            path=data["path"],
            api_path=data["apiPath"],
            query=data["query"],
            headers=data["headers"],
            body_size=data["bodySize"],
            status=data["status"],
            duration_ms=data["durationMs"],
            fault=data["fault"],
        )


@dataclass(frozen=True, slots=True)
class Filter:
    """Every given criterion must hold; `path` is a case-insensitive glob on either path form."""

    api: str | None = None
    method: str | None = None
    path: str | None = None
    status: str | None = None  # "503", or a class such as "5xx"
    sandbox: str | None = None
    since: datetime | None = None

    def __call__(self, entry: JournalEntry) -> bool:
        if self.api is not None and entry.api != self.api:
            return False
        if self.method is not None and entry.method != self.method.upper():
            return False
        if self.sandbox is not None and entry.sandbox != self.sandbox:
            return False
        if self.since is not None and entry.time < self.since:
            return False
        if self.status is not None and not _status_matches(self.status, entry.status):
            return False
        if self.path is not None:
            return path_matches(self.path, entry.api_path, entry.path)
        return True


def _status_matches(wanted: str, status: int | None) -> bool:
    if status is None:
        return wanted.lower() == "none"
    if wanted.lower().endswith("xx"):
        return str(status)[0] == wanted[0]
    return str(status) == wanted


@dataclass
class Journal:
    """Newest last; `deque(maxlen)` drops the oldest entry as each new one arrives past the bound."""

    size: int = 1000
    admin_size: int = ADMIN_JOURNAL_SIZE
    _entries: deque[JournalEntry] = field(init=False)
    _admin: deque[JournalEntry] = field(init=False)
    _ids: Iterator[int] = field(init=False, default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        if self.size < 0:
            raise ValueError(f"journal_size must be 0 or more, got {self.size}")
        self._entries = deque(maxlen=self.size)
        self._admin = deque(maxlen=self.admin_size)

    def next_id(self) -> int:
        return next(self._ids)

    def add(self, entry: JournalEntry) -> None:
        (self._admin if entry.api == ADMIN else self._entries).append(entry)

    def __len__(self) -> int:
        return len(self._entries)

    def find(self, where: Filter) -> list[JournalEntry]:
        """Matching entries, newest first (as WireMock lists them)."""
        pool = self._admin if where.api == ADMIN else self._entries
        return [entry for entry in reversed(pool) if where(entry)]

    def clear(self) -> int:
        count = len(self._entries) + len(self._admin)
        self._entries.clear()
        self._admin.clear()
        return count

    # What the pipeline and /__admin/requests call: the same in memory, a round trip when shared.

    async def record(self, entry: JournalEntry) -> None:
        self.add(entry)

    async def search(self, where: Filter) -> list[JournalEntry]:
        return self.find(where)

    async def wipe(self) -> int:
        return self.clear()


class JournalStreams(Protocol):
    """Where a shared journal keeps its entries: two capped streams (world/redis_store.py)."""

    async def journal_append(self, admin: bool, entry: dict[str, Any], bound: int) -> int: ...
    async def journal_read(self, admin: bool) -> list[dict[str, Any]]: ...
    async def journal_clear(self) -> int: ...


class SharedJournal(Journal):
    """The journal of every replica sharing a store: entries are appended to capped streams."""

    def __init__(self, streams: JournalStreams, size: int = 1000, admin_size: int = ADMIN_JOURNAL_SIZE) -> None:
        super().__init__(size, admin_size)
        self.streams = streams

    async def record(self, entry: JournalEntry) -> None:
        admin = entry.api == ADMIN
        entry.id = await self.streams.journal_append(admin, entry.as_json(), self.admin_size if admin else self.size)

    async def search(self, where: Filter) -> list[JournalEntry]:
        entries = await self.streams.journal_read(where.api == ADMIN)
        return [found for found in map(JournalEntry.from_json, entries) if where(found)]

    async def wipe(self) -> int:
        return await self.streams.journal_clear()


JOURNAL = web.AppKey("journal", Journal)


def redacted_headers(request: web.Request) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        shown = REDACTED if name.lower() in SECRET_HEADERS else value
        headers[name] = f"{headers[name]}, {shown}" if name in headers else shown
    return headers


def redacted_query(request: web.Request) -> dict[str, list[str]]:
    query: dict[str, list[str]] = {}
    for name, value in request.rel_url.query.items():
        query.setdefault(name, []).append(REDACTED if name.lower() in SECRET_QUERY else value)
    return query


@web.middleware
async def record_in_journal(request: web.Request, handler: Handler) -> web.StreamResponse:
    journal = request.app[JOURNAL]
    state = request.app[STATE]
    started = time.monotonic()
    entry = JournalEntry(
        id=journal.next_id(),
        time=state.clock.now(),
        api=None,
        sandbox=sandbox_of(request),
        method=request.method,
        path=request.path,
        api_path=request.path,
        query=redacted_query(request),
        headers=redacted_headers(request),
        body_size=request.content_length or 0,
    )
    request[ENTRY_ID] = entry.id
    response: web.StreamResponse | None = None
    try:
        response = await handler(request)
        return response
    finally:
        found = facts(request)
        owner = found.owner if found is not None else None
        entry.api = owner.name if owner is not None else None
        entry.api_path = found.api_path if found is not None else api_path_of(request.path, None)
        entry.fault = request.get(JOURNAL_NOTE)
        proxied = request.get(PROXY_NOTE)
        if proxied is not None:
            entry.upstream, entry.drift = proxied["upstream"], proxied["drift"]
        transport = request.transport
        answered = response is not None and transport is not None and not transport.is_closing()
        if answered and request.content_length is None and request.body_exists:
            entry.body_size = len(await request.read())  # chunked: read() returns what was read
        entry.status = response.status if answered and response is not None else None
        entry.duration_ms = round((time.monotonic() - started) * 1000, 1)
        try:
            await journal.record(entry)
        except StoreUnavailable as error:  # the answer stands; only its record is missing
            log.warning("the request journal could not record %s %s: %s", request.method, request.path, error)
