"""The App API's data routes and Storage's data read, written from app-lib's DataController.

Sources are named in prose by the ids of the project's research note on issue 17: ALIB is
app-lib-dotnet at 1363997, STO altinn-storage at d9364e40. Every answer is checked against our
spec and, where upstream declares the status, against Altinn's published document.
"""

from __future__ import annotations

import json

from aiohttp import FormData
from aiohttp.test_utils import TestClient
from test_altinn_app_upstream import app_call

from support import ALTINN_APP, ALTINN_STORAGE, assert_conforms, kari_headers, ttd_headers

APP = "/altinn/ttd/soknad-tilskudd/instances"
STORAGE = "/altinn/storage/api/v1/instances"
PDF = b"%PDF-1.4\n%tiny test document\n%%EOF\n"


call = app_call


async def new_instance(client: TestClient, headers: dict[str, str], app: str = APP, party: str = "50001001") -> str:
    created = await call(client, "POST", app, headers, 201, params={"instanceOwnerPartyId": party})
    return f"{app}/{created['id']}"


def pdf_headers(user: dict[str, str], name: str = "kvittering.pdf", kind: str = "application/pdf") -> dict[str, str]:
    return {**user, "Content-Type": kind, "Content-Disposition": f'attachment; filename="{name}"'}


async def test_upload_read_replace_and_delete_an_attachment(client: TestClient) -> None:
    """ALIB DataController.cs Create (obsolete, 201 + Location), Get (File with the stored type and
    name), Put (201), Delete (200 with the instance); the instance's data and lastChanged follow."""
    user = await kari_headers(client)
    path = await new_instance(client, user)
    before = await call(client, "GET", path, user, 200)

    # wenche's spelling of the query key (WEN altinn_client.py:168): keys bind in any case
    element = await call(
        client, "POST", f"{path}/data", pdf_headers(user), 201, params={"datatype": "vedlegg"}, data=PDF
    )
    assert element["dataType"] == "vedlegg" and element["size"] == len(PDF)
    assert element["filename"] == "kvittering.pdf" and element["contentType"] == "application/pdf"
    assert element["selfLinks"]["apps"].endswith(f"{path}/data/{element['id']}")

    instance = await call(client, "GET", path, user, 200)
    assert [e["id"] for e in instance["data"] if e["dataType"] == "vedlegg"] == [element["id"]]
    assert instance["lastChanged"] > before["lastChanged"] and instance["lastChangedBy"] == "20001001"

    read = await client.get(f"{path}/data/{element['id']}", headers=user)
    assert read.status == 200 and await read.read() == PDF
    assert read.headers["Content-Type"] == "application/pdf"
    assert read.headers["Content-Disposition"] == "attachment; filename=kvittering.pdf; filename*=UTF-8''kvittering.pdf"
    await assert_conforms(ALTINN_APP, read)

    replaced = await call(
        client, "PUT", f"{path}/data/{element['id']}", pdf_headers(user, "ny.pdf"), 201, data=PDF + b"more"
    )
    assert replaced["size"] == len(PDF) + 4 and replaced["filename"] == "ny.pdf"
    assert await (await client.get(f"{path}/data/{element['id']}", headers=user)).read() == PDF + b"more"

    deleted = await call(client, "DELETE", f"{path}/data/{element['id']}", user, 200)
    assert element["id"] not in {e["id"] for e in deleted["instance"]["data"]}
    gone = await call(client, "GET", f"{path}/data/{element['id']}", user, 404)
    assert gone["title"] == "Data Element Not Found"


async def test_the_new_upload_route_answers_200_with_the_instance(client: TestClient) -> None:
    """ALIB DataController.cs Post: `[HttpPost("{dataType}")]` and `type/{dataType}` return the
    DataPostResponse itself (200; the upstream document says 201, app-lib's
    DataController_PostTests expect 200); app-frontend-react uploads with the first (AFR
    appUrlHelper.ts:45-48), an unquoted filename in Content-Disposition."""
    user = await kari_headers(client)
    path = await new_instance(client, user)
    headers = {**user, "Content-Type": "image/png", "Content-Disposition": "attachment; filename=kart.png"}
    posted = await call(client, "POST", f"{path}/data/vedlegg?language=nb", headers, 200, data=b"\x89PNG tiny")
    assert posted["newDataElementId"] in {e["id"] for e in posted["instance"]["data"]}
    assert posted["validationIssues"] == [] and posted["newDataModels"] == []
    aliased = await call(client, "POST", f"{path}/data/type/vedlegg", headers, 200, data=b"\x89PNG tiny")
    assert aliased["newDataElementId"] != posted["newDataElementId"]


async def test_restrictions_in_app_libs_order_and_both_error_forms(client: TestClient) -> None:
    """ALIB DataRestrictionValidation.cs: Content-Disposition, maxSize, filename, extension, type;
    the obsolete route joins the descriptions into one string, the new one answers
    DataPostErrorResponse (`uploadValidationIssues`)."""
    user = await kari_headers(client)
    path = await new_instance(client, user)
    no_name = {**user, "Content-Type": "application/pdf"}
    text = await call(client, "POST", f"{path}/data", no_name, 400, params={"dataType": "vedlegg"}, data=PDF)
    assert text == "Invalid data provided. Error: The request must include a Content-Disposition header"
    problem = await call(client, "POST", f"{path}/data/vedlegg", no_name, 400, data=PDF)
    assert problem["title"] == "File validation failed" and problem["detail"] == "Common checks failed"
    assert [i["code"] for i in problem["uploadValidationIssues"]] == ["ContentTypeNotAllowed"]
    assert problem["uploadValidationIssues"][0]["source"] == "DataRestrictionValidation"

    mismatch = pdf_headers(user, "bilde.png")
    text = await call(client, "POST", f"{path}/data", mismatch, 400, params={"dataType": "vedlegg"}, data=PDF)
    assert "does not match mime type image/png" in text
    no_extension = pdf_headers(user, "kvittering")
    text = await call(client, "POST", f"{path}/data", no_extension, 400, params={"dataType": "vedlegg"}, data=PDF)
    assert "Filename is expected to end with '.{filetype}'" in text
    not_allowed = pdf_headers(user, "notat.txt", "text/plain")
    text = await call(client, "POST", f"{path}/data", not_allowed, 400, params={"dataType": "vedlegg"}, data=b"hei")
    assert "Permitted content types include: application/pdf, image/png, image/jpeg" in text
    unknown = await call(client, "POST", f"{path}/data/kattebilder", pdf_headers(user), 400, data=PDF)
    assert unknown["title"] == "Data Type Not Found"
    empty = await call(client, "POST", f"{path}/data/vedlegg", pdf_headers(user), 400, data=b"")
    assert empty["title"] == "Invalid data"


async def test_max_count_then_min_count_blocks_process_next(client: TestClient) -> None:
    """ALIB DataElementAccessChecker.cs GetCreateProblem: 409 "Max Count Exceeded"; and
    DefaultTaskValidator.cs: a data type of the task below its minCount stops process/next with
    409 "Validation failed for task" and the issue TooFewDataElementsOfType."""
    owner = await ttd_headers(client)
    app = "/altinn/ttd/arsrapport/instances"
    path = await new_instance(client, owner, app, "51001001")
    blocked = await call(client, "PUT", f"{path}/process/next", owner, 409)
    assert blocked["title"] == "Validation failed for task"
    assert blocked["detail"] == "1 validation errors found for task Task_1"
    assert [(i["code"], i["field"], i["severity"]) for i in blocked["validationIssues"]] == [
        ("TooFewDataElementsOfType", "regnskap", 1)
    ]
    csv = {**owner, "Content-Type": "text/csv", "Content-Disposition": "attachment; filename=regnskap.csv"}
    for _ in range(3):
        await call(client, "POST", f"{path}/data/regnskap", csv, 200, data=b"konto;belop\n1920;100\n")
    full = await call(client, "POST", f"{path}/data/regnskap", csv, 409, data=b"konto;belop\n")
    assert full["title"] == "Max Count Exceeded"
    assert full["detail"] == "Cannot create more than 3 data elements of type regnskap"
    moved = await call(client, "PUT", f"{path}/process/next", owner, 200)
    assert moved["currentTask"]["elementId"] == "Task_2"
    instance = await call(client, "GET", path, owner, 200)
    regnskap = [e for e in instance["data"] if e["dataType"] == "regnskap"]
    assert len(regnskap) == 3 and all(e["locked"] for e in regnskap)
    locked = await call(client, "PUT", f"{path}/data/{regnskap[0]['id']}", csv, 409, data=b"x")
    assert locked["status"] == 409


async def test_form_data_put_get_and_patch(client: TestClient) -> None:
    """ALIB DataController.cs PutFormData (201, no Content-Disposition needed, as wenche sends it:
    WEN altinn_client.py:83-105), Get of a form type (the model as JSON), PatchFormDataMultiple."""
    user = await kari_headers(client)
    path = await new_instance(client, user)
    instance = await call(client, "GET", path, user, 200)
    model = next(e for e in instance["data"] if e["dataType"] == "model")
    xml = b'<?xml version="1.0"?><Tilskudd><navn>Kari</navn><adresse><gate>Storgata 1</gate></adresse></Tilskudd>'
    headers = {**user, "Content-Type": "application/xml"}
    element = await call(client, "PUT", f"{path}/data/{model['id']}", headers, 201, data=xml)
    assert element["id"] == model["id"] and element["lastChangedBy"] == "20001001"
    read = await call(client, "GET", f"{path}/data/{model['id']}?includeRowId=true&language=nb", user, 200)
    assert read == {"navn": "Kari", "adresse": {"gate": "Storgata 1"}}
    as_xml = await client.get(f"{path}/data/{model['id']}", headers={**user, "Accept": "application/xml"})
    assert b"<Tilskudd><navn>Kari</navn><adresse><gate>Storgata 1</gate></adresse></Tilskudd>" in await as_xml.read()

    patch = {
        "patches": [
            {
                "dataElementId": model["id"],
                "patch": [
                    {"op": "test", "path": "/navn", "value": "Kari"},
                    {"op": "replace", "path": "/navn", "value": "Kari Nordmann"},
                    {"op": "add", "path": "/telefon", "value": "99999999"},
                ],
            }
        ],
        "ignoredValidators": ["DataAnnotations", "Required", "Expression"],
    }
    saved = await call(client, "PATCH", f"{path}/data?language=nb", user, 200, json=patch)
    assert saved["newDataModels"] == [
        {
            "dataElementId": model["id"],
            "data": {"navn": "Kari Nordmann", "adresse": {"gate": "Storgata 1"}, "telefon": "99999999"},
        }
    ]
    stale = {"patch": [{"op": "test", "path": "/navn", "value": "Kari"}]}
    conflict = await call(client, "PATCH", f"{path}/data/{model['id']}", user, 409, json=stale)
    assert conflict["title"] == "Precondition in patch failed"
    cannot = await call(client, "DELETE", f"{path}/data/{model['id']}", user, 400)
    assert cannot["title"] == "Cannot Delete main data element"


async def test_storage_serves_the_bytes_the_app_stored(client: TestClient) -> None:
    """STO DataController.cs:203-355: the bytes as stored, the element's Content-Type, and
    `File(stream, type, name)`'s Content-Disposition, which ssb-altinn3-util reads with
    `filename=(.+?);` (SSB api/storage.py:52); 404 strings for unknown instances and elements."""
    user = await kari_headers(client)
    path = await new_instance(client, user)
    element = await call(
        client,
        "POST",
        f"{path}/data",
        pdf_headers(user, "årsmelding 2025.pdf"),
        201,
        params={"dataType": "vedlegg"},
        data=PDF,
    )
    party_guid = path.rsplit("/", 2)
    storage = f"{STORAGE}/{party_guid[-2]}/{party_guid[-1]}/data/{element['id']}"
    read = await client.get(storage, headers=user)
    assert read.status == 200, await read.text()
    await assert_conforms(ALTINN_STORAGE, read)
    assert await read.read() == PDF and read.headers["Content-Type"] == "application/pdf"
    assert read.headers["Content-Disposition"] == (
        "attachment; filename=\"_rsmelding 2025.pdf\"; filename*=UTF-8''%C3%A5rsmelding%202025.pdf"
    )
    missing = await client.get(f"{STORAGE}/{party_guid[-2]}/{party_guid[-1]}/data/{party_guid[-1]}", headers=user)
    assert (
        missing.status == 404 and await missing.json() == f"Unable to find any data element with id: {party_guid[-1]}."
    )
    await assert_conforms(ALTINN_STORAGE, missing)


async def test_instantiation_keeps_the_bytes_of_its_parts(client: TestClient) -> None:
    """A multipart instantiation's data parts become elements whose content is what was sent
    (seed 004 "Create instance"): the attachment's bytes and the form part's model."""
    user = await kari_headers(client)
    form = FormData()
    form.add_field("instance", json.dumps({"instanceOwner": {"partyId": "50001001"}}), content_type="application/json")
    form.add_field("model", "<Tilskudd><navn>Kari</navn></Tilskudd>", content_type="application/xml")
    form.add_field("vedlegg", PDF, content_type="application/pdf", filename="soknad.pdf")
    created = await call(client, "POST", APP, user, 201, data=form)
    path = f"{APP}/{created['id']}"
    by_type = {e["dataType"]: e for e in created["data"]}
    assert set(by_type) == {"model", "vedlegg"}  # the part supplied the form: none auto-created
    assert await call(client, "GET", f"{path}/data/{by_type['vedlegg']['id']}", user, 200) == PDF
    assert await call(client, "GET", f"{path}/data/{by_type['model']['id']}", user, 200) == {"navn": "Kari"}
