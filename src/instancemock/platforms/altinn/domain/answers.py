"""Whole Storage query answers, kept until the instances they were made from change.

A client polling Storage asks the same query again and again (`lastChanged=gt:<its last run>`,
the same page size, the same token), and between two of its polls the instances mostly have not
changed. The answer is a function of the request (path, query string, owner header, the host it
was sent to), of what the caller's token says (`Principal`'s fields), and of the stored instances:
nothing in it reads the clock. So `storage.py` files each answer body it sends under the request
facts, and `InstanceIndex` (index.py), which the store tells of every write, counts its changes:
an answer is only ever handed out for the count it was made at, and the first look after a write
drops every answer kept.

Bounded twice: at most `ANSWER_LIMIT` answers, none larger than `ANSWER_BYTES` (a page of a few
hundred instances), so the cache holds at most a few megabytes whatever clients ask.
"""

from __future__ import annotations

from collections.abc import Hashable

ANSWER_LIMIT = 64
ANSWER_BYTES = 256 * 1024


class Answers:
    """Answer bodies by request facts, for one count of the index's changes."""

    __slots__ = ("_bodies", "_changes", "byte_limit", "limit")

    def __init__(self, limit: int = ANSWER_LIMIT, byte_limit: int = ANSWER_BYTES) -> None:
        self.limit = limit
        self.byte_limit = byte_limit
        self._changes = -1  # the count the kept answers were made at
        self._bodies: dict[Hashable, bytes] = {}

    def get(self, changes: int, key: Hashable) -> bytes | None:
        """The body kept for `key`, if the instances are still as they were when it was made."""
        if changes != self._changes:
            self._bodies.clear()
            self._changes = changes
            return None
        return self._bodies.get(key)

    def put(self, changes: int, key: Hashable, body: bytes) -> None:
        """Keep `body` (made at `changes`); the oldest answer makes way beyond the limit."""
        if changes != self._changes:
            self._bodies.clear()
            self._changes = changes
        if len(body) > self.byte_limit:
            return
        if len(self._bodies) >= self.limit and key not in self._bodies:
            del self._bodies[next(iter(self._bodies))]
        self._bodies[key] = body

    def __len__(self) -> int:
        return len(self._bodies)
