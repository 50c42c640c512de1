"""The seeding lock is a lease renewed while seeding: a seeding that outlives the lease keeps it,
and a replica that died while seeding holds the others up for one lease, not minutes."""

from __future__ import annotations

import asyncio
import threading

import pytest
from redis.asyncio import Redis

from instancemock.world import redis_store
from instancemock.world.redis_store import lock_key, sandbox_key
from instancemock.world.store import MemoryStore

from redis_server import replica

LEASE = 0.3  # seconds; the real one is redis_store.LOCK_SECONDS


@pytest.fixture(autouse=True)
def short_lease(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redis_store, "LOCK_SECONDS", LEASE)


def world(calls: list[str], name: str) -> MemoryStore:
    calls.append(name)
    return MemoryStore({"instances": {"a": {"by": name}}})


async def test_a_seeding_that_outlives_the_lease_keeps_the_lock_and_seeds_once(redis_url: str) -> None:
    calls: list[str] = []
    release = threading.Event()
    started = threading.Event()

    def slow() -> MemoryStore:
        started.set()
        release.wait(30)  # held until the test has seen the lease renewed several times
        return world(calls, "one")

    async with replica(redis_url) as one, replica(redis_url) as two, Redis.from_url(redis_url) as probe:
        first = asyncio.create_task(one.generation("default", "toy", slow))
        await asyncio.to_thread(started.wait, 30)
        key = lock_key("default", "toy")
        owner = await probe.get(key)
        assert owner is not None and 0 < await probe.pttl(key) <= LEASE * 1000
        await asyncio.sleep(LEASE * 4)  # four leases: only renewal keeps the lock
        assert await probe.get(key) == owner
        second = asyncio.create_task(two.generation("default", "toy", lambda: world(calls, "two")))
        await asyncio.sleep(LEASE * 2)
        assert not second.done()  # still waiting for the lock
        release.set()
        generations = await asyncio.gather(first, second)
        assert calls == ["one"] and generations[0] == generations[1]
        assert await probe.exists(key) == 0  # released once seeded


async def test_a_lock_left_by_a_replica_that_died_frees_the_world_after_one_lease(redis_url: str) -> None:
    calls: list[str] = []
    async with replica(redis_url) as survivor, Redis.from_url(redis_url) as probe:
        # what a replica killed while seeding leaves behind: its lock, with the rest of its lease
        await probe.set(lock_key("default", "toy"), "dead-replica", px=int(LEASE * 1000))
        generation = await asyncio.wait_for(survivor.generation("default", "toy", lambda: world(calls, "s")), 10)
        assert calls == ["s"]
        assert await probe.hget(sandbox_key("default"), "toy") == generation


async def test_a_second_seeding_after_a_lapsed_lease_keeps_the_world_named_first(redis_url: str) -> None:
    calls: list[str] = []
    async with replica(redis_url) as late, Redis.from_url(redis_url) as probe:
        named = await late._write_world("default", "toy", world(calls, "first"))
        again = await late._write_world("default", "toy", world(calls, "second"), first=True)
        assert again == named  # the late seeding is dropped, not named over the first
        assert await probe.hget(sandbox_key("default"), "toy") == named
        dropped = int(again) + 1  # the generation the second seeding wrote under: unlinked
        assert [key async for key in probe.scan_iter(f"im:w:{dropped}:*")] == []
        store = late.adopt("default", "toy", lambda: world(calls, "third"))
        assert [s.doc for s in await store.list("instances")] == [{"by": "first"}]
        assert calls == ["first", "second"]
