"""Where a State keeps its worlds beyond memory: nowhere (the default), or a database.

`State` (world/state.py) creates, resets, evicts and replaces worlds; it tells its `Persistence`
each time, and the persistence decides what a world's `Store` is. `InMemory` hands the seeded
`MemoryStore` back as is; `SqlitePersistence` (world/sqlite_store.py) wraps it in a store that
commits every write, and records created and dropped worlds, so a restart finds them again;
`RedisPersistence` (world/redis_store.py) shares the worlds among replicas, seeding each once.
A new world's seed is handed over as a function: a shared store that already holds the world
never computes it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from instancemock.world.store import MemoryStore, Store

Worlds = dict[str, dict[str, Store]]  # sandbox -> platform -> store


class Persistence(Protocol):
    # True where other processes share the worlds (Redis): a world is then seeded by whichever
    # process first needs it, under the store's lock (`seeded`), never by each one beforehand.
    shared: bool

    def load(self) -> Worlds:
        """The worlds kept from an earlier run (none the first time); called once, at start-up."""
        ...

    def adopt(self, sandbox: str, platform: str, seed: Callable[[], MemoryStore]) -> Store:
        """The store to serve a new world from, holding what `seed()` makes; kept from now on."""
        ...

    def forget(self, sandbox: str | None, platform: str | None = None) -> None:
        """A world (or a whole sandbox) is gone: reset or evicted. `sandbox` None: that platform (or
        every world) in every sandbox, those this process has not used too (a shared store has them)."""
        ...

    def replace(self, worlds: dict[str, dict[str, MemoryStore]]) -> Worlds:
        """Every world at once (an imported state document): all of them or, on a crash, none."""
        ...

    def services(self, platform: str) -> Store:
        """Where a platform keeps what every sandbox shares (tokens, tickets, its signing key):
        never seeded, reset, evicted or exported. Shared by every replica where the store is."""
        ...

    async def sandboxes(self) -> list[str]:
        """Sandboxes the store holds that this process may never have used (a shared store's)."""
        ...

    async def seeded(self, store: Store) -> None:
        """Once `store`, which `adopt` made, holds its world (a shared store seeds it on first use)."""
        ...

    async def flush(self) -> None:
        """Return once every change announced above is durable."""
        ...

    async def close(self) -> None: ...


class InMemory:
    """Nothing is kept beyond the process: the seeded store is the world's store."""

    shared = False

    def load(self) -> Worlds:
        return {}

    def adopt(self, sandbox: str, platform: str, seed: Callable[[], MemoryStore]) -> Store:
        return seed()

    def forget(self, sandbox: str | None, platform: str | None = None) -> None:
        return None

    def replace(self, worlds: dict[str, dict[str, MemoryStore]]) -> Worlds:
        return {sandbox: dict(platforms) for sandbox, platforms in worlds.items()}

    def services(self, platform: str) -> Store:
        return MemoryStore()

    async def sandboxes(self) -> list[str]:
        return []

    async def seeded(self, store: Store) -> None:
        return None

    async def flush(self) -> None:
        return None

    async def close(self) -> None:
        return None
