"""Storage's instance query: filters, `lastChanged` order and continuation tokens.

Pure functions over stored documents, so the App API (whose "active instances" is this query)
and any future store can reuse them. Malformed input raises `QueryError` with the message the
client gets. `Query.select` answers from an `InstanceIndex` (index.py) with the same result as
filtering, ordering and paging every instance, at a cost that grows with the page, not the world.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import unquote

from instancemock.platforms.altinn.domain.index import (
    ARCHIVED,
    AT_TASK,
    CONFIRMED,
    ENDED,
    EVERY,
    HARD_DELETED,
    SOFT_DELETED,
    Entry,
    Facet,
    InstanceIndex,
)
from instancemock.platforms.altinn.domain.instances import guid_of, is_confirmed_by
from instancemock.platforms.altinn.domain.ticks import stored_ticks, ticks
from instancemock.world.store import Document

DATE_OPERATORS = ("gt", "gte", "lt", "lte", "eq")
INSTANT_FIELDS = ("created", "lastChanged")  # parsed and compared as instants
TEXT_FIELDS = ("dueBefore", "visibleAfter", "process.ended")  # compared as ISO text
DATE_FIELDS = INSTANT_FIELDS + TEXT_FIELDS
DEFAULT_SIZE = 100
MAIN_VERSION = 3  # every mock instance is an Altinn 3 instance
ALL_FLAGS = ARCHIVED | SOFT_DELETED | HARD_DELETED | ENDED | AT_TASK | CONFIRMED


class QueryError(ValueError):
    """A query the client got wrong; the message is what Storage-style 400s say."""


@dataclass(frozen=True, slots=True)
class DateFilter:
    name: str  # the query key, e.g. lastChanged, process.ended
    op: str
    value: str  # the text after the operator
    instant: int | None = None  # ticks, for INSTANT_FIELDS

    def accepts(self, doc: Document) -> bool:
        stored = _date_field(doc, self.name)
        if stored is None:
            return False
        if self.instant is not None:
            left: Any = stored_ticks(stored)
            right: Any = self.instant
        else:
            left, right = stored, self.value
        return {
            "gt": left > right,
            "gte": left >= right,
            "lt": left < right,
            "lte": left <= right,
            "eq": left == right,
        }[self.op]


def _date_field(doc: Document, name: str) -> str | None:
    if name == "process.ended":
        return (doc.get("process") or {}).get("ended")
    value = doc.get(name)
    return str(value) if value is not None else None


def date_filters(name: str, values: Iterable[str]) -> list[DateFilter]:
    """`op:value` expressions of one key: unknown operators are ignored."""
    found: list[DateFilter] = []
    for raw in values:
        op, colon, value = str(raw).partition(":")
        if not colon:
            raise QueryError(f"Invalid date expression: {raw} for query key: {name}")
        if op not in DATE_OPERATORS:
            continue
        if any(f.op == op for f in found):
            raise QueryError(f"Invalid date expression: {raw} for query key: {name}")
        instant = None
        if name in INSTANT_FIELDS:
            try:
                instant = ticks(value)
            except ValueError:
                raise QueryError(f"Invalid date expression: {raw} for query key: {name}") from None
        found.append(DateFilter(name, op, value, instant))
    return found


@dataclass(frozen=True, slots=True)
class Cursor:
    ticks: int
    seq: int

    def encoded(self) -> str:
        """As it appears in a `next` link: `{ticks};{seq}` URL-encoded twice (`%253b`)."""
        return f"{self.ticks}%253b{self.seq}"


def parse_token(text: str) -> Cursor:
    """A `continuationToken` as the client sent it (already decoded once by the URL parser)."""
    # The token of a `next` link arrives as `{ticks}%3b{seq}`: its one escape is read directly,
    # anything else goes through `unquote` (which cost as much as the rest of this query's parsing).
    if text.count("%") == 1 and text.partition("%")[2][:2].lower() == "3b":
        decoded = text.replace("%3b", ";").replace("%3B", ";")
    else:
        decoded = unquote(text)
    left, semicolon, right = decoded.partition(";")
    if not semicolon or not left.strip().isdigit() or not right.strip().lstrip("-").isdigit():
        raise QueryError(f"Invalid continuationToken: {text}")
    return Cursor(int(left), int(right))


@dataclass(slots=True)
class Query:
    org: str | None = None
    app_id: str | None = None
    party_id: int | None = None
    current_task: str | None = None
    is_complete: bool | None = None
    dates: list[DateFilter] = field(default_factory=list)
    exclude_confirmed_by: str | None = None
    confirmed: bool | None = None
    is_archived: bool | None = None
    is_soft_deleted: bool | None = None
    is_hard_deleted: bool | None = None
    search: str | None = None
    a3_ref: str | None = None
    a2_arch_ref: str | None = None
    main_version_include: int | None = None
    main_version_exclude: int | None = None
    descending: bool = True
    size: int = DEFAULT_SIZE
    after: Cursor | None = None

    def matches(self, doc: Document) -> bool:
        """Does `doc` pass every filter? (Cheapest checks first; the first that fails decides.)"""
        if not self.main_version_matches():
            return False
        if self.org is not None and doc.get("org") != self.org:
            return False
        if self.app_id is not None and doc.get("appId") != self.app_id:
            return False
        if self.party_id is not None and str(doc["instanceOwner"]["partyId"]) != str(self.party_id):
            return False
        status = doc.get("status") or {}
        process = doc.get("process") or {}
        if self.is_archived is not None and bool(status.get("isArchived")) != self.is_archived:
            return False
        if self.is_soft_deleted is not None and bool(status.get("isSoftDeleted")) != self.is_soft_deleted:
            return False
        if self.is_hard_deleted is not None and bool(status.get("isHardDeleted")) != self.is_hard_deleted:
            return False
        if self.current_task is not None and (process.get("currentTask") or {}).get("elementId") != self.current_task:
            return False
        if self.is_complete is not None and (
            process.get("ended") is None if self.is_complete else process.get("currentTask") is None
        ):
            return False
        if self.exclude_confirmed_by is not None and is_confirmed_by(doc, self.exclude_confirmed_by):
            return False
        if self.confirmed is not None and is_confirmed_by(doc, str(doc.get("org"))) != self.confirmed:
            return False
        if self.search is not None and not _texts_contain(doc, self.search):
            return False
        if self.a3_ref is not None and not guid_of(doc).lower().endswith(self.a3_ref.lower()):
            return False
        if self.a2_arch_ref is not None and (doc.get("dataValues") or {}).get("A2ArchRef") != self.a2_arch_ref:
            return False
        return all(f.accepts(doc) for f in self.dates)

    def order(self, docs: Iterable[Document]) -> list[Document]:
        """By `lastChanged`, then the internal row id, both in the one direction asked for."""
        return sorted(docs, key=sort_key, reverse=self.descending)

    def page(self, ordered: Sequence[Document]) -> tuple[list[Document], Cursor | None]:
        """The rows after the cursor, at most `size`; the next cursor iff the page is full."""
        rows = list(ordered)
        if self.after is not None:
            mark = (self.after.ticks, self.after.seq)
            rows = [d for d in rows if (sort_key(d) < mark if self.descending else sort_key(d) > mark)]
        chosen = rows[: self.size]
        if self.size == 0 or len(chosen) < self.size:
            return chosen, None
        last = sort_key(chosen[-1])
        return chosen, Cursor(*last)

    def select(
        self, index: InstanceIndex, allowed: Callable[[Document], bool] | None = None
    ) -> tuple[list[Document], int, Cursor | None]:
        """The page, the number of all matches, and the next cursor, from the index.

        The same answer as `page(order(matches))` over every instance (that `allowed` lets
        through). A query on one of org, app or party, a `lastChanged` window and status filters
        costs two bisections, a bit test per instance in the window, and the page; any other filter
        (or `allowed`) reads the documents in the window. Entries that tie on (`lastChanged`,
        `_seq`) follow their keys.
        """
        if not self.main_version_matches():
            return [], 0, None
        facets = self._facets()
        if len(facets) == 1:  # the usual query: one of org, app or party (or none)
            chosen, entries = facets[0], index.entries(facets[0])
        else:
            chosen, entries = min(((f, index.entries(f)) for f in facets), key=lambda found: len(found[1]))
        low, high = self._changed_range(entries)
        mask, want = self._flag_filter(chosen)
        passing = index.flags(chosen)[low:high].translate(_passing(mask, want)) if mask else None
        if allowed is None and not self._reads_documents(chosen):
            total = high - low if passing is None else passing.count(1)
            rows = self._next_rows(entries, low, high, passing)
        else:
            docs = index.docs
            window = entries[low:high] if passing is None else [entries[low + i] for i in _ones(passing)]
            hits = [e for e in window if self.matches(docs[e[2]]) and (allowed is None or allowed(docs[e[2]]))]
            total = len(hits)
            rows = self._next_rows(hits, 0, len(hits), None)
        page = [index.docs[e[2]] for e in rows]
        if self.size == 0 or len(page) < self.size:
            return page, total, None
        return page, total, Cursor(rows[-1][0], rows[-1][1])

    def _next_rows(self, entries: list[Entry], low: int, high: int, passing: bytearray | None) -> list[Entry]:
        """Up to `size` entries of `entries[low:high]` after the cursor, in the query's direction;
        with `passing` (a byte per entry of the range, 1: it passes the status filters), only those."""
        descending = self.descending
        if self.after is None:
            start, end = low, high
        elif descending:
            start, end = low, max(low, bisect_left(entries, self._mark(), low, high))
        else:
            start, end = bisect_left(entries, self._mark(), low, high), high
        if passing is None:
            chosen = (
                entries[max(start, end - self.size) : end][::-1]
                if descending
                else entries[start : min(end, start + self.size)]
            )
            return chosen
        rows: list[Entry] = []
        at = end - low if descending else start - low
        while len(rows) < self.size:
            at = passing.rfind(1, start - low, at) if descending else passing.find(1, at, end - low)
            if at < 0:
                break
            rows.append(entries[low + at])
            at += 0 if descending else 1
        return rows

    def main_version_matches(self) -> bool:
        return self.main_version_include in (None, MAIN_VERSION) and self.main_version_exclude != MAIN_VERSION

    def _facets(self) -> list[Facet]:
        given = [("org", self.org), ("app", self.app_id), ("party", self.party_id)]
        return [(name, str(value)) for name, value in given if value is not None] or [EVERY]

    def _flag_filter(self, facet: Facet) -> tuple[int, int]:
        """The status filters as a bit test on an entry's flags: `flags & mask == want`."""
        mask = want = 0
        for flag, value in (
            (ARCHIVED, self.is_archived),
            (SOFT_DELETED, self.is_soft_deleted),
            (HARD_DELETED, self.is_hard_deleted),
            (ENDED, True if self.is_complete else None),
            (AT_TASK, True if self.is_complete is False else None),
            (CONFIRMED, self.confirmed),
            (CONFIRMED, False if self._excludes_own_org(facet) else None),
        ):
            if value is not None:
                if mask & flag and bool(want & flag) != value:
                    return ALL_FLAGS, -1  # confirmed=true and excludeConfirmedBy its org: nothing passes
                mask |= flag
                want |= flag if value else 0
        return mask, want

    def _excludes_own_org(self, facet: Facet) -> bool:
        """excludeConfirmedBy names the org every instance of the facet has: a flag test will do."""
        return self.exclude_confirmed_by is not None and facet == ("org", self.exclude_confirmed_by)

    def _reads_documents(self, facet: Facet) -> bool:
        """Must a filter look at the documents? (Not for `facet`, `lastChanged` and status filters.)"""
        kind = facet[0]
        others = (
            (self.org is not None and kind != "org")
            or (self.app_id is not None and kind != "app")
            or (self.party_id is not None and kind != "party")
        )
        rest = (self.current_task, self.search, self.a3_ref, self.a2_arch_ref)
        excluding = self.exclude_confirmed_by is not None and not self._excludes_own_org(facet)
        return (
            others
            or excluding
            or any(value is not None for value in rest)
            or any(f.name != "lastChanged" for f in self.dates)
        )

    def _changed_range(self, entries: list[Entry]) -> tuple[int, int]:
        """The slice of `entries` that the `lastChanged` filters let through."""
        low, high = 0, len(entries)
        for found in self.dates:
            if found.name != "lastChanged" or found.instant is None:
                continue
            at, after = (found.instant,), (found.instant + 1,)
            if found.op in ("gt", "gte", "eq"):
                low = max(low, bisect_left(entries, after if found.op == "gt" else at))
            if found.op in ("lt", "lte", "eq"):
                high = min(high, bisect_left(entries, after if found.op in ("lte", "eq") else at))
        return low, max(low, high)

    def _mark(self) -> tuple[int, int]:
        """Where the cursor falls among entries: before its own (descending) or after it (ascending)."""
        assert self.after is not None
        return (self.after.ticks, self.after.seq) if self.descending else (self.after.ticks, self.after.seq + 1)


@cache
def _passing(mask: int, want: int) -> bytes:
    """A `bytes.translate` table: each flags byte to 1 if `flags & mask == want`, else 0."""
    return bytes(1 if flags & mask == want else 0 for flags in range(256))


def _ones(passing: bytearray) -> Iterator[int]:
    """The positions of the 1 bytes."""
    at = passing.find(1)
    while at >= 0:
        yield at
        at = passing.find(1, at + 1)


def sort_key(doc: Document) -> tuple[int, int]:
    return stored_ticks(str(doc["lastChanged"])), int(doc.get("_seq", 0))


def _texts_contain(doc: Document, needle: str) -> bool:
    wanted = needle.lower()
    return any(wanted in str(v).lower() for v in (doc.get("presentationTexts") or {}).values())


def descending(order: str | None) -> bool:
    """`desc:...` (any case) sorts descending, anything else ascending; absent = `desc:lastChanged`."""
    return order is None or order.lower().startswith("desc:")
