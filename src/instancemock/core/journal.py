"""The request journal: what clients sent and what they got, bounded so memory stays flat.

Bodies are kept too, for `verify` and the dashboard: each one's first `BODY_BYTES` bytes (the
rest is dropped, and the entry says so), and at most `BODIES_BYTES` across the journal (past that,
the oldest entries lose their bodies first, never their other facts). They are kept as the bytes
that arrived and read only when listed (core/payloads.py), so recording costs one slice per body.

Recording is the pipeline's outermost step (`open_entry` and `close_entry`, core/pipeline.py), so
it sees the final status, including the 500s `catch_crashes` makes and the faults `control`
applies (a reset, empty or timed-out request has no status). An entry keeps the request's facts
as they arrived and is redacted when it is read, so a request pays for no redaction.
Credentials never leave the journal: `Authorization`, `Ticket`, cookies and the admin token are
redacted from the headers of every entry read, and `ticket` (and other credential names) from
the query; a shared journal stores entries already read so.

Admin calls go to a separate, smaller journal, so a CI job polling `/__admin/requests/count`
never pushes the requests it is counting out of the bounded one; `?api=admin` lists them.

With a shared store (`--store redis://...`), `SharedJournal` keeps both in Redis streams capped
with MAXLEN, so `GET /__admin/requests` on any replica lists what every replica served; entries
get their ids from Redis then, in the order they were recorded.
"""

from __future__ import annotations

import base64
import itertools
import logging
import time
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from aiohttp import web
from multidict import MultiMapping

from instancemock.core import payloads
from instancemock.core.context import FACTS, STATE, Facts, facts, sandbox_of
from instancemock.core.faults import path_matches
from instancemock.core.matching import Seen, status_matches
from instancemock.core.routing import Route, api_path_of
from instancemock.core.spec import ADMIN
from instancemock.world.clock import Clock, iso
from instancemock.world.store import StoreUnavailable

log = logging.getLogger("instancemock")

REDACTED = "[redacted]"
SECRET_HEADERS = {"authorization", "proxy-authorization", "ticket", "cookie", "set-cookie", "x-admin-token"}
SECRET_QUERY = {"ticket", "access_token", "token", "password", "apikey", "api_key"}
ADMIN_JOURNAL_SIZE = 100
BODY_BYTES = 16 * 1024  # kept of each request or response body
BODIES_BYTES = 8 * 1024 * 1024  # kept of all bodies together (the admin journal: an eighth of it)

JOURNAL_NOTE = web.RequestKey("journal_note", dict)  # what `control` applied, for the entry
ENTRY_ID = web.RequestKey("journal_entry_id", int)  # the request's id in the journal, for cross-references
PROXY_NOTE = web.RequestKey("proxy_note", dict)  # where core/proxy.py forwarded it, and the drift it found
STUB_NOTE = web.RequestKey("stub_note", dict)  # the stub that answered, for the entry
# Set by a handler whose answer is itself a credential no redaction can recognise (Barium's bare
# ticket, platforms/barium/auth.py): the entry keeps "[redacted]" in place of the response body.


@dataclass(slots=True)
class KeptBody:
    """The first bytes of a body, and how long it was; read into a summary only when listed."""

    kept: bytes
    size: int
    content_type: str | None

    @classmethod
    def of(cls, raw: bytes, content_type: str | None, limit: int = BODY_BYTES) -> KeptBody | None:
        return cls(raw[:limit], len(raw), content_type) if raw else None

    def summary(self) -> dict[str, Any] | None:
        return payloads.summary(self.kept, self.content_type, self.size)

    def as_kept(self) -> dict[str, Any]:
        """As a shared journal keeps it (JSON: the bytes in base64)."""
        return {"kept": base64.b64encode(self.kept).decode(), "size": self.size, "contentType": self.content_type}

    @classmethod
    def from_kept(cls, data: dict[str, Any] | None) -> KeptBody | None:
        if data is None:
            return None
        return cls(base64.b64decode(data["kept"]), int(data["size"]), data["contentType"])


@dataclass(slots=True)
class JournalEntry:
    id: int
    time: datetime
    api: str | None
    sandbox: str
    method: str
    path: str  # as sent
    api_path: str  # after the API's mount base: what fault rules match on
    # The query and headers as they arrived (aiohttp's immutable multidicts), or as a shared
    # journal kept them (already redacted); `query` and `headers` redact them when read.
    sent_query: Mapping[str, list[str]] | MultiMapping[str]
    sent_headers: Mapping[str, str] | MultiMapping[str]
    body_size: int
    status: int | None = None  # None: the connection was reset, closed or left hanging
    duration_ms: float = 0.0
    fault: dict[str, Any] | None = None
    upstream: str | None = None  # proxied: the URL it was forwarded to (credentials redacted)
    drift: list[dict[str, str]] | None = None  # proxied: how request and answer broke the spec
    operation: str | None = None  # the operationId the request was routed to
    request_body: KeptBody | None = None
    response_body: KeptBody | None = None
    bodies_dropped: bool = False  # the journal's total bound took this entry's bodies
    stub: dict[str, Any] | None = None

    @property
    def query(self) -> dict[str, list[str]]:
        """The query, credentials (`ticket`, `access_token`...) shown as `[redacted]`."""
        return redact_query(self.sent_query)

    @property
    def headers(self) -> dict[str, str]:
        """The headers, credentials (`Authorization`, `Ticket`, cookies...) shown as `[redacted]`."""
        return redact_headers(self.sent_headers)

    @property
    def kept_bytes(self) -> int:
        asked, answered = self.request_body, self.response_body  # twice per request: no generator
        return (len(asked.kept) if asked is not None else 0) + (len(answered.kept) if answered is not None else 0)

    def drop_bodies(self) -> int:
        """Forget the bodies (the total bound needs the room); how many bytes that freed."""
        freed = self.kept_bytes
        if freed:
            self.request_body = self.response_body = None
            self.bodies_dropped = True
        return freed

    def as_json(self) -> dict[str, Any]:
        data = self.as_json_without_bodies()
        data["requestBody"] = self.request_body.summary() if self.request_body else None
        data["responseBody"] = self.response_body.summary() if self.response_body else None
        return data

    def as_json_without_bodies(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "time": iso(self.time),
            "api": self.api,
            "operation": self.operation,
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
            "stub": self.stub,
            "requestBody": None,
            "responseBody": None,
            "bodiesDropped": self.bodies_dropped,
        }

    def seen(self) -> Seen:
        """The entry as request criteria see it (verify); a body that was cut or dropped cannot be compared."""
        body: Any = payloads.ABSENT
        note = "dropped from the journal (its total bound)" if self.bodies_dropped else None
        if self.request_body is not None:
            record = self.request_body.summary() or {}
            if record.get("truncated"):
                note = f"truncated in the journal (over {BODY_BYTES} bytes)"
            elif record.get("kind") == "binary":
                note = "binary"
            else:
                body = record.get("value", payloads.ABSENT)
        return Seen(
            api=self.api,
            operation=self.operation,
            method=self.method,
            path=self.path,
            api_path=self.api_path,
            sandbox=self.sandbox,
            query=self.query,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            body_note=note,
            status=self.status,
        )

    def kept_json(self) -> dict[str, Any]:
        """The entry as a shared journal keeps it (`from_kept` reads it back): `as_json`, but with
        the bodies' kept bytes, so each replica summarises and compares them as its own."""
        data = self.as_json_without_bodies()
        data["requestBody"] = self.request_body.as_kept() if self.request_body else None
        data["responseBody"] = self.response_body.as_kept() if self.response_body else None
        return data

    @classmethod
    def from_kept(cls, data: dict[str, Any]) -> JournalEntry:
        """An entry as `kept_json` wrote it."""
        return cls(
            id=data["id"],
            time=datetime.fromisoformat(data["time"].replace("Z", "+00:00")),
            api=data["api"],
            sandbox=data["sandbox"],
            method=data["method"],
            path=data["path"],
            api_path=data["apiPath"],
            sent_query=data["query"],
            sent_headers=data["headers"],
            body_size=data["bodySize"],
            status=data["status"],
            duration_ms=data["durationMs"],
            fault=data["fault"],
            upstream=data["upstream"],
            drift=data["drift"],
            operation=data["operation"],
            request_body=KeptBody.from_kept(data["requestBody"]),
            response_body=KeptBody.from_kept(data["responseBody"]),
            bodies_dropped=data["bodiesDropped"],
            stub=data["stub"],
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
        if self.status is not None and not status_matches(self.status, entry.status):
            return False
        if self.path is not None:
            return path_matches(self.path, entry.api_path, entry.path)
        return True


class _Ring:
    """Entries newest last, at most `size` of them and `body_bytes` of bodies among them.

    `deque(maxlen)` drops the oldest entry as each new one arrives past the bound; past the bodies'
    bound, the oldest entries that still hold bodies lose them (`_holding` lists those, oldest first).
    """

    def __init__(self, size: int, body_bytes: int) -> None:
        self.entries: deque[JournalEntry | Answered] = deque(maxlen=size)
        self.body_bytes = body_bytes
        self._kept = 0
        self._holding: deque[JournalEntry | Answered] = deque()

    def add(self, entry: JournalEntry | Answered) -> None:
        if self.entries.maxlen == 0:
            return
        if len(self.entries) == self.entries.maxlen:
            self._kept -= self.entries[0].drop_bodies()
        self.entries.append(entry)
        if kept := entry.kept_bytes:
            self._kept += kept
            self._holding.append(entry)
        while self._holding and (self._kept > self.body_bytes or not self._holding[0].kept_bytes):
            self._kept -= self._holding.popleft().drop_bodies()

    def clear(self) -> None:
        self.entries.clear()
        self._holding.clear()
        self._kept = 0


@dataclass
class Journal:
    """The platform APIs' requests, and apart from them the admin API's (a smaller ring)."""

    size: int = 1000
    admin_size: int = ADMIN_JOURNAL_SIZE
    body_bytes: int = BODIES_BYTES
    _main: _Ring = field(init=False)
    _admin: _Ring = field(init=False)
    _ids: Iterator[int] = field(init=False, default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        if self.size < 0:
            raise ValueError(f"journal_size must be 0 or more, got {self.size}")
        self._main = _Ring(self.size, self.body_bytes)
        self._admin = _Ring(self.admin_size, self.body_bytes // 8)

    def next_id(self) -> int:
        return next(self._ids)

    def add(self, entry: JournalEntry | Answered) -> None:
        (self._admin if entry.api == ADMIN else self._main).add(entry)

    def __len__(self) -> int:
        return len(self._main.entries)

    def find(self, where: Filter) -> list[JournalEntry]:
        """Matching entries, newest first (as WireMock lists them)."""
        pool = self._admin if where.api == ADMIN else self._main
        made = (entry.made() if isinstance(entry, Answered) else entry for entry in reversed(pool.entries))
        return [entry for entry in made if where(entry)]

    def clear(self) -> int:
        count = len(self._main.entries) + len(self._admin.entries)
        self._main.clear()
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

    async def journal_append(
        self, admin: bool, entry: dict[str, Any], bound: int, bodies: dict[str, Any], kept: int, room: int
    ) -> int: ...
    async def journal_read(self, admin: bool) -> list[dict[str, Any]]: ...
    async def journal_clear(self) -> int: ...


class SharedJournal(Journal):
    """The journal of every replica sharing a store: entries are appended to capped streams.

    Each entry carries its bodies' kept bytes (cut at `BODY_BYTES` each), so `verify` and the
    listing compare and show bodies on any replica. The bounds are the memory journal's: MAXLEN
    keeps `size` entries, and the bodies are kept apart from the stream, at most `body_bytes` of
    them in all (an eighth for the admin journal), the oldest dropped first (`bodiesDropped`)."""

    def __init__(
        self,
        streams: JournalStreams,
        size: int = 1000,
        admin_size: int = ADMIN_JOURNAL_SIZE,
        body_bytes: int = BODIES_BYTES,
    ) -> None:
        super().__init__(size, admin_size, body_bytes)
        self.streams = streams

    async def record(self, entry: JournalEntry) -> None:
        admin = entry.api == ADMIN
        data = entry.kept_json()
        bodies = {"requestBody": data.pop("requestBody"), "responseBody": data.pop("responseBody")}
        bound, room = (self.admin_size, self.body_bytes // 8) if admin else (self.size, self.body_bytes)
        entry.id = await self.streams.journal_append(admin, data, bound, bodies, entry.kept_bytes, room)

    async def search(self, where: Filter) -> list[JournalEntry]:
        entries = await self.streams.journal_read(where.api == ADMIN)
        for entry in entries:
            entry.setdefault("requestBody", None)
            entry.setdefault("responseBody", None)
        return [found for found in map(JournalEntry.from_kept, entries) if where(found)]

    async def wipe(self) -> int:
        return await self.streams.journal_clear()


JOURNAL = web.AppKey("journal", Journal)


def redact_headers(sent: Mapping[str, str] | MultiMapping[str]) -> dict[str, str]:
    """Headers by name, a repeated one joined with ", ", credentials as `[redacted]`."""
    headers: dict[str, str] = {}
    for name, value in sent.items():
        shown = REDACTED if name.lower() in SECRET_HEADERS else value
        headers[name] = f"{headers[name]}, {shown}" if name in headers else shown
    return headers


def redact_query(sent: Mapping[str, list[str]] | MultiMapping[str]) -> dict[str, list[str]]:
    """Query values by name, in a list each, credentials as `[redacted]` (a kept dict of lists is
    redacted as it is: a shared journal keeps what this made)."""
    query: dict[str, list[str]] = {}
    for name, value in sent.items():
        secret = name.lower() in SECRET_QUERY
        if isinstance(value, list):
            query[name] = [REDACTED for _ in value] if secret else list(value)
        else:
            query.setdefault(name, []).append(REDACTED if secret else value)
    return query


def redacted_query(request: web.Request) -> dict[str, list[str]]:
    return redact_query(request.rel_url.query)


class Opening:
    """What the journal takes of a request as it arrives: its id, when (a reading of the world's
    clock, made a time when the entry is), and a monotonic clock to time it."""

    __slots__ = ("clock", "id", "reading", "started")

    def __init__(self, id: int, clock: Clock, reading: int, started: float) -> None:
        self.id = id
        self.clock = clock
        self.reading = reading
        self.started = started

    @property
    def time(self) -> datetime:
        return self.clock.at(self.reading)


def open_entry(request: web.Request) -> Opening:
    """Step 1, `record_in_journal`, as the request arrives: the entry's id (for cross-references,
    `ENTRY_ID`) and its time. The entry itself is made once the answer is known (`close_entry`)."""
    app = request.app
    clock = app[STATE].clock
    opening = Opening(app[JOURNAL].next_id(), clock, clock.reading(), time.monotonic())
    request[ENTRY_ID] = opening.id
    return opening


def record_entry_now(request: web.Request, opening: Opening, response: web.StreamResponse | None) -> bool:
    """`close_entry` without a coroutine, where it would await nothing: an in-memory journal, and
    no chunked body still to count (most requests). False: nothing was recorded, await `close_entry`.

    A request whose body was not read (a GET, most requests) is kept as it is (`Answered`), and
    its entry made only if the journal is read: most entries are pushed out unread.
    """
    journal = request.app[JOURNAL]
    if type(journal) is not Journal or (request.content_length is None and request.body_exists):
        return False
    raw = read_already(request)
    if raw is None or len(raw) <= BODY_BYTES:
        journal.add(Answered(request, opening, response, raw))
    else:
        journal.add(_entry(request, opening, response))
    return True


class Answered:
    """A request answered and not yet listed: what `_entry` reads of it that may change later (the
    answer's status and body, whether it was sent), the rest read from the request when listed.

    Only requests with no body read, or one no longer than the journal keeps of it, are kept so
    (`record_entry_now`): the request holds what was sent, and an uploaded body is not the
    journal's to keep past its bound. The ring keeps this
    object in the entry's place (`kept_bytes`, `drop_bodies`, `api`, as `JournalEntry` has them)
    and `made` turns it into the entry once, letting the request go.
    """

    __slots__ = ("_answer", "_asked", "_dropped", "_ended", "_made", "_opening", "_request", "_status", "api")

    def __init__(
        self, request: web.Request, opening: Opening, response: web.StreamResponse | None, raw: bytes | None = None
    ) -> None:
        self._request: web.Request | None = request
        self._opening = opening
        self._made: JournalEntry | None = None
        self._ended = time.monotonic()
        self._dropped = False
        found = request.get(FACTS)
        owner = found.owner if found is not None else None
        self.api = owner.name if owner is not None else None
        answered = _sent(request, response)
        self._status = response.status if answered and response is not None else None
        self._answer: KeptBody | None = None
        self._asked: KeptBody | None = None  # the request's body, read by validation
        if answered and isinstance(response, web.Response) and isinstance(response.body, bytes):
            self._answer = _kept_answer(found.found if found is not None else None, response)
        if answered and raw:
            self._asked = KeptBody.of(raw, request.headers.get("Content-Type"))

    @property
    def kept_bytes(self) -> int:
        if self._made is not None:
            return self._made.kept_bytes
        asked, answered = self._asked, self._answer
        return (len(asked.kept) if asked is not None else 0) + (len(answered.kept) if answered is not None else 0)

    def drop_bodies(self) -> int:
        if self._made is not None:
            return self._made.drop_bodies()
        freed = self.kept_bytes
        if freed:
            self._answer = self._asked = None
            self._dropped = True
        return freed

    def made(self) -> JournalEntry:
        if self._made is None:
            request = self._request
            assert request is not None
            entry = _entry_of(request, self._opening, request.get(FACTS))
            entry.duration_ms = round((self._ended - self._opening.started) * 1000, 1)
            entry.status = self._status
            entry.response_body = self._answer
            entry.request_body = self._asked
            entry.bodies_dropped = self._dropped
            self._made = entry
            self._request = None  # the entry holds what it needs of it
        return self._made


async def close_entry(request: web.Request, opening: Opening, response: web.StreamResponse | None) -> None:
    """Step 1, `record_in_journal`, once answered: the request's facts and the final status
    (None: reset, closed or left hanging), kept as they arrived; redaction happens when read."""
    entry = _entry(request, opening, response)
    if entry.body_size == -1:  # chunked: read() returns what was read
        entry.body_size = len(await _body_of(request))
    journal = request.app[JOURNAL]
    if type(journal) is Journal:
        journal.add(entry)
        return
    try:
        await journal.record(entry)
    except StoreUnavailable as error:  # the answer stands; only its record is missing
        log.warning("the request journal could not record %s %s: %s", request.method, request.path, error)


def _entry(request: web.Request, opening: Opening, response: web.StreamResponse | None) -> JournalEntry:
    """The entry of an answered (or abandoned) request; `body_size` -1: a body of no declared
    length was answered, and only reading it tells its size."""
    found = facts(request)
    entry = _entry_of(request, opening, found)
    declared = request.content_length
    if _sent(request, response):
        assert response is not None
        if declared is None and request.body_exists:
            entry.body_size = -1
        if raw := read_already(request):
            entry.request_body = KeptBody.of(raw, request.headers.get("Content-Type"))
        if isinstance(response, web.Response) and isinstance(response.body, bytes):
            entry.response_body = _kept_answer(found.found if found is not None else None, response)
        entry.status = response.status
    entry.duration_ms = round((time.monotonic() - opening.started) * 1000, 1)
    return entry


def _entry_of(request: web.Request, opening: Opening, found: Facts | None) -> JournalEntry:
    """The entry's facts of the request as it arrived; the answer's part is the caller's."""
    owner = found.owner if found is not None else None
    path = request.path
    declared = request.content_length  # parsed from the header at each reading
    entry = JournalEntry(
        id=opening.id,
        time=opening.time,
        api=owner.name if owner is not None else None,
        sandbox=found.sandbox if found is not None else sandbox_of(request),
        method=request.method,
        path=path,
        api_path=found.api_path if found is not None else api_path_of(path, None),
        sent_query=request.rel_url.query,
        sent_headers=request.headers,
        body_size=declared or 0,
        operation=found.found.op.id if found is not None and isinstance(found.found, Route) else None,
        fault=request.get(JOURNAL_NOTE),
        stub=request.get(STUB_NOTE),
    )
    proxied = request.get(PROXY_NOTE)
    if proxied is not None:
        entry.upstream, entry.drift = proxied["upstream"], proxied["drift"]
    return entry


def _kept_answer(found: object, response: web.Response) -> KeptBody | None:
    """The answer's body as the journal keeps it. An operation whose answer *is* a credential
    (`x-secret-answer` in its spec: Barium's bare ticket) is kept as `[redacted]` unless it is JSON,
    whose credential fields `payloads.redact` finds by name; XML or text would show it in clear."""
    body = response.body if isinstance(response.body, bytes) else b""
    content_type = response.headers.get("Content-Type")
    secret = isinstance(found, Route) and bool(found.op.spec.get("x-secret-answer"))
    if secret and body and "json" not in (content_type or "").lower():
        return KeptBody(payloads.REDACTED.encode(), len(payloads.REDACTED), "text/plain")
    return KeptBody.of(body, content_type)


def _sent(request: web.Request, response: web.StreamResponse | None) -> bool:
    """An answer was made and its connection still stands (not reset, closed or left hanging)."""
    transport = request.transport
    return response is not None and transport is not None and not transport.is_closing()


def read_already(request: web.Request) -> bytes | None:
    """The body as the pipeline read it, if it did (validation reads every routed request's body).

    A body nobody read (an unknown path, a request refused before validation, a declared length
    over the limit) is not waited for: a client that sends no body until it has an answer would
    wait for ever.
    """
    raw = getattr(request, "_read_bytes", None)  # where aiohttp keeps what read() returned
    return raw if isinstance(raw, bytes) else None


async def _body_of(request: web.Request) -> bytes:
    """The request's body as read (aiohttp keeps it); nothing where it cannot be read (over the limit)."""
    try:
        return await request.read()
    except (web.HTTPException, ConnectionError, ValueError):
        return b""
