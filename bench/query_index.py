"""The Storage query's data access alone: the index against reading every instance, at N instances.

    .venv/bin/python bench/query_index.py [N ...]        (default 240 10000 100000)

Seeds the Altinn world as the server does (seed 1, `--now 2026-01-01T00:00:00Z`), puts it in a
MemoryStore with the query index attached (platforms/altinn/domain/index.py), and times
`Query.select` for the query shapes clients send, in milliseconds per query (median and 99th
percentile of repeated runs), next to the old way: `matches` on every instance, `order`, `page`.
The request path around it (routing, validation, rendering) is what `bench/run` measures.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

from instancemock.platforms.altinn.domain import query as q
from instancemock.platforms.altinn.domain.index import InstanceIndex
from instancemock.platforms.altinn.domain.instances import INSTANCES
from instancemock.platforms.altinn.seed import seed_altinn
from instancemock.settings import Settings
from instancemock.world.clock import Clock
from instancemock.world.state import SeedContext
from instancemock.world.store import Document, MemoryStore

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def shapes(docs: list[Document], rng: random.Random) -> dict[str, Callable[[], q.Query]]:
    """Query shapes by name: each call a fresh query (the deep page starts from a late cursor)."""
    middle = sorted(q.sort_key(d) for d in docs)[len(docs) // 2]
    party = int(rng.choice(docs)["instanceOwner"]["partyId"])

    def bench_query() -> q.Query:  # bench/run's storage-query scenario
        return q.Query(org="ttd", size=10, dates=q.date_filters("lastChanged", ["gt:2025-01-01T00:00:00Z"]))

    def deep_page() -> q.Query:  # a continuation token half-way through the results
        return q.Query(org="ttd", size=10, after=q.Cursor(*middle))

    def owner_party() -> q.Query:  # an end user's query: one party
        return q.Query(party_id=party, is_hard_deleted=False, size=100)

    def archived() -> q.Query:  # a status filter: a bit test per entry in range, in C (bytes.translate)
        return q.Query(org="ttd", is_archived=True, size=10)

    def task() -> q.Query:  # a filter the index does not hold: reads the documents in range
        return q.Query(org="ttd", current_task="Task_1", size=10)

    return {
        "org + lastChanged, 10": bench_query,
        "page at the middle": deep_page,
        "one party": owner_party,
        "org + status.isArchived": archived,
        "org + process.currentTask": task,
    }


def timed(run: Callable[[], object], repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def select(make: Callable[[], q.Query], index: InstanceIndex) -> object:
    return make().select(index)


def scan(query: q.Query, docs: list[Document]) -> object:
    return query.page(query.order([d for d in docs if query.matches(d)]))


def measure(count: int) -> list[tuple[str, str, str, str]]:
    settings = Settings(seed=1, now=NOW, apis={"altinn-storage": {"instances": count}})
    data = seed_altinn(SeedContext(settings, Clock(NOW), "altinn"))
    store = MemoryStore(data)
    index = store.attach(INSTANCES, InstanceIndex)
    docs = [s.doc for s in asyncio.run(store.list(INSTANCES))]
    rows = []
    slow_repeat = 3 if count > 20_000 else 20
    for name, make in shapes(docs, random.Random(7)).items():
        fast = timed(partial(select, make, index), 200)
        slow = timed(partial(scan, make(), docs), slow_repeat)
        rows.append((f"{count:,}", name, f"{fast[0]:.3f} / {fast[1]:.3f}", f"{slow[0]:.1f} / {slow[1]:.1f}"))
    return rows


if __name__ == "__main__":
    sizes = [int(arg) for arg in sys.argv[1:]] or [240, 10_000, 100_000]
    print("| instances | query | index: p50 / p99 ms | every instance: p50 / p99 ms |")
    print("|---:|---|---:|---:|")
    for size in sizes:
        for row in measure(size):
            print("| " + " | ".join(row) + " |", flush=True)
