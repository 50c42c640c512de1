"""Storage's instance query: filters, `lastChanged` order and continuation tokens.

Pure functions over stored documents, so the App API (whose "active instances" is this query)
and any future store can reuse them. Malformed input raises `QueryError` with the message the
client gets.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from instancemock.platforms.altinn.domain.instances import guid_of, is_confirmed_by
from instancemock.world.store import Document

DATE_OPERATORS = ("gt", "gte", "lt", "lte", "eq")
INSTANT_FIELDS = ("created", "lastChanged")  # parsed and compared as instants
TEXT_FIELDS = ("dueBefore", "visibleAfter", "process.ended")  # compared as ISO text
DATE_FIELDS = INSTANT_FIELDS + TEXT_FIELDS
DEFAULT_SIZE = 100
MAIN_VERSION = 3  # every mock instance is an Altinn 3 instance

EPOCH_TICKS = 621355968000000000  # .NET ticks at 1970-01-01T00:00:00Z
_MOMENT = re.compile(
    r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,7}))?)?)?)?)?"
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?$",
    re.IGNORECASE,
)


class QueryError(ValueError):
    """A query the client got wrong; the message is what Storage-style 400s say."""


def ticks(text: str) -> int:
    """ISO 8601 (date or date-time, optional offset; no offset = UTC) as .NET ticks (100 ns)."""
    found = _MOMENT.match(text.strip())
    if not found:
        raise ValueError(text)
    year, month, day, hour, minute, second, fraction, zone = found.groups()
    moment = datetime(
        int(year), int(month or 1), int(day or 1), int(hour or 0), int(minute or 0), int(second or 0), tzinfo=UTC
    )
    if zone and zone.upper() != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        moment -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
    whole = (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(seconds=1)
    return EPOCH_TICKS + whole * 10_000_000 + int((fraction or "0").ljust(7, "0")[:7])


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
            left: Any = ticks(stored)
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
        status = doc.get("status") or {}
        process = doc.get("process") or {}
        checks = (
            self.org is None or doc.get("org") == self.org,
            self.app_id is None or doc.get("appId") == self.app_id,
            self.party_id is None or str(doc["instanceOwner"]["partyId"]) == str(self.party_id),
            self.current_task is None or (process.get("currentTask") or {}).get("elementId") == self.current_task,
            self.is_complete is None
            or (process.get("ended") is not None if self.is_complete else process.get("currentTask") is not None),
            self.exclude_confirmed_by is None or not is_confirmed_by(doc, self.exclude_confirmed_by),
            self.confirmed is None or is_confirmed_by(doc, str(doc.get("org"))) == self.confirmed,
            self.is_archived is None or bool(status.get("isArchived")) == self.is_archived,
            self.is_soft_deleted is None or bool(status.get("isSoftDeleted")) == self.is_soft_deleted,
            self.is_hard_deleted is None or bool(status.get("isHardDeleted")) == self.is_hard_deleted,
            self.search is None or _texts_contain(doc, self.search),
            self.a3_ref is None or guid_of(doc).lower().endswith(self.a3_ref.lower()),
            self.a2_arch_ref is None or (doc.get("dataValues") or {}).get("A2ArchRef") == self.a2_arch_ref,
            self.main_version_include in (None, MAIN_VERSION),
            self.main_version_exclude != MAIN_VERSION,
        )
        return all(checks) and all(f.accepts(doc) for f in self.dates)

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


def sort_key(doc: Document) -> tuple[int, int]:
    return ticks(str(doc["lastChanged"])), int(doc.get("_seq", 0))


def _texts_contain(doc: Document, needle: str) -> bool:
    wanted = needle.lower()
    return any(wanted in str(v).lower() for v in (doc.get("presentationTexts") or {}).values())


def descending(order: str | None) -> bool:
    """`desc:...` (any case) sorts descending, anything else ascending; absent = `desc:lastChanged`."""
    return order is None or order.lower().startswith("desc:")
