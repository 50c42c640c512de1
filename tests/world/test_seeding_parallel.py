"""Large worlds are seeded in forked processes at start-up; the world must not depend on that.

Each world is built in a fresh process (no seed cache) with the parallel threshold moved, so a
small world takes the parallel path in one and the in-process path in the other.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from instancemock.world.seeding import spare_cpus

EXPORT = """
import asyncio, hashlib, json, sys
from datetime import datetime
from instancemock.world import state
from instancemock.app import create_app
from instancemock.core.context import STATE
from instancemock.settings import Settings
from instancemock.world.snapshot import export_state
state.PARALLEL_INSTANCES = int(sys.argv[1])
sizes = {name: {"instances": 150} for name in ("kianda", "barium", "altinn-storage")}
app = create_app(Settings(seed=3, now=datetime.fromisoformat("2026-01-01T00:00:00+00:00"), apis=sizes))
print(hashlib.sha256(json.dumps(asyncio.run(export_state(app[STATE])), ensure_ascii=False).encode()).hexdigest())
"""


def digest(parallel_from: int) -> str:
    command = [sys.executable, "-c", EXPORT, str(parallel_from)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.skipif(spare_cpus() < 1, reason="needs fork and a second CPU")
def test_forked_seeding_gives_the_same_world_as_in_process() -> None:
    assert digest(1) == digest(10**9)
