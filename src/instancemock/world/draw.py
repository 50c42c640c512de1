"""Cheap draws from a seeded Random, for seeders that make hundreds of thousands of documents.

`Random.randint`, `choice` and `choices` run several Python frames per draw, and
`uuid.UUID(...)` builds an object only to print it; at 100,000 instances per API those frames are
most of the start-up time. These helpers take one `random()` or `getrandbits()` each and stay
deterministic for a given generator, so a world is still a function of (seed, --now).
"""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Sequence
from itertools import accumulate
from typing import Generic, TypeVar

T = TypeVar("T")

# RFC 4122 version 4: the version nibble is 4 and the variant bits are 10, as uuid.UUID(version=4) sets them.
_KEEP = ~((0xF000 << 64) | (0xC000 << 48))
_SET = (0x4000 << 64) | (0x8000 << 48)


def guid(rng: random.Random) -> str:
    """A version-4 GUID in canonical text form; the same as `str(uuid.UUID(int=rng.getrandbits(128), version=4))`."""
    text = "%032x" % (rng.getrandbits(128) & _KEEP | _SET)
    return "-".join((text[:8], text[8:12], text[12:16], text[16:20], text[20:]))


def between(rng: random.Random, low: int, high: int) -> int:
    """An integer in [low, high], like `randint` but in one call."""
    return low + int(rng.random() * (high - low + 1))


def one_of(rng: random.Random, items: Sequence[T]) -> T:
    """Like `rng.choice`, in one call."""
    return items[int(rng.random() * len(items))]


class Weighted(Generic[T]):
    """Choices with fixed weights: cumulative weights summed once, one `random()` per draw."""

    __slots__ = ("_cumulative", "_items", "_total")

    def __init__(self, items: Sequence[T], weights: Sequence[float]) -> None:
        self._items = list(items)
        self._cumulative = list(accumulate(weights))
        self._total = self._cumulative[-1]

    def draw(self, rng: random.Random) -> T:
        return self._items[bisect(self._cumulative, rng.random() * self._total)]
