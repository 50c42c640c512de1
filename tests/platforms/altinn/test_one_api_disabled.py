"""The Altinn platform plugs in whole: with Storage disabled, the App API still has its world and tokens."""

from __future__ import annotations

from support import MakeClient

KARI = {"userId": "20001001", "partyId": "50001001", "pid": "12038522157", "env": "tt02"}
APP = "/altinn/ttd/soknad-tilskudd/instances"


async def test_with_storage_off_the_app_api_gets_tokens_instances_and_no_storage_routes(
    make_client: MakeClient,
) -> None:
    client = await make_client(apis={"altinn-storage": {"enabled": False}})
    token = await client.get(
        "/altinn/testtools/api/GetPersonalToken",
        params={**KARI, "scopes": "altinn:instances.read,altinn:instances.write"},
    )
    assert token.status == 200, await token.text()
    headers = {"Authorization": f"Bearer {await token.text()}"}

    state = await (await client.get("/__admin/state")).json()
    assert state["sandboxes"]["default"]["altinn"]["instances"], "the seeded world is there without Storage"
    created = await client.post(APP, params={"instanceOwnerPartyId": "50001001"}, headers=headers)
    assert created.status == 201, await created.text()
    active = await client.get(f"{APP}/50001001/active", headers=headers)
    assert (await created.json())["id"] in [i["id"] for i in await active.json()]
    assert (await client.get("/altinn/storage/api/v1/instances", params={"org": "ttd"}, headers=headers)).status == 404

    names = [api["name"] for api in (await (await client.get("/")).json())["apis"]]
    assert "altinn-storage" not in names and "altinn-app" in names


async def test_with_both_altinn_apis_off_no_token_route_is_left(make_client: MakeClient) -> None:
    client = await make_client(apis={"altinn-storage": {"enabled": False}, "altinn-app": {"enabled": False}})
    token = await client.get("/altinn/testtools/api/GetPersonalToken", params=KARI)
    assert token.status == 404
    assert (await client.get("/kianda/api/processes")).status == 401
