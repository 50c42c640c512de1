"""The instance list's index (platforms/barium/order.py) pages exactly as filtering and sorting
every instance did (`access.newest_first`), through adds, replaces and deletes, and the list
served from it stays current as instances start."""

from __future__ import annotations

import random
from typing import Any

from instancemock.platforms.barium.access import newest_first
from instancemock.platforms.barium.order import InstanceOrder
from instancemock.world.store import MemoryStore

STATUSES = ("active", "ready", "completed", "aborted")


def instance(rng: random.Random, number: int) -> dict[str, Any]:
    day = rng.randrange(1, 6)  # few distinct dates: ties on StartDate are ordered by Id
    return {
        "Id": f"{rng.randrange(16**6):06x}-{number}",
        "Status": rng.choice(STATUSES),
        "StartDate": None if rng.random() < 0.1 else f"2026-01-0{day}T10:00:00Z",
    }


def expected(docs: dict[str, dict[str, Any]], status: str | None, start: int, limit: int) -> tuple[int, list[str]]:
    matching = [d for d in docs.values() if not status or d.get("Status") == status]
    ordered = newest_first(matching, "StartDate")
    return len(ordered), [d["Id"] for d in ordered[start : start + limit]]


async def test_the_index_pages_as_sorting_every_instance_did() -> None:
    rng = random.Random(13)
    store = MemoryStore()
    docs: dict[str, dict[str, Any]] = {}
    for number in range(200):
        doc = instance(rng, number)
        docs[doc["Id"]] = doc
        await store.put("instances", doc["Id"], doc)
    order = await store.index("instances", InstanceOrder)
    for step in range(300):
        key = rng.choice(sorted(docs))
        if step % 3 == 0:  # a replace: another status, another start
            changed = {**docs[key], "Status": rng.choice(STATUSES), "StartDate": f"2026-02-0{rng.randrange(1, 9)}"}
            docs[key] = changed
            await store.put("instances", key, changed)
        elif step % 3 == 1:
            del docs[key]
            await store.delete("instances", key)
        else:
            doc = instance(rng, 1000 + step)
            docs[doc["Id"]] = doc
            await store.put("instances", doc["Id"], doc)
        status = rng.choice((None, "", *STATUSES, "unknown"))
        start, limit = rng.choice((0, 0, 3, 50, 400)), rng.choice((1, 10, 100))
        total, shown = order.newest_first(status, start, limit)
        assert (total, [d["Id"] for d in shown]) == expected(docs, status, start, limit)


async def test_an_instance_filed_before_the_first_read_is_sorted_in() -> None:
    store = MemoryStore()
    order = await store.index("instances", InstanceOrder)
    for number, day in enumerate((3, 1, 2)):
        await store.put(
            "instances", f"i{number}", {"Id": f"i{number}", "Status": "active", "StartDate": f"2026-01-0{day}"}
        )
    total, shown = order.newest_first("active", 0, 10)
    assert total == 3 and [d["Id"] for d in shown] == ["i0", "i2", "i1"]
    assert order.newest_first("active", 1, 1)[1][0]["Id"] == "i2"
    assert order.newest_first(None, 5, 10) == (3, [])


async def test_listed_summaries_are_encoded_once_per_stored_document() -> None:
    """The list sends each instance's summary as first encoded, until a write replaces the
    instance: then the new document is encoded (a kept summary of the old one would be stale)."""
    store = MemoryStore()
    for number in range(3):
        doc = {"Id": f"i{number}", "Status": "active", "StartDate": f"2026-01-0{number + 1}"}
        await store.put("instances", f"i{number}", doc)
    order = await store.index("instances", InstanceOrder)
    encoded: list[str] = []

    def encode(doc: dict[str, Any]) -> bytes:
        encoded.append(doc["Id"])
        return f"{doc['Id']}:{doc['Status']}".encode()

    assert order.newest_first_encoded("active", 0, 2, encode) == (3, [b"i2:active", b"i1:active"])
    assert order.newest_first_encoded(None, 0, 3, encode) == (3, [b"i2:active", b"i1:active", b"i0:active"])
    assert encoded == ["i2", "i1", "i0"]
    await store.put("instances", "i1", {"Id": "i1", "Status": "completed", "StartDate": "2026-01-02"})
    assert order.newest_first_encoded(None, 0, 3, encode) == (3, [b"i2:active", b"i1:completed", b"i0:active"])
    assert order.newest_first_encoded("active", 0, 10, encode) == (2, [b"i2:active", b"i0:active"])
    assert encoded == ["i2", "i1", "i0", "i1"]
