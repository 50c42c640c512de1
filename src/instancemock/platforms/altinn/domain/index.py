"""Altinn instances in the query's order, all of them and by org, by app and by owner party.

Storage's instance query (query.py) answers from here instead of reading every instance: each
list holds `(lastChanged in ticks, _seq, key, flags)` in ascending order, so a `lastChanged`
range and a continuation token are bisections, the status filters are bit tests on `flags`, and
a query that filters on nothing else counts its hits without looking at a document. The store
keeps the index current (`Store.index` in world/store.py); this module only decides what an
instance is filed under.
"""

from __future__ import annotations

from bisect import bisect_left

from instancemock.platforms.altinn.domain.answers import Answers
from instancemock.platforms.altinn.domain.instances import is_confirmed_by
from instancemock.platforms.altinn.domain.serialize import WireForms
from instancemock.platforms.altinn.domain.ticks import stored_ticks
from instancemock.world.store import Document

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


def entry(key: str, doc: Document) -> Entry:
    """Where `doc` sorts; an unreadable `lastChanged` (only a hand-edited state import has one) sorts first."""
    try:
        changed = stored_ticks(str(doc["lastChanged"]))
    except (KeyError, ValueError):
        changed = 0
    seq = doc.get("_seq", 0)
    return changed, seq if isinstance(seq, int) else 0, key, flags(doc)


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
        self.docs: dict[str, Document] = {}
        self._entries: dict[str, tuple[Entry, tuple[Facet, ...]]] = {}
        self._lists: dict[Facet, list[Entry]] = {EVERY: []}
        self._flags: dict[Facet, bytearray] = {EVERY: bytearray()}
        self._sorted = False
        self.wire = WireForms()
        self.changes = 0
        self.answers = Answers()

    def add(self, key: str, doc: Document) -> None:
        self.changes += 1
        found = entry(key, doc)
        filed = facets(doc)
        self.docs[key] = doc
        self._entries[key] = (found, filed)
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
        self.wire.forget(self.docs.pop(key))
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
