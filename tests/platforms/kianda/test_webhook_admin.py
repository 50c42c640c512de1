"""Kianda webhooks managed through /__admin/webhooks reach a real receiver."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from instancemock.core.context import STATE
from instancemock.platforms.kianda.webhooks import services

from support import ADMIN, MakeClient, assert_conforms


async def test_webhooks_added_at_run_time_are_called_and_listed(make_client: MakeClient) -> None:
    received: asyncio.Queue[dict[str, str]] = asyncio.Queue()

    async def hook(request: web.Request) -> web.Response:
        await received.put(dict(request.query))
        return web.Response(text="ok")

    receiver = web.Application()
    receiver.router.add_get("/hook", hook)
    async with TestServer(receiver) as server:
        url = str(server.make_url("/hook"))
        client = await make_client(auth=False)
        added = await client.post("/__admin/webhooks", json={"url": url})
        assert added.status == 201
        await assert_conforms(ADMIN, added)
        assert (await client.post("/__admin/webhooks", json={"url": "not a url"})).status == 400

        create: dict[str, Any] = {"processName": "equipment-request", "FieldsMappings": []}
        created = await (await client.post("/kianda/api/instances/create", json=create)).json()
        event = await asyncio.wait_for(received.get(), timeout=10)
        assert event == {
            "instanceID": created["instanceID"],
            "processName": "equipment-request",
            "eventType": "created",
        }

        await asyncio.gather(*services(client.server.app[STATE]).pending)  # the delivery records its outcome
        listed = await client.get("/__admin/webhooks")
        body = await listed.json()
        await assert_conforms(ADMIN, listed)
        assert body["urls"] == [url]
        assert body["deliveries"][-1]["outcome"] == "delivered"

        removed = await client.delete("/__admin/webhooks", params={"url": url})
        await assert_conforms(ADMIN, removed)
        assert (await removed.json())["urls"] == []
        assert (await client.delete("/__admin/webhooks", params={"url": url})).status == 404


async def test_webhooks_may_only_call_allowed_hosts(make_client: MakeClient) -> None:
    """A webhook is a request the server makes from the developer's machine: loopback only, unless configured."""
    client = await make_client()
    for url in ("http://169.254.169.254/latest/meta-data", "http://intranet.example/hook", "https://10.0.0.1/"):
        refused = await client.post("/__admin/webhooks", json={"url": url})
        assert refused.status == 400, url
        assert "webhook_hosts" in (await refused.json())["error"]
        await assert_conforms(ADMIN, refused)
    assert (await client.post("/__admin/webhooks", json={"url": "http://localhost:9/hook"})).status == 201
    configured = await make_client(webhook_hosts=("hooks.internal",))
    assert (await configured.post("/__admin/webhooks", json={"url": "http://hooks.internal/x"})).status == 201
    assert (await configured.post("/__admin/webhooks", json={"url": "http://127.0.0.1/x"})).status == 400


async def test_a_configured_webhook_off_the_list_stops_start_up(make_client: MakeClient) -> None:
    with pytest.raises(ValueError, match="webhook_hosts"):
        await make_client(webhooks=("http://intranet.example/hook",))
