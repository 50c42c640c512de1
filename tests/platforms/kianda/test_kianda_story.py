"""Kianda end to end, as a client written against the real tenant would drive it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from instancemock.core.context import STATE
from instancemock.platforms.kianda.webhooks import add_webhook, deliveries

from support import KIANDA, NOW, MakeClient, assert_conforms

TOKEN = "/kianda/Token"
API = "/kianda/api"


async def admin_form(client: TestClient) -> dict[str, str]:
    index = await (await client.get("/")).json()
    return next(api["credentials"] for api in index["apis"] if api["name"] == KIANDA)


async def login(client: TestClient, **form: str) -> dict[str, str]:
    response = await client.post(TOKEN, data=form or await admin_form(client))
    assert response.status == 200, await response.text()
    await assert_conforms(KIANDA, response)
    return {"Authorization": f"Bearer {(await response.json())['access_token']}"}


class Receiver:
    """A webhook endpoint on an OS-chosen port that remembers every call."""

    def __init__(self) -> None:
        self.calls: list[dict[str, str]] = []
        self.arrived = asyncio.Condition()
        app = web.Application()
        app.router.add_get("/hook", self.hook)
        self.server = TestServer(app)

    async def hook(self, request: web.Request) -> web.Response:
        async with self.arrived:
            self.calls.append(dict(request.query))
            self.arrived.notify_all()
        return web.Response(text="ok")

    async def wait_for(self, count: int) -> list[dict[str, str]]:
        async with self.arrived:
            await asyncio.wait_for(self.arrived.wait_for(lambda: len(self.calls) >= count), 5)
        return self.calls


async def test_the_whole_instance_story(make_client: MakeClient) -> None:
    receiver = Receiver()
    await receiver.server.start_server()
    try:
        await _story(await make_client(), receiver)
    finally:
        await receiver.server.close()


async def _story(client: TestClient, receiver: Receiver) -> None:
    state = client.app[STATE]
    add_webhook(state, str(receiver.server.make_url("/hook")))
    auth = await login(client)

    created = await client.post(
        f"{API}/instances/create",
        headers=auth,
        json={
            "processName": "equipment-request",
            "instanceID": "equipment-request",
            "TriggerField": "",
            "FieldsMappings": [
                {"fieldname": "employeeName", "text": "Ciara Walsh", "value": "ciara.walsh@acme.ie"},
                {"fieldname": "item", "text": "Laptop", "value": "LAP-15"},
            ],
        },
    )
    assert created.status == 200
    await assert_conforms(KIANDA, created)
    name = (await created.json())["instanceID"]
    assert name.startswith("equipment-request-")

    fields = await client.get(f"{API}/instances/{name}/fields", params={"names": "item,employeeName"}, headers=auth)
    await assert_conforms(KIANDA, fields)
    assert await fields.json() == [
        {"name": "item", "text": "Laptop", "value": "LAP-15"},
        {"name": "employeeName", "text": "Ciara Walsh", "value": "ciara.walsh@acme.ie"},
    ]

    stale = await client.put(f"{API}/instances/{name}", headers=auth, json={"Version": "7.0", "FieldsMappings": []})
    assert stale.status == 409
    await assert_conforms(KIANDA, stale)
    assert "1.0" in (await stale.json())["Message"]

    put = await client.put(
        f"{API}/instances/{name}",
        headers=auth,
        json={"ProcessName": "equipment-request", "Version": "1.0", "Status": "approval form",
              "FieldsMappings": [{"fieldname": "item", "text": "Monitor", "value": "MON-27"}]},
    )  # fmt: skip
    assert put.status == 200
    await assert_conforms(KIANDA, put)
    assert (await put.json())["Version"] == "2.0"

    patch = await client.patch(
        f"{API}/instances/{name}",
        headers=auth,
        json={"version": "2.0", "fieldsMappings": [{"FieldName": "quantity", "Value": 2}]},
    )
    assert patch.status == 200
    await assert_conforms(KIANDA, patch)
    whole = await client.get(f"{API}/instances/{name}", headers=auth)
    await assert_conforms(KIANDA, whole)
    instance = await whole.json()
    values = {f["name"]: f["value"] for f in instance["fields"]}
    assert instance["Version"] == "3.0" and instance["status"] == "Approval form"
    assert values["item"] == "MON-27" and values["quantity"] == "2"
    assert values["employeeName"] == ""  # the PUT replaced every field

    deleted = await client.delete(f"{API}/instances/{name}", headers=auth)
    assert deleted.status == 200 and await deleted.json() == {"success": True}
    await assert_conforms(KIANDA, deleted)
    gone = await client.get(f"{API}/instances/{name}", headers=auth)
    assert gone.status == 404
    await assert_conforms(KIANDA, gone)

    calls = await receiver.wait_for(4)
    assert [c["eventType"] for c in calls] == ["created", "updated", "updated", "deleted"]
    assert {c["instanceID"] for c in calls} == {name}
    assert {c["processName"] for c in calls} == {"equipment-request"}
    assert all(d["outcome"] == "delivered" for d in deliveries(state))

    state.clock.advance(300)
    expired = await client.get(f"{API}/instances/training-approval-request-1", headers=auth)
    assert expired.status == 401
    assert expired.headers["WWW-Authenticate"] == "Bearer"
    assert await expired.json() == {"Message": "Authorization has been denied for this request."}
    await assert_conforms(KIANDA, expired)


async def test_token_answer_carries_every_documented_field(make_client: MakeClient) -> None:
    client = await make_client()
    response = await client.post(TOKEN, data=await admin_form(client))
    await assert_conforms(KIANDA, response)
    body = await response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 299
    assert body["userName"] == "admin@acme.ie"
    issued = parsedate_to_datetime(body[".issued"])  # the clock starts at --now and ticks in real time
    assert NOW <= issued < NOW + timedelta(seconds=30), body[".issued"]
    assert parsedate_to_datetime(body[".expires"]) == issued + timedelta(seconds=299)
    assert body["hostURL"].endswith("/kianda")
    assert response.headers["Cache-Control"] == "no-cache, no-store"
    assert response.headers["Pragma"] == "no-cache" and response.headers["Expires"] == "-1"


async def test_token_refusals_use_the_oauth_shape(make_client: MakeClient) -> None:
    client = await make_client()
    form = await admin_form(client)
    cases: list[tuple[dict[str, Any], str]] = [
        ({**form, "grant_type": "client_credentials"}, "unsupported_grant_type"),
        ({**form, "password": "wrong"}, "invalid_grant"),
        ({**form, "scope": "00000000-0000-0000-0000-000000000000"}, "invalid_grant"),
        ({k: v for k, v in form.items() if k != "scope"}, "invalid_request"),
        ({}, "unsupported_grant_type"),  # OWIN checks the grant type before anything else
    ]
    for data, code in cases:
        response = await client.post(TOKEN, data=data)
        assert response.status == 400
        await assert_conforms(KIANDA, response)
        body = await response.json()
        assert body["error"] == code
        assert code == "unsupported_grant_type" or body["error_description"]


async def test_missing_or_unknown_token_is_401_and_a_non_admin_is_403(make_client: MakeClient) -> None:
    client = await make_client()
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        response = await client.get(f"{API}/processes", headers=headers)
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"
        await assert_conforms(KIANDA, response)
    form = await admin_form(client)
    user = await login(client, **{**form, "username": "sean.obrien@acme.ie", "password": "Benbulben-1916"})
    refused = await client.get(f"{API}/processes", headers=user)
    assert refused.status == 403
    await assert_conforms(KIANDA, refused)


async def test_a_short_token_lifetime_expires(make_client: MakeClient) -> None:
    client = await make_client(kianda_token_lifetime=5)
    auth = await login(client)
    assert (await client.get(f"{API}/processes", headers=auth)).status == 200
    client.app[STATE].clock.advance(5)
    assert (await client.get(f"{API}/processes", headers=auth)).status == 401


async def test_auth_off_accepts_anything(make_client: MakeClient) -> None:
    client = await make_client(auth=False)
    response = await client.get(f"{API}/instances/training-approval-request-1")
    assert response.status == 200


async def test_a_dead_webhook_never_fails_the_request(make_client: MakeClient) -> None:
    client = await make_client(auth=False, webhooks=("http://127.0.0.1:9/nothing-listens",))
    response = await client.delete(f"{API}/instances/training-approval-request-1")
    assert response.status == 200
    state = client.app[STATE]
    for _ in range(100):
        if deliveries(state):
            break
        await asyncio.sleep(0.01)
    assert deliveries(state)[0]["outcome"].startswith("failed")
