"""SQLite as the persistent store (`--state-file state.db`): every acknowledged write survives kill -9.

One database file holds every world (sandbox x platform). Each world is served from memory, as
with `MemoryStore`, and every write is first committed, in a transaction of its own, and only
then applied in memory and acknowledged: a write a client was told about is on disk, and reads
never see a write that could still be lost. Counters that name instances (Kianda's
`counters`, Altinn's `meta`) are documents of the same world, so an id is never handed out twice.

Decisions, and why:

- Standard library `sqlite3`, WAL journal, `synchronous=FULL`: a commit is durable even against
  power loss, and costs well under a millisecond here (it runs in a thread, see below).
- One writer thread owns the connection; every job (a write, a new world, a dropped world, a
  whole imported state) runs there in submission order. The event loop never waits on the disk
  or on encoding a large document, and jobs cannot overtake each other: a world's creation is
  committed before any write to it, a reset's delete before the new seed.
- Writes to one world are serialised by an asyncio lock held until the commit returns, so a
  version check and the write it guards cannot interleave with another write to the same key.
- A world has a generation. A write to a world that was reset, evicted or replaced since the
  write began is dropped by the writer thread (the world it belonged to is gone, as in memory).
- Document order (the order `list` returns) is kept as a position per document, so a restarted
  server lists exactly what it listed before.
- The database is opened in exclusive locking mode: a second server on the same file refuses to
  start instead of the two overwriting each other.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from instancemock.world.persistence import Worlds
from instancemock.world.store import (
    Collections,
    Document,
    IndexT,
    MemoryStore,
    Snapshot,
    Store,
    Stored,
    check_expected,
)

log = logging.getLogger("instancemock.state")

FORMAT = "instancemock-sqlite/1"
World = tuple[str, str]  # sandbox, platform
T = TypeVar("T")

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    # a world exists even when it holds no documents (all deleted): a restart must not seed it again
    "CREATE TABLE IF NOT EXISTS worlds (sandbox TEXT, platform TEXT, PRIMARY KEY (sandbox, platform))",
    """CREATE TABLE IF NOT EXISTS documents (
        sandbox TEXT NOT NULL, platform TEXT NOT NULL, collection TEXT NOT NULL, key TEXT NOT NULL,
        position INTEGER NOT NULL, version INTEGER NOT NULL, doc TEXT NOT NULL,
        PRIMARY KEY (sandbox, platform, collection, key)
    ) WITHOUT ROWID""",
)
_UPSERT = (
    "INSERT INTO documents (sandbox, platform, collection, key, position, version, doc) VALUES (?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (sandbox, platform, collection, key) DO UPDATE SET version = excluded.version, doc = excluded.doc"
)


class DatabaseError(ValueError):
    """The database cannot be used; the message says which file and why."""


def _encode(doc: Document) -> str:
    """ASCII JSON: `\\u` escapes never fail to encode, whatever text a document holds."""
    return json.dumps(doc, separators=(",", ":"))


class SqlitePersistence:
    """The database of one server: the `Persistence` of its State (world/persistence.py)."""

    shared = False  # one server's file: its worlds are seeded in this process, before they are adopted

    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="instancemock-sqlite")
        self._connection: sqlite3.Connection | None = None  # touched by the writer thread only
        self._live: dict[World, int] = {}  # writer thread: the generation of each world on disk
        self._generation = 0  # event loop: the last generation handed out
        self._position = 0  # event loop: the last document position handed out
        self._last: Future[Any] | None = None
        try:
            self._submit(self._open).result()
        except BaseException:
            self._executor.shutdown(wait=False)
            raise

    # --- the event loop's side ------------------------------------------------------------------

    def load(self) -> Worlds:
        """Every world in the file, with versions and order as they were; called once at start-up."""
        found, self._position = self._submit(self._read_all).result()
        worlds: Worlds = {}
        for world, (data, versions) in found.items():
            memory = MemoryStore()
            memory.load(data, versions)
            generation = self._next_generation()
            self._submit(self._mark_live, world, generation).result()
            worlds.setdefault(world[0], {})[world[1]] = SqliteStore(memory, self, world, generation, None)
        return worlds

    def adopt(self, sandbox: str, platform: str, seed: Callable[[], MemoryStore]) -> SqliteStore:
        world = (sandbox, platform)
        seeded = seed()
        generation = self._next_generation()
        snapshot = seeded.items()
        ready = self._submit(self._create, [(world, generation, snapshot, self._positions(snapshot))], False)
        ready.add_done_callback(_log_failure(f"could not store the new world {sandbox}/{platform}"))
        return SqliteStore(seeded, self, world, generation, ready)

    def forget(self, sandbox: str | None, platform: str | None = None) -> None:
        done = self._submit(self._drop, sandbox, platform)
        done.add_done_callback(_log_failure(f"could not drop {sandbox}/{platform or '*'}"))

    def replace(self, worlds: dict[str, dict[str, MemoryStore]]) -> Worlds:
        entries = []
        stores: dict[World, tuple[MemoryStore, int]] = {}
        for sandbox, platforms in worlds.items():
            for platform, memory in platforms.items():
                generation = self._next_generation()
                snapshot = memory.items()
                entries.append(((sandbox, platform), generation, snapshot, self._positions(snapshot)))
                stores[(sandbox, platform)] = (memory, generation)
        ready = self._submit(self._create, entries, True)
        ready.add_done_callback(_log_failure("could not store the imported state"))
        replaced: Worlds = {}
        for (sandbox, platform), (memory, generation) in stores.items():
            replaced.setdefault(sandbox, {})[platform] = SqliteStore(
                memory, self, (sandbox, platform), generation, ready
            )
        return replaced

    def services(self, platform: str) -> MemoryStore:
        """Tokens and tickets live in memory: short-lived, and a restart asks clients to log in again."""
        return MemoryStore()

    async def sandboxes(self) -> list[str]:
        return []  # every world of the file was loaded at start-up: the State knows them all

    async def seeded(self, store: Store) -> None:
        return None  # adopted already seeded

    async def flush(self) -> None:
        await asyncio.wrap_future(self._submit(_nothing))

    async def close(self) -> None:
        try:
            await self.flush()
        finally:
            await asyncio.wrap_future(self._submit(self._close))
            self._executor.shutdown(wait=True)

    def close_now(self) -> None:
        """Close without an event loop (start-up failed after the database was opened)."""
        self._submit(self._close).result()
        self._executor.shutdown(wait=True)

    async def write(self, world: World, generation: int, collection: str, key: str, stored: Stored | None) -> None:
        """Commit one write (None: delete the key); returns once it is durable."""
        position = self._next_position() if stored is not None else 0
        await asyncio.wrap_future(self._submit(self._write, world, generation, collection, key, stored, position))

    def recreate(self, store: SqliteStore) -> Future[None]:
        """Submit a world's creation again (the first attempt failed), with what it holds now."""
        snapshot = store.memory.items()
        return self._submit(self._create, [(store.world, store.generation, snapshot, self._positions(snapshot))], False)

    def _submit(self, job: Callable[..., T], *args: Any) -> Future[T]:
        future = self._executor.submit(job, *args)
        self._last = future
        return future

    def _next_generation(self) -> int:
        self._generation += 1
        return self._generation

    def _next_position(self) -> int:
        self._position += 1
        return self._position

    def _positions(self, snapshot: Snapshot) -> int:
        """Reserve one position per document of `snapshot`; the first of them."""
        first = self._position + 1
        self._position += sum(len(items) for _, items in snapshot)
        return first

    # --- the writer thread's side ---------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        assert self._connection is not None, "the database is closed"
        return self._connection

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            connection = sqlite3.connect(self.path, isolation_level=None, timeout=1.0)
        except sqlite3.Error as error:
            raise DatabaseError(f"{self.path}: cannot open the database ({error})") from error
        try:
            connection.execute("PRAGMA locking_mode=EXCLUSIVE")
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")
            with _transaction(connection):
                for statement in _SCHEMA:
                    connection.execute(statement)
                row = connection.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
                if row is None:
                    connection.execute("INSERT INTO meta (key, value) VALUES ('format', ?)", (FORMAT,))
                elif row[0] != FORMAT:
                    raise DatabaseError(f"{self.path}: a database of format {row[0]!r}, not {FORMAT!r}")
        except sqlite3.OperationalError as error:
            connection.close()
            if "locked" in str(error):
                raise DatabaseError(f"{self.path}: the database is in use by another server") from error
            raise DatabaseError(f"{self.path}: not an instancemock database ({error})") from error
        except sqlite3.DatabaseError as error:
            connection.close()
            hint = "; a JSON state file must be named *.json" if _looks_like_json(self.path) else ""
            raise DatabaseError(f"{self.path}: not an instancemock database ({error}){hint}") from error
        except BaseException:
            connection.close()
            raise
        self._connection = connection

    def _read_all(self) -> tuple[dict[World, tuple[Collections, dict[tuple[str, str], int]]], int]:
        """Every world's documents and versions, in position order; and the last position used."""
        db = self._db()
        found: dict[World, tuple[Collections, dict[tuple[str, str], int]]] = {}
        for sandbox, platform in db.execute("SELECT sandbox, platform FROM worlds ORDER BY rowid"):
            found[(sandbox, platform)] = ({}, {})
        last = 0
        rows = db.execute(
            "SELECT sandbox, platform, collection, key, position, version, doc FROM documents ORDER BY position"
        )
        for sandbox, platform, collection, key, position, version, text in rows:
            entry = found.get((sandbox, platform))
            if entry is None:
                continue  # a document of no world: left over from nothing we write; ignore it
            try:
                doc = json.loads(text)
            except ValueError as error:
                raise DatabaseError(f"{self.path}: {sandbox}/{platform}/{collection}/{key} is not JSON") from error
            entry[0].setdefault(collection, {})[key] = doc
            entry[1][(collection, key)] = version
            last = max(last, position)
        return found, last

    def _mark_live(self, world: World, generation: int) -> None:
        self._live[world] = generation

    def _create(self, entries: list[tuple[World, int, Snapshot, int]], replace_all: bool) -> None:
        db = self._db()
        with _transaction(db):
            if replace_all:
                db.execute("DELETE FROM documents")
                db.execute("DELETE FROM worlds")
            for (sandbox, platform), _, snapshot, first in entries:
                db.execute("DELETE FROM documents WHERE sandbox = ? AND platform = ?", (sandbox, platform))
                db.execute("INSERT OR REPLACE INTO worlds (sandbox, platform) VALUES (?, ?)", (sandbox, platform))
                db.executemany(_UPSERT, _rows(sandbox, platform, snapshot, first))
        if replace_all:
            self._live.clear()
        for world, generation, _, _ in entries:
            self._live[world] = generation

    def _drop(self, sandbox: str | None, platform: str | None) -> None:
        """Delete one world, a sandbox's, one platform's in every sandbox (sandbox None), or all."""
        chosen = [(column, value) for column, value in (("sandbox", sandbox), ("platform", platform)) if value]
        where = " AND ".join(f"{column} = ?" for column, _ in chosen)
        values = tuple(value for _, value in chosen)
        db = self._db()
        with _transaction(db):
            db.execute(f"DELETE FROM documents WHERE {where or '1'}", values)
            db.execute(f"DELETE FROM worlds WHERE {where or '1'}", values)
        for world in [w for w in self._live if sandbox in (None, w[0]) and platform in (None, w[1])]:
            del self._live[world]

    def _write(
        self, world: World, generation: int, collection: str, key: str, stored: Stored | None, position: int
    ) -> None:
        if self._live.get(world) != generation:
            return  # the world was reset, evicted or replaced meanwhile: this write went with it
        db = self._db()
        text = _encode(stored.doc) if stored is not None else ""
        with _transaction(db):
            if stored is None:
                db.execute(
                    "DELETE FROM documents WHERE sandbox = ? AND platform = ? AND collection = ? AND key = ?",
                    (*world, collection, key),
                )
            else:
                db.execute(_UPSERT, (*world, collection, key, position, stored.version, text))

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class SqliteStore:
    """A world served from memory whose every write is committed to the database first."""

    def __init__(
        self,
        memory: MemoryStore,
        database: SqlitePersistence,
        world: World,
        generation: int,
        ready: Future[None] | None,
    ) -> None:
        self.memory = memory
        self.world = world
        self.generation = generation
        self._database = database
        self._ready = ready  # the world's creation on disk; every write waits for it
        self._lock = asyncio.Lock()

    async def get(self, collection: str, key: str) -> Stored | None:
        return self.memory.peek(collection, key)

    async def list(self, collection: str) -> list[Stored]:
        return await self.memory.list(collection)

    async def count(self, collection: str) -> int:
        return await self.memory.count(collection)

    async def dump(self) -> Collections:
        return await self.memory.dump()

    async def index(self, collection: str, make: Callable[[], IndexT]) -> IndexT:
        """The memory's index: every write here is applied to the memory after its commit, which tells it."""
        return self.memory.attach(collection, make)

    async def put(self, collection: str, key: str, doc: Document, expect: int | None = None) -> Stored:
        async with self._lock:
            previous = self.memory.peek(collection, key)
            check_expected(previous, expect)
            stored = Stored(doc, previous.version + 1 if previous else 1)
            await self._commit(collection, key, stored)
            return stored

    async def update(self, collection: str, key: str, change: Callable[[Document], Document | None]) -> Stored | None:
        async with self._lock:
            previous = self.memory.peek(collection, key)
            if previous is None:
                return None
            new = change(previous.doc)
            if new is None:
                return previous
            stored = Stored(new, previous.version + 1)
            await self._commit(collection, key, stored)
            return stored

    async def delete(self, collection: str, key: str) -> bool:
        async with self._lock:
            if self.memory.peek(collection, key) is None:
                return False
            await self._commit(collection, key, None)
            return True

    async def _commit(self, collection: str, key: str, stored: Stored | None) -> None:
        """Durable first, then visible: a failed commit raises and changes nothing."""
        if self._ready is not None:
            try:
                await asyncio.wrap_future(self._ready)
            except Exception:
                self._ready = self._database.recreate(self)
                await asyncio.wrap_future(self._ready)
            self._ready = None
        await self._database.write(self.world, self.generation, collection, key, stored)
        self.memory.apply(collection, key, stored)


class _transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any error (the connection is in autocommit mode)."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def __enter__(self) -> sqlite3.Connection:
        self.connection.execute("BEGIN IMMEDIATE")
        return self.connection

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: object) -> None:
        if kind is None:
            self.connection.execute("COMMIT")
        elif self.connection.in_transaction:
            self.connection.execute("ROLLBACK")


def _rows(sandbox: str, platform: str, snapshot: Snapshot, first: int) -> Iterator[tuple[Any, ...]]:
    position = first
    for collection, items in snapshot:
        for key, stored in items:
            yield (sandbox, platform, collection, key, position, stored.version, _encode(stored.doc))
            position += 1


def _nothing() -> None:
    return None


def _looks_like_json(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(64).lstrip()[:1] in (b"{", b"[")
    except OSError:
        return False


def _log_failure(what: str) -> Callable[[Future[Any]], None]:
    def report(future: Future[Any]) -> None:
        if not future.cancelled() and future.exception() is not None:
            log.error("%s: %s", what, future.exception())

    return report
