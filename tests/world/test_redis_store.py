"""The Redis store (`--store redis://...`) against a real redis-server: the Store contract, seeding
once per world, resets seen by every replica, and the settings that choose it."""

from __future__ import annotations

import asyncio

import pytest

from instancemock.settings import SettingsError, build
from instancemock.world.redis_store import RedisStore
from instancemock.world.store import MemoryStore, VersionConflict

from redis_server import replica


def seeded(calls: list[str], name: str = "seed") -> MemoryStore:
    calls.append(name)
    return MemoryStore({"instances": {"a": {"n": 1}, "b": {"n": 2}}, "counters": {"c": {"last": 2}}})


async def test_the_store_contract_holds_versions_order_conflicts_and_deletes(redis_url: str) -> None:
    async with replica(redis_url) as shared:
        store = shared.adopt("default", "toy", lambda: seeded([]))
        assert [s.doc for s in await store.list("instances")] == [{"n": 1}, {"n": 2}]
        assert await store.count("instances") == 2
        first = await store.put("instances", "c", {"n": 3})
        assert first.version == 1
        assert (await store.put("instances", "c", {"n": 4}, expect=1)).version == 2
        with pytest.raises(VersionConflict) as conflict:
            await store.put("instances", "c", {"n": 5}, expect=1)
        assert conflict.value.current is not None and conflict.value.current.doc == {"n": 4}
        with pytest.raises(VersionConflict):
            await store.put("instances", "new", {"n": 0}, expect=1)
        assert (await store.put("instances", "new", {"n": 0}, expect=0)).version == 1
        assert await store.delete("instances", "a") is True
        assert await store.delete("instances", "a") is False
        await store.put("instances", "a", {"n": 9})  # written again: goes last
        keys = [s.doc["n"] for s in await store.list("instances")]
        assert keys == [2, 4, 0, 9]
        changed = await store.update("counters", "c", lambda d: {**d, "last": d["last"] + 1})
        assert changed is not None and changed.doc == {"last": 3} and changed.version == 2
        assert await store.update("counters", "missing", lambda d: d) is None
        unchanged = await store.update("counters", "c", lambda d: None)
        assert unchanged is not None and unchanged.version == 2
        assert await store.dump() == {
            "counters": {"c": {"last": 3}},
            "instances": {"b": {"n": 2}, "c": {"n": 4}, "new": {"n": 0}, "a": {"n": 9}},
        }


async def test_a_world_is_seeded_once_however_many_replicas_want_it_at_once(redis_url: str) -> None:
    calls: list[str] = []
    async with replica(redis_url) as one, replica(redis_url) as two, replica(redis_url) as three:
        stores = [r.adopt("team-a", "toy", lambda: seeded(calls)) for r in (one, two, three) for _ in range(3)]
        await asyncio.gather(*(s.ready() for s in stores))
        assert calls == ["seed"]
        counts = await asyncio.gather(*(s.count("instances") for s in stores))
        assert counts == [2] * len(stores)


async def test_concurrent_updates_from_two_replicas_lose_nothing(redis_url: str) -> None:
    async with replica(redis_url) as one, replica(redis_url) as two:
        a = one.adopt("default", "toy", lambda: seeded([]))
        b = two.adopt("default", "toy", lambda: seeded([]))

        def bump(doc: dict[str, int]) -> dict[str, int]:
            return {**doc, "last": doc["last"] + 1}

        await asyncio.gather(*(store.update("counters", "c", bump) for store in [a, b] * 25))
        final = await a.get("counters", "c")
        assert final is not None and final.doc == {"last": 52} and final.version == 51


async def test_one_versioned_write_of_many_across_replicas_wins(redis_url: str) -> None:
    async with replica(redis_url) as one, replica(redis_url) as two:
        stores = [one.adopt("default", "toy", lambda: seeded([])), two.adopt("default", "toy", lambda: seeded([]))]
        await asyncio.gather(*(s.ready() for s in stores))

        async def write(index: int) -> bool:
            try:
                await stores[index % 2].put("instances", "a", {"writer": index}, expect=1)
            except VersionConflict:
                return False
            return True

        won = await asyncio.gather(*(write(i) for i in range(32)))
        assert won.count(True) == 1
        final = await stores[1].get("instances", "a")
        assert final is not None and final.version == 2 and final.doc == {"writer": won.index(True)}


async def test_a_reset_on_one_replica_is_seen_by_the_other(redis_url: str) -> None:
    calls: list[str] = []
    async with replica(redis_url) as one, replica(redis_url) as two:
        a = one.adopt("default", "toy", lambda: seeded(calls, "one"))
        b = two.adopt("default", "toy", lambda: seeded(calls, "two"))
        await a.put("instances", "z", {"n": 26})
        assert await b.get("instances", "z") is not None
        one.forget("default", "toy")
        await one.flush()
        assert await b.get("instances", "z") is None  # b found the world gone and seeded it afresh
        assert await b.count("instances") == 2
        assert await a.count("instances") == 2
        assert calls == ["one", "two"]
        assert await one.sandboxes() == ["default"]
        one.forget(None)
        await one.flush()
        assert await one.sandboxes() == []


async def test_an_import_replaces_every_world_for_every_replica(redis_url: str) -> None:
    async with replica(redis_url) as one, replica(redis_url) as two:
        old = two.adopt("other", "toy", lambda: seeded([]))
        await old.ready()
        one.replace({"default": {"toy": MemoryStore({"instances": {"x": {"n": 0}}})}})
        await one.flush()
        assert await two.sandboxes() == ["default"]
        fresh = two.adopt("default", "toy", lambda: seeded([]))
        assert await fresh.dump() == {"instances": {"x": {"n": 0}}}


def test_the_store_setting_takes_memory_or_a_redis_url_and_refuses_anything_else() -> None:
    assert build({"store": "redis://127.0.0.1:6379/0"}).store == "redis://127.0.0.1:6379/0"
    assert build({"store": "memory"}).store is None
    assert build({}).store is None
    for bad in ["redis:/x", "redis://host/0", "redis://host:0/0", "redis://host:6379/99", "http://host:1/0", ""]:
        with pytest.raises(SettingsError, match="store"):
            build({"store": bad})


def test_a_redis_store_is_a_store() -> None:
    """What the handlers see (ctx.store) is the Store protocol, with nothing of Redis in it."""
    for name in ("get", "list", "put", "delete", "update", "count", "dump"):
        assert asyncio.iscoroutinefunction(getattr(RedisStore, name))


async def test_a_replica_listing_again_sees_every_write_another_made_since(redis_url: str) -> None:
    """`list` serves this replica's copy only while the collection's change counter is unchanged."""
    async with replica(redis_url) as one, replica(redis_url) as two:
        a = one.adopt("default", "toy", lambda: seeded([]))
        b = two.adopt("default", "toy", lambda: seeded([]))
        assert [s.doc for s in await a.list("instances")] == [{"n": 1}, {"n": 2}]
        assert [s.doc for s in await a.list("instances")] == [{"n": 1}, {"n": 2}]  # from its copy
        await b.put("instances", "a", {"n": 10})
        assert [s.doc for s in await a.list("instances")] == [{"n": 10}, {"n": 2}]
        await b.delete("instances", "b")
        assert [s.doc for s in await a.list("instances")] == [{"n": 10}]
        one.forget("default")
        await one.flush()
        assert [s.doc for s in await b.list("instances")] == [{"n": 1}, {"n": 2}]  # reset: a new generation
