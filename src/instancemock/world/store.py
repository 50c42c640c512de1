"""The Store: collections of JSON documents with a version each, one per sandbox and platform.

Handlers only ever see the async `Store` protocol below, so the store behind it can change with
no change in handlers: `MemoryStore` (the default), `SqliteStore` (world/sqlite_store.py, with
`--state-file state.db`), and `RedisStore` (world/redis_store.py, with `--store redis://...`,
shared by several replicas).

The contract every implementation keeps (ARCHITECTURE.md, "Stores"):

- A document is a JSON-compatible dict. Callers never mutate a document they got from the store,
  or one they handed to it: stores may keep and hand out the very object (MemoryStore does).
- Each key has a version: 1 when first written, one more with every write. `put(..., expect=v)`
  writes only if the stored version is still `v` (0: the key must not exist), else raises
  `VersionConflict` carrying the current document. `update` applies a change atomically: no other
  write to the same world comes between reading the document and storing the change.
- A write is acknowledged (its coroutine returns) only once it is durable in that store: a
  persistent store returns after its transaction committed, so a server killed at any moment
  keeps every write a client was told about.
- Reads see only acknowledged writes. `list` returns documents in the order keys were first
  written (a key deleted and written again goes last), so seeded worlds list the same way
  everywhere.
- `dump` is a point-in-time copy of every collection, for exports.

A platform that must answer queries over a large collection without reading all of it (Altinn's
instance query) asks the store for an `Index`: an object of its own making that the store fills
with the collection's documents once and then tells of every later write, in the same step as
the write. A store whose writes all pass through this process (memory, SQLite) keeps it that way
(every write ends in `MemoryStore.apply`); a store shared by several processes (Redis) cannot be told of
the others' writes in the same step, so it builds the index again when the collection's change
counter says another process wrote (world/redis_store.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

Document = dict[str, Any]
Collections = dict[str, dict[str, Document]]  # collection -> key -> document

# From this many documents, a dump builds its copy in a thread: the loop only copies the dicts.
LARGE_DUMP = 5_000


@dataclass(frozen=True, slots=True)
class Stored:
    doc: Document
    version: int


_DOC = Stored.__dict__["doc"]  # the slot behind `Stored.doc`, which `Lazy` fills on first read


class Lazy(Stored):
    """A seeded document (version 1) made by `make` when first read, then kept.

    A large world holds hundreds of thousands of documents a client may never read (Barium's
    tasks and form objects): making each on first read keeps start-up and memory to what is used
    (world/replica.py). A seeder hands the store a `Lazy` in place of a document; reads see a
    `Stored`, and a write replaces it with a plain `Stored`.
    """

    __slots__ = ()
    version = 1  # always: a write replaces it with a plain `Stored` (this stands in for the slot)

    def make(self) -> Document:
        raise NotImplementedError

    @property
    def made(self) -> bool:
        """Whether `doc` has been read (and so made) already."""
        try:
            _DOC.__get__(self)
        except AttributeError:
            return False
        return True

    @property  # read-only, as the frozen field it stands for
    def doc(self) -> Document:
        try:
            return _DOC.__get__(self)  # type: ignore[no-any-return,unused-ignore]
        except AttributeError:
            made = self.make()
            _DOC.__set__(self, made)
            return made


class Later:
    """A collection of a seeded world laid out when the store first needs it (world/replica.py).

    Its size is known at once (the progress line and the banner count it); `unfold` makes the
    keys and their stored documents, in order, all at version 1.
    """

    __slots__ = ("_count", "unfold")

    def __init__(self, count: int, unfold: Callable[[], dict[str, Stored]]) -> None:
        self._count = count
        self.unfold = unfold

    def __len__(self) -> int:
        return self._count

    def items(self) -> Iterable[tuple[str, Document]]:
        """Its documents, for those that read a seeded world as plain collections."""
        return ((key, stored.doc) for key, stored in self.unfold().items())


def seeded(doc: Document | Lazy) -> Stored:
    """How a freshly seeded document is kept: as it is when the seeder deferred it (`Lazy`)."""
    return doc if isinstance(doc, Lazy) else Stored(doc, 1)


Snapshot = list[tuple[str, list[tuple[str, Stored]]]]  # collection -> (key, stored) pairs, in order


class VersionConflict(Exception):
    def __init__(self, current: Stored | None) -> None:
        super().__init__("version conflict")
        self.current = current


class StoreUnavailable(OSError):
    """A networked store cannot be reached (world/redis_store.py); the request is answered 503, the
    write not acknowledged, and the next request tries again."""


class Index(Protocol):
    """A view of one collection derived from its documents, kept current by the store."""

    def add(self, key: str, doc: Document) -> None:
        """`doc` is now stored under `key` (replacing whatever was there: see `discard`)."""

    def discard(self, key: str) -> None:
        """Nothing is stored under `key` any more (called before `add` on a replace, too)."""


class LazyIndex(Index, Protocol):
    """An index that can file a seeded document not made yet (a `Lazy`) without making it.

    A large world's copies are made on first read (world/replica.py); an index that read each
    one's `doc` when it is filled would make all of them at start-up. The store hands such an
    index the `Lazy` itself (`add_lazy`: made or not, it stands for the same document); the
    index reads what it files under from what the `Lazy` says of itself, and its `doc` only
    when a client asks.
    """

    def add_lazy(self, key: str, lazy: Lazy) -> None:
        """`lazy` (version 1, a seeded document) is now stored under `key`."""

    # Optionally, `fill(items: Iterable[tuple[str, Stored]])`: every document of the collection
    # at once, as `add_lazy` or `add` would file each (`attach` of a large world: one call, not one per document).


def file_into(index: Index, key: str, stored: Stored) -> None:
    """Tell `index` of `stored` under `key`: as the `Lazy` it is, if the index takes those (`LazyIndex`)."""
    if isinstance(stored, Lazy):
        add_lazy = getattr(index, "add_lazy", None)
        if add_lazy is not None:
            add_lazy(key, stored)
            return
    index.add(key, stored.doc)


IndexT = TypeVar("IndexT", bound=Index)


class Store(Protocol):
    async def get(self, collection: str, key: str) -> Stored | None: ...
    async def list(self, collection: str) -> list[Stored]: ...
    async def put(self, collection: str, key: str, doc: Document, expect: int | None = None) -> Stored: ...
    async def delete(self, collection: str, key: str) -> bool: ...
    async def update(
        self, collection: str, key: str, change: Callable[[Document], Document | None]
    ) -> Stored | None: ...
    async def count(self, collection: str) -> int: ...
    async def index(self, collection: str, make: Callable[[], IndexT]) -> IndexT:
        """The index that `make` builds over `collection`, filled on first use and current after.

        One index per (collection, `make`): pass the same callable (a class) to get it back.
        """
        ...

    async def dump(self) -> Collections: ...


def check_expected(previous: Stored | None, expect: int | None) -> None:
    """Optimistic locking: with `expect`, the stored version must still be that one (0: absent)."""
    if expect is not None and (previous.version if previous else 0) != expect:
        raise VersionConflict(previous)


async def put_first(store: Store, collection: str, key: str, doc: Document) -> Stored:
    """Write the first version of a document, or (another writer came first: two replicas starting
    side by side) leave it and return what is there."""
    try:
        return await store.put(collection, key, doc, expect=0)
    except VersionConflict as lost:
        assert lost.current is not None
        return lost.current


class MemoryStore:
    """Insertion-ordered dicts; every write is one synchronous step, so it is atomic under asyncio.

    `peek` and `apply` are the synchronous halves a persistent store wraps (world/sqlite_store.py):
    it checks with `peek`, makes the write durable, then `apply`s it, so reads see only what is
    committed.
    """

    def __init__(self, data: Collections | None = None) -> None:
        self._data: dict[str, dict[str, Stored]] = {}
        self._later: dict[str, Later] = {}  # collections not laid out yet (their place in `_data` is kept)
        self._indexes: dict[str, dict[Callable[[], Index], Index]] = {}
        if data:
            self.load(data)

    async def get(self, collection: str, key: str) -> Stored | None:
        return self.peek(collection, key)

    async def list(self, collection: str) -> list[Stored]:
        if self._later:
            self._unfold(collection)
        return list(self._data.get(collection, {}).values())

    async def count(self, collection: str) -> int:
        later = self._later.get(collection)
        return len(later) if later is not None else len(self._data.get(collection, {}))

    def _unfold(self, collection: str) -> None:
        """Lay out a collection the seeder left for later (`Later`), before its first read or write."""
        later = self._later.pop(collection, None)
        if later is not None:
            self._data[collection] = later.unfold()

    async def put(self, collection: str, key: str, doc: Document, expect: int | None = None) -> Stored:
        """Write; with `expect`, only if the stored version is still that one (optimistic locking)."""
        previous = self.peek(collection, key)
        check_expected(previous, expect)
        stored = Stored(doc, previous.version + 1 if previous else 1)
        self.apply(collection, key, stored)
        return stored

    async def update(self, collection: str, key: str, change: Callable[[Document], Document | None]) -> Stored | None:
        """Apply `change` to a copy-free view and store its result in one step; None: leave as is."""
        previous = self.peek(collection, key)
        if previous is None:
            return None
        new = change(previous.doc)
        if new is None:
            return previous
        stored = Stored(new, previous.version + 1)
        self.apply(collection, key, stored)
        return stored

    async def delete(self, collection: str, key: str) -> bool:
        if self.peek(collection, key) is None:
            return False
        self.apply(collection, key, None)
        return True

    def peek(self, collection: str, key: str) -> Stored | None:
        if self._later:
            self._unfold(collection)
        items = self._data.get(collection)
        return items.get(key) if items is not None else None

    def apply(self, collection: str, key: str, stored: Stored | None) -> None:
        """Store `stored` under the key (keeping its place if it exists), or remove the key (None).

        Every write ends here (SqliteStore's too, after its commit), so the indexes are told here.
        """
        if self._later:
            self._unfold(collection)
        if stored is None:
            if self._data.get(collection, {}).pop(key, None) is None:
                return
        else:
            self._data.setdefault(collection, {})[key] = stored
        self._tell(collection, key, stored.doc if stored is not None else None)

    async def index(self, collection: str, make: Callable[[], IndexT]) -> IndexT:
        return self.attach(collection, make)

    def attach(self, collection: str, make: Callable[[], IndexT]) -> IndexT:
        """`index`, synchronously: attached before a world arrives, an index is filled as it arrives."""
        indexes = self._indexes.setdefault(collection, {})
        found = indexes.get(make)
        if found is None:
            self._unfold(collection)
            found = make()
            items = self._data.get(collection, {}).items()
            fill = getattr(found, "fill", None)
            if fill is not None:  # a whole world filed in one call (`LazyIndex.fill`)
                fill(items)
            else:
                add, add_lazy = found.add, getattr(found, "add_lazy", None)
                for key, stored in items:  # `file_into`, inline: a world at once
                    if add_lazy is not None and isinstance(stored, Lazy):
                        add_lazy(key, stored)
                    else:
                        add(key, stored.doc)
            indexes[make] = found
        return found  # type: ignore[return-value]  # the one `make` built

    def _tell(self, collection: str, key: str, doc: Document | None) -> None:
        for index in self._indexes.get(collection, {}).values():
            index.discard(key)
            if doc is not None:
                index.add(key, doc)

    def extend(self, collection: str, items: Iterable[tuple[str, Document]]) -> None:
        """Add freshly seeded documents at version 1: how a world arriving in parts is built up."""
        self._unfold(collection)
        stored = self._data.setdefault(collection, {})
        indexes = list(self._indexes.get(collection, {}).values())
        for key, doc in items:
            stored[key] = item = seeded(doc)
            for index in indexes:
                index.discard(key)
                file_into(index, key, item)

    def documents(self) -> int:
        """How many documents the store holds, over all collections."""
        return sum(len(self._later.get(name, items)) for name, items in self._data.items())

    def items(self) -> Snapshot:
        """Every collection's keys and stored documents, in order: a snapshot safe to read in a thread."""
        for name in list(self._later):
            self._unfold(name)
        return [(name, list(items.items())) for name, items in list(self._data.items()) if items]

    async def dump(self) -> Collections:
        snapshot = self.items()
        if sum(len(items) for _, items in snapshot) < LARGE_DUMP:
            return _documents(snapshot)
        return await asyncio.to_thread(_documents, snapshot)

    def load(self, data: Collections, versions: dict[tuple[str, str], int] | None = None) -> None:
        """Replace everything; versions start at 1 unless given (a persistent store keeps them)."""
        self._indexes.clear()  # built again from the new documents on next use
        self._later = _later_in(data)
        if not versions:  # a seeded world (`seeded`, inline: a large one has hundreds of thousands)
            self._data = {
                name: {}
                if name in self._later
                else {k: doc if isinstance(doc, Lazy) else Stored(doc, 1) for k, doc in items.items()}
                for name, items in data.items()
            }
            return
        self._data = {
            name: {}
            if name in self._later
            else {
                k: Stored(doc, versions[(name, k)]) if (name, k) in versions else seeded(doc)
                for k, doc in items.items()
            }
            for name, items in data.items()
        }


def _later_in(data: Mapping[str, object]) -> dict[str, Later]:
    """The collections of a seeded world left for the store to lay out (`Later`)."""
    return {name: items for name, items in data.items() if isinstance(items, Later)}


def _documents(snapshot: Snapshot) -> Collections:
    return {name: {key: stored.doc for key, stored in items} for name, items in snapshot}
