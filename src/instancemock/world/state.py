"""Everything the server holds: the world of each sandbox, and what is shared across sandboxes.

Tokens and tickets live in `services` (shared), so a token obtained in one sandbox works in all;
instance data lives in per-sandbox stores, seeded on first use from the seed, `--now` and the
fixtures, and evicted least-recently-used past `settings.sandboxes`.
"""

from __future__ import annotations

import contextlib
import gc
import marshal
import multiprocessing
import os
import random
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import TypeVar

from faker import Faker

from instancemock.settings import Settings
from instancemock.world.clock import Clock
from instancemock.world.persistence import InMemory, Persistence
from instancemock.world.store import Document, MemoryStore, Store

DEFAULT_SANDBOX = "default"

# Seeded worlds by their inputs, kept marshalled: sandboxes, resets and test servers reuse them
# instead of generating again, and `marshal.loads` rebuilds a world several times faster than
# `copy.deepcopy` copies it (worlds are JSON-compatible, which marshal covers).
CACHE_DOCUMENTS = 20_000  # larger worlds (benchmarks, big demos) are not worth the memory
_SEEDED: OrderedDict[tuple[object, ...], bytes] = OrderedDict()

# From this many instances of an API, start-up seeds the platforms in forked processes side by side
# (a world of 100,000 instances takes seconds to generate; marshalling it back costs a fraction).
PARALLEL_INSTANCES = 10_000

Seeder = Callable[["SeedContext"], dict[str, dict[str, Document]]]


@dataclass(frozen=True, slots=True)
class SeedContext:
    settings: Settings
    clock: Clock
    platform: str

    @property
    def seed(self) -> int:
        return self.settings.seed

    def random(self, salt: str = "") -> random.Random:
        """A private generator per platform (and purpose), never the global one."""
        return random.Random(f"{self.settings.seed}:{self.platform}:{salt}")

    def faker(self, locale: str | list[str], salt: str = "") -> Faker:
        """A private Faker seeded from the server seed, never `Faker.seed()` (that one is global)."""
        fake = Faker(locale)
        fake.seed_instance(f"{self.settings.seed}:{self.platform}:{salt}")
        return fake

    @property
    def now(self) -> datetime:
        """The instant the world is seeded at: `--now`, or the start-up time."""
        return self.clock.start

    def size(self, api_name: str, default: int) -> int:
        """`apis.<name>.instances` from the config file."""
        return int(self.settings.api_option(api_name, "instances", default))


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SeedEvent:
    """Seeding progress, for the CLI to print: a world started (`done` False) or is in, with its size."""

    sandbox: str
    platform: str
    done: bool
    documents: int = 0
    seconds: float = 0.0


Progress = Callable[[SeedEvent], None]


@dataclass
class State:
    settings: Settings
    clock: Clock
    platform_apis: dict[str, tuple[str, ...]]  # platform -> the names of its mounted APIs
    seeders: dict[str, Seeder]
    progress: Progress | None = None  # told when a world starts seeding and when it is in
    # Where worlds are kept beyond memory (world/persistence.py); told of every new, reset or evicted world.
    persistence: Persistence = field(default_factory=InMemory)
    # What a platform keeps across sandboxes (tokens, tickets, its tenant), one object per type.
    _services: dict[type, object] = field(default_factory=dict)
    _worlds: OrderedDict[str, dict[str, Store]] = field(default_factory=OrderedDict)
    _shared: dict[str, Store] = field(default_factory=dict)

    def service(self, kind: type[T], make: Callable[[], T]) -> T:
        """The shared object of `kind`, made on first use: a token obtained in one sandbox works in all."""
        found = self._services.get(kind)
        if not isinstance(found, kind):
            found = self._services[kind] = make()
        return found

    def shared(self, platform: str) -> Store:
        """The platform's documents every sandbox shares (tokens, tickets): across replicas too
        where the store is shared (world/redis_store.py); never reset, evicted or exported."""
        found = self._shared.get(platform)
        if found is None:
            found = self._shared[platform] = self.persistence.services(platform)
        return found

    def provide(self, service: object) -> None:
        """Put `service` in place of the shared object of its type."""
        self._services[type(service)] = service

    def seed_world(self, platform: str) -> MemoryStore:
        """A fresh store holding the seeded world; equal inputs give an equal world, so it is cached."""
        seeder = self.seeders.get(platform)
        if seeder is None:
            return MemoryStore()
        cached = _SEEDED.get(self._seed_key(platform))
        if cached is not None:
            return MemoryStore(marshal.loads(cached))  # a copy: a sandbox must never see another's writes
        with _collector_paused() as paused:
            data = seeder(self._seed_context(platform))
            self._remember(platform, data)
            store = MemoryStore(data)
            paused.freeze = sum(len(items) for items in data.values()) > CACHE_DOCUMENTS
        return store

    def seed_all(self, sandbox: str = DEFAULT_SANDBOX) -> None:
        """Seed every platform of a sandbox now; large worlds in parallel processes where the OS can fork.

        The costliest platform is seeded here (it needs no marshalling back); the others are shared
        out among one forked process per further CPU, each seeding its share one after another.
        """
        platforms = [d for d in self.platforms() if d not in self._worlds.get(sandbox, {})]
        costs = {d: self._cost(d) for d in platforms}
        forked = [d for d in platforms if d in self.seeders and _SEEDED.get(self._seed_key(d)) is None]
        large = max((self._instances(d) for d in platforms), default=0) >= PARALLEL_INSTANCES
        with _collector_paused() as paused:
            paused.freeze = large
            if not large or len(forked) < 2 or _spare_cpus() < 1:
                for platform in platforms:
                    began = self._tell(sandbox, platform, False)
                    self._tell(sandbox, platform, True, self.store(sandbox, platform), began)
                return
            forked.sort(key=lambda d: -costs[d])
            own = forked[0]
            shares: list[list[str]] = [[] for _ in range(min(_spare_cpus(), len(forked) - 1))]
            for platform in forked[1:]:  # longest first, each to the least loaded process
                min(shares, key=lambda share: sum(costs[d] for d in share)).append(platform)
            starts = {d: self._tell(sandbox, d, False) for d in [own, *(d for share in shares for d in share)]}
            children = [_Child.start([(d, self.seeders[d], self._seed_context(d)) for d in share]) for share in shares]
            self._tell(sandbox, own, True, self.store(sandbox, own), starts[own])
            received: dict[str, dict[str, dict[str, Document]] | None] = {}
            for child in children:
                received.update(child.results())
            for platform in platforms:
                data = received.get(platform)
                if platform == own:
                    continue
                if data is None:  # not forked, or the child failed: seed here, where errors surface
                    started = starts.get(platform) or self._tell(sandbox, platform, False)
                    self._tell(sandbox, platform, True, self.store(sandbox, platform), started)
                    continue
                self._remember(platform, data)
                self._world(sandbox)[platform] = self.persistence.adopt(sandbox, platform, _made(data))
                self._tell(sandbox, platform, True, self._world(sandbox)[platform], starts[platform])

    def _tell(self, sandbox: str, platform: str, done: bool, store: Store | None = None, since: float = 0) -> float:
        """Tell `progress` of a world started or in (with its size and the seconds `since`); the time now."""
        now = time.monotonic()
        if self.progress is not None and platform in self.seeders:
            documents = _size(store) if store is not None else 0
            self.progress(SeedEvent(sandbox, platform, done, documents, now - since if done else 0.0))
        return now

    def _seed_key(self, platform: str) -> tuple[object, ...]:
        return (platform, self.settings.seed, self.clock.start, str(self.settings.fixtures), repr(self.settings.apis))

    def _seed_context(self, platform: str) -> SeedContext:
        return SeedContext(self.settings, self.clock, platform)

    def _remember(self, platform: str, data: dict[str, dict[str, Document]]) -> None:
        if sum(len(items) for items in data.values()) > CACHE_DOCUMENTS:
            return
        try:
            _SEEDED[self._seed_key(platform)] = marshal.dumps(data)
        except ValueError:  # not JSON-compatible after all: generate again next time
            return
        while len(_SEEDED) > 16:
            _SEEDED.popitem(last=False)

    def _instances(self, platform: str) -> int:
        """The largest `apis.<name>.instances` among the APIs that share the platform (0: default)."""
        names = self.platform_apis.get(platform, ())
        return max((int(self.settings.api_option(name, "instances", 0)) for name in names), default=0)

    def _cost(self, platform: str) -> float:
        """Expected seeding time, relative: instances times the seeder's `cost` per instance (if it says)."""
        seeder = self.seeders.get(platform)
        return max(self._instances(platform), 1) * float(getattr(seeder, "cost", 1.0))

    def store(self, sandbox: str, platform: str) -> Store:
        world = self._world(sandbox)
        if platform not in world:
            world[platform] = self.persistence.adopt(sandbox, platform, lambda: self.seed_world(platform))
        return world[platform]

    def _world(self, sandbox: str) -> dict[str, Store]:
        """The sandbox's stores by platform, most recently used last; the oldest beyond the limit go."""
        world = self._worlds.get(sandbox)
        if world is None:
            world = self._worlds[sandbox] = {}
            while len(self._worlds) > max(self.settings.sandboxes, 1) + 1:
                oldest = next(k for k in self._worlds if k != DEFAULT_SANDBOX)
                del self._worlds[oldest]
                self.persistence.forget(oldest)
        self._worlds.move_to_end(sandbox)
        return world

    def replace_worlds(self, worlds: dict[str, dict[str, MemoryStore]]) -> None:
        """Every world at once (an imported state); `await persistence.flush()` before acknowledging it."""
        self._worlds = OrderedDict(self.persistence.replace(worlds))

    def restore(self) -> bool:
        """The worlds the persistence kept from an earlier run, if any (start-up)."""
        kept = self.persistence.load()
        self._worlds = OrderedDict(kept)
        return bool(kept)

    def sandboxes(self) -> list[str]:
        """The default sandbox always exists; the others once used."""
        return [DEFAULT_SANDBOX] + [name for name in self._worlds if name != DEFAULT_SANDBOX]

    def reset(self, sandbox: str | None = None, platform: str | None = None) -> None:
        """Forget the chosen worlds; they are seeded again, identically, on next use.

        The persistence is told once, with the same choice: a shared store (world/redis_store.py)
        also holds worlds this process never used."""
        for name in [sandbox] if sandbox else list(self._worlds):
            world = self._worlds.get(name, {})
            for key in [platform] if platform else list(world):
                world.pop(key, None)
        self.persistence.forget(sandbox or None, platform)

    def platforms(self) -> list[str]:
        return sorted(self.platform_apis)


@dataclass
class _Pause:
    freeze: bool = False


@contextlib.contextmanager
def _collector_paused() -> Iterator[_Pause]:
    """No cyclic garbage collection while seeding and loading: worlds are millions of acyclic
    containers, and each collection would walk all those made so far. Set `freeze` for a large
    world: everything alive then is moved out of the collector's sight for good, so no later
    collection walks the world either (unfrozen, the first ones after seeding would)."""
    enabled = gc.isenabled()
    gc.disable()
    pause = _Pause()
    try:
        yield pause
    finally:
        if pause.freeze:
            gc.freeze()
        if enabled:
            gc.enable()


def _spare_cpus() -> int:
    """CPUs beyond this process's own that forked seeders could use (0 where there is no fork)."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return 0
    return len(os.sched_getaffinity(0)) - 1


@dataclass
class _Child:
    """A forked process that seeds its platforms one after another and sends each world back marshalled."""

    process: BaseProcess
    reader: Connection
    platforms: list[str]

    @classmethod
    def start(cls, jobs: list[tuple[str, Seeder, SeedContext]]) -> _Child:
        fork = multiprocessing.get_context("fork")
        reader, writer = fork.Pipe(duplex=False)
        process = fork.Process(target=_seed_and_send, args=([(s, c) for _, s, c in jobs], writer), daemon=True)
        process.start()
        writer.close()
        return cls(process, reader, [d for d, _, _ in jobs])

    def results(self) -> dict[str, dict[str, dict[str, Document]] | None]:
        """Each platform's world, or None where the child failed (the caller then seeds in-process)."""
        found: dict[str, dict[str, dict[str, Document]] | None] = {}
        try:
            for platform in self.platforms:
                payload = self.reader.recv_bytes()
                found[platform] = marshal.loads(payload) if payload else None
        except (EOFError, OSError):
            pass
        finally:
            self.reader.close()
            self.process.join()
        return found


def _seed_and_send(jobs: list[tuple[Seeder, SeedContext]], writer: Connection) -> None:
    gc.disable()
    for seeder, context in jobs:
        try:
            payload = marshal.dumps(seeder(context))
        except Exception:  # the parent seeds again in-process and reports the error properly
            payload = b""
        writer.send_bytes(payload)
    writer.close()


def _made(data: dict[str, dict[str, Document]]) -> Callable[[], MemoryStore]:
    return lambda: MemoryStore(data)


def _size(store: Store) -> int:
    """How many documents a freshly seeded world holds, for the progress report (0 where unknown)."""
    memory = store if isinstance(store, MemoryStore) else getattr(store, "memory", None)
    return sum(len(items) for _, items in memory.items()) if isinstance(memory, MemoryStore) else 0
