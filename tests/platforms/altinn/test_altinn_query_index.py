"""The Storage query answered from the index gives what filtering, ordering and paging every instance gives.

The reference is the query's own definition (`Query.matches`, `order`, `page` in
platforms/altinn/domain/query.py); the index must agree with it for any query, any cursor and
after any write, since clients page through large worlds with continuation tokens.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import pytest

from instancemock.core.context import STATE
from instancemock.platforms.altinn.domain import query as q
from instancemock.platforms.altinn.domain.index import InstanceIndex
from instancemock.platforms.altinn.domain.instances import INSTANCES
from instancemock.platforms.altinn.seed import seed_altinn
from instancemock.world.clock import Clock
from instancemock.world.redis_store import RedisStore
from instancemock.world.state import SeedContext
from instancemock.world.store import Document, MemoryStore

from support import NOW, MakeClient, settings

Allowed = Callable[[Document], bool] | None


def seeded(count: int) -> dict[str, dict[str, Document]]:
    options = settings(apis={"altinn-storage": {"instances": count}})
    return seed_altinn(SeedContext(options, Clock(NOW), "altinn"))


def reference(query: q.Query, docs: list[Document], allowed: Allowed) -> tuple[list[str], int, q.Cursor | None]:
    hits = [d for d in docs if query.matches(d) and (allowed is None or allowed(d))]
    page, cursor = query.page(query.order(hits))
    return [d["id"] for d in page], len(hits), cursor


def indexed(query: q.Query, index: InstanceIndex, allowed: Allowed) -> tuple[list[str], int, q.Cursor | None]:
    page, total, cursor = query.select(index, allowed)
    return [d["id"] for d in page], total, cursor


def random_query(rng: random.Random, docs: list[Document]) -> tuple[q.Query, Allowed]:
    """A query such as clients send: an owner selector, a `lastChanged` window, sometimes more, a cursor."""
    some = rng.choice(docs)
    query = q.Query(
        org=rng.choice([None, "ttd", "brg", "nope", some["org"]]),
        app_id=rng.choice([None, None, some["appId"], "ttd/none"]),
        party_id=rng.choice([None, None, int(some["instanceOwner"]["partyId"])]),
        descending=rng.random() < 0.6,
        size=rng.choice([0, 1, 2, 7, 50, 1000]),
    )
    for _ in range(rng.choice([0, 0, 1, 2])):
        op = rng.choice(q.DATE_OPERATORS)
        if all(f.op != op for f in query.dates):
            query.dates += q.date_filters("lastChanged", [f"{op}:{rng.choice(docs)['lastChanged']}"])
    if rng.random() < 0.3:
        query.dates += q.date_filters("created", [f"gte:{rng.choice(docs)['created']}"])
    for name in ("is_archived", "is_soft_deleted", "is_hard_deleted", "is_complete", "confirmed"):
        if rng.random() < 0.15:
            setattr(query, name, rng.random() < 0.5)
    if rng.random() < 0.2:
        query.exclude_confirmed_by = rng.choice(["ttd", "brg", "nope", str(query.org)])
    if rng.random() < 0.05:
        query.current_task = rng.choice(["Task_1", "Task_2"])
    if rng.random() < 0.1:
        query.search = rng.choice(["rapport", "Kari", "zzz"])
    if rng.random() < 0.05:
        query.main_version_include = rng.choice([2, 3])
    if rng.random() < 0.5:
        at = rng.choice(docs)
        query.after = q.Cursor(*q.sort_key(at)) if rng.random() < 0.8 else q.Cursor(q.sort_key(at)[0], 0)
    allowed: Allowed = None
    if rng.random() < 0.3:
        parties = {d["instanceOwner"]["partyId"] for d in rng.sample(docs, 5)}
        allowed = lambda d: d["instanceOwner"]["partyId"] in parties  # noqa: E731
    return query, allowed


async def test_select_agrees_with_filtering_every_instance() -> None:
    store = MemoryStore(seeded(400))
    index = await store.index(INSTANCES, InstanceIndex)
    docs = [s.doc for s in await store.list(INSTANCES)]
    rng = random.Random(13)
    paths = {"bisections only": 0, "bit tests": 0}
    for _ in range(400):
        query, allowed = random_query(rng, docs)
        assert indexed(query, index, allowed) == reference(query, docs, allowed), query
        for facet in query._facets():
            if allowed is None and not query._reads_documents(facet):
                paths["bit tests" if query._flag_filter(facet)[0] else "bisections only"] += 1
    assert min(paths.values()) > 10, f"each path that reads no document is exercised: {paths}"


async def test_paging_with_next_cursors_visits_every_match_once() -> None:
    store = MemoryStore(seeded(500))
    index = await store.index(INSTANCES, InstanceIndex)
    every = [s.doc for s in await store.list(INSTANCES)]
    window = q.date_filters("lastChanged", ["gte:2025-03-01"])
    for descending in (True, False):
        query = q.Query(org="ttd", size=9, descending=descending, dates=window)
        seen: list[str] = []
        while True:
            page, total, cursor = query.select(index)
            seen += [d["id"] for d in page]
            if cursor is None:
                break
            query.after = cursor
        whole, hits, _ = reference(q.Query(org="ttd", size=10_000, descending=descending, dates=window), every, None)
        assert seen == whole and len(seen) == total == hits > 9


async def test_the_index_follows_every_write_to_the_store() -> None:
    store = MemoryStore(seeded(300))
    index = await store.index(INSTANCES, InstanceIndex)
    rng = random.Random(5)
    for step in range(100):
        docs = [s.doc for s in await store.list(INSTANCES)]
        victim = rng.choice(docs)
        key = victim["id"].split("/")[1]
        action = rng.random()
        if action < 0.4:  # a change moves it in lastChanged order, as Storage's writes do
            changed = {**victim, "lastChanged": rng.choice(docs)["lastChanged"], "org": rng.choice(["ttd", "brg"])}
            await store.put(INSTANCES, key, changed)
        elif action < 0.6:
            await store.update(INSTANCES, key, lambda d: {**d, "lastChanged": "2026-01-01T00:00:00Z"})
        elif action < 0.8:
            await store.delete(INSTANCES, key)
        else:  # a new instance, with the next row id
            fresh = {**victim, "id": f"{victim['instanceOwner']['partyId']}/new-{step}", "_seq": 10_000 + step}
            await store.put(INSTANCES, f"new-{step}", fresh)
        docs = [s.doc for s in await store.list(INSTANCES)]
        for _ in range(5):
            query, allowed = random_query(rng, docs)
            assert indexed(query, index, allowed) == reference(query, docs, allowed), (step, query)


async def test_loading_other_documents_builds_the_index_again() -> None:
    store = MemoryStore(seeded(50))
    before = await store.index(INSTANCES, InstanceIndex)
    assert len(before.entries(("", ""))) == 50
    store.load(seeded(20))
    after = await store.index(INSTANCES, InstanceIndex)
    assert after is not before and len(after.entries(("", ""))) == 20
    assert await store.index(INSTANCES, InstanceIndex) is after


@pytest.mark.parametrize("changed", ["", "yesterday", None])
async def test_an_unreadable_last_changed_sorts_first_instead_of_failing(changed: Any) -> None:
    data = seeded(10)
    key, doc = next(iter(data[INSTANCES].items()))
    data[INSTANCES][key] = {k: v for k, v in doc.items() if k != "lastChanged"} | (
        {"lastChanged": changed} if changed is not None else {}
    )
    index = await MemoryStore(data).index(INSTANCES, InstanceIndex)
    page, total, _ = q.Query(descending=False, size=1).select(index)
    assert total == 10 and page[0]["id"] == doc["id"]


async def test_every_altinn_world_the_server_makes_arrives_with_its_index(make_client: MakeClient) -> None:
    """Filled as the world is made (a large one part by part), not on the first query's time."""
    client = await make_client()
    state = client.server.app[STATE]
    for sandbox in ("default", "team-a"):
        store = await state.ready(sandbox, "altinn")
        attached: Any
        if isinstance(store, RedisStore):  # pytest --store redis: built by State.settle, before any query
            attached = store._indexes[INSTANCES][InstanceIndex][1]
        else:
            assert isinstance(store, MemoryStore)
            attached = store._indexes[INSTANCES][InstanceIndex]  # attached by State._new_store, before any query
        assert len(attached.docs) == await store.count(INSTANCES) > 0
        assert await store.index(INSTANCES, InstanceIndex) is attached


@pytest.mark.parametrize(
    "token",
    ["639006250000000000%3b5", "1%3B-5", "1;2", "1%3b2%3b", "%3b1", "1%3b", "1%253b2", "x%3b2", "1%3b2%20", " 1%3b2 "],
)
def test_a_continuation_token_reads_as_unquoting_it_would(token: str) -> None:
    """`parse_token` reads the one `%3b` of a `next` link's token itself; the same as `unquote` first."""
    decoded = unquote(token)
    left, semicolon, right = decoded.partition(";")
    valid = semicolon and left.strip().isdigit() and right.strip().lstrip("-").isdigit()
    if not valid:
        with pytest.raises(q.QueryError, match="Invalid continuationToken"):
            q.parse_token(token)
    else:
        assert q.parse_token(token) == q.Cursor(int(left), int(right))
