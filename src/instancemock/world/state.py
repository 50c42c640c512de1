"""Everything the server holds: the world of each sandbox, and what is shared across sandboxes.

Tokens and tickets live in `services` (shared), so a token obtained in one sandbox works in all;
instance data lives in per-sandbox stores, seeded on first use from the seed, `--now` and the
fixtures, and evicted least-recently-used past `settings.sandboxes`.

A world is seeded in one of two ways. `seed_all` and `store` do it there and then (tests, and
anything that needs the world before the server listens). `seed_in_background` starts forked
processes (world/seeding.py) and returns at once; `absorb`, run on the event loop, brings their
worlds in part by part, and `ready` is what a request awaits before it touches its world: the
server answers `/__admin/health` while it seeds, and a new sandbox of a large world is seeded
without stopping the event loop.

With a shared persistence (Redis, `Persistence.shared`) nothing is seeded beforehand or forked:
`store` makes the world's store at once, and `settle` (start-up, `absorb`, or `ready` for a new
world) has it seeded by whichever replica takes the world's lock in Redis first; the others find
it there. `ready` still holds every request until its world is in.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import marshal
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from instancemock.settings import Settings
from instancemock.world import seeding
from instancemock.world.clock import Clock
from instancemock.world.persistence import InMemory, Persistence
from instancemock.world.store import Document, Index, MemoryStore, Store

if TYPE_CHECKING:
    from faker import Faker

log = logging.getLogger("instancemock.seeding")

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
        from faker import Faker  # imported by seeding only: a server that restores its worlds never needs it

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
World = dict[str, dict[str, Document]]


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
class _Pending:
    """A world being seeded in the background, and the event its requests wait on."""

    started: float
    event: asyncio.Event = field(default_factory=asyncio.Event)
    error: BaseException | None = None


@dataclass
class State:
    settings: Settings
    clock: Clock
    platform_apis: dict[str, tuple[str, ...]]  # platform -> the names of its mounted APIs
    seeders: dict[str, Seeder]
    # Indexes to attach to each world of a platform, as (collection, index class): see Plugin.indexes.
    indexes: dict[str, tuple[tuple[str, Callable[[], Index]], ...]] = field(default_factory=dict)
    progress: Progress | None = None  # told when a world starts seeding and when it is in
    on_failure: Callable[[BaseException], None] | None = None  # a background world could not be seeded
    # Where worlds are kept beyond memory (world/persistence.py); told of every new, reset or evicted world.
    persistence: Persistence = field(default_factory=InMemory)
    # What a platform keeps across sandboxes (tokens, tickets, its tenant), one object per type.
    _services: dict[type, object] = field(default_factory=dict)
    _worlds: OrderedDict[str, dict[str, Store]] = field(default_factory=OrderedDict)
    _pending: dict[tuple[str, str], _Pending] = field(default_factory=dict)  # (sandbox, platform)
    _children: list[tuple[str, seeding.Child]] = field(default_factory=list)  # started, not yet absorbed
    _here: list[tuple[str, str]] = field(default_factory=list)  # (sandbox, platform) `absorb` seeds in a thread
    _drawing: seeding.Child | None = None  # draws the large worlds of `_here` meanwhile (a seeder's `prepare`)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _shared: dict[str, Store] = field(default_factory=dict)
    failure: BaseException | None = None  # a world could not be seeded in the background

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

    # --- seeding now ------------------------------------------------------------------------

    def seed_world(self, platform: str, drawn: object = None) -> MemoryStore:
        """A fresh store holding the seeded world; equal inputs give an equal world, so it is cached.

        `drawn`: the large world's random part, drawn in a forked process (`_seed_in_turn`), to make the
        world of instead of seeding it all here."""
        seeder = self.seeders.get(platform)
        if seeder is None:
            return MemoryStore()
        cached = self._cached_bytes(platform)
        if cached is not None:
            return self._new_store(platform, marshal.loads(cached))  # a copy: sandboxes never share
        with _collector_paused() as paused:
            context = self._seed_context(platform)
            data = seeder(context) if drawn is None else getattr(seeder, "assemble")(context, drawn)  # noqa: B009
            self._remember(platform, data)
            store = self._new_store(platform, data)
            paused.freeze = _documents(data) > CACHE_DOCUMENTS
        return store

    def _new_store(self, platform: str, data: World | None = None) -> MemoryStore:
        """A store for a world of `platform`, with the platform's indexes attached (filled from `data`)."""
        store = MemoryStore(data)
        for collection, make in self.indexes.get(platform, ()):
            store.attach(collection, make)
        return store

    def seed_all(self, sandbox: str = DEFAULT_SANDBOX) -> None:
        """Seed every platform of a sandbox now; large worlds in parallel processes where the OS can fork.

        The costliest platform is seeded here (it needs no marshalling back); the others are shared
        out among one forked process per further CPU, each seeding its share one after another.
        """
        platforms = [d for d in self.platforms() if d not in self._worlds.get(sandbox, {})]
        if self.persistence.shared:  # seeded once, by whichever replica needs the world first (`settle`)
            for platform in platforms:
                self.store(sandbox, platform)
            return
        forked = [d for d in platforms if d in self.seeders and self._cached_bytes(d) is None and self._forks(d)]
        large = max((self._instances(d) for d in platforms), default=0) >= PARALLEL_INSTANCES
        with _collector_paused() as paused:
            paused.freeze = large
            if not large or len(forked) < 2 or seeding.spare_cpus() < 1:
                for platform in platforms:
                    self._seed_here(sandbox, platform)
                return
            forked.sort(key=lambda d: -self._cost(d))
            shares = _shares(forked[1:], seeding.spare_cpus(), self._cost)
            for platform in forked[1:]:
                self._tell(sandbox, platform, False)
            children = [self._fork(sandbox, share) for share in shares]
            self._seed_here(sandbox, forked[0])
            for child in children:
                assembly = seeding.Assembly(self._new_store)
                while (payload := child.receive()) is not None:
                    self._take(sandbox, assembly, payload)
                child.close()
            for platform in platforms:  # not forked, or the child failed: seed here, where errors surface
                if platform not in self._world(sandbox):
                    self._seed_here(sandbox, platform)

    def store(self, sandbox: str, platform: str) -> Store:
        """The sandbox's world of `platform`, seeded there and then if it is not yet (see `ready`).

        With a shared persistence the store is made at once and seeds on first use, under the
        store's lock, unless another replica has seeded it already (`settle`)."""
        world = self._world(sandbox)
        if platform not in world:
            if self.persistence.shared:
                world[platform] = self.persistence.adopt(sandbox, platform, lambda: self.seed_world(platform))
            else:
                self._seed_here(sandbox, platform)
        return world[platform]

    async def settle(self, sandbox: str, platform: str) -> Store:
        """A shared store's world once it is in the store, with the platform's indexes built: seeded
        by this process under the store's lock, or by another replica before (world/redis_store.py)."""
        store = self.store(sandbox, platform)
        await self.persistence.seeded(store)
        for collection, make in self.indexes.get(platform, ()):
            await store.index(collection, make)
        return store

    def _seed_here(self, sandbox: str, platform: str) -> None:
        started = time.perf_counter()
        self._tell(sandbox, platform, False)
        store = self.seed_world(platform)
        self._install(sandbox, platform, store, time.perf_counter() - started)

    # --- seeding in the background ----------------------------------------------------------

    def seed_in_background(self, sandbox: str = DEFAULT_SANDBOX) -> None:
        """Start seeding the sandbox's worlds in forked processes and return; `absorb` brings them in.

        Worlds already made (cached) are put in place at once. Where the OS cannot fork, `absorb`
        seeds them in a thread instead.
        """
        forked = []
        for platform in self.platforms():
            if platform in self._worlds.get(sandbox, {}) or (sandbox, platform) in self._pending:
                continue
            if self.persistence.shared:  # `absorb` settles it: seeded under the store's lock, or found
                self._pending[(sandbox, platform)] = _Pending(time.perf_counter())
                self._tell(sandbox, platform, False)
                continue
            if platform not in self.seeders or self._cached_bytes(platform) is not None:
                self._seed_here(sandbox, platform)
                continue
            self._pending[(sandbox, platform)] = _Pending(time.perf_counter())
            self._tell(sandbox, platform, False)
            if self._forks(platform):
                forked.append(platform)
            else:  # `absorb` seeds it in a thread beside the children
                self._here.append((sandbox, platform))
        if forked and seeding.can_fork():
            forked.sort(key=lambda d: -self._cost(d))
            for share in _shares(forked, seeding.spare_cpus() + 1, self._cost):
                share.sort(key=self._cost)  # the cheaper worlds first: more APIs answer sooner
                self._children.append((sandbox, self._fork(sandbox, share)))
        drawn = [(sandbox, platform) for sandbox, platform in self._here if self._draws(platform)]
        if drawn and self._drawing is None and seeding.can_fork():  # in the order `_seed_in_turn` takes them
            jobs = [(d, _Draw(self.seeders[d], self._seed_context(d))) for _, d in self._in_turn(drawn)]
            self._drawing = seeding.Child.start_drawing(jobs)

    async def absorb(self) -> None:
        """Bring in every world `seed_in_background` started, a part at a time (run on the event loop).

        A world whose child failed, or that could not be forked, is seeded in a thread here; if that
        fails too, `failure` says why and the requests waiting for it get the error.
        """
        children, self._children = self._children, []
        here, self._here = self._here, []
        await asyncio.gather(
            *(self._absorb_child(sandbox, child) for sandbox, child in children), self._seed_in_turn(here)
        )
        for sandbox, platform in [key for key, pending in self._pending.items() if not pending.event.is_set()]:
            if self.persistence.shared:
                await self._settle_pending(sandbox, platform)
            else:
                await self._seed_in_thread(sandbox, platform)

    async def ready(self, sandbox: str, platform: str) -> Store:
        """The world, once it is seeded: what a request awaits before it reads or writes it.

        A new sandbox of a large world is seeded in a forked process meanwhile, so the server goes
        on answering; a small one is restored from the seed cache or seeded there and then.
        """
        pending = self._pending.get((sandbox, platform))
        if self.persistence.shared:
            if pending is not None:  # `absorb` is settling it
                await pending.event.wait()
                if pending.error is not None:
                    raise pending.error
            if platform not in self._worlds.get(sandbox, {}):  # a new world: seeded (or found) and indexed
                return await self.settle(sandbox, platform)
            store = self.store(sandbox, platform)
            await self.persistence.seeded(store)  # seeds under the lock if no replica has yet
            return store
        if pending is None and platform not in self._worlds.get(sandbox, {}) and self._worth_forking(platform):
            pending = self._pending[(sandbox, platform)] = _Pending(time.perf_counter())
            self._tell(sandbox, platform, False)
            if self._forks(platform):
                seeding_it = self._absorb_child(sandbox, self._fork(sandbox, [platform]))
            else:
                seeding_it = self._seed_in_thread(sandbox, platform)
            task = asyncio.create_task(seeding_it)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if pending is not None:
            await pending.event.wait()
            if pending.error is not None:
                raise pending.error
        return self.store(sandbox, platform)

    def settled(self, sandbox: str, platform: str) -> bool:
        """`ready` would return at once with nothing to do: checked without a coroutine, as almost
        every request finds its world (core/readiness.py)."""
        if self.persistence.shared:
            return False
        pending = self._pending.get((sandbox, platform))
        if pending is not None and (not pending.event.is_set() or pending.error is not None):
            return False
        world = self._worlds.get(sandbox)
        return world is not None and platform in world

    async def ready_all(self, sandbox: str = DEFAULT_SANDBOX) -> None:
        for platform in self.platforms():
            await self.ready(sandbox, platform)

    def still_seeding(self, sandbox: str = DEFAULT_SANDBOX) -> list[str]:
        """The sandbox's platforms whose worlds are still being seeded."""
        return sorted(d for (s, d), pending in self._pending.items() if s == sandbox and not pending.event.is_set())

    async def _absorb_child(self, sandbox: str, child: seeding.Child) -> None:
        assembly = seeding.Assembly(self._new_store)
        with _collector_paused() as paused:
            paused.freeze = any(self._instances(d) >= PARALLEL_INSTANCES for d in child.platforms)
            try:
                while batch := await asyncio.to_thread(child.receive_waiting):
                    for payload in batch:
                        self._take(sandbox, assembly, payload, background=True)
                        await asyncio.sleep(0)  # a part at a time: requests are answered in between
            except asyncio.CancelledError:  # the server stops: the child's work is wanted no more
                child.stop()
                raise
            finally:
                await asyncio.to_thread(child.close)
        for platform in child.platforms:  # the child failed or died before this one was done
            pending = self._pending.get((sandbox, platform))
            if pending is not None and not pending.event.is_set():
                await self._seed_in_thread(sandbox, platform)

    def _in_turn(self, worlds: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """The costliest first: the drawing child draws them in this order, and each world takes it
        longer to draw than the server to make, so the server makes the longest while the child
        draws the others, and the last world is in soonest (a two-step pipeline: Johnson's rule)."""
        return sorted(worlds, key=lambda world: -self._cost(world[1]))

    async def _seed_in_turn(self, worlds: list[tuple[str, str]]) -> None:
        """Seed the worlds in a thread one after another (`_in_turn`): they share one interpreter
        lock, so seeding them side by side would only have every one of them in at the end, and
        one after another each is in (and its requests answered) as soon as it can be.

        A large world's random part (its sample and plan: a seeder's `prepare`) was drawn in a
        forked process meanwhile (`_drawing`), on another CPU while the server loaded its specs;
        here only its copies are made of it (`assemble`). Without it, the seeder does both here."""
        drawing, self._drawing = self._drawing, None
        try:
            for sandbox, platform in self._in_turn(worlds):
                drawn = None
                if drawing is not None and platform in drawing.platforms:
                    drawn = await asyncio.to_thread(_drawn_by, drawing, platform)
                await self._seed_in_thread(sandbox, platform, drawn)
        except asyncio.CancelledError:  # the server stops: the child's work is wanted no more
            if drawing is not None:
                drawing.stop()
            raise
        finally:
            if drawing is not None:
                await asyncio.to_thread(drawing.close)

    async def _seed_in_thread(self, sandbox: str, platform: str, drawn: object = None) -> None:
        pending = self._pending[(sandbox, platform)]
        try:
            store = await asyncio.to_thread(self.seed_world, platform, drawn)
        except Exception as error:  # a bad fixture: this world cannot be served
            self._failed(platform, pending, error)
            return
        self._install(sandbox, platform, store, time.perf_counter() - pending.started, background=True)

    async def _settle_pending(self, sandbox: str, platform: str) -> None:
        """`settle` for a world `seed_in_background` announced, its waiting requests let go after."""
        pending = self._pending[(sandbox, platform)]
        try:
            store = await self.settle(sandbox, platform)
        except Exception as error:  # a bad fixture, or the shared store went away during start-up
            self._failed(platform, pending, error)
            return
        if self._pending.pop((sandbox, platform), None) is not None:
            pending.event.set()
            self._tell(sandbox, platform, True, store, time.perf_counter() - pending.started)

    def _failed(self, platform: str, pending: _Pending, error: BaseException) -> None:
        log.exception("seeding %s failed", platform, exc_info=error)
        self.failure = pending.error = error
        pending.event.set()
        if self.on_failure is not None:
            self.on_failure(error)

    def _take(self, sandbox: str, assembly: seeding.Assembly, payload: bytes, background: bool = False) -> None:
        """One message from a child; a complete world goes in place (and into the seed cache)."""
        finished = assembly.take(marshal.loads(payload))
        if finished is None:
            return
        platform, store, seconds = finished
        if store is None:
            log.warning("seeding %s in a forked process failed; seeding it here", platform)
            return
        if store.documents() <= CACHE_DOCUMENTS:  # `dump` is async; the world is needed now, as it is
            self._remember(platform, {name: {key: s.doc for key, s in items} for name, items in store.items()})
        self._install(sandbox, platform, store, seconds, background)

    def _install(
        self, sandbox: str, platform: str, seeded: MemoryStore, seconds: float, background: bool = False
    ) -> None:
        """Put a seeded world in place, as the store its persistence makes of it; one seeded in the
        background only if still awaited (an import of the whole state meanwhile replaced it: see
        `replace_worlds`). The indexes `_new_store` attached stay on `seeded`, which a SqliteStore
        serves from and writes through, so they stay current."""
        pending = self._pending.pop((sandbox, platform), None)
        if background and pending is None:
            return
        store = self.persistence.adopt(sandbox, platform, lambda: seeded)
        self._world(sandbox)[platform] = store
        if pending is not None:
            pending.event.set()
        self._tell(sandbox, platform, True, store, seconds)

    def _tell(self, sandbox: str, platform: str, done: bool, store: Store | None = None, seconds: float = 0) -> None:
        if platform not in self.seeders:
            return
        event = SeedEvent(sandbox, platform, done, _documents_in(store), seconds)
        if done:
            # the console's progress already prints the default worlds' lines at start-up; the log
            # keeps them for later worlds (new sandboxes) and for servers without a console
            shown = self.progress is not None and sandbox == DEFAULT_SANDBOX
            level = logging.DEBUG if shown else logging.INFO
            log.log(level, "seeded %s/%s: %d documents in %.2f s", sandbox, platform, event.documents, seconds)
        if self.progress is not None:
            self.progress(event)

    def _fork(self, sandbox: str, platforms: list[str]) -> seeding.Child:
        jobs = [(d, _Job(self.seeders[d], self._seed_context(d))) for d in platforms]
        return seeding.Child.start(jobs)

    def _forks(self, platform: str) -> bool:
        """Whether a forked process can seed the platform's world: not where the seeder makes it of
        `Lazy` documents (from its `lazy_from` instances on: world/replica.py), which only exist in
        the process that made them."""
        lazy_from = getattr(self.seeders.get(platform), "lazy_from", None)
        return lazy_from is None or self._instances(platform) < lazy_from

    def _draws(self, platform: str) -> bool:
        """Whether a forked process can draw the platform's large world for this one to make
        (the seeder's `prepare` and `assemble`: world/replica.py)."""
        seeder = self.seeders.get(platform)
        return hasattr(seeder, "prepare") and hasattr(seeder, "assemble")

    def _worth_forking(self, platform: str) -> bool:
        return (
            platform in self.seeders
            and self._instances(platform) >= PARALLEL_INSTANCES
            and self._cached_bytes(platform) is None
            and seeding.can_fork()
        )

    # --- the seed cache -----------------------------------------------------------------------

    def _seed_key(self, platform: str) -> tuple[object, ...]:
        return (platform, self.settings.seed, self.clock.start, str(self.settings.fixtures), repr(self.settings.apis))

    def _seed_context(self, platform: str) -> SeedContext:
        return SeedContext(self.settings, self.clock, platform)

    def _cached_bytes(self, platform: str) -> bytes | None:
        return _SEEDED.get(self._seed_key(platform))

    def _remember(self, platform: str, data: World) -> None:
        if _documents(data) > CACHE_DOCUMENTS:
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

    # --- sandboxes ----------------------------------------------------------------------------

    def _world(self, sandbox: str) -> dict[str, Store]:
        """The sandbox's stores by platform, most recently used last; the oldest beyond the limit go.

        With a shared store this process's stores are only handles, and the one it lets go stays
        in the store: which sandboxes the store keeps is decided there, by every replica's use
        (world/redis_store.py, `_evict_beyond_bound`), not by this process's alone."""
        world = self._worlds.get(sandbox)
        if world is None:
            world = self._worlds[sandbox] = {}
            while len(self._worlds) > max(self.settings.sandboxes, 1) + 1:
                oldest = next(k for k in self._worlds if k != DEFAULT_SANDBOX)
                del self._worlds[oldest]
                if not self.persistence.shared:
                    self.persistence.forget(oldest)
        self._worlds.move_to_end(sandbox)
        return world

    def replace_worlds(self, worlds: dict[str, dict[str, MemoryStore]]) -> None:
        """Every sandbox's worlds at once (a state import); worlds still seeding are no longer wanted.

        `await persistence.flush()` before acknowledging it."""
        self._worlds = OrderedDict(self.persistence.replace(worlds))
        for pending in self._pending.values():
            if pending.error is None:
                pending.event.set()  # their requests go on with the imported world (or seed anew)
        self._pending = {key: pending for key, pending in self._pending.items() if pending.error is not None}

    def restore(self) -> bool:
        """The worlds the persistence kept from an earlier run, if any (start-up)."""
        kept = self.persistence.load()
        for worlds in kept.values():  # the indexes built now, at start-up, not by the first query
            for platform, store in worlds.items():
                memory = _memory_of(store)
                if memory is None:
                    continue
                for collection, make in self.indexes.get(platform, ()):
                    memory.attach(collection, make)
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


@dataclass(frozen=True)
class _Job:
    """A platform's seeding as the forked child runs it (a closure would do, but this one has a name)."""

    seeder: Seeder
    context: SeedContext

    def __call__(self) -> World:
        return self.seeder(self.context)


@dataclass(frozen=True)
class _Draw:
    """A large world's random part as the forked child draws it (`seeding.Child.start_drawing`)."""

    seeder: Seeder
    context: SeedContext

    def __call__(self) -> object:
        return getattr(self.seeder, "prepare")(self.context)  # noqa: B009


def _drawn_by(child: seeding.Child, platform: str) -> object:
    """The world `child` drew for `platform` (waiting for it); None if it failed: the seeder then
    seeds it all in this process, where its error surfaces."""
    payload = child.receive_kept()
    message = marshal.loads(payload) if payload is not None else ("failed", platform, "the process ended")
    if message[0] != "drawn" or message[1] != platform:
        log.warning("drawing %s in a forked process failed; seeding it here", platform)
        return None
    return message[2]


def _shares(platforms: list[str], count: int, cost: Callable[[str], float]) -> list[list[str]]:
    """Platforms, costliest first, each to the least loaded of `count` processes."""
    shares: list[list[str]] = [[] for _ in range(max(1, min(count, len(platforms))))]
    for platform in platforms:
        min(shares, key=lambda share: sum(cost(d) for d in share)).append(platform)
    return [share for share in shares if share]


def _documents(data: World) -> int:
    return sum(len(items) for items in data.values())


def _memory_of(store: Store | None) -> MemoryStore | None:
    """The MemoryStore a world is served from: itself, or the one a SqliteStore wraps (`memory`)."""
    memory = store if isinstance(store, MemoryStore) else getattr(store, "memory", None)
    return memory if isinstance(memory, MemoryStore) else None


def _documents_in(store: Store | None) -> int:
    """How many documents a world holds, for the progress report (0 where unknown)."""
    memory = _memory_of(store)
    return memory.documents() if memory is not None else 0


@dataclass
class _Pause:
    freeze: bool = False


_PAUSES = 0  # how many pauses are under way (background worlds arrive side by side)
_ENABLED_BEFORE = True
_PAUSING = threading.Lock()  # a world seeded in a thread pauses too


@contextlib.contextmanager
def _collector_paused() -> Iterator[_Pause]:
    """No cyclic garbage collection while seeding and loading: worlds are millions of acyclic
    containers, and each collection would walk all those made so far. Set `freeze` for a large
    world: everything alive then is moved out of the collector's sight for good, so no later
    collection walks the world either (unfrozen, the first ones after seeding would). Pauses nest;
    the collector is as it was before the first once the last one ends."""
    global _PAUSES, _ENABLED_BEFORE
    with _PAUSING:
        if _PAUSES == 0:
            _ENABLED_BEFORE = gc.isenabled()
        _PAUSES += 1
        gc.disable()
    pause = _Pause()
    try:
        yield pause
    finally:
        with _PAUSING:
            _PAUSES -= 1
            if pause.freeze:
                gc.freeze()
            if _PAUSES == 0 and _ENABLED_BEFORE:
                gc.enable()
