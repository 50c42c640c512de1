"""Barium Live's rules at the edges: tickets, bad input, permissions and state conflicts."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from PIL import Image
from test_barium_story import BASE, LOGIN, PURCHASE_ORDER, get, login, post

from instancemock.core.context import STATE
from instancemock.platforms.barium.auth import RENEW_SECONDS, TICKETS, TicketBook
from instancemock.world.clock import Clock
from instancemock.world.store import MemoryStore

from support import BARIUM, MakeClient, assert_conforms

CONTRACTS = "8f7e6d5c-4b3a-4291-8f0e-9d8c7b6a5f4e"


async def test_tickets_are_cached_for_15_seconds_slide_and_expire(make_client: MakeClient) -> None:
    client = await make_client(barium_ticket_minutes=1)
    clock = client.server.app[STATE].clock
    first = await login(client)
    assert await login(client) == first  # identical call within 15 s: the same ticket
    assert await login(client, USERNAME="ANNA.BERG@nordvik.se") == first  # names, user name: any case
    clock.advance(16)
    second = await login(client)
    assert second != first
    with_web = await client.post(f"{BASE}/Authenticate", data={**LOGIN, "webTicket": "true"})
    assert set(await with_web.json()) == {"success", "Ticket", "WebTicket"}
    await assert_conforms(BARIUM, with_web)

    clock.advance(50)
    assert (await client.get(f"{BASE}/Apps", headers=second)).status == 200  # renews it
    clock.advance(50)
    assert (await client.get(f"{BASE}/Apps", params=second)).status == 200  # ?ticket= works too
    clock.advance(61)
    expired = await client.get(f"{BASE}/Apps", headers=second)
    assert expired.status == 401
    body = await expired.json()
    assert body["success"] is False and body["errorCode"] == 401 and body["errorLogId"]
    await assert_conforms(BARIUM, expired)


@pytest.mark.parametrize(
    "form",
    [
        {**LOGIN, "password": "fel"},
        {**LOGIN, "apikey": "00000000-0000-4000-8000-000000000000"},
    ],
)
async def test_a_bad_login_is_401_in_the_envelope(make_client: MakeClient, form: dict[str, str]) -> None:
    client = await make_client()
    response = await client.post(f"{BASE}/Authenticate", data=form)
    assert response.status == 401
    assert (await response.json())["errorMessage"] == "Invalid API key, user name or password."
    await assert_conforms(BARIUM, response)
    for headers in ({}, {"ticket": "6f1e2d3c-4b5a-4978-8a1b-2c3d4e5f6a7b"}):
        missing = await client.get(f"{BASE}/Instances", headers=headers)
        assert missing.status == 401
        await assert_conforms(BARIUM, missing)


async def test_sso_login_and_both_api_versions(make_client: MakeClient) -> None:
    client = await make_client()
    response = await client.post(
        f"{BASE}/SSOAuthenticate",
        data={"APIKey": LOGIN["apikey"], "uid": "S-1-5-21-3623811015-3361044348-30300820-1013"},
    )
    assert response.status == 200
    ticket = {"ticket": await response.text()}
    old = await client.get("/barium/api/v1.0/apps", headers=ticket)
    assert old.status == 200 and (await old.json())["TotalCount"] == 5
    await assert_conforms(BARIUM, old)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/Instances", {"Status": "running"}),
        ("/Instances", {"Start": "-1"}),
        ("/Instances", {"Max": "0"}),
        ("/Instances", {"Max": "lots"}),
        ("/Tasks", {"Status": "active"}),
        (f"/Apps/{PURCHASE_ORDER}/Instances", {"Start": "x"}),
    ],
)
async def test_bad_paging_and_filters_are_400(make_client: MakeClient, path: str, params: dict[str, str]) -> None:
    client = await make_client()
    response = await client.get(f"{BASE}{path}", headers=await login(client), params=params)
    assert response.status == 400
    assert (await response.json())["errorData"]["Violations"][0]["field"] in params
    await assert_conforms(BARIUM, response)


async def test_max_is_capped_and_a_page_past_the_end_is_empty(make_client: MakeClient) -> None:
    client = await make_client()
    ticket = await login(client)
    capped = await get(client, "/Tasks", ticket, Max=5000)
    assert len(capped["Data"]) == min(capped["TotalCount"], 1000)
    past = await get(client, "/Instances", ticket, Start=10_000)
    assert past == {"TotalCount": 300, "Data": []}


async def test_posts_must_be_form_encoded(make_client: MakeClient) -> None:
    client = await make_client()
    ticket = await login(client)
    json_login = await client.post(f"{BASE}/Authenticate", json=LOGIN)
    assert json_login.status == 400
    await assert_conforms(BARIUM, json_login)
    json_start = await client.post(f"{BASE}/Apps/{PURCHASE_ORDER}", headers=ticket, json={"template": "x"})
    assert json_start.status == 400
    await assert_conforms(BARIUM, json_start)
    before = await get(client, f"/Apps/{PURCHASE_ORDER}", ticket)
    no_template = await client.post(f"{BASE}/Apps/{PURCHASE_ORDER}", headers=ticket, data={"supplier": "X"})
    assert no_template.status == 400
    unknown = await client.post(f"{BASE}/Apps/{PURCHASE_ORDER}", headers=ticket, params={"message": "NOPE"})
    assert unknown.status == 400
    bad_amount = await client.post(
        f"{BASE}/Apps/{PURCHASE_ORDER}", headers=ticket, data={"template": "t", "amount": "mycket"}
    )
    assert bad_amount.status == 400
    for response in (no_template, unknown, bad_amount):
        await assert_conforms(BARIUM, response)
    assert await get(client, f"/Apps/{PURCHASE_ORDER}", ticket) == before  # nothing was started


async def test_perform_permission_locks_and_done_tasks(make_client: MakeClient) -> None:
    client = await make_client()
    ticket = await login(client)
    started = await post(client, f"/Apps/{CONTRACTS}", ticket, {"template": "form-6650"})
    instance_id = started["InstanceId"]
    first = (await get(client, f"/Instances/{instance_id}/Tasks", ticket))["Data"][0]
    await post(client, f"/Tasks/{first['Id']}", ticket, {"complete": "true"})
    done = await client.post(f"{BASE}/Tasks/{first['Id']}", headers=ticket, data={"complete": "true"})
    assert done.status == 409
    await assert_conforms(BARIUM, done)
    signing = (await get(client, f"/Instances/{instance_id}/Tasks", ticket, Status="ready"))["Data"][0]
    assert signing["PerformPermission"] is False and "Karin Nilsson" in signing["Participants"]
    refused = await client.post(f"{BASE}/Tasks/{signing['Id']}", headers=ticket, data={"complete": "true"})
    assert refused.status == 403
    await assert_conforms(BARIUM, refused)

    locked = next(
        t
        for t in (await get(client, "/Tasks", ticket, Status="ready", Max=1000))["Data"]
        if t["Locked"] and t["PerformPermission"]
    )
    conflict = await client.post(f"{BASE}/Tasks/{locked['Id']}", headers=ticket, data={"complete": "true"})
    assert conflict.status == 409
    await assert_conforms(BARIUM, conflict)


async def test_task_forms_show_and_save_the_steps_fields(make_client: MakeClient) -> None:
    client = await make_client()
    ticket = await login(client)
    started = await post(client, f"/Apps/{PURCHASE_ORDER}", ticket, {"template": "form-7731", "supplier": "Nordvik AB"})
    instance_id = started["InstanceId"]
    task = (await get(client, f"/Instances/{instance_id}/Tasks", ticket))["Data"][0]
    form = (await get(client, f"/Tasks/{task['Id']}/Objects", ticket))["Data"][0]
    assert form["Type"] == "form"
    fields = (await get(client, f"/Tasks/{task['Id']}/Objects/{form['Id']}/fields", ticket))["Data"]
    names = {f["Name"]: f for f in fields}
    assert "approved" not in names and names["supplier"]["Value"] == "Nordvik AB"
    assert names["amount"]["ReadOnly"] is False
    saved = await post(
        client, f"/Tasks/{task['Id']}/Objects/{form['Id']}/fields", ticket, {"AMOUNT": "1200,50", "nope": "x"}
    )
    assert saved == {"success": True, "updatedFields": ["amount"], "ignoredFields": ["nope"]}
    values = {f["Name"]: f["Value"] for f in (await get(client, f"/Objects/{form['Id']}/Fields", ticket))["Data"]}
    assert values["amount"] == "1200.5"
    bad = await client.post(f"{BASE}/Objects/{form['Id']}/Fields", headers=ticket, data={"deliveryDate": "igår"})
    assert bad.status == 400
    await assert_conforms(BARIUM, bad)
    folder = await post(client, f"/Instances/{instance_id}/Objects", ticket, {"Type": "folder", "Name": "Bilagor"})
    not_a_form = await client.get(f"{BASE}/Objects/{folder['Id']}/Fields", headers=ticket)
    assert not_a_form.status == 404
    await assert_conforms(BARIUM, not_a_form)


async def test_a_file_upload_and_an_object_version(make_client: MakeClient) -> None:
    client = await make_client()
    ticket = await login(client)
    started = await post(client, f"/Apps/{PURCHASE_ORDER}", ticket)
    instance_id = started["InstanceId"]
    upload = aiohttp.FormData()
    upload.add_field("Type", "file")
    upload.add_field("Data", b"%PDF-1.4 offert", filename="Offert Nordvik.pdf", content_type="application/pdf")
    created = await post(client, f"/Instances/{instance_id}/Objects", ticket, upload)
    item = created["Items"][0]
    assert (item["Name"], item["ObjectClass"]) == ("Offert Nordvik.pdf", "file")
    assert item["resourceURI"] == f"/api/v1.1/Objects/{item['Id']}"
    obj = await get(client, f"/Instances/{instance_id}/Objects/{item['Id']}", ticket)
    assert obj["FileType"] == "pdf"
    assert await get(client, f"/Instances/{instance_id}/Objects/{item['Id']}", ticket, VersionId=obj["DataId"]) == obj
    other = await client.get(
        f"{BASE}/Instances/{instance_id}/Objects/{item['Id']}", headers=ticket, params={"VersionId": "v0"}
    )
    assert other.status == 404
    no_type = await client.post(
        f"{BASE}/Instances/{instance_id}/Objects", headers=ticket, data={"Type": "x", "Name": "y"}
    )
    assert no_type.status == 400
    await assert_conforms(BARIUM, no_type)


async def test_image_honours_size_and_zoom(make_client: MakeClient) -> None:
    client = await make_client()
    ticket = await login(client)
    instance = (await get(client, "/Instances", ticket, Max=1))["Data"][0]
    sizes = []
    for params in ({}, {"ZoomFactor": "2"}, {"Width": "300", "Height": "300"}, {"Height": "100"}):
        response = await client.get(f"{BASE}/Instances/{instance['Id']}/Image", headers=ticket, params=params)
        assert response.status == 200
        sizes.append(Image.open(io.BytesIO(await response.read())).size)
    base, double, boxed, short = sizes
    assert double == (base[0] * 2, base[1] * 2)
    assert boxed[0] == 300 and boxed[1] <= 300
    assert short[1] == 100
    bad = await client.get(f"{BASE}/Instances/{instance['Id']}/Image", headers=ticket, params={"ZoomFactor": "0"})
    assert bad.status == 400
    missing = await client.get(f"{BASE}/Instances/nope/Image", headers=ticket)
    assert missing.status == 404


async def test_the_world_is_the_same_for_the_same_seed(make_client: MakeClient) -> None:
    one, two = await make_client(), await make_client()
    lists = []
    for client in (one, two):
        ticket = await login(client)
        lists.append(await get(client, "/Tasks", ticket, Max=1000))
    assert lists[0] == lists[1]


@pytest.mark.parametrize("seconds", [0, 0.5, 0.9, 1, 30, 59.9, 60, 61])
async def test_a_steady_ticket_is_known_without_the_store_exactly_where_use_leaves_it(seconds: float) -> None:
    """`TicketBook.steady_user` (no coroutine, no datetime) answers only where `use` would answer
    the same user and write nothing: within `RENEW_SECONDS` of the ticket's last renewal, and
    never once it is due for renewal (it slides with each use) or expired."""
    clock = Clock(datetime(2026, 1, 1, tzinfo=UTC))
    store = MemoryStore()
    lifetime = timedelta(minutes=1)
    expires = (clock.start + lifetime).isoformat()
    await store.put(TICKETS, "t-1", {"ticket": "t-1", "user": "u-7", "expires": expires})
    book = TicketBook(store)
    assert book.steady_user("T-1 ", clock, lifetime) == "u-7"  # read once, at the start
    clock.advance(seconds)
    steady = book.steady_user("T-1 ", clock, lifetime)
    before = store.peek(TICKETS, "t-1")
    used = await book.use("T-1 ", clock.now(), lifetime)
    after = store.peek(TICKETS, "t-1")
    if seconds < RENEW_SECONDS:
        assert steady == used == "u-7" and after is before
    else:
        assert steady is None
        assert after is not before  # renewed, or deleted once expired
        assert used == ("u-7" if seconds < 60 else None)
    assert book.steady_user("nobody", clock, lifetime) is None
