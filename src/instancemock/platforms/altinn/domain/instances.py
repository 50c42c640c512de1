"""Instances as the store holds them, and the small changes every writer makes to them.

The store's collection `instances` is keyed by instance GUID. Each document is the instance in
Storage's shape (camelCase, `readStatus` as a string, `instanceOwner.partyId` as text) without
`selfLinks` (they depend on the host a client used and are added when rendering) plus private
members that start with `_`:

- `_seq`: the internal row id (Storage's sequence number) that breaks ties in sort order and
  forms the second half of a continuation token. Allocate it with `next_seq()`.

Absent values are simply missing keys; renderers decide whether to omit them (Storage) or write
`null` (App API).
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from instancemock.world.clock import iso
from instancemock.world.store import Document, Store, VersionConflict

INSTANCES = "instances"
META = "meta"  # private counters
SEQUENCE_KEY = "instanceSequence"
READ_STATUSES = ("Unread", "Read", "UpdatedSinceLastReview")


def guid_of(doc: Document) -> str:
    return str(doc["id"]).split("/", 1)[1]


def party_of(doc: Document) -> str:
    return str(doc["instanceOwner"]["partyId"])


def mutable(doc: Document) -> Document:
    """A deep copy to change: stored documents are never mutated in place."""
    return copy.deepcopy(doc)


def touch(doc: Document, now: datetime, by: str) -> Document:
    """Record a change the way Storage does: `lastChanged` = now, `lastChangedBy` = the caller."""
    doc["lastChanged"] = iso(now)
    doc["lastChangedBy"] = by
    return doc


async def next_seq(store: Store) -> int:
    """The next internal row id, allocated with optimistic locking so two creates never share one."""
    while True:
        current = await store.get(META, SEQUENCE_KEY)
        value = int(current.doc["value"]) + 1 if current else await _highest_seq(store) + 1
        try:
            await store.put(META, SEQUENCE_KEY, {"value": value}, expect=current.version if current else 0)
        except VersionConflict:
            continue
        return value


async def _highest_seq(store: Store) -> int:
    return max((int(s.doc.get("_seq", 0)) for s in await store.list(INSTANCES)), default=0)


def read_status_name(value: Any) -> str | None:
    """`Read`, `read`, `1` -> `Read`; None when the value is no read status."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return READ_STATUSES[value] if 0 <= value < len(READ_STATUSES) else None
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return read_status_name(int(text))
        return next((name for name in READ_STATUSES if name.lower() == text.lower()), None)
    return None


def is_confirmed_by(doc: Document, stakeholder: str) -> bool:
    return any(c.get("stakeholderId") == stakeholder for c in doc.get("completeConfirmations") or [])


def is_hard_deleted_element(element: Document) -> bool:
    return bool((element.get("deleteStatus") or {}).get("isHardDeleted"))
