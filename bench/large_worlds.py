"""Where a large world's seeding goes, by step: drawn (in a forked child at start-up), made and indexed (in the server).

    .venv/bin/python bench/large_worlds.py [INSTANCES]   # default 100000

For each platform at INSTANCES per API (seed 1, --now 2026-01-01T00:00:00Z), in this one process
with the cyclic collector off (as seeding runs), the CPU seconds of:

- the seeder's `prepare` and marshalling its answer: what `seeding.Child.start_drawing` does in a
  forked process while the server loads its specs (world/state.py `seed_in_background`);
- unmarshalling it, the seeder's `assemble` and the store: what the server does with it;
- `MemoryStore.attach` of the platform's index (Barium's list order, Altinn's query index), which
  the server does when the world is put in place.
"""

from __future__ import annotations

import gc
import marshal
import sys
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from instancemock.platforms.altinn.domain.index import InstanceIndex
from instancemock.platforms.altinn.seed import seed_altinn
from instancemock.platforms.barium.order import InstanceOrder
from instancemock.platforms.barium.seed import seed_barium
from instancemock.platforms.kianda.seed import seed as seed_kianda
from instancemock.settings import Settings
from instancemock.world.clock import Clock
from instancemock.world.state import SeedContext
from instancemock.world.store import MemoryStore

NOW = datetime.fromisoformat("2026-01-01T00:00:00+00:00")
SEEDERS: tuple[tuple[str, Any, Callable[[], Any] | None], ...] = (
    ("kianda", seed_kianda, None),
    ("barium", seed_barium, InstanceOrder),
    ("altinn", seed_altinn, InstanceIndex),
)


def main(instances: int) -> None:
    gc.disable()
    settings = Settings(
        seed=1, now=NOW, apis={name: {"instances": instances} for name in ("kianda", "barium", "altinn-storage")}
    )
    print("| platform | drawn (`prepare` + marshal) | marshalled | made (`assemble` + store) | index filed |")
    print("|---|---:|---:|---:|---:|")
    for name, seeder, index in SEEDERS:
        ctx = SeedContext(settings, Clock(NOW), name)
        started = time.process_time()
        drawn = marshal.dumps(seeder.prepare(ctx))
        drawing = time.process_time() - started
        started = time.process_time()
        store = MemoryStore(seeder.assemble(ctx, marshal.loads(drawn)))
        making = time.process_time() - started
        started = time.process_time()
        if index is not None:
            store.attach("instances", index)
        filing = time.process_time() - started
        cells = (name, f"{drawing:.2f} s", f"{len(drawn) / 2**20:.1f} MiB", f"{making:.2f} s", f"{filing:.2f} s")
        print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
