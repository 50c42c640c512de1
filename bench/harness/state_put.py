"""`PUT /__admin/state` of the default export, timed by a client while a poller watches the event loop.

The poller asks `/__admin/health` every few milliseconds on its own connection; the longest
answer it waited for while the PUT was in flight is how long the server's event loop served
nothing (its baseline is about a millisecond).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

POLL_INTERVAL_S = 0.005


async def measure(base: str) -> dict[str, Any]:
    connector = aiohttp.TCPConnector(limit=4)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=600)) as session:
        async with session.get(f"{base}/__admin/state") as response:
            document = await response.read()
        polls: list[tuple[float, float]] = []  # (sent, answered), perf_counter seconds
        stop = asyncio.Event()

        async def poll() -> None:
            while not stop.is_set():
                sent = time.perf_counter()
                async with session.get(f"{base}/__admin/health") as answer:
                    await answer.read()
                polls.append((sent, time.perf_counter()))
                await asyncio.sleep(POLL_INTERVAL_S)

        poller = asyncio.create_task(poll())
        await asyncio.sleep(0.2)  # the poller's baseline before the PUT
        started = time.perf_counter()
        headers = {"Content-Type": "application/json"}
        async with session.put(f"{base}/__admin/state", data=document, headers=headers) as response:
            status = response.status
            await response.read()
        finished = time.perf_counter()
        await asyncio.sleep(0.1)
        stop.set()
        await poller
    during = [answered - sent for sent, answered in polls if answered >= started and sent <= finished]
    before = [answered - sent for sent, answered in polls if answered < started]
    return {
        "status": status,
        "document_bytes": len(document),
        "put_s": finished - started,
        "stall_ms": 1000 * max(during, default=0.0),
        "health_baseline_ms": 1000 * max(before, default=0.0),
        "health_polls_during": len(during),
    }


def run(base: str) -> dict[str, Any]:
    return asyncio.run(measure(base))
