"""Everything the server holds: the world of each sandbox, and what is shared across sandboxes.

Tokens and tickets live in `services` (shared), so a token obtained in one sandbox works in all;
instance data lives in per-sandbox stores, seeded on first use from the seed, `--now` and the
fixtures, and evicted least-recently-used past `settings.sandboxes`.
"""

from __future__ import annotations

import copy
import random
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from faker import Faker

from .apis import Api
from .clock import Clock
from .settings import Settings
from .store import Document, MemoryStore, Store

DEFAULT_SANDBOX = "default"

# Seeded worlds by their inputs: sandboxes, resets and test servers reuse them instead of
# running Faker again (generation is the slow part of start-up).
CACHE_DOCUMENTS = 20_000  # larger worlds (benchmarks, big demos) are not worth twice the memory
_SEEDED: OrderedDict[tuple[object, ...], dict[str, dict[str, Document]]] = OrderedDict()

Seeder = Callable[["SeedContext"], dict[str, dict[str, Document]]]


@dataclass(frozen=True, slots=True)
class SeedContext:
    settings: Settings
    clock: Clock
    dataset: str

    @property
    def seed(self) -> int:
        return self.settings.seed

    def random(self, salt: str = "") -> random.Random:
        """A private generator per dataset (and purpose), never the global one."""
        return random.Random(f"{self.settings.seed}:{self.dataset}:{salt}")

    def faker(self, locale: str | list[str], salt: str = "") -> Faker:
        """A private Faker seeded from the server seed, never `Faker.seed()` (that one is global)."""
        fake = Faker(locale)
        fake.seed_instance(f"{self.settings.seed}:{self.dataset}:{salt}")
        return fake

    @property
    def now(self) -> datetime:
        """The instant the world is seeded at: `--now`, or the start-up time."""
        return self.clock.start

    def size(self, api_name: str, default: int) -> int:
        """`apis.<name>.instances` from the config file."""
        return int(self.settings.api_option(api_name, "instances", default))


@dataclass
class State:
    settings: Settings
    clock: Clock
    apis: dict[str, Api]
    seeders: dict[str, Seeder]
    services: dict[str, Any] = field(default_factory=dict)  # per platform, shared by all sandboxes
    _worlds: OrderedDict[str, dict[str, Store]] = field(default_factory=OrderedDict)

    def seed_dataset(self, dataset: str) -> Store:
        """A fresh store holding the seeded world; equal inputs give an equal world, so it is cached."""
        seeder = self.seeders.get(dataset)
        if seeder is None:
            return MemoryStore()
        key = (dataset, self.settings.seed, self.clock.start, str(self.settings.fixtures), repr(self.settings.apis))
        cached = _SEEDED.get(key)
        if cached is not None:
            return MemoryStore(copy.deepcopy(cached))  # a sandbox must never see another's writes
        data = seeder(SeedContext(self.settings, self.clock, dataset))
        if sum(len(items) for items in data.values()) <= CACHE_DOCUMENTS:
            _SEEDED[key] = copy.deepcopy(data)
            while len(_SEEDED) > 16:
                _SEEDED.popitem(last=False)
        return MemoryStore(data)

    def store(self, sandbox: str, dataset: str) -> Store:
        world = self._worlds.get(sandbox)
        if world is None:
            world = self._worlds[sandbox] = {}
            while len(self._worlds) > max(self.settings.sandboxes, 1) + 1:
                oldest = next(k for k in self._worlds if k != DEFAULT_SANDBOX)
                del self._worlds[oldest]
        self._worlds.move_to_end(sandbox)
        if dataset not in world:
            world[dataset] = self.seed_dataset(dataset)
        return world[dataset]

    def replace_worlds(self, worlds: dict[str, dict[str, Store]]) -> None:
        self._worlds = OrderedDict(worlds)

    def sandboxes(self) -> list[str]:
        """The default sandbox always exists; the others once used."""
        return [DEFAULT_SANDBOX] + [name for name in self._worlds if name != DEFAULT_SANDBOX]

    def reset(self, sandbox: str | None = None, dataset: str | None = None) -> None:
        """Forget the chosen worlds; they are seeded again, identically, on next use."""
        for name in [sandbox] if sandbox else list(self._worlds):
            world = self._worlds.get(name)
            if world is None:
                continue
            for key in [dataset] if dataset else list(world):
                world.pop(key, None)

    def datasets(self) -> list[str]:
        return sorted({api.dataset for api in self.apis.values() if api.dataset != "admin"})
