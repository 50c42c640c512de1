"""Altinn instances in the query's order, all of them and by org, by app and by owner party.

Storage's instance query (query.py) answers from here instead of reading every instance: each
list holds `(lastChanged in ticks, _seq, key, flags)` in ascending order, so a `lastChanged`
range and a continuation token are bisections, the status filters are bit tests on `flags`, and
a query that filters on nothing else counts its hits without looking at a document. The store
keeps the index current (`Store.index` in world/store.py); this module only decides what an
instance is filed under.

A large world's copies (world/replica.py) are filed without being made (`add_lazy`): what an
instance is filed under but `lastChanged` and `_seq` is its sample's (copying changes only
instants and GUIDs), `lastChanged` is the sample's moved back whole days, and `_seq` is the
copy's number (seed.py's `finish`). A copy is made when a query first reads it.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator

from instancemock.platforms.altinn.domain.answers import Answers
from instancemock.platforms.altinn.domain.instances import is_confirmed_by
from instancemock.platforms.altinn.domain.serialize import WireForms
from instancemock.platforms.altinn.domain.ticks import stored_ticks
from instancemock.world import replica
from instancemock.world.store import Document, Lazy, Stored

Entry = tuple[int, int, str, int]  # (ticks of lastChanged, _seq, store key, flags): sort key, tie-break, facts
Facet = tuple[str, str]  # ("org", "ttd"), ("app", "ttd/melding"), ("party", "50001001"); ("", "") = all

EVERY: Facet = ("", "")

# Flags: what the status filters ask of an instance, as `Query.matches` reads it.
ARCHIVED = 1  # status.isArchived
SOFT_DELETED = 2  # status.isSoftDeleted
HARD_DELETED = 4  # status.isHardDeleted
ENDED = 8  # process.ended is set (process.isComplete=true)
AT_TASK = 16  # process.currentTask is set (process.isComplete=false)
CONFIRMED = 32  # confirmed by its own org (confirmed; excludeConfirmedBy of that org)


def facets(doc: Document) -> tuple[Facet, ...]:
    """What `doc` is filed under: exactly the values `Query.matches` compares org, app and party with."""
    org, app = doc.get("org"), doc.get("appId")
    owner = doc.get("instanceOwner") or {}
    found = [EVERY, ("party", str(owner.get("partyId")))]
    if isinstance(org, str):
        found.append(("org", org))
    if isinstance(app, str):
        found.append(("app", app))
    return tuple(found)


def flags(doc: Document) -> int:
    status = doc.get("status") or {}
    process = doc.get("process") or {}
    return (
        (ARCHIVED if status.get("isArchived") else 0)
        | (SOFT_DELETED if status.get("isSoftDeleted") else 0)
        | (HARD_DELETED if status.get("isHardDeleted") else 0)
        | (ENDED if process.get("ended") is not None else 0)
        | (AT_TASK if process.get("currentTask") is not None else 0)
        | (CONFIRMED if is_confirmed_by(doc, str(doc.get("org"))) else 0)
    )


DAY_TICKS = 86_400 * 10_000_000


def entry(key: str, doc: Document) -> Entry:
    """Where `doc` sorts; an unreadable `lastChanged` (only a hand-edited state import has one) sorts first."""
    try:
        changed = stored_ticks(str(doc["lastChanged"]))
    except (KeyError, ValueError):
        changed = 0
    seq = doc.get("_seq", 0)
    return changed, seq if isinstance(seq, int) else 0, key, flags(doc)


def _sample_facts(sample: Document) -> tuple[tuple[Facet, ...], int, int | None]:
    """What a copy of `sample` is filed under, its flags, and the ticks of the sample's
    `lastChanged` if copies move it (None: read each copy's own)."""
    changed = sample.get("lastChanged")
    ticks = entry("", sample)[0] if replica.is_instant(changed) else None
    return facets(sample), flags(sample), ticks


def copy_entry(key: str, copy: replica.Deferred) -> tuple[Entry, tuple[Facet, ...]]:
    """`entry` and `facets` of a copy not made yet, read off the copy (the same as of the made one)."""
    filed, flagged, ticks = copy.facts(_sample_facts)
    if ticks is None:
        changed = copy.top("lastChanged")
        ticks = entry("", {"lastChanged": changed})[0] if changed is not None else 0
    else:
        ticks -= copy.days_back * DAY_TICKS
    seq = copy.number
    return (ticks, seq if isinstance(seq, int) else 0, key, flagged), filed


class Documents:
    """The instances by key, as `InstanceIndex.docs`: a copy not made yet is kept as its `Lazy`
    and made when first read through here."""

    __slots__ = ("_items",)

    def __init__(self) -> None:
        self._items: dict[str, Document | Lazy] = {}

    def __getitem__(self, key: str) -> Document:
        found = self._items[key]
        return found.doc if isinstance(found, Lazy) else found

    def __setitem__(self, key: str, doc: Document | Lazy) -> None:
        self._items[key] = doc

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def pop(self, key: str) -> Document | None:
        """Remove the key; its document if it was made (nothing was ever encoded of one that was not)."""
        found = self._items.pop(key)
        if isinstance(found, Lazy):
            return found.doc if found.made else None
        return found


class InstanceIndex:
    """Sorted entries per facet, each list with its flags alongside as bytes, and the documents by
    key (the very objects the store holds).

    The flags' bytes let a status filter be counted and paged by `bytes.translate`, `count` and
    `find` (query.py) instead of a Python loop over the entries. Filling appends and sorts once,
    on first read: the store adds every document of a large world in one go, and keeping each list
    sorted while it grows would move it once per document.

    `wire` caches the documents' encoded Storage forms (serialize.py); the index is told of every
    write, so it drops a document's forms when the document is replaced or deleted.

    `changes` counts the adds and discards (every write the store tells of); `answers` keeps whole
    query answers for the count they were made at (answers.py). Whatever fills or changes the index
    must pass through `add` or `discard`, or kept answers would outlive the instances they show.
    """

    def __init__(self) -> None:
        self.docs = Documents()
        self._entries: dict[str, tuple[Entry, tuple[Facet, ...]]] = {}
        self._lists: dict[Facet, list[Entry]] = {EVERY: []}
        self._flags: dict[Facet, bytearray] = {EVERY: bytearray()}
        self._sorted = False
        self.wire = WireForms()
        self.changes = 0
        self.answers = Answers()

    def add_lazy(self, key: str, lazy: Lazy) -> None:
        """A seeded copy not made yet (world/store.py's `LazyIndex`): filed from what it says of itself."""
        if isinstance(lazy, replica.Deferred):
            self._file(key, lazy, *copy_entry(key, lazy))
        else:
            self.add(key, lazy.doc)

    def fill(self, items: Iterable[tuple[str, Stored]]) -> None:
        """Every document of the collection at once (`MemoryStore.attach`): `add_lazy` or `add`
        of each, in one loop."""
        self.changes += 1  # whatever is filed below, no answer kept before it stands
        if self._sorted:
            for key, stored in items:
                self.add_lazy(key, stored) if isinstance(stored, Lazy) else self.add(key, stored.doc)
            return
        docs, filed_under, lists = self.docs._items, self._entries, self._lists
        # the lists a sample's copies go to, by the sample's facets (the one tuple `facts` keeps per sample)
        targets: dict[int, list[list[Entry]]] = {}
        for key, stored in items:
            if not isinstance(stored, replica.Deferred):
                self.add(key, stored.doc)
                continue
            (filed, flagged, ticks), days = stored.facts_and_days(_sample_facts)
            if ticks is None:
                found, filed = copy_entry(key, stored)
            else:  # `copy_entry`, inline
                seq = stored.number
                found = (ticks - days.days * DAY_TICKS, seq if isinstance(seq, int) else 0, key, flagged)
            docs[key] = stored
            filed_under[key] = (found, filed)
            into = targets.get(id(filed))
            if into is None:
                into = targets[id(filed)] = [lists.setdefault(facet, []) for facet in filed]
            for entries in into:
                entries.append(found)

    def add(self, key: str, doc: Document) -> None:
        self._file(key, doc, entry(key, doc), facets(doc))

    def _file(self, key: str, doc: Document | Lazy, found: Entry, filed: tuple[Facet, ...]) -> None:
        self.changes += 1  # kept answers (answers.py) are given out only at the count they were made at
        self.docs[key] = doc
        self._entries[key] = (found, filed)
        if not self._sorted:  # filling: appended, sorted (and the flags made) on first read
            lists = self._lists
            for facet in filed:
                entries = lists.get(facet)
                if entries is None:
                    entries = lists[facet] = []
                entries.append(found)
            return
        for facet in filed:
            entries = self._lists.setdefault(facet, [])
            flags = self._flags.setdefault(facet, bytearray())
            if self._sorted and entries and not entries[-1] < found:
                at = bisect_left(entries, found)
                entries.insert(at, found)
                flags.insert(at, found[3])
            else:  # unsorted yet, or sorting last (a new instance: changed now): where bisect would put it
                entries.append(found)
                if self._sorted:
                    flags.append(found[3])

    def discard(self, key: str) -> None:
        known = self._entries.pop(key, None)
        if known is None:
            return
        self.changes += 1
        self._sort()
        found, filed = known
        made = self.docs.pop(key)
        if made is not None:
            self.wire.forget(made)
        for facet in filed:
            entries = self._lists[facet]
            at = bisect_left(entries, found)
            del entries[at]
            del self._flags[facet][at]
            if not entries and facet != EVERY:
                del self._lists[facet]
                del self._flags[facet]

    def entries(self, facet: Facet) -> list[Entry]:
        """The facet's entries in ascending order (empty if nothing is filed under it); do not change it."""
        self._sort()
        return self._lists.get(facet, [])

    def flags(self, facet: Facet) -> bytearray:
        """The flags of the facet's entries, in the same order; do not change it."""
        self._sort()
        return self._flags.get(facet, bytearray())

    def _sort(self) -> None:
        if not self._sorted:
            for facet, entries in self._lists.items():
                entries.sort()
                self._flags[facet] = bytearray(e[3] for e in entries)
            self._sorted = True
