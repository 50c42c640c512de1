"""Forms named after their template, file downloads, attachments to a form, and the space's lists.

Sources (cited in prose; the repository cannot hold them): help.bariumlive.com article 4000131431
(Objects: `GET /Objects/{Id}/File` with `VersionId` answers "Binary data: File"); InRule's
BariumLiveHelper.cs at commit a033914 (:101-115 finds the form by one configured name in every
instance; :121-138 posts two multipart parts to `/DataForms/{formId}/Attachments`); Barium.psm1 at
commit 437ae34 (:118-135 `GET /lists`, `/lists/{List}`, `/lists/{List}/Data`) and its README
("Get listobjects": `$list.'form.formId'`). openapi/barium.yaml records every [I] decision.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from typing import Any
from urllib.parse import unquote

from aiohttp import FormData
from aiohttp.test_utils import TestClient
from test_barium_story import BASE, PURCHASE_ORDER, get, login, post

from support import BARIUM, MakeClient, assert_conforms

SUPPLIERS = "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a"
SUPPLIERS_TO_REGISTER = "4dad2986-ce83-4960-aa06-e9ab85a0bcc1"
OPEN_ORDERS = "2cb85f3f-4a24-439a-9d99-8017f5e2fc57"
FORM_NAMES = {
    "Inköpsorder": "Beställningsformulär",
    "Semesteransökan": "Semesteransökan",
    "Leverantörsregistrering": "Leverantörsuppgifter",
    "Fakturahantering": "Fakturaunderlag",
    "Avtalssignering": "Avtalsuppgifter",
}


def dotnet_multipart(parts: list[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    """A body as .NET Framework's MultipartFormDataContent writes it: a quoted GUID boundary,
    `Content-Type` before `Content-Disposition`, unquoted `name`/`filename` and `filename*`."""
    boundary = str(uuid.UUID(int=7))
    body = b""
    for name, filename, content in parts:
        body += (
            (
                f"--{boundary}\r\nContent-Type: text/plain\r\n"
                f"Content-Disposition: form-data; name={name}; filename={filename}; filename*=utf-8''{filename}\r\n\r\n"
            ).encode()
            + content
            + b"\r\n"
        )
    return body + f"--{boundary}--\r\n".encode(), f'multipart/form-data; boundary="{boundary}"'


async def download(client: TestClient, path: str, ticket: dict[str, str], **params: str) -> Any:
    response = await client.get(f"{BASE}{path}", headers=ticket, params=params)
    assert response.status == 200, await response.text()
    await assert_conforms(BARIUM, response)
    return response


def filename_of(disposition: str) -> str:
    """As ssb-altinn3-util reads a name (`filename=(.+?);`) and as RFC 6266 clients read `filename*`."""
    plain = re.findall("filename=(.+?);", disposition)[0].strip('"')
    extended = unquote(disposition.split("filename*=UTF-8''", 1)[1])
    assert plain == "".join(ch if 32 <= ord(ch) < 127 else "_" for ch in extended)
    return extended


async def test_every_start_form_is_named_after_its_template(make_client: MakeClient) -> None:
    """InRule finds its form by one configured name across instances (BariumLiveHelper.cs:101-115)."""
    client = await make_client()
    ticket = await login(client)
    names: Counter[tuple[str, str]] = Counter()
    for summary in (await get(client, "/Instances", ticket, Max=40))["Data"]:
        objects = await get(client, f"/Instances/{summary['Id']}/Objects", ticket)
        forms = [o["Name"] for o in objects["Data"] if o["ObjectClass"] == "dataforms.dataform"]
        names.update((summary["ApplicationName"], name) for name in forms)
    assert {app: name for app, name in names} == {app: FORM_NAMES[app] for app, _ in names}

    started = await post(client, f"/Apps/{SUPPLIERS}", ticket, {"template": "form-8802", "supplier": "Acme AB"})
    objects = await get(client, f"/Instances/{started['InstanceId']}/Objects", ticket)
    assert [o["Name"] for o in objects["Data"]] == ["Leverantörsuppgifter"]


async def test_a_seeded_file_downloads_as_a_small_deterministic_pdf(make_client: MakeClient) -> None:
    client = await make_client()
    ticket = await login(client)
    seeded = None
    for summary in (await get(client, "/Instances", ticket, Max=60))["Data"]:
        objects = (await get(client, f"/Instances/{summary['Id']}/Objects", ticket))["Data"]
        seeded = next((o for o in objects if o["ObjectClass"] == "file"), None)
        if seeded:
            break
    assert seeded is not None and seeded["Name"].endswith(".pdf")
    first = await download(client, f"/Objects/{seeded['Id']}/File", ticket)
    body = await first.read()
    assert (
        first.content_type == "application/pdf" and filename_of(first.headers["Content-Disposition"]) == seeded["Name"]
    )
    assert body.startswith(b"%PDF-1.4\n") and body.endswith(b"%%EOF\n") and len(body) < 2000
    xref = int(body.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    offsets = [int(line[:10]) for line in body[xref:].split(b"\n")[3:8]]
    assert [body[o : o + 8] for o in offsets] == [f"{n} 0 obj\n".encode() for n in range(1, 6)]  # a valid xref
    version = (await get(client, f"/Objects/{seeded['Id']}", ticket))["DataId"]
    again = await download(client, f"/Objects/{seeded['Id']}/File", ticket, VersionId=version)
    assert await again.read() == body  # the same bytes on every call

    form = next(o for o in objects if o["ObjectClass"] == "dataforms.dataform")
    for path in (f"/Objects/{form['Id']}/File", f"/Objects/{seeded['Id']}/File?VersionId=nope", "/Objects/x/File"):
        missing = await client.get(f"{BASE}{path}", headers=ticket)
        assert missing.status == 404 and (await missing.json())["success"] is False
        await assert_conforms(BARIUM, missing)


async def test_an_uploaded_file_comes_back_byte_for_byte(make_client: MakeClient) -> None:
    client = await make_client()
    ticket = await login(client)
    started = await post(client, f"/Apps/{PURCHASE_ORDER}", ticket)
    instance = started["InstanceId"]
    content = bytes(range(256)) * 3
    form = FormData()
    form.add_field("Type", "file")
    form.add_field("Data", content, filename="Offert för Åre.bin", content_type="application/x-offert")
    created = await post(client, f"/Instances/{instance}/Objects", ticket, form)
    file_id = created["Id"]
    for path in (f"/Objects/{file_id}/File", f"/instances/{instance}/objects/{file_id}/file"):
        response = await download(client, path, ticket, format="xml")  # a file is never rewritten
        assert await response.read() == content and response.content_type == "application/x-offert"
        assert filename_of(response.headers["Content-Disposition"]) == "Offert för Åre.bin"
    other = (await get(client, "/Instances", ticket, Status="completed", Max=1))["Data"][0]["Id"]
    elsewhere = await client.get(f"{BASE}/Instances/{other}/Objects/{file_id}/File", headers=ticket)
    assert elsewhere.status == 404
    await assert_conforms(BARIUM, elsewhere)


async def test_attachments_posted_to_a_form_become_its_files(make_client: MakeClient) -> None:
    client = await make_client()
    ticket = await login(client)
    instance = (await post(client, f"/Apps/{PURCHASE_ORDER}", ticket))["InstanceId"]
    form_id = (await get(client, f"/Instances/{instance}/Objects", ticket))["Data"][0]["Id"]
    body, content_type = dotnet_multipart(
        [
            ("RuleAppReport", "RuleAppReport.html", b"<html>rules</html>"),
            ("DiffReport", "DiffReport.html", b"<p>diff</p>"),
        ]
    )
    response = await client.post(
        f"{BASE}/DataForms/{form_id}/Attachments", data=body, headers={**ticket, "Content-Type": content_type}
    )
    assert response.status == 200, await response.text()
    await assert_conforms(BARIUM, response)
    items = (await response.json())["Items"]
    assert [(i["Name"], i["ReferenceId"], i["ObjectClass"]) for i in items] == [
        ("RuleAppReport.html", "RuleAppReport", "file"),
        ("DiffReport.html", "DiffReport", "file"),
    ]
    listed = {o["Id"]: o for o in (await get(client, f"/Instances/{instance}/Objects", ticket))["Data"]}
    assert all(listed[i["Id"]]["FileType"] == "html" for i in items)
    first = await download(client, f"/Objects/{items[0]['Id']}/File", ticket)
    assert await first.read() == b"<html>rules</html>" and first.content_type == "text/plain"
    fields = {f["Name"]: f for f in (await get(client, f"/Objects/{form_id}/Fields", ticket))["Data"]}
    assert fields["RuleAppReport"]["Value"] == "RuleAppReport.html" and fields["DiffReport"]["Type"] == "file"


async def test_attachments_are_refused_in_the_envelope(make_client: MakeClient) -> None:
    client = await make_client()
    ticket = await login(client)
    instance = (await post(client, f"/Apps/{PURCHASE_ORDER}", ticket))["InstanceId"]
    form_id = (await get(client, f"/Instances/{instance}/Objects", ticket))["Data"][0]["Id"]
    body, content_type = dotnet_multipart([("Report", "Report.html", b"x")])
    cases = [
        ("/DataForms//Attachments", body, content_type, 404),  # InRule's URL when no form was found
        (f"/DataForms/{uuid.uuid4()}/Attachments", body, content_type, 404),
        (f"/DataForms/{form_id}/Attachments", b"Report=x", "application/x-www-form-urlencoded", 400),
    ]
    for path, payload, media_type, status in cases:
        response = await client.post(f"{BASE}{path}", data=payload, headers={**ticket, "Content-Type": media_type})
        assert response.status == status, (path, await response.text())
        assert (await response.json())["errorCode"] == status
        if "//" not in path:  # the empty id matches no operation: the unrouted 404, same envelope
            await assert_conforms(BARIUM, response)
    no_file = FormData()
    no_file.add_field("note", "no filename here")
    refused = await client.post(f"{BASE}/DataForms/{form_id}/Attachments", data=no_file, headers=ticket)
    assert refused.status == 400
    await assert_conforms(BARIUM, refused)
    await post(client, f"/Instances/{instance}", ticket, {"message": "APPROVE"})
    deleted = await client.delete(f"{BASE}/Instances/{instance}", headers=ticket)
    assert deleted.status == 200
    gone = await client.post(
        f"{BASE}/DataForms/{form_id}/Attachments", data=body, headers={**ticket, "Content-Type": content_type}
    )
    assert gone.status == 404


async def test_lists_show_live_rows_keyed_by_their_columns(make_client: MakeClient) -> None:
    client = await make_client()
    ticket = await login(client)
    lists = await get(client, "/lists", ticket)
    assert lists["TotalCount"] == 3 and {item["Id"] for item in lists["Data"]} >= {SUPPLIERS_TO_REGISTER, OPEN_ORDERS}
    detail = await get(client, f"/lists/{OPEN_ORDERS.upper()}", ticket)
    assert detail["ApplicationName"] == "Inköpsorder" and "form.formId" in detail["Columns"]

    before = await get(client, f"/Lists/{OPEN_ORDERS}/Data", ticket, Max=1000)
    assert isinstance(before, list) and all(set(row) == set(detail["Columns"]) for row in before)
    started = await post(client, f"/Apps/{PURCHASE_ORDER}", ticket, {"template": "t", "supplier": "Nyköping Stål AB"})
    after = await get(client, f"/Lists/{OPEN_ORDERS}/Data", ticket, Max=1000)
    assert len(after) == len(before) + 1
    newest = after[0]
    assert newest["instance.Id"] == started["InstanceId"] and newest["form.supplier"] == "Nyköping Stål AB"
    fields = await get(client, f"/Objects/{newest['form.formId']}/Fields", ticket)
    assert {f["Name"]: f["Value"] for f in fields["Data"]}["supplier"] == "Nyköping Stål AB"
    assert await get(client, f"/Lists/{OPEN_ORDERS}/Data", ticket, Start=1, Max=2) == after[1:3]

    statuses = {(await get(client, f"/Instances/{row['instance.Id']}", ticket))["Status"] for row in after[:10]}
    assert statuses == {"active"}
    missing = await client.get(f"{BASE}/Lists/{uuid.uuid4()}/Data", headers=ticket)
    assert missing.status == 404
    await assert_conforms(BARIUM, missing)
