"""The admin API behind the pages: the pages and their files, the instance browser, the simulation toggle."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from aiohttp.test_utils import TestClient

from instancemock.core.context import STATE
from instancemock.world.simulate import simulation_of

from support import ADMIN, MakeClient, assert_conforms


async def ok(client: TestClient, path: str, **params: Any) -> Any:
    response = await client.get(path, params={k: str(v) for k, v in params.items()})
    assert response.status == 200, await response.text()
    await assert_conforms(ADMIN, response)
    return response


async def test_the_pages_load_only_from_this_server(client: TestClient) -> None:
    for page in ("/__admin/docs", "/__admin/ui"):
        text = await (await ok(client, page)).text()
        sources = re.findall(r'(?:src|href)="([^"]+)"', text)
        assert sources and all(source.startswith("/__admin/") for source in sources), sources  # offline: no CDN
        for source in sources:
            if source.startswith("/__admin/docs/assets/") or source.startswith("/__admin/ui/assets/"):
                asset = await ok(client, source)
                assert asset.headers["Cache-Control"].startswith("public")
    docs = await (await ok(client, "/__admin/docs", api="barium")).text()
    assert '"primary":"barium: ' in docs  # the spec shown first
    assert "anna.berg@nordvik.se" in docs  # the demo logins are on the page
    assert (await client.get("/__admin/ui/assets/../../app.py")).status == 404
    assert (await client.get("/__admin/docs/assets/index.html")).status == 404  # only Swagger UI's own files


async def test_browse_search_and_open_instances(make_client: MakeClient) -> None:
    client = await make_client(auth=False)
    await client.post(
        "/kianda/api/instances/create", json={"processName": "equipment-request"}, headers={"X-Mock-Sandbox": "b"}
    )
    listed = await (await ok(client, "/__admin/worlds/kianda/instances", sandbox="b", limit=3)).json()
    assert listed["total"] == 301 and len(listed["instances"]) == 3 and "b" in listed["sandboxes"]
    newest = listed["instances"][0]
    assert newest["title"] == "Equipment request"  # what was made last comes first
    found = await (await ok(client, "/__admin/worlds/kianda/instances", q="TRAINING-APPROVAL-REQUEST-1 manager")).json()
    assert "training-approval-request-1" in [item["key"] for item in found["instances"]]
    opened = await (await ok(client, "/__admin/worlds/kianda/instance", key="training-approval-request-1")).json()
    assert opened["document"]["id"] == "training-approval-request-1"
    assert opened["summary"]["position"] == opened["document"]["status"]
    for api in ("barium", "altinn-storage", "altinn-app"):
        page = await (await ok(client, f"/__admin/worlds/{api}/instances", limit=1)).json()
        assert page["total"] > 0 and page["instances"][0]["position"]
    missing = await client.get("/__admin/worlds/kianda/instance", params={"key": "nope"})
    assert missing.status == 404


async def test_the_simulation_can_be_switched_on_and_off_while_serving(client: TestClient) -> None:
    on = await client.put("/__admin/simulate", json={"speed": 600})
    await assert_conforms(ADMIN, on)
    assert (await on.json())["running"] is True
    simulation = simulation_of(client.app[STATE])
    try:
        await asyncio.wait_for(simulation.acted.wait(), timeout=20)  # the background task's own schedule
    except TimeoutError:
        raise AssertionError("switched on, the simulated users did nothing within 20 s") from None
    assert (await (await client.get("/__admin/simulate")).json())["recent"]
    off = await client.put("/__admin/simulate", json={"speed": 0})
    assert (await off.json())["running"] is False
    assert (await client.put("/__admin/simulate", json={"speed": -1})).status == 400
