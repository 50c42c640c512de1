"""Barium Live as a client that has read only the vendor pages drives it.

Each test follows seed 002 and reference §1 literally: lower-case paths, both API versions, the
ticket in the header or the query string, form field names in any case, a charset on the
content type, and the response field names exactly as the docs list them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp.test_utils import TestClient

from instancemock.core.context import STATE

from support import BARIUM, NOW, MakeClient, assert_conforms

APIKEY = "2f9d8c7b-6a5e-4d3c-b2a1-0f9e8d7c6b5a"
LOGIN = {"APIKey": APIKEY, "Username": "anna.berg@nordvik.se", "Password": "Sommar2024!"}
PURCHASE_ORDER = "3b0d1c52-7e0a-4c59-9d7b-0f3a61a2c9e1"
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}

INSTANCE_SUMMARY = {"Id", "Name", "Description", "Status", "StartDate", "StartedBy", "CompletedDate", "ApplicationName"}
INSTANCE = INSTANCE_SUMMARY | {
    "StartedByUserId",
    "Priority",
    "PlannedDate",
    "DeadlineDate",
    "ApplicationId",
    "ParentInstanceName",
    "ParentInstanceId",
}
OBJECT = {"Id", "Name", "Description", "ObjectClass", "Container"}
TASK_SUMMARY = {
    "Id",
    "Name",
    "Description",
    "Status",
    "CreatedDate",
    "CompletedDate",
    "CompletedBy",
    "InstanceName",
    "ApplicationName",
    "Participants",
    "Locked",
    "PerformPermission",
}
TASK = (TASK_SUMMARY - {"Participants"}) | {"CompletedByUserId", "InstanceId", "ApplicationId"}


async def call(client: TestClient, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
    response = await client.request(method, path, **kwargs)
    assert response.status == status, await response.text()
    await assert_conforms(BARIUM, response)
    return await response.json()


async def ticket(client: TestClient, version: str = "v1.0", **extra: str) -> str:
    path = f"/barium/api/{version}/Authenticate?format=json"
    body = await call(client, "POST", path, data={**LOGIN, **extra}, headers=FORM)
    return str(body["Ticket"])


def dates_in_the_past(doc: dict[str, Any], now: datetime) -> None:
    for key in ("StartDate", "CompletedDate", "CreatedDate", "UpdatedDate"):
        if doc.get(key):
            assert datetime.fromisoformat(doc[key].replace("Z", "+00:00")) <= now, (key, doc)


async def test_a_client_reading_the_docs_walks_the_whole_api(make_client: MakeClient) -> None:
    client = await make_client()
    base = "/barium/api/v1.0"
    sent = await ticket(client)
    header = {"ticket": sent}

    apps = await call(client, "GET", f"{base}/apps/", headers=header)
    assert {"TotalCount", "Data"} <= set(apps) and apps["TotalCount"] == len(apps["Data"])
    assert {"Id", "Name", "Description", "Status", "InstancesCount"} <= set(apps["Data"][0])
    before = await call(client, "GET", f"{base}/apps/{PURCHASE_ORDER}", params={"ticket": sent})

    started = await call(
        client,
        "POST",
        f"{base}/apps/{PURCHASE_ORDER}?message=START",
        headers={**header, **FORM},
        data={"template": "form-7731", "instance.name": "PO-2024-118", "supplier": "Nordvik AB", "amount": "12500"},
    )
    assert started["success"] is True and set(started) == {"success", "InstanceId"}
    after = await call(client, "GET", f"{base}/Apps/{PURCHASE_ORDER}", headers=header)
    assert after["InstancesCount"] == before["InstancesCount"] + 1

    instance_id = started["InstanceId"]
    instance = await call(client, "GET", f"/barium/api/v1.1/instances/{instance_id}", headers=header)
    assert set(instance) >= INSTANCE and instance["Name"] == "PO-2024-118" and instance["Status"] == "active"
    assert instance["StartDate"].endswith("Z") and instance["ApplicationId"] == PURCHASE_ORDER

    objects = await call(client, "GET", f"{base}/instances/{instance_id}/objects", headers=header)
    form = objects["Data"][0]
    assert set(form) >= OBJECT and form["ObjectClass"] == "dataforms.dataform" and form["Container"] is False
    fields = await call(client, "GET", f"{base}/objects/{form['Id']}/fields", headers=header)
    values = {f["Name"]: f["Value"] for f in fields["Data"]}
    assert values["supplier"] == "Nordvik AB" and values["amount"] == "12500"

    tasks = await call(client, "GET", f"{base}/instances/{instance_id}/tasks", headers=header)
    assert tasks["TotalCount"] == 1 and set(tasks["Data"][0]) >= TASK_SUMMARY
    task = await call(client, "GET", f"{base}/tasks/{tasks['Data'][0]['Id']}", headers=header)
    assert set(task) >= TASK and task["InstanceId"] == instance_id and task["Status"] == "ready"

    deleted = await call(client, "DELETE", f"{base}/instances/{instance_id}", headers=header)
    assert deleted == {"success": True}
    gone = await call(client, "GET", f"{base}/instances/{instance_id}", 404, headers=header)
    assert gone["success"] is False and gone["errorCode"] == 404 and gone["errorLogId"]


async def test_web_ticket_may_be_asked_for_in_the_query_string(make_client: MakeClient) -> None:
    client = await make_client()
    for path in (
        "/barium/api/v1.1/Authenticate?format=json&webTicket=true",
        "/barium/api/v1.0/authenticate?webticket=True",
    ):
        body = await call(client, "POST", path, data=LOGIN, headers=FORM)
        assert set(body) == {"success", "Ticket", "WebTicket"} and body["WebTicket"] != body["Ticket"]
    sso = await call(
        client,
        "POST",
        "/barium/api/v1.1/SSOAuthenticate?webTicket=true",
        data={"apikey": APIKEY, "UID": "S-1-5-21-3623811015-3361044348-30300820-1013"},
        headers=FORM,
    )
    assert set(sso) == {"success", "Ticket", "WebTicket"}
    plain = await call(client, "POST", "/barium/api/v1.1/Authenticate?FORMAT=Json", data=LOGIN, headers=FORM)
    assert set(plain) == {"success", "Ticket"}


async def test_object_fields_may_be_sent_as_the_array_the_docs_name(make_client: MakeClient) -> None:
    client = await make_client()
    header = {"ticket": await ticket(client)}
    base = "/barium/api/v1.1"
    started = await call(client, "POST", f"{base}/Apps/{PURCHASE_ORDER}", headers={**header, **FORM}, data={})
    instance_id = started["InstanceId"]
    shapes: list[Any] = [
        {"Type": "form", "Name": "Joined", "TemplateId": "form-7731", "Fields": "supplier=Acme AB&amount=5"},
        [
            ("Type", "form"),
            ("Name", "Repeated"),
            ("TemplateId", "form-7731"),
            ("Fields", "supplier=Acme AB"),
            ("Fields", "amount=5"),
        ],
        {
            "type": "form",
            "name": "Indexed",
            "templateId": "form-7731",
            "Fields[supplier]": "Acme AB",
            "fields[amount]": "5",
        },
    ]
    for shape in shapes:
        created = await call(client, "POST", f"{base}/Instances/{instance_id}/Objects", headers=header, data=shape)
        assert created["success"] is True and created["Items"][0]["ObjectClass"] == "dataforms.dataform"
        fields = await call(client, "GET", f"{base}/Objects/{created['Id']}/Fields", headers=header)
        values = {f["Name"]: f["Value"] for f in fields["Data"]}
        assert (values["supplier"], values["amount"]) == ("Acme AB", "5"), shape


async def test_seeded_dates_never_lie_in_the_future(make_client: MakeClient) -> None:
    client = await make_client()
    header = {"ticket": await ticket(client)}
    now = client.server.app[STATE].clock.now()
    assert now >= NOW
    base = "/barium/api/v1.1"
    instances = await call(client, "GET", f"{base}/Instances", headers=header, params={"Max": "1000"})
    for summary in instances["Data"]:
        dates_in_the_past(summary, now)
        for obj in (await call(client, "GET", f"{base}/Instances/{summary['Id']}/Objects", headers=header))["Data"]:
            dates_in_the_past(obj, now)
    for task in (await call(client, "GET", f"{base}/Tasks", headers=header, params={"Max": "1000"}))["Data"]:
        dates_in_the_past(task, now)
