"""Seeded worlds: one seed and one `--now` fix every byte; another seed gives another world."""

from __future__ import annotations

import json

from conftest import MakeClient


async def state_bytes(make_client: MakeClient, **overrides: object) -> bytes:
    client = await make_client(**overrides)
    response = await client.get("/__admin/state")
    assert response.status == 200
    return await response.read()


async def test_same_seed_and_now_give_byte_identical_worlds(make_client: MakeClient) -> None:
    first = await state_bytes(make_client, seed=11)
    second = await state_bytes(make_client, seed=11)
    assert first == second
    worlds = json.loads(first)["sandboxes"]["default"]
    assert set(worlds) == {"kianda", "barium", "altinn"}
    assert all(any(collection for collection in world.values()) for world in worlds.values()), "every API is seeded"


async def test_another_seed_gives_another_world(make_client: MakeClient) -> None:
    assert await state_bytes(make_client, seed=11) != await state_bytes(make_client, seed=12)
