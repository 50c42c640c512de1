"""A replica that loses Redis: 503 in the platform's own shape while it is away, health says so,
and everything acknowledged before is served again once Redis is back (appendonly, fsync always)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from instancemock.app import create_app

from redis_server import RedisServer
from support import ADMIN, BARIUM, KIANDA, assert_conforms, barium_headers, free_port, kianda_headers, settings

CREATE = "/kianda/api/instances/create"


async def test_a_replica_without_redis_answers_503_in_shape_and_recovers_with_nothing_lost(
    redis_url: str, redis_server: RedisServer
) -> None:
    async with TestClient(TestServer(create_app(settings(store=redis_url)))) as client:
        kianda, barium = await kianda_headers(client), await barium_headers(client)
        health = await client.get("/__admin/health")
        assert (await health.json())["store"] == {"kind": "redis", "url": redis_url, "reachable": True}
        await assert_conforms(ADMIN, health)
        created = await client.post(CREATE, json={"processName": "equipment-request"}, headers=kianda)
        assert created.status == 200
        name = (await created.json())["instanceID"]

        redis_server.stop()
        try:
            away = await client.get(f"/kianda/api/instances/{name}", headers=kianda)
            assert away.status == 503
            assert away.headers["Retry-After"] == "1"
            assert set(await away.json()) == {"Message"}  # Kianda's Web API shape
            await assert_conforms(KIANDA, away)
            listed = await client.get("/barium/api/v1.1/Instances?Max=1", headers=barium)
            assert listed.status == 503
            await assert_conforms(BARIUM, listed)
            refused = await client.post(CREATE, json={"processName": "equipment-request"}, headers=kianda)
            assert refused.status == 503  # not acknowledged, so nothing to lose
            health = await client.get("/__admin/health")
            assert health.status == 503
            body: dict[str, Any] = await health.json()
            assert body["status"] == "unavailable" and body["store"]["reachable"] is False
            await assert_conforms(ADMIN, health)
        finally:
            redis_server.start()

        back = await client.get(f"/kianda/api/instances/{name}", headers=kianda)  # the token survived too
        assert back.status == 200, await back.text()
        assert (await back.json())["id"] == name
        assert (await client.get("/__admin/health")).status == 200
        again = await client.post(CREATE, json={"processName": "equipment-request"}, headers=kianda)
        assert again.status == 200
        assert int((await again.json())["instanceID"].rsplit("-", 1)[1]) == int(name.rsplit("-", 1)[1]) + 1


def test_start_up_without_redis_stops_with_one_line(redis_server: RedisServer) -> None:
    """`cannot start: the shared store (Redis) cannot be reached: ...` rather than a server that 503s."""
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    finished = subprocess.run(
        [sys.executable, "-m", "instancemock", "serve", "--port", "0", "--store", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode != 0
    lines = [line for line in finished.stderr.splitlines() if line.startswith("instancemock:")]
    assert len(lines) == 1 and "Redis" in lines[0], finished.stderr


async def test_a_redis_restart_in_the_middle_of_a_load_loses_no_acknowledged_write(
    redis_url: str, redis_server: RedisServer
) -> None:
    """Two replicas create instances without pause while Redis stops and starts again: every
    create answered 200 is there afterwards, on both; the others were answered 503."""
    first = TestClient(TestServer(create_app(settings(store=redis_url))))
    second = TestClient(TestServer(create_app(settings(store=redis_url))))
    async with first as a, second as b:
        headers = {a: await kianda_headers(a), b: await kianda_headers(b)}
        acknowledged: list[str] = []
        refused: list[int] = []
        enough, failing, stop = asyncio.Event(), asyncio.Event(), asyncio.Event()
        wanted = [10]  # acknowledged creates to wait for before the next step

        async def writer(client: TestClient) -> None:
            while not stop.is_set():
                response = await client.post(CREATE, json={"processName": "equipment-request"}, headers=headers[client])
                if response.status == 200:
                    acknowledged.append((await response.json())["instanceID"])
                    if len(acknowledged) >= wanted[0]:
                        enough.set()
                else:
                    assert response.status == 503, await response.text()
                    refused.append(response.status)
                    failing.set()

        writers = [asyncio.create_task(writer(client)) for client in (a, b, a, b)]
        try:
            await asyncio.wait_for(enough.wait(), 120)
            await asyncio.to_thread(redis_server.stop)
            await asyncio.wait_for(failing.wait(), 120)
            await asyncio.to_thread(redis_server.start)
            enough.clear()
            wanted[0] = len(acknowledged) + 10
            await asyncio.wait_for(enough.wait(), 120)
        finally:
            stop.set()
            await asyncio.gather(*writers)
        assert refused and len(set(acknowledged)) == len(acknowledged)
        for name in acknowledged:
            for client in (a, b):
                found = await client.get(f"/kianda/api/instances/{name}", headers=headers[client])
                assert found.status == 200, name
