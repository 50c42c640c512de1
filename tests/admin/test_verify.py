"""POST /__admin/requests/verify: the match count against an expectation, and near misses when it fails."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from support import ADMIN, MakeClient, assert_conforms

API = "/kianda/api"


async def verify(client: TestClient, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    response = await client.post("/__admin/requests/verify", json=body)
    assert response.status == status, await response.text()
    await assert_conforms(ADMIN, response)
    return await response.json()


async def arrange(client: TestClient) -> None:
    await client.post(f"{API}/instances/create", json={"processName": "equipment-request", "TriggerField": ""})
    await client.get(f"{API}/instances", params={"processName": "equipment-request"}, headers={"X-Mock-Sandbox": "qa"})
    await client.get(f"{API}/processes")


async def test_counts_and_expectations(make_client: MakeClient) -> None:
    client = await make_client(auth=False)
    await arrange(client)
    assert (await verify(client, {"request": {"api": "kianda", "method": "GET"}, "count": 2}))["verified"]
    assert (await verify(client, {"request": {"method": "GET", "sandbox": "qa"}}))["verified"]  # at least one
    outcome = await verify(client, {"request": {"method": "GET"}, "atMost": 1})
    assert outcome == {"verified": False, "count": 2, "expected": {"atMost": 1}, "nearMisses": outcome["nearMisses"]}
    body = {"processName": "equipment-request"}
    assert (
        await verify(client, {"request": {"operation": "createInstance", "body": body, "status": "2xx"}, "count": 1})
    )["verified"]
    query = {"processname": "equip*"}  # names in any casing, values as globs
    assert (await verify(client, {"request": {"path": "/api/instances", "query": query}, "count": 1}))["verified"]


async def test_near_misses_come_nearest_first_and_say_why(make_client: MakeClient) -> None:
    client = await make_client(auth=False)
    await arrange(client)
    outcome = await verify(
        client,
        {
            "request": {
                "api": "kianda",
                "method": "POST",
                "path": "/api/instances/create",
                "body": {"processName": "leave-request"},
            }
        },
    )
    assert not outcome["verified"] and outcome["count"] == 0
    nearest, *others = outcome["nearMisses"]
    assert nearest["request"]["method"] == "POST"
    assert nearest["differences"] == [
        {"field": "body.processName", "expected": "leave-request", "actual": "equipment-request"}
    ]
    assert all(other["distance"] >= nearest["distance"] for other in others)
    assert {d["field"] for d in others[0]["differences"]} >= {"method", "path"}


async def test_a_verified_expectation_lists_no_near_misses_and_bad_criteria_are_refused(
    make_client: MakeClient,
) -> None:
    client = await make_client(auth=False)
    await arrange(client)
    assert (await verify(client, {"request": {"api": "kianda"}, "atLeast": 3}))["nearMisses"] == []
    refused = await verify(client, {"request": {"colour": "red"}}, status=400)
    assert "colour" in refused["error"]
    await verify(client, {"request": {}, "count": 1, "atLeast": 1}, status=400)
