"""X-Mock-Sandbox: each caller's own world, seeded like the default one, isolated, bounded."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from support import KIANDA, MakeClient, assert_conforms, kianda_headers

CREATE = {
    "processName": "equipment-request",
    "instanceID": "equipment-request",
    "TriggerField": "",
    "FieldsMappings": [],
}


async def get(client: TestClient, path: str, headers: dict[str, str], sandbox: str | None) -> Any:
    extra = {"X-Mock-Sandbox": sandbox} if sandbox else {}
    return await client.get(path, headers={**headers, **extra})


async def test_a_write_in_one_sandbox_is_invisible_elsewhere(make_client: MakeClient) -> None:
    client = await make_client()
    auth = await kianda_headers(client)  # one token, valid in every sandbox
    created = await client.post("/kianda/api/instances/create", json=CREATE, headers={**auth, "X-Mock-Sandbox": "a"})
    assert created.status == 200
    await assert_conforms(KIANDA, created)
    name = (await created.json())["instanceID"]

    assert (await get(client, f"/kianda/api/instances/{name}", auth, "a")).status == 200
    assert (await get(client, f"/kianda/api/instances/{name}", auth, None)).status == 404
    assert (await get(client, f"/kianda/api/instances/{name}", auth, "b")).status == 404
    # the same name is free in sandbox b: its counter is its own, seeded like the default world
    again = await client.post("/kianda/api/instances/create", json=CREATE, headers={**auth, "X-Mock-Sandbox": "b"})
    assert (await again.json())["instanceID"] == name


async def test_a_new_sandbox_starts_as_the_seeded_default_world(make_client: MakeClient) -> None:
    client = await make_client()
    auth = await kianda_headers(client)
    default = await (await get(client, "/kianda/api/instances?pageSize=500", auth, None)).json()
    fresh = await (await get(client, "/kianda/api/instances?pageSize=500", auth, "fresh")).json()
    assert fresh == default


async def test_reset_of_one_sandbox_leaves_the_others(make_client: MakeClient) -> None:
    client = await make_client()
    auth = await kianda_headers(client)
    names = {}
    for sandbox in ("a", "b"):
        response = await client.post(
            "/kianda/api/instances/create", json=CREATE, headers={**auth, "X-Mock-Sandbox": sandbox}
        )
        names[sandbox] = (await response.json())["instanceID"]
    assert (await client.post("/__admin/reset", params={"sandbox": "a"})).status == 200
    assert (await get(client, f"/kianda/api/instances/{names['a']}", auth, "a")).status == 404
    assert (await get(client, f"/kianda/api/instances/{names['b']}", auth, "b")).status == 200


async def test_only_so_many_sandboxes_are_kept_least_recently_used_first(make_client: MakeClient) -> None:
    client = await make_client(sandboxes=2)
    auth = await kianda_headers(client)
    kept = await client.post("/kianda/api/instances/create", json=CREATE, headers={**auth, "X-Mock-Sandbox": "old"})
    name = (await kept.json())["instanceID"]
    for sandbox in ("s1", "s2", "s3"):
        await get(client, "/kianda/api/processes", auth, sandbox)
    state = await (await client.get("/__admin/state")).json()
    assert "old" not in state["sandboxes"] and set(state["sandboxes"]) <= {"default", "s1", "s2", "s3"}
    assert len(state["sandboxes"]) <= 3  # the default one plus at most `sandboxes` others
    assert (await get(client, f"/kianda/api/instances/{name}", auth, "old")).status == 404  # re-seeded
