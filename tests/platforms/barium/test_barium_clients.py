"""Three real Barium clients replayed call for call, each answer read as that client reads it.

The call sequences are taken from the clients' source (cited in prose, as the repository cannot
hold it), the parsing from barium_clients.py:
- barium-feeder (Node, node-rest-client) at commit 2ef5dc0: barium-feeder.js:3-28 logs in with
  `apikey, username, password, format=json` in the form and keeps `data.toString()` as its ticket;
  :30-56 posts each CSV row to `apps/{id}?` with the `Ticket` header and reads `success`,
  `InstanceId`, or `errorCode`/`errorMessage`; index.js:36-45 builds the row's form.
- InRule's BariumLiveHelper (C#, Json.NET) at commit a033914: the approval flow
  (BariumLiveHelper.cs:55-97, :99-160, :239-279) and the create flow (:27-53, :179-196).
- Barium.psm1 (PowerShell) at commit 437ae34: Get-BariumToken (:1-74), Get-BariumList (:76-158),
  Get-BariumObject (:160-219), Edit-BariumObject (:221-284), Set-BariumInstance (:286-349) and
  the README's pipeline (`$list.'form.formId'` into Get-BariumObject).
"""

from __future__ import annotations

import uuid
from urllib.parse import quote

from aiohttp.test_utils import TestClient
from barium_clients import (
    APP_GET_PROCESS_ID,
    APPS_GET_APP_ID,
    AUTHENTICATE,
    OBJECTS,
    invoke_rest_method,
    javascript_string,
    json_net,
    node_rest_client_data,
    powershell_member,
    powershell_string,
)
from test_barium_objects import dotnet_multipart
from test_barium_story import APIKEY, PURCHASE_ORDER

from support import BARIUM, MakeClient, assert_conforms

USERNAME, PASSWORD = "anna.berg@nordvik.se", "Sommar2024!"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
OPEN_ORDERS = "2cb85f3f-4a24-439a-9d99-8017f5e2fc57"


def uri_component_form(fields: dict[str, str]) -> bytes:
    """A form as node-rest-client serialises an object: keys in order, encodeURIComponent (spaces %20)."""
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in fields.items()).encode()


async def test_barium_feeder(make_client: MakeClient) -> None:
    client = await make_client()
    login = await client.post(
        "/barium/api/v1.0/authenticate",
        data=uri_component_form({"apikey": APIKEY, "username": USERNAME, "password": PASSWORD, "format": "json"}),
        headers=FORM,
    )
    assert login.status == 200
    await assert_conforms(BARIUM, login)
    token = javascript_string(await node_rest_client_data(login))
    assert str(uuid.UUID(token)) == token  # not "[object Object]"

    row = {
        "template": "form-7731",
        "message": "START",
        "supplier": "Nordvik AB",
        "orgnr": "556677-8899",
        "amount": "12 500",
    }
    feed = await client.post(
        f"/barium/api/v1.0/apps/{PURCHASE_ORDER}?",
        data=uri_component_form(row),
        headers={**FORM, "Ticket": token},
    )
    await assert_conforms(BARIUM, feed)
    result = await node_rest_client_data(feed)
    assert isinstance(result, dict) and result["success"] is True  # `if(result.success)`
    instance_id = result["InstanceId"]
    assert str(uuid.UUID(instance_id)) == instance_id

    fields = await client.get(
        f"/barium/api/v1.0/Objects/{await _start_form(client, token, instance_id)}/Fields", headers={"ticket": token}
    )
    await assert_conforms(BARIUM, fields)
    values = {f["Name"]: f["Value"] for f in (await fields.json())["Data"]}
    assert (values["supplier"], values["amount"]) == ("Nordvik AB", "12500")

    unknown = await client.post(
        f"/barium/api/v1.0/apps/{uuid.uuid4()}?", data=uri_component_form(row), headers={**FORM, "Ticket": token}
    )
    await assert_conforms(BARIUM, unknown)
    failed = await node_rest_client_data(unknown)
    assert not failed["success"] and failed["errorCode"] == 404 and failed["errorMessage"]  # the feeder's log line


async def _start_form(client: TestClient, ticket: str, instance_id: str) -> str:
    response = await client.get(f"/barium/api/v1.0/Instances/{instance_id}/Objects", headers={"ticket": ticket})
    await assert_conforms(BARIUM, response)
    return str((await response.json())["Data"][0]["Id"])


async def test_inrule_approval_flow(make_client: MakeClient) -> None:
    """Configured as the InRule docs show it: ProcessName = the app, ApprovalFormName = its form's
    template name, AttachmentFieldName = the message the waiting task accepts."""
    client = await make_client()
    base = "/barium/api/v1.1"
    login = await client.post(
        f"{base}/authenticate",
        data={"username": USERNAME, "password": PASSWORD, "apikey": APIKEY, "webticket": "true"},
    )
    assert login.status == 200
    await assert_conforms(BARIUM, login)
    authenticate = json_net(await login.text(), AUTHENTICATE)
    assert authenticate["ticket"] and authenticate["webTicket"]
    ticket = {"ticket": authenticate["ticket"]}

    apps = await client.get(f"{base}/apps/", headers=ticket)
    assert apps.status == 200
    await assert_conforms(BARIUM, apps)
    listed = json_net(await apps.text(), APPS_GET_APP_ID)
    app_id = next(app["Id"] for app in listed["Data"] if app["Name"] == "Inköpsorder")

    form = {
        "template": "form-7731",
        "message": "START",
        "DevOpsApprovalURL": "https://devops.example/approve/42",
        "RevisionLabel": "Release 7",
        "RuleApplicationName": "Prissättning",
        "RuleApplicationRevision": "7",
        "RevisionComment": "Sent by DevOps Services",
    }
    started = await client.post(f"{base}/apps/{app_id}", data=form, headers=ticket)
    assert started.status == 200
    await assert_conforms(BARIUM, started)
    instance = json_net(await started.text(), APP_GET_PROCESS_ID)
    assert instance["success"] is True

    objects = await client.get(f"{base}/Instances/{instance['InstanceId']}/Objects", headers=ticket)
    assert objects.status == 200
    await assert_conforms(BARIUM, objects)
    parsed = json_net(await objects.text(), OBJECTS)  # Container, ReadOnly, dates: never null
    form_id = next(obj["Id"] for obj in parsed["Data"] if obj["Name"] == "Beställningsformulär")

    body, content_type = dotnet_multipart(
        [
            ("RuleApplicationReport", "RuleApplicationReport.html", "<html><h1>Prissättning r7</h1></html>".encode()),
            ("RuleDifferenceReport", "RuleDifferenceReport.html", b"<html><p>3 rules changed</p></html>"),
        ]
    )
    attached = await client.post(
        f"{base}/DataForms/{form_id}/Attachments", data=body, headers={**ticket, "Content-Type": content_type}
    )
    assert 200 <= attached.status < 300, await attached.text()
    await assert_conforms(BARIUM, attached)

    all_clear = await client.post(
        f"{base}/Instances/{instance['InstanceId']}", data={"message": "APPROVE"}, headers=ticket
    )
    assert 200 <= all_clear.status < 300, await all_clear.text()
    await assert_conforms(BARIUM, all_clear)

    listing = await client.get(f"{base}/Instances/{instance['InstanceId']}/Objects", headers=ticket)
    await assert_conforms(BARIUM, listing)
    files = json_net(await listing.text(), OBJECTS)
    report = next(obj for obj in files["Data"] if obj["Name"] == "RuleApplicationReport.html")
    download = await client.get(f"{base}/Objects/{report['Id']}/File", headers=ticket)
    await assert_conforms(BARIUM, download)
    assert await download.read() == "<html><h1>Prissättning r7</h1></html>".encode()


async def test_inrule_create_flow_gets_the_app_for_its_get_with_a_body(make_client: MakeClient) -> None:
    """BariumCallAppsToCreateInstance sends GET apps/{id} with a form body: answered as GET /Apps/{Id}."""
    client = await make_client()
    login = await client.post(
        "/barium/api/v1.0/authenticate",
        data={"username": USERNAME, "password": PASSWORD, "apikey": APIKEY, "webticket": "true"},
    )
    ticket = {"ticket": json_net(await login.text(), AUTHENTICATE)["ticket"]}
    response = await client.request(
        "GET",
        f"/barium/api/v1.0/apps/{PURCHASE_ORDER}",
        data={"template": "form-7731", "message": "START"},
        headers=ticket,
    )
    assert response.status == 200
    await assert_conforms(BARIUM, response)
    assert json_net(await response.text(), APP_GET_PROCESS_ID)["success"] is False  # parses; nothing was started
    assert (await response.json())["Name"] == "Inköpsorder"


async def test_barium_psm1(make_client: MakeClient) -> None:
    """The README's pipeline on a space whose list holds one purchase order."""
    client = await make_client(apis={"barium": {"instances": 0}})
    uri = "/barium/api/v1.0"
    token_answer = await client.post(
        f"{uri}/authenticate", data={"username": USERNAME, "password": PASSWORD, "apikey": APIKEY}
    )
    await assert_conforms(BARIUM, token_answer)
    token = powershell_string(await invoke_rest_method(token_answer))  # [string]$Token
    assert str(uuid.UUID(token)) == token
    headers = {"ticket": token}

    started = await client.post(
        f"{uri}/Apps/{PURCHASE_ORDER}", data={"template": "t", "supplier": "Nordvik AB"}, headers=headers
    )
    await assert_conforms(BARIUM, started)
    instance_id = (await started.json())["InstanceId"]

    lists_answer = await client.get(f"{uri}/lists", headers=headers)
    await assert_conforms(BARIUM, lists_answer)
    lists = await invoke_rest_method(lists_answer)
    assert OPEN_ORDERS in [item["Id"] for item in lists["Data"]]
    data_answer = await client.get(f"{uri}/lists/{OPEN_ORDERS}/Data", headers=headers)
    await assert_conforms(BARIUM, data_answer)
    rows = await invoke_rest_method(data_answer)
    form_id = powershell_string(powershell_member(rows, "form.formId"))  # $list.'form.formId'
    assert str(uuid.UUID(form_id)) == form_id

    fields_answer = await client.get(f"{uri}/Objects/{form_id}/Fields", headers=headers)
    await assert_conforms(BARIUM, fields_answer)
    selected = {
        f["Name"]: f["Value"] for f in (await invoke_rest_method(fields_answer))["Data"]
    }  # Select-Object Name, Value
    assert selected["supplier"] == "Nordvik AB"

    edited = await client.post(f"{uri}/Objects/{form_id}/Fields", data={"supplier": "Nordvik Trä AB"}, headers=headers)
    await assert_conforms(BARIUM, edited)
    assert edited.status == 200 and (await invoke_rest_method(edited))["updatedFields"] == ["supplier"]
    data_after = await client.get(f"{uri}/lists/{OPEN_ORDERS}/Data", headers=headers)
    await assert_conforms(BARIUM, data_after)
    rows_after = await invoke_rest_method(data_after)
    assert powershell_member(rows_after, "form.supplier") == "Nordvik Trä AB"

    message = await client.post(f"{uri}/Instances/{instance_id}", data={"Message": "APPROVE"}, headers=headers)
    await assert_conforms(BARIUM, message)
    assert message.status == 200 and (await invoke_rest_method(message)) == {"success": True}
