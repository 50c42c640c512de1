"""Altinn App API: every way to instantiate, then Storage, the process, substatus, complete, delete."""

from __future__ import annotations

import json

from aiohttp import FormData
from aiohttp.test_utils import TestClient
from test_altinn_app_upstream import app_call, assert_upstream

from instancemock.core.context import STATE

from support import (
    ALTINN_APP,
    ALTINN_STORAGE,
    OWNER_SCOPES,
    assert_conforms,
    kari_headers,
    ttd_headers,
)

TOOLS = "/altinn/testtools/api"
STORAGE = "/altinn/storage/api/v1/instances"
APP = "/altinn/ttd/soknad-tilskudd/instances"


async def ttd(client: TestClient, scopes: str = OWNER_SCOPES) -> dict[str, str]:
    return await ttd_headers(client, scopes)


kari = kari_headers


call = app_call


async def test_instantiate_every_way_walk_the_process_and_finish(client: TestClient) -> None:
    user, owner = await kari(client), await ttd(client)

    by_query = await client.post(APP, params={"instanceOwnerPartyId": "50001001"}, headers=user)
    assert by_query.status == 201, await by_query.text()
    await assert_conforms(ALTINN_APP, by_query)
    await assert_upstream(by_query)
    created = await by_query.json()
    assert by_query.headers["Location"] == created["selfLinks"]["apps"]
    assert created["selfLinks"]["apps"].startswith(str(client.make_url(APP)))
    assert created["instanceOwner"]["party"]["partyId"] == 50001001
    assert created["instanceOwner"]["party"]["partyTypeName"] == 1
    assert created["status"]["readStatus"] == 1 and created["status"]["substatus"] is None
    assert created["process"]["currentTask"]["flow"] == 2
    assert created["process"]["currentTask"]["elementId"] == "Task_1"
    assert [e["dataType"] for e in created["data"]] == ["model"]  # the form is created with the instance

    template = {"instanceOwner": {"personNumber": "12038522157"}, "dueBefore": "2026-06-01T12:00:00Z"}
    by_owner = await call(client, "POST", APP, owner, 201, json=template)
    assert by_owner["status"]["readStatus"] == 0 and by_owner["dueBefore"] == "2026-06-01T12:00:00Z"
    assert by_owner["instanceOwner"]["partyId"] == "50001001" and by_owner["createdBy"] == "991825827"

    form = FormData()
    form.add_field("instance", json.dumps({"instanceOwner": {"partyId": "50001001"}}), content_type="application/json")
    form.add_field("vedlegg", b"%PDF-1.4 tiny", content_type="application/pdf", filename="kvittering.pdf")
    multipart = await call(client, "POST", APP, user, 201, data=form)
    attachment = next(e for e in multipart["data"] if e["dataType"] == "vedlegg")
    assert attachment["size"] == len(b"%PDF-1.4 tiny") and attachment["filename"] == "kvittering.pdf"
    assert attachment["contentType"] == "application/pdf"
    assert attachment["selfLinks"]["apps"].endswith(f"/data/{attachment['id']}")

    prefill = {
        "instanceOwner": {"partyId": "50001001"},
        "prefill": {"navn": "Kari Nordmann", "adresse.gate": "Storgata 1"},
    }
    prefilled = await call(client, "POST", APP + "/create", user, 201, json=prefill)
    model = next(e for e in prefilled["data"] if e["dataType"] == "model")
    stored = await client.app[STATE].store("default", "altinn").get("formData", model["id"])
    assert stored is not None and stored.doc["values"] == prefill["prefill"]

    listed = await client.get(
        STORAGE,
        params={"instanceOwner.partyId": "50001001", "appId": "ttd/soknad-tilskudd", "size": "500"},
        headers=user,
    )
    assert listed.status == 200
    await assert_conforms(ALTINN_STORAGE, listed)
    found = {i["id"]: i for i in (await listed.json())["instances"]}
    for made in (created, by_owner, multipart, prefilled):
        assert made["id"] in found
    assert found[created["id"]]["status"]["readStatus"] == "Read"

    path = f"{APP}/{created['id']}"
    active = await call(client, "GET", f"{APP}/50001001/active", user, 200)
    assert created["id"] in {a["id"] for a in active}
    assert next(a for a in active if a["id"] == created["id"])["lastChangedBy"] == "Kari Nordmann"

    state = await call(client, "GET", f"{path}/process", user, 200)
    assert state["currentTask"]["actions"] == {"read": True, "write": True} and state["currentTask"]["write"] is True
    assert [t["elementId"] for t in state["processTasks"]] == ["Task_1", "Task_2"]
    moved = await call(client, "PUT", f"{path}/process/next", user, 200)
    assert moved["currentTask"]["elementId"] == "Task_2" and moved["currentTask"]["flow"] == 3
    assert moved["currentTask"]["altinnTaskType"] == "confirmation"
    ended = await call(client, "PUT", f"{path}/process/next", user, 200, json={"action": "confirm"})
    assert ended["currentTask"] is None and ended["endEvent"] == "EndEvent_1" and ended["ended"]
    again = await call(client, "PUT", f"{path}/process/next", user, 409)
    assert again["detail"] == "Process is ended."
    archived = await call(client, "GET", path, user, 200)
    assert archived["status"]["isArchived"] is True and archived["status"]["archived"] == ended["ended"]
    assert all(e["locked"] for e in archived["data"])
    history = await call(client, "GET", f"{path}/process/history", user, 200)
    assert [h["eventType"] for h in history["processHistory"]] == [
        "process_StartEvent", "process_StartTask", "process_EndTask", "process_StartTask", "process_EndTask",
        "process_EndEvent",
    ]  # fmt: skip

    copy = {"instanceOwner": {"partyId": "50001001"}, "sourceInstanceId": created["id"]}
    copied = await call(client, "POST", APP + "/create", user, 201, json=copy)
    assert copied["id"] != created["id"] and [e["dataType"] for e in copied["data"]] == ["model"]

    labelled = await call(client, "PUT", f"{path}/substatus", owner, 200, json={"label": "substatus.received"})
    assert labelled["status"]["substatus"] == {"label": "substatus.received", "description": None}
    assert labelled["lastChangedBy"] == "991825827"
    completed = await call(client, "POST", f"{path}/complete", owner, 200)
    assert [c["stakeholderId"] for c in completed["completeConfirmations"]] == ["ttd"]
    deleted = await call(client, "DELETE", path, user, 200, params={"hard": "true"})
    assert deleted["status"]["isHardDeleted"] is True and deleted["status"]["isSoftDeleted"] is True
    gone = await client.get(
        STORAGE,
        params={"instanceOwner.partyId": "50001001", "appId": "ttd/soknad-tilskudd", "size": "500"},
        headers=user,
    )
    assert created["id"] not in {i["id"] for i in (await gone.json())["instances"]}


async def test_owner_sources_lookup_and_party_types(client: TestClient) -> None:
    user, owner = await kari(client), await ttd(client)
    both = await call(
        client,
        "POST",
        APP,
        user,
        400,
        params={"instanceOwnerPartyId": "50001001"},
        json={"instanceOwner": {"partyId": "50001001"}},
    )
    assert both.startswith("You cannot provide an instanceOwnerPartyId")
    neither = await call(client, "POST", APP, user, 400)
    assert neither.startswith("Cannot create an instance without an instanceOwner.partyId")
    unknown = await call(client, "POST", APP, owner, 404, json={"instanceOwner": {"organisationNumber": "310123456"}})
    assert unknown.startswith("Cannot lookup party:")
    by_name = await call(
        client,
        "POST",
        "/altinn/ttd/melding/instances",
        owner,
        201,
        json={"instanceOwner": {"username": "kari.selvreg"}},
    )
    assert (
        by_name["instanceOwner"]["username"] == "kari.selvreg"
        and by_name["instanceOwner"]["party"]["partyTypeName"] == 3
    )
    not_allowed = await call(
        client, "POST", "/altinn/ttd/arsrapport/instances", owner, 403, params={"instanceOwnerPartyId": "50001001"}
    )
    assert not_allowed == "Party 50001001 is not allowed to instantiate this application ttd/arsrapport"
    strangers = await call(client, "POST", APP, user, 403, params={"instanceOwnerPartyId": "50001002"})
    assert strangers is None


async def test_multipart_parts_are_checked_against_the_data_types(client: TestClient) -> None:
    user = await kari(client)
    form = FormData()
    form.add_field("instance", json.dumps({"instanceOwner": {"partyId": "50001001"}}), content_type="application/json")
    form.add_field("kattebilde", b"\x89PNG", content_type="image/png", filename="katt.png")
    refused = await call(client, "POST", APP, user, 400, data=form)
    assert "'kattebilde' does not correspond to an element type" in refused
    form = FormData()
    form.add_field("instance", json.dumps({"instanceOwner": {"partyId": "50001001"}}), content_type="application/json")
    form.add_field("vedlegg", b"plain", content_type="text/plain", filename="a.txt")
    refused = await call(client, "POST", APP, user, 400, data=form)
    assert "has a Content-Type 'text/plain' which is invalid" in refused


async def test_copy_rules(client: TestClient) -> None:
    user = await kari(client)
    created = await call(client, "POST", APP, user, 201, params={"instanceOwnerPartyId": "50001001"})
    body = {"instanceOwner": {"partyId": "50001001"}, "sourceInstanceId": created["id"]}
    active = await call(client, "POST", APP + "/create", user, 400, json=body)
    assert active == "It is not possible to copy an instance that isn't archived."
    other = {"instanceOwner": {"partyId": "51001001"}, "sourceInstanceId": created["id"]}
    assert await call(client, "POST", APP + "/create", user, 400, json=other) == (
        "It is not possible to copy instances between instance owners."
    )
    disabled = await call(client, "POST", "/altinn/ttd/arsrapport/instances/create", user, 400, json=body)
    assert disabled.startswith("Creating instance based on a copy")


async def test_substatus_get_read_status_and_errors(client: TestClient) -> None:
    user, owner = await kari(client), await ttd(client)
    created = await call(client, "POST", APP, owner, 201, params={"instanceOwnerPartyId": "50001001"})
    path = f"{APP}/{created['id']}"
    assert created["status"]["readStatus"] == 0
    missing = await call(client, "PUT", f"{path}/substatus", owner, 400, json={"description": "x"})
    assert (
        missing
        == 'Invalid sub status: {"label":null,"description":"x"}. Substatus must be defined and include a label.'
    )
    assert await call(client, "PUT", f"{path}/substatus", user, 403, json={"label": "a"}) is None
    assert (await call(client, "GET", path, owner, 200))["status"]["readStatus"] == 0
    assert (await call(client, "GET", path, user, 200))["status"]["readStatus"] == 1
    assert await call(client, "POST", f"{path}/complete", user, 403) is None
    wrong_party = f"{APP}/50001002/{created['id'].split('/')[1]}"
    assert await call(client, "GET", wrong_party, user, 403) is None
    nothing = await call(client, "GET", f"{APP}/50001001/6f1c2a9e-3b7d-4c52-9a1e-2d8f0b7c4e11", user, 404)
    assert nothing["status"] == 404
    unauthenticated = await client.get(path)
    assert unauthenticated.status == 401 and await unauthenticated.read() == b""
    await assert_conforms(ALTINN_APP, unauthenticated)


async def test_api_scopes_of_an_app_that_declares_them(client: TestClient) -> None:
    app = "/altinn/ttd/flyttemelding/instances"
    plain = await kari(client)
    refused = await call(client, "POST", app, plain, 403, params={"instanceOwnerPartyId": "50001001"})
    assert refused["detail"] == "Insufficient scope" and refused["instance"] == "/ttd/flyttemelding/instances"
    scoped = await kari(client, scopes="ttd:flyttemelding/instances.read,ttd:flyttemelding/instances.write")
    created = await call(client, "POST", app, scoped, 201, params={"instanceOwnerPartyId": "50001001"})
    read_only = await kari(client, scopes="ttd:flyttemelding/instances.read")
    await call(client, "GET", f"{app}/{created['id']}", read_only, 200)
    await call(client, "PUT", f"{app}/{created['id']}/process/next", read_only, 403)
    owner = await ttd(client)
    await call(client, "GET", f"{app}/{created['id']}", owner, 403)
    owner_scoped = await ttd(client, scopes="ttd:serviceowner/flyttemelding.read")
    await call(client, "GET", f"{app}/{created['id']}", owner_scoped, 200)
