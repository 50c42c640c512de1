"""Worlds seeded in the background: the server answers meanwhile, and no request sees a half-made world.

A toy platform's seeder (tests/slow_platform.py) blocks on a pipe until the test writes to it, so
each test decides when seeding ends (the seeder runs in a forked process, which inherits the
pipe), without sleeping. The last test does the same through a real `instancemock serve`.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import OrderedDict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from instancemock.app import create_app
from instancemock.core.context import STATE
from instancemock.core.plugin import Plugin
from instancemock.world import state as world_state
from instancemock.world.seeding import can_fork
from instancemock.world.state import SeedEvent, State
from instancemock.world.store import MemoryStore

from slow_platform import COLLECTION, GATE_FD, Gate, slow_platform
from support import free_port, settings, wait_healthy

pytestmark = pytest.mark.skipif(not can_fork(), reason="background seeding forks")

TESTS = Path(__file__).resolve().parents[1]
MEMORY = {"kind": "memory", "reachable": True}  # what /__admin/health says of the default store


@pytest.fixture
def gate() -> Iterator[Gate]:
    made = Gate()
    yield made
    made.close()


@pytest.fixture
def serve(aiohttp_client: Any) -> Any:
    async def serve(plugin: Plugin, seed: int, **overrides: Any) -> TestClient:
        return await aiohttp_client(create_app(settings(seed=seed, **overrides), [plugin], background=True))

    return serve


async def assert_held_until_seeded(client: Any, gate: Gate) -> None:
    """A request for the seeding world waits (health still 503 a round trip later) and is answered
    from the world once the gate lets the seeding finish."""
    waiting = asyncio.create_task(client.get("/slow/things"))
    assert (await client.get("/__admin/health")).status == 503  # a round trip later, still held
    assert not waiting.done()
    gate.open_once()
    response = await waiting
    assert response.status == 200 and len((await response.json())["things"]) == 3


async def test_health_says_seeding_and_requests_wait_for_their_world(serve: Any, gate: Gate) -> None:
    events: list[SeedEvent] = []
    client = await serve(slow_platform(gate), seed=101)
    state: State = client.server.app[STATE]
    state.progress = events.append
    health = await client.get("/__admin/health")
    assert health.status == 503
    assert await health.json() == {"status": "seeding", "seeding": ["slow"], "store": MEMORY}
    assert (await client.get("/__admin/specs/slow")).status == 200  # what reads no world is answered at once

    await assert_held_until_seeded(client, gate)
    assert await (await client.get("/__admin/health")).json() == {"status": "ok", "store": MEMORY}
    assert [(e.platform, e.done, e.documents) for e in events] == [("slow", True, 3)]


async def test_the_world_is_the_one_seeding_in_process_makes(
    serve: Any, gate: Gate, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate.open_once()
    client = await serve(slow_platform(gate), seed=102)
    forked = (await (await client.get("/slow/things")).json())["things"]
    monkeypatch.setattr(world_state, "_SEEDED", OrderedDict())  # no seed cache: seed again, here
    app = create_app(settings(seed=102), [slow_platform(None)])
    assert forked == sorted(s.doc["id"] for s in await app[STATE].store("default", "slow").list(COLLECTION))


async def test_a_world_that_cannot_be_seeded_fails_its_requests_and_health_says_why(serve: Any) -> None:
    failures: list[BaseException] = []
    client = await serve(slow_platform(None, fail=True), seed=104)
    client.server.app[STATE].on_failure = failures.append
    response = await client.get("/slow/things")
    assert response.status == 500 and "slowError" in await response.json()
    health = await client.get("/__admin/health")
    assert health.status == 503
    body = await health.json()
    assert body["status"] == "failed" and "things/0: not a thing" in body["error"]
    assert [str(f) for f in failures] == ["slow.yaml: things/0: not a thing"]


async def test_a_new_sandbox_of_a_large_world_is_seeded_while_the_server_answers(
    serve: Any, gate: Gate, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(world_state, "PARALLEL_INSTANCES", 2)  # "large" from 2 instances: seeded in a child
    monkeypatch.setattr(world_state, "CACHE_DOCUMENTS", 0)  # and, as large worlds, never in the seed cache
    client = await serve(slow_platform(gate), seed=105, apis={"slow": {"instances": 2}})
    gate.open_once()
    await client.server.app[STATE].ready_all()
    waiting = asyncio.create_task(client.get("/slow/things", headers={"X-Mock-Sandbox": "team-a"}))
    assert (await client.get("/slow/things")).status == 200  # the default sandbox answers meanwhile
    assert (await client.get("/__admin/health")).status == 200
    assert not waiting.done()
    gate.open_once()
    response = await waiting
    assert response.status == 200
    assert await response.json() == await (await client.get("/slow/things")).json()


async def test_a_state_import_while_seeding_is_not_overwritten_by_the_seeded_world(serve: Any, gate: Gate) -> None:
    client = await serve(slow_platform(gate), seed=106)
    state: State = client.server.app[STATE]
    state.replace_worlds({"default": {"slow": MemoryStore({COLLECTION: {"mine": {"id": "mine"}}})}})
    assert await (await client.get("/__admin/health")).json() == {"status": "ok", "store": MEMORY}
    gate.open_once()
    absorbing = next(task for task in asyncio.all_tasks() if task.get_name() == "instancemock-seed")
    await absorbing  # the seeded world arrived after the import, and was dropped
    assert await (await client.get("/slow/things")).json() == {"things": ["mine"]}


def answer(url: str, timeout: float = 60) -> tuple[int, Any]:
    """Status and decoded body of a GET, whatever the status; (0, None) while nothing listens."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)
    except OSError:
        return 0, None


def test_the_cli_answers_while_it_seeds_and_prints_the_banner_once_every_world_is_in(gate: Gate) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "instancemock", "serve", "--port", str(port), "--seed", "3", "--auth", "off"]
    command += ["--now", "2026-01-01T00:00:00Z", "--platform", "slow_platform"]
    paths = os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, GATE_FD: str(gate.read_end), "PYTHONPATH": paths}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, pass_fds=(gate.read_end,)
    )
    try:
        deadline = time.monotonic() + 60
        while (first := answer(f"{base}/__admin/health", timeout=5))[0] == 0:
            assert process.poll() is None and time.monotonic() < deadline, "the server never answered"
            time.sleep(0.05)  # polling a port that is not open yet: there is no event to await
        assert first[0] == 503 and first[1]["status"] == "seeding" and "slow" in first[1]["seeding"]
        with ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(answer, f"{base}/slow/things")
            # Kianda's world comes in while the slow one is held: its requests are answered meanwhile.
            status, instance = answer(f"{base}/kianda/api/instances/training-approval-request-1")
            assert status == 200 and "Version" in instance
            seeding = {"status": "seeding", "seeding": ["slow"], "store": MEMORY}
            assert answer(f"{base}/__admin/health") == (503, seeding)
            assert not waiting.done()
            gate.open_once()
            status, things = waiting.result(timeout=60)
        assert status == 200 and len(things["things"]) == 3
        wait_healthy(base, process)
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, output
    lines = output.splitlines()
    assert lines[0].startswith("instancemock: seeding 4 worlds (") and "slow" in lines[0]
    seeded = {line.split()[2]: n for n, line in enumerate(lines) if line.startswith("instancemock: seeded ")}
    assert sorted(seeded) == ["altinn", "barium", "kianda", "slow"]
    ready = next(n for n, line in enumerate(lines) if " ready in " in line)
    assert max(seeded.values()) < ready, "the banner comes once every world is in"
    slow = next(line.split() for line in lines[ready:] if line.startswith("  slow "))
    assert slow == ["slow", f"{base}/slow", "3", "instances"]


async def test_with_a_shared_store_requests_wait_while_the_world_is_seeded_under_its_lock(
    serve: Any, gate: Gate, redis_url: str
) -> None:
    """Nothing forked: `absorb` has the world seeded once into Redis (State.settle) while the
    server answers, and `await_world` holds requests until it is in."""
    client = await serve(slow_platform(gate), seed=107, store=redis_url)  # a seed no other test caches
    health = await client.get("/__admin/health")
    body = await health.json()
    assert health.status == 503 and body["status"] == "seeding" and body["seeding"] == ["slow"]
    assert body["store"] == {"kind": "redis", "url": redis_url, "reachable": True}
    await assert_held_until_seeded(client, gate)
    assert (await (await client.get("/__admin/health")).json())["status"] == "ok"
