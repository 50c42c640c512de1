"""Barium's instances newest first, all of them and by `Status`: the order `GET /Instances` lists.

The list used to read every instance, filter it by `Status` and sort it on each request, for a
page of ten: a third of the request's time at default data. The store keeps this index current
(`Store.index`, world/store.py), so a list is a slice of a sorted list and reads only the
documents of its page. Each list holds `(StartDate, Id, key)` ascending; newest first is that
order reversed, as `access.newest_first` sorts (`StartDate`, missing ones last, then `Id`).

A large world's copies (world/replica.py) are filed without being made (`add_lazy`): their
`StartDate`, `Id` and `Status` are read off the copy, so the first list makes only its page's
documents, not the 100,000 of the world.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from instancemock.world.replica import Deferred, is_instant
from instancemock.world.store import Document, Lazy, Stored

Entry = tuple[str, str, str]  # (StartDate or "", Id, store key): ascending, so newest last
EVERY = object()  # the list of every instance, whatever its Status


def entry(key: str, doc: Document | Deferred) -> Entry:
    """Where the instance sorts; of a copy not made yet (`Deferred`), read off the copy."""
    if isinstance(doc, Deferred):
        start, ident = doc.top("StartDate"), key if doc.keyed_by("Id") else doc.top("Id")
    else:
        start, ident = doc.get("StartDate"), doc.get("Id")
    return (start if isinstance(start, str) else "", ident if isinstance(ident, str) else str(ident), key)


def status_of(doc: Document | Deferred) -> Any:
    """The list the instance is filed under besides every instance's; a Status no filter can
    name (not a string) files it under none."""
    status = doc.top("Status") if isinstance(doc, Deferred) else doc.get("Status")
    return status if isinstance(status, str) else None


_OFF_THE_COPY = object()  # `_listed`: read this off each copy (`entry`, `status_of`), not off its sample


def _listed(sample: Document) -> tuple[Any, Any]:
    """What every copy of `sample` is filed from, read once per sample (`Deferred.facts_and_days`):
    its `StartDate` to move back by the copy's days (copies move every instant but form fields:
    seed.py's `_KEEP`), and its `Status`, which copying leaves as it is (a short word: no instant,
    no GUID). Anything else is read off each copy."""
    start, status = sample.get("StartDate"), sample.get("Status")
    keeps = not isinstance(status, str) or (len(status) < 36 and not is_instant(status))
    return (start if is_instant(start) else _OFF_THE_COPY), (
        (status if isinstance(status, str) else None) if keeps else _OFF_THE_COPY
    )


def copy_entry(key: str, copy: Deferred, keyed: dict[int, bool]) -> tuple[Entry, Any]:
    """`entry` and `status_of` of a copy not made yet, from its sample's facts and its days
    (`keyed`: what `Deferred.keyed_by` said of each sample's copies, by the facts' tuple)."""
    (start, status), days = facts = copy.facts_and_days(_listed)
    by_key = keyed.get(id(facts[0]))
    if by_key is None:
        by_key = keyed[id(facts[0])] = copy.keyed_by("Id")
    if start is _OFF_THE_COPY:
        start = copy.top("StartDate")
    else:  # `Days.move`, inline: the one thing that differs per copy
        moved = days.dates.get(start[:10])
        start = (moved if moved is not None else days.date(start[:10])) + start[10:]
    if status is _OFF_THE_COPY:
        status = status_of(copy)
    ident = key if by_key else copy.top("Id")
    return (start if isinstance(start, str) else "", ident if isinstance(ident, str) else str(ident), key), status


class InstanceOrder:
    """Sorted entries for every instance and per `Status`, and the documents by key (the very
    objects the store holds). Filling appends and sorts once, on first read: a world arrives in
    parts of thousands, and keeping each list sorted while it grows would move it once per
    document."""

    def __init__(self) -> None:
        self.docs: dict[str, Document | Lazy] = {}  # a `Lazy` until a page reads it
        self._encoded: dict[str, tuple[Document, bytes]] = {}  # a listed instance's summary, as sent
        self._filed: dict[str, tuple[Entry, Any]] = {}
        self._lists: dict[Any, list[Entry]] = {EVERY: []}
        self._sorted = True

    def add_lazy(self, key: str, lazy: Lazy) -> None:
        """A seeded copy not made yet (world/store.py's `LazyIndex`): filed from what it says of itself."""
        self.add(key, lazy if isinstance(lazy, Deferred) else lazy.doc)

    def fill(self, items: Iterable[tuple[str, Stored]]) -> None:
        """Every document of the collection at once (`MemoryStore.attach`), as `add_lazy` or `add`
        files each, in one loop; sorted on first read."""
        docs, filed_under, lists = self.docs, self._filed, self._lists
        every = lists[EVERY]
        keyed: dict[int, bool] = {}  # by a sample's facts (one tuple each): whether its copies' Id is their key
        for key, stored in items:
            doc: Document | Deferred
            if isinstance(stored, Deferred):
                doc = stored
                found, status = copy_entry(key, stored, keyed)
            else:
                doc = stored.doc
                found, status = entry(key, doc), status_of(doc)
            docs[key] = doc
            filed_under[key] = (found, status)
            every.append(found)
            if status is not None:
                listed = lists.get(status)
                if listed is None:
                    listed = lists[status] = []
                listed.append(found)
        self._sorted = False

    def add(self, key: str, doc: Document | Deferred) -> None:
        found, status = entry(key, doc), status_of(doc)
        self.docs[key] = doc
        self._filed[key] = (found, status)
        for filed in (EVERY, status) if status is not None else (EVERY,):
            entries = self._lists.setdefault(filed, [])
            if self._sorted and entries and entries[-1] > found:
                self._sorted = False
            entries.append(found)

    def discard(self, key: str) -> None:
        known = self._filed.pop(key, None)
        if known is None:
            return
        found, status = known
        del self.docs[key]
        self._encoded.pop(key, None)
        for filed in (EVERY, status) if status is not None else (EVERY,):
            self._lists[filed].remove(found)

    def newest_first(self, status: str | None, start: int, limit: int) -> tuple[int, list[Document]]:
        """How many instances have `status` (any, if None or empty), and the documents at
        `start`, `start + 1`, ... of them newest first, at most `limit`."""
        total, keys = self._page(status, start, limit)
        docs = self.docs
        return total, [_made(docs[key]) for key in keys]

    def newest_first_encoded(
        self, status: str | None, start: int, limit: int, encode: Callable[[Document], bytes]
    ) -> tuple[int, list[bytes]]:
        """`newest_first` with each document as `encode` writes it, from what it wrote before.

        A stored document never changes in place (a write stores a new one, and the store tells
        this index: `discard`, then `add`), so its summary is encoded the first time it is
        listed, and kept with the document it was made from: kept bytes are used only while that
        very object is the one filed. Summaries are `encode`'s: one encoder per index, the list's.
        """
        total, keys = self._page(status, start, limit)
        parts: list[bytes] = []
        for key in keys:
            doc = _made(self.docs[key])  # a copy made once stays the same object: its bytes are kept too
            kept = self._encoded.get(key)
            if kept is None or kept[0] is not doc:
                kept = self._encoded[key] = (doc, encode(doc))
            parts.append(kept[1])
        return total, parts

    def _page(self, status: str | None, start: int, limit: int) -> tuple[int, list[str]]:
        if not self._sorted:
            for entries in self._lists.values():
                entries.sort()
            self._sorted = True
        ascending = self._lists.get(status if status else EVERY, [])
        total = len(ascending)
        if start >= 0 and limit >= 0:
            chosen = ascending[max(0, total - start - limit) : max(0, total - start)][::-1]
        else:  # what slicing the newest-first list would give (the spec allows neither)
            chosen = ascending[::-1][start : start + limit]
        return total, [found[2] for found in chosen]


def _made(doc: Document | Lazy) -> Document:
    return doc.doc if isinstance(doc, Lazy) else doc
