"""Kianda Instances API rules: numbering, validation, versions, lists and the process designs."""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestClient

from instancemock.core.context import STATE

from support import KIANDA, MakeClient, assert_conforms

API = "/kianda/api"


async def create(client: TestClient, process: str, **extra: object) -> str:
    response = await client.post(f"{API}/instances/create", json={"processName": process, **extra})
    assert response.status == 200, await response.text()
    await assert_conforms(KIANDA, response)
    return str((await response.json())["instanceID"])


async def test_numbering_continues_after_the_seeded_instances(make_client: MakeClient) -> None:
    client = await make_client(auth=False)
    listed = await client.get(f"{API}/instances", params={"processName": "equipment-request", "pageSize": "500"})
    highest = max(int(i["id"].rsplit("-", 1)[1]) for i in await listed.json())
    first = await create(client, "equipment-request")
    second = await create(client, "EQUIPMENT-REQUEST")
    assert int(first.rsplit("-", 1)[1]) > highest
    assert int(second.rsplit("-", 1)[1]) == int(first.rsplit("-", 1)[1]) + 1
    deleted = await client.delete(f"{API}/instances/{second}")
    assert deleted.status == 200
    third = await create(client, "equipment-request")
    assert int(third.rsplit("-", 1)[1]) == int(second.rsplit("-", 1)[1]) + 1  # numbers are not reused


async def test_a_new_instance_is_whole_and_dated(make_client: MakeClient) -> None:
    client = await make_client(auth=False)
    name = await create(
        client,
        "training-approval-request",
        instanceID="training-approval-request",
        TriggerField="",
        FieldsMappings=[{"fieldname": "REASON", "text": "New employee"}, {"fieldname": "cost", "value": 450}],
        Status="manager approval",
    )
    response = await client.get(f"{API}/instances/{name.upper()}")
    await assert_conforms(KIANDA, response)
    instance = await response.json()
    assert instance["id"] == name and instance["Version"] == "1.0"
    assert instance["status"] == "Manager approval"
    assert instance["created"] == instance["modified"]
    assert instance["createdBy"] == instance["modifiedBy"] == "admin@acme.ie"
    assert instance["processTitle"] == "Training approval request" and instance["processVersion"] == "3.0"
    fields = {f["name"]: (f["text"], f["value"]) for f in instance["fields"]}
    assert fields["reason"] == ("New employee", "New employee")
    assert fields["cost"] == ("450", "450")
    assert fields["courseTitle"] == ("", "")


async def test_unknown_process_is_404_and_unknown_field_is_400(make_client: MakeClient) -> None:
    client = await make_client(auth=False)
    before = await (await client.get(f"{API}/instances", params={"pageSize": "1"})).json()
    missing = await client.post(f"{API}/instances/create", json={"processName": "no-such-process"})
    assert missing.status == 404
    assert "no-such-process" in (await missing.json())["Message"]
    await assert_conforms(KIANDA, missing)
    bad = await client.post(
        f"{API}/instances/create",
        json={
            "processName": "equipment-request",
            "FieldsMappings": [{"fieldname": "item", "value": "x"}, {"fieldname": "favouriteColour", "value": "x"}],
        },
    )
    assert bad.status == 400
    await assert_conforms(KIANDA, bad)
    state = (await bad.json())["ModelState"]
    assert "favouriteColour" in state["request.FieldsMappings[1].fieldname"][0]
    status = await client.post(f"{API}/instances/create", json={"processName": "equipment-request", "Status": "Nope"})
    assert status.status == 400
    after = await (await client.get(f"{API}/instances", params={"pageSize": "1"})).json()
    assert after == before  # nothing was created


async def test_read_fields_in_request_order_and_unknown_names_omitted(make_client: MakeClient) -> None:
    client = await make_client(auth=False)
    response = await client.get(
        f"{API}/instances/training-approval-request-1/fields",
        params={"names": " courseTitle ,nope,department,COURSETITLE"},
    )
    await assert_conforms(KIANDA, response)
    assert await response.json() == [
        {"name": "courseTitle", "text": "Advanced Excel for Finance", "value": "Advanced Excel for Finance"},
        {"name": "department", "text": "Finance", "value": "FIN"},
    ]
    missing = await client.get(f"{API}/instances/training-approval-request-999/fields", params={"names": "a"})
    assert missing.status == 404
    await assert_conforms(KIANDA, missing)


async def test_concurrent_puts_with_the_same_version_one_wins(make_client: MakeClient) -> None:
    client = await make_client(auth=False)
    url = f"{API}/instances/training-approval-request-1"
    version = (await (await client.get(url)).json())["Version"]
    bodies = [{"Version": version, "FieldsMappings": [{"fieldname": "reason", "value": f"try {n}"}]} for n in range(8)]
    answers = await asyncio.gather(*(client.put(url, json=body) for body in bodies))
    statuses = sorted(a.status for a in answers)
    assert statuses == [200] + [409] * 7
    for answer in answers:
        await assert_conforms(KIANDA, answer)
    assert (await (await client.get(url)).json())["Version"] == f"{int(version.split('.')[0]) + 1}.0"


async def test_put_checks_process_and_echoes_the_request(make_client: MakeClient) -> None:
    client = await make_client(auth=False)
    url = f"{API}/instances/training-approval-request-1"
    wrong = await client.put(url, json={"ProcessName": "equipment-request", "FieldsMappings": []})
    assert wrong.status == 400
    await assert_conforms(KIANDA, wrong)
    put = await client.put(url, json={"FieldsMappings": [{"fieldname": "reason", "text": "Promotion"}]})
    assert put.status == 200
    assert await put.json() == {
        "ProcessName": "training-approval-request",
        "Version": "2.0",
        "TriggerField": "",
        "Status": "",
        "FieldsMappings": [{"fieldname": "reason", "text": "Promotion"}],
    }
    patch = await client.patch(url, json={"FieldsMappings": [{"fieldname": "managerComments", "value": "Approved."}]})
    assert patch.status == 200 and (await patch.json())["Version"] == "3.0"
    instance = await (await client.get(url)).json()
    values = {f["name"]: f["value"] for f in instance["fields"]}
    assert values["reason"] == "Promotion" and values["managerComments"] == "Approved."
    assert instance["status"] == "Manager approval"  # kept: no Status sent
    stale = await client.patch(url, json={"Version": "2.0", "FieldsMappings": []})
    assert stale.status == 409
    await assert_conforms(KIANDA, stale)


async def test_list_pages_filters_and_counts(make_client: MakeClient) -> None:
    client = await make_client(auth=False)
    first = await client.get(f"{API}/instances", params={"pageSize": "20"})
    await assert_conforms(KIANDA, first)
    assert first.headers["Total-Items"] == "300"
    page = await first.json()
    assert len(page) == 20 and "fields" not in page[0]
    assert [i["created"] for i in page] == sorted((i["created"] for i in page), reverse=True)
    second = await (await client.get(f"{API}/instances", params={"pageSize": "20", "page": "2"})).json()
    assert not {i["id"] for i in page} & {i["id"] for i in second}
    completed = await client.get(
        f"{API}/instances", params={"processname": "training-approval-request", "STATUS": "completed"}
    )
    rows = await completed.json()
    assert rows and all(r["status"] == "Completed" and r["processName"] == "training-approval-request" for r in rows)
    assert completed.headers["Total-Items"] == str(len(rows))
    past = await client.get(f"{API}/instances", params={"page": "99"})
    assert await past.json() == [] and past.headers["Total-Items"] == "300"
    too_big = await client.get(f"{API}/instances", params={"pageSize": "1000"})
    assert too_big.status == 400
    await assert_conforms(KIANDA, too_big)


async def test_seeded_instances_are_believable(make_client: MakeClient) -> None:
    client = await make_client(auth=False, apis={"kianda": {"instances": 120}})
    response = await client.get(f"{API}/instances", params={"pageSize": "500"})
    rows = await response.json()
    assert len(rows) == 120
    assert all(r["created"] <= r["modified"] <= "2026-01-01T00:00:00Z" for r in rows)
    assert {r["processName"] for r in rows} >= {"training-approval-request", "equipment-request"}
    assert len({r["uniqueId"] for r in rows}) == 120
    store = client.app[STATE].store("default", "kianda")
    assert (await store.get("instances", "training-approval-request-1")) is not None


async def test_processes_list_and_design(make_client: MakeClient) -> None:
    client = await make_client(auth=False)
    listed = await client.get(f"{API}/processes")
    await assert_conforms(KIANDA, listed)
    names = [p["name"] for p in await listed.json()]
    assert names == sorted(names) and listed.headers["Total-Items"] == str(len(names))
    design = await client.get(f"{API}/processes/Equipment-Request")
    await assert_conforms(KIANDA, design)
    body = await design.json()
    assert body["forms"] == ["Request form", "Approval form"]
    assert {f["name"]: f["type"] for f in body["fields"]}["quantity"] == "number"
    missing = await client.get(f"{API}/processes/nope")
    assert missing.status == 404
    await assert_conforms(KIANDA, missing)


async def test_an_imported_world_without_counters_never_reuses_a_name(make_client: MakeClient) -> None:
    client = await make_client(auth=False)
    exported = await (await client.get("/__admin/state")).json()
    world = exported["sandboxes"]["default"]["kianda"]
    del world["counters"]
    assert (await client.put("/__admin/state", json=exported)).status == 200
    highest = max(
        int(name.rsplit("-", 1)[1]) for name in world["instances"] if name.startswith("training-approval-request-")
    )
    name = await create(client, "training-approval-request")
    assert name == f"training-approval-request-{highest + 1}"
