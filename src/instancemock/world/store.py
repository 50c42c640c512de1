"""The Store: collections of JSON documents with a version each, one per sandbox and platform.

It is async so that a networked store (Redis, for several replicas) can replace MemoryStore with
no change in handlers. Documents are plain JSON-compatible dicts; callers must not mutate a
returned document in place (MemoryStore hands out what it holds, for speed).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

Document = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Stored:
    doc: Document
    version: int


class VersionConflict(Exception):
    def __init__(self, current: Stored | None) -> None:
        super().__init__("version conflict")
        self.current = current


class Store(Protocol):
    async def get(self, collection: str, key: str) -> Stored | None: ...
    async def list(self, collection: str) -> list[Stored]: ...
    async def put(self, collection: str, key: str, doc: Document, expect: int | None = None) -> Stored: ...
    async def delete(self, collection: str, key: str) -> bool: ...
    async def update(
        self, collection: str, key: str, change: Callable[[Document], Document | None]
    ) -> Stored | None: ...
    async def count(self, collection: str) -> int: ...
    def dump(self) -> dict[str, dict[str, Document]]: ...
    def load(self, data: dict[str, dict[str, Document]]) -> None: ...


class MemoryStore:
    """Insertion-ordered dicts; every write is one synchronous step, so it is atomic under asyncio."""

    def __init__(self, data: dict[str, dict[str, Document]] | None = None) -> None:
        self._data: defaultdict[str, dict[str, Stored]] = defaultdict(dict)
        self.lock = asyncio.Lock()  # for read-modify-write sequences that span awaits
        if data:
            self.load(data)

    async def get(self, collection: str, key: str) -> Stored | None:
        return self._data[collection].get(key)

    async def list(self, collection: str) -> list[Stored]:
        return list(self._data[collection].values())

    async def count(self, collection: str) -> int:
        return len(self._data[collection])

    async def put(self, collection: str, key: str, doc: Document, expect: int | None = None) -> Stored:
        """Write; with `expect`, only if the stored version is still that one (optimistic locking)."""
        previous = self._data[collection].get(key)
        if expect is not None and (previous.version if previous else 0) != expect:
            raise VersionConflict(previous)
        stored = Stored(doc, previous.version + 1 if previous else 1)
        self._data[collection][key] = stored
        return stored

    async def update(self, collection: str, key: str, change: Callable[[Document], Document | None]) -> Stored | None:
        """Apply `change` to a copy-free view and store its result in one step; None: leave as is."""
        previous = self._data[collection].get(key)
        if previous is None:
            return None
        new = change(previous.doc)
        if new is None:
            return previous
        stored = Stored(new, previous.version + 1)
        self._data[collection][key] = stored
        return stored

    async def delete(self, collection: str, key: str) -> bool:
        return self._data[collection].pop(key, None) is not None

    def dump(self) -> dict[str, dict[str, Document]]:
        return {name: {k: s.doc for k, s in items.items()} for name, items in self._data.items() if items}

    def load(self, data: dict[str, dict[str, Document]]) -> None:
        self._data.clear()
        for name, items in data.items():
            self._data[name] = {k: Stored(doc, 1) for k, doc in items.items()}
