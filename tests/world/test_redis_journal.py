"""The shared journal (`SharedJournal` on Redis) keeps the memory journal's bounds: `size` entries,
and at most `body_bytes` of bodies across them, the oldest bodies dropped first."""

from __future__ import annotations

from datetime import UTC, datetime

from redis.asyncio import Redis

from instancemock.core.journal import Filter, Journal, JournalEntry, KeptBody, SharedJournal
from instancemock.world.redis_store import journal_keys

from redis_server import replica


def entry_with_body(size: int, api: str = "kianda") -> JournalEntry:
    entry = JournalEntry(0, datetime(2026, 1, 1, tzinfo=UTC), api, "default", "POST", "/p", "/p", {}, {}, size)
    entry.request_body = KeptBody.of(b"x" * size, "text/plain")
    return entry


async def kept_in_redis(url: str, admin: bool = False) -> tuple[int, int, int]:
    """What Redis holds beside the stream: bodies, ids holding them, and their total size."""
    _, bodies, holding, total = journal_keys(admin)
    async with Redis.from_url(url) as client:
        return await client.hlen(bodies), await client.llen(holding), int(await client.get(total) or 0)


async def test_the_total_bound_drops_the_oldest_bodies_first_as_in_memory(redis_url: str) -> None:
    memory = Journal(size=10, body_bytes=2500)
    async with replica(redis_url) as shared_streams:
        shared = SharedJournal(shared_streams, size=10, body_bytes=2500)
        for journal in (memory, shared):
            await journal.wipe()
            for _ in range(5):
                await journal.record(entry_with_body(1000))
        remembered = await memory.search(Filter())
        listed = await shared.search(Filter())
        assert [e.id for e in listed] == [5, 4, 3, 2, 1]
        assert [e.request_body is not None for e in listed] == [True, True, False, False, False]
        for mine, theirs in zip(remembered, listed, strict=True):  # memory's ids come from the pipeline
            mine.id = theirs.id
        assert [e.as_json() for e in listed] == [e.as_json() for e in remembered]
        assert listed[-1].bodies_dropped and listed[-1].as_json()["bodiesDropped"]
        assert listed[0].as_json()["requestBody"]["size"] == 1000
    assert await kept_in_redis(redis_url) == (2, 2, 2000)


async def test_entries_the_stream_drops_take_their_bodies_with_them(redis_url: str) -> None:
    async with replica(redis_url) as shared_streams:
        shared = SharedJournal(shared_streams, size=3, body_bytes=10_000)
        for _ in range(49):
            await shared.record(entry_with_body(1000))
        listed = await shared.search(Filter())
        assert [e.id for e in listed] == [49, 48, 47]
        assert all(e.request_body is not None and not e.bodies_dropped for e in listed)
    assert await kept_in_redis(redis_url) == (3, 3, 3000)


async def test_the_admin_journal_keeps_an_eighth_and_clearing_forgets_every_body(redis_url: str) -> None:
    async with replica(redis_url) as shared_streams:
        shared = SharedJournal(shared_streams, size=10, admin_size=10, body_bytes=8000)
        for _ in range(3):
            await shared.record(entry_with_body(600, api="admin"))
        listed = await shared.search(Filter(api="admin"))
        assert [e.request_body is not None for e in listed] == [True, False, False]  # 1000 bytes of room
        assert await kept_in_redis(redis_url, admin=True) == (1, 1, 600)
        await shared.record(entry_with_body(100))
        assert await shared.wipe() == 4
        assert await shared.search(Filter()) == []
    assert await kept_in_redis(redis_url) == (0, 0, 0)
    assert await kept_in_redis(redis_url, admin=True) == (0, 0, 0)
