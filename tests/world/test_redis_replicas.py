"""Two replicas, each a server on its own port, sharing one real Redis (`--store redis://...`).

What one replica acknowledged, the other serves: create on A, read, update and delete on B; the
Kianda version race has exactly one winner across both; a reset on one is a reset for both.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from instancemock.app import create_app

from support import KIANDA, assert_conforms, kianda_headers, settings

CREATE = "/kianda/api/instances/create"
PROCESS = "equipment-request"


@asynccontextmanager
async def replicas(url: str, count: int = 2, **overrides: Any) -> AsyncIterator[list[TestClient]]:
    """`count` servers on their own ports, one Redis; each closed (its client too) on exit."""
    clients = [TestClient(TestServer(create_app(settings(store=url, **overrides)))) for _ in range(count)]
    for client in clients:
        await client.start_server()
    try:
        yield clients
    finally:
        for client in clients:
            await client.close()


async def test_create_on_one_replica_read_update_and_delete_on_the_other(redis_url: str) -> None:
    async with replicas(redis_url) as (a, b):
        assert a.port != b.port
        on_a, on_b = await kianda_headers(a), await kianda_headers(b)
        created = await a.post(CREATE, json={"processName": PROCESS}, headers=on_a)
        assert created.status == 200, await created.text()
        name = (await created.json())["instanceID"]

        read = await b.get(f"/kianda/api/instances/{name}", headers=on_b)
        assert read.status == 200
        await assert_conforms(KIANDA, read)
        version = (await read.json())["Version"]

        text = "changed on B"
        body = {"Version": version, "FieldsMappings": [{"fieldname": "justification", "text": text, "value": text}]}
        updated = await b.put(f"/kianda/api/instances/{name}", json=body, headers=on_b)
        assert updated.status == 200, await updated.text()
        seen = await (await a.get(f"/kianda/api/instances/{name}", headers=on_a)).json()
        assert seen["Version"] != version
        assert next(f for f in seen["fields"] if f["name"] == "justification")["value"] == text

        stale = await a.put(f"/kianda/api/instances/{name}", json=body, headers=on_a)
        assert stale.status == 409  # A sends the version B already wrote over

        deleted = await b.delete(f"/kianda/api/instances/{name}", headers=on_b)
        assert deleted.status == 200
        assert (await a.get(f"/kianda/api/instances/{name}", headers=on_a)).status == 404


async def test_ids_handed_out_by_two_replicas_never_collide(redis_url: str) -> None:
    async with replicas(redis_url) as (a, b):
        headers = {a: await kianda_headers(a), b: await kianda_headers(b)}

        async def create(client: TestClient) -> str:
            response = await client.post(CREATE, json={"processName": PROCESS}, headers=headers[client])
            assert response.status == 200, await response.text()
            return str((await response.json())["instanceID"])

        names = await asyncio.gather(*(create(client) for client in [a, b] * 16))
        assert len(set(names)) == 32


async def test_32_writers_with_one_version_across_two_replicas_one_wins(redis_url: str) -> None:
    async with replicas(redis_url) as (a, b):
        headers = {a: await kianda_headers(a), b: await kianda_headers(b)}
        name = "training-approval-request-1"
        version = (await (await a.get(f"/kianda/api/instances/{name}", headers=headers[a])).json())["Version"]

        async def write(index: int) -> tuple[int, Any]:
            client = (a, b)[index % 2]
            text = f"writer {index}"
            body = {"Version": version, "FieldsMappings": [{"fieldname": "reason", "text": text, "value": text}]}
            response = await client.put(f"/kianda/api/instances/{name}", json=body, headers=headers[client])
            return response.status, await response.json()

        answers = await asyncio.gather(*(write(i) for i in range(32)))
        statuses = sorted(status for status, _ in answers)
        assert statuses == [200] + [409] * 31, statuses
        winner = next(i for i, (status, _) in enumerate(answers) if status == 200)
        final = await (await b.get(f"/kianda/api/instances/{name}", headers=headers[b])).json()
        assert final["Version"] == answers[winner][1]["Version"] != version
        reason = next(f for f in final["fields"] if f["name"] == "reason")
        assert reason["value"] == f"writer {winner}"


async def test_a_reset_on_one_replica_resets_the_world_for_both(redis_url: str) -> None:
    async with replicas(redis_url) as (a, b):
        on_a, on_b = await kianda_headers(a), await kianda_headers(b)
        sandbox = {"X-Mock-Sandbox": "team-b"}
        created = await b.post(CREATE, json={"processName": PROCESS}, headers={**on_b, **sandbox})
        name = (await created.json())["instanceID"]
        assert (await a.get(f"/kianda/api/instances/{name}", headers={**on_a, **sandbox})).status == 200
        reset = await a.post("/__admin/reset")  # every sandbox, team-b too though A never served it
        assert reset.status == 200
        assert (await b.get(f"/kianda/api/instances/{name}", headers={**on_b, **sandbox})).status == 404
