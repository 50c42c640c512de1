"""Seeded worlds: one seed and one `--now` fix every byte; another seed gives another world.

The worlds are built in separate processes with different hash seeds, as two machines would:
an in-process comparison would reuse the seed cache and miss set-ordering differences.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

from support import MakeClient

EXPORT = """
import asyncio, hashlib, json, sys
from datetime import datetime
from instancemock.app import create_app
from instancemock.core.context import STATE
from instancemock.settings import Settings
from instancemock.world.snapshot import export_state
app = create_app(Settings(seed=int(sys.argv[1]), now=datetime.fromisoformat("2026-01-01T00:00:00+00:00")))
document = asyncio.run(export_state(app[STATE]))
print(hashlib.sha256(json.dumps(document, ensure_ascii=False).encode()).hexdigest())
worlds = document["sandboxes"]["default"]
print(json.dumps({ds: {c: len(items) for c, items in world.items()} for ds, world in worlds.items()}))
"""


def world_digest(seed: int, hash_seed: str) -> tuple[str, dict[str, dict[str, int]]]:
    result = subprocess.run(
        [sys.executable, "-c", EXPORT, str(seed)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONHASHSEED": hash_seed},
        check=True,
    )
    digest, sizes = result.stdout.strip().splitlines()[-2:]
    return digest, json.loads(sizes)


def test_same_seed_and_now_give_byte_identical_worlds_in_any_process() -> None:
    first, sizes = world_digest(11, "1")
    second, _ = world_digest(11, "2")
    assert first == second
    assert set(sizes) == {"kianda", "barium", "altinn"}
    assert all(sum(collections.values()) > 0 for collections in sizes.values()), "every API is seeded"
    assert world_digest(12, "1")[0] != first  # another seed, another world


async def test_responses_are_identical_for_the_same_seed(make_client: MakeClient) -> None:
    bodies = []
    for _ in range(2):
        client = await make_client(seed=5)
        response = await client.get("/__admin/state")
        bodies.append(hashlib.sha256(await response.read()).hexdigest())
    assert bodies[0] == bodies[1]
