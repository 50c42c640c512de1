"""Barium Live end to end, as a client drives it: log in, list, start, fill in, complete, delete."""

from __future__ import annotations

import asyncio
import io
from typing import Any

from aiohttp.test_utils import TestClient
from PIL import Image

from support import BARIUM, MakeClient, assert_conforms

BASE = "/barium/api/v1.1"
APIKEY = "2f9d8c7b-6a5e-4d3c-b2a1-0f9e8d7c6b5a"
LOGIN = {"apikey": APIKEY, "username": "anna.berg@nordvik.se", "password": "Sommar2024!"}
PURCHASE_ORDER = "3b0d1c52-7e0a-4c59-9d7b-0f3a61a2c9e1"


async def login(client: TestClient, **form: str) -> dict[str, str]:
    response = await client.post(f"{BASE}/Authenticate", data={**LOGIN, **form})
    assert response.status == 200, await response.text()
    await assert_conforms(BARIUM, response)
    return {"ticket": await response.text()}  # the bare ticket: no format, no webTicket


async def get(client: TestClient, path: str, headers: dict[str, str], **params: Any) -> Any:
    response = await client.get(f"{BASE}{path}", headers=headers, params=params)
    assert response.status == 200, await response.text()
    await assert_conforms(BARIUM, response)
    return await response.json()


async def post(client: TestClient, path: str, headers: dict[str, str], data: Any = None, **params: Any) -> Any:
    response = await client.post(f"{BASE}{path}", headers=headers, data=data, params=params)
    assert response.status == 200, await response.text()
    await assert_conforms(BARIUM, response)
    return await response.json()


async def test_a_purchase_order_from_start_to_deletion(make_client: MakeClient) -> None:
    client = await make_client()
    ticket = await login(client)

    everything = await get(client, "/Instances", ticket, Max=1000)
    assert everything["TotalCount"] == len(everything["Data"]) == 300
    assert len((await get(client, "/Instances", ticket))["Data"]) == 100
    first, second = (
        await get(client, "/Instances", ticket, Max=2),
        await get(client, "/Instances", ticket, Start=2, Max=2),
    )
    assert [i["Id"] for i in first["Data"] + second["Data"]] == [i["Id"] for i in everything["Data"][:4]]
    active = await get(client, "/Instances", ticket, Status="Active", Max=1000)
    assert active["Data"] and all(i["Status"] == "active" for i in active["Data"])
    assert active["TotalCount"] == sum(1 for i in everything["Data"] if i["Status"] == "active")

    app = await get(client, f"/Apps/{PURCHASE_ORDER}", ticket)
    started = await post(
        client,
        f"/Apps/{PURCHASE_ORDER}",
        ticket,
        {"template": "form-7731", "instance.name": "PO-TEST-1", "supplier": "Nordvik AB", "amount": "12 500"},
        message="START",
    )
    instance_id = started["InstanceId"]
    assert (await get(client, f"/Apps/{PURCHASE_ORDER}", ticket))["InstancesCount"] == app["InstancesCount"] + 1
    listed = await get(client, "/Instances", ticket, Status="active")
    assert listed["TotalCount"] == active["TotalCount"] + 1 and listed["Data"][0]["Id"] == instance_id
    in_app = await get(client, f"/Apps/{PURCHASE_ORDER}/Instances", ticket, Max=1)
    assert in_app["Data"][0]["Name"] == "PO-TEST-1"
    instance = await get(client, f"/Instances/{instance_id}", ticket)
    assert (instance["Name"], instance["Status"], instance["StartedBy"]) == ("PO-TEST-1", "active", "Anna Berg")
    assert instance["Milestone"] == "Registrering" and instance["Description"].endswith("Nordvik AB")

    added = await post(
        client,
        f"/Instances/{instance_id}/Objects",
        ticket,
        {"Type": "Form", "Name": "Leverantörsuppgifter", "TemplateId": "form-8802", "Fields": "orgnr=556677-8899"},
    )
    form_id = added["Items"][0]["Id"]
    assert added["Items"][0]["ObjectClass"] == "dataforms.dataform"
    fields = await get(client, f"/Objects/{form_id}/Fields", ticket)
    assert [(f["Name"], f["Value"]) for f in fields["Data"]] == [("orgnr", "556677-8899")]
    objects = await get(client, f"/Instances/{instance_id}/Objects", ticket)
    assert objects["TotalCount"] == 2 and objects["Data"][1]["Id"] == form_id

    steps = 0
    while (await get(client, f"/Instances/{instance_id}", ticket))["Status"] != "completed":
        ready = await get(client, f"/Instances/{instance_id}/Tasks", ticket, Status="ready")
        assert ready["TotalCount"] == 1
        task = ready["Data"][0]
        assert task["PerformPermission"] is True and task["InstanceName"] == "PO-TEST-1"
        await post(client, f"/Tasks/{task['Id']}", ticket, {"complete": "true", "comment": "Klart"})
        done = await get(client, f"/Tasks/{task['Id']}", ticket)
        assert (done["Status"], done["CompletedBy"]) == ("completed", "Anna Berg")
        steps += 1
    assert steps == 3
    finished = await get(client, f"/Instances/{instance_id}", ticket)
    assert finished["CompletedDate"] is not None and finished["Milestone"] is None
    tasks = await get(client, f"/Instances/{instance_id}/Tasks", ticket, Status="completed")
    assert tasks["TotalCount"] == 3

    image = await client.get(f"{BASE}/Instances/{instance_id}/Image", headers=ticket, params={"Width": "600"})
    assert image.status == 200 and image.content_type == "image/png"
    await assert_conforms(BARIUM, image)
    picture = Image.open(io.BytesIO(await image.read()))
    assert picture.format == "PNG" and picture.width == 600 and 0 < picture.height < 600

    deleted = await client.delete(f"{BASE}/Instances/{instance_id}", headers=ticket)
    assert deleted.status == 200 and await deleted.json() == {"success": True}
    await assert_conforms(BARIUM, deleted)
    for path in (f"/Instances/{instance_id}", f"/Objects/{form_id}", f"/Tasks/{task['Id']}"):
        gone = await client.get(f"{BASE}{path}", headers=ticket)
        assert gone.status == 404
        await assert_conforms(BARIUM, gone)
    assert (await get(client, f"/Apps/{PURCHASE_ORDER}", ticket))["InstancesCount"] == app["InstancesCount"]


async def test_a_message_moves_an_invoice_past_payment(make_client: MakeClient) -> None:
    client = await make_client()
    ticket = await login(client)
    waiting = await get(client, "/Instances", ticket, Status="ready")
    assert waiting["TotalCount"] > 0
    instance = waiting["Data"][0]
    assert instance["Milestone"] == "Betalning"

    wrong = await client.post(f"{BASE}/Instances/{instance['Id']}", headers=ticket, data={"message": "REJECT"})
    assert wrong.status == 400 and "BETALD" in (await wrong.json())["errorMessage"]
    await assert_conforms(BARIUM, wrong)

    await post(client, f"/Instances/{instance['Id']}", ticket, message="betald")
    after = await get(client, f"/Instances/{instance['Id']}", ticket)
    assert after["Status"] == "completed" and after["CompletedDate"] is not None

    again = await client.post(f"{BASE}/Instances/{instance['Id']}", headers=ticket, data={"message": "BETALD"})
    assert again.status == 409
    await assert_conforms(BARIUM, again)


async def test_approve_completes_the_open_task(make_client: MakeClient) -> None:
    client = await make_client()
    ticket = await login(client)
    started = await post(client, f"/Apps/{PURCHASE_ORDER}", ticket)
    instance_id = started["InstanceId"]
    first = (await get(client, f"/Instances/{instance_id}/Tasks", ticket))["Data"][0]
    await post(client, f"/Instances/{instance_id}", ticket, {"message": "APPROVE"})
    tasks = await get(client, f"/Instances/{instance_id}/Tasks", ticket)
    assert {t["Id"]: t["Status"] for t in tasks["Data"]}[first["Id"]] == "completed"
    assert [t["Name"] for t in tasks["Data"] if t["Status"] == "ready"] == ["Attestera inköpsorder"]
    assert (await get(client, f"/Instances/{instance_id}", ticket))["Milestone"] == "Attest"


async def test_parallel_starts_are_all_kept_with_their_own_numbers(make_client: MakeClient) -> None:
    """Starts racing for the app's NextNumber each retry instead of answering 409: on a Redis store
    their reads and writes interleave (platforms/barium/instances.py, _claim_number)."""
    client = await make_client()
    ticket = await login(client)
    before = {i["Id"] for i in (await get(client, "/Instances", ticket, Max=1000))["Data"]}
    started = await asyncio.gather(*(post(client, f"/Apps/{PURCHASE_ORDER}", ticket) for _ in range(24)))
    ids = {s["InstanceId"] for s in started}
    assert len(ids) == 24 and not ids & before
    names = [(await get(client, f"/Instances/{instance_id}", ticket))["Name"] for instance_id in sorted(ids)]
    assert len(set(names)) == 24  # each name carries its own number
