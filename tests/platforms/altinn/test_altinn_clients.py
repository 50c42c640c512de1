"""Real Altinn clients replayed call for call, each answer read the way that client reads it.

The sequences are the ones the project's research note on issue 17 recorded from each client's
source (its §5 and §3.1-3.3; ids as there): WEN is wenche 1.9.0 (`altinn_client.py`,
`aarsregnskap.py`, `auth.py`), SSB is ssb-altinn3-util 0.0.90 (`clients/altinn/api/storage.py`,
`api/application.py`, `helpers/http_helper.py`), AFR is app-frontend-react at 4ba19157d
(`src/queries/queries.ts` and the providers that read each answer). Every answer is also checked
against our spec; App answers against Altinn's published document where it declares the status.
"""

from __future__ import annotations

import json
import re
from typing import Any

import jwt
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from test_altinn_app_upstream import upstream_problems

from support import ALTINN_APP, ALTINN_STORAGE, NOW, assert_conforms, kari_headers, ttd_headers

BASE = "/altinn"
AARSREGNSKAP = f"{BASE}/brg/aarsregnskap-vanlig-202406"
TILSKUDD = f"{BASE}/ttd/soknad-tilskudd"
FJORDLYS = "390748337"  # Fjordlys Bakeri AS, party 51001001
SYSTEM_USER = "3f1c2a9e-77d2-4b1a-9c0e-5a6b7c8d9e0f"
PDF = b"%PDF-1.4\n% aksjenote\n%%EOF\n"


async def checked(response: ClientResponse) -> ClientResponse:
    """Our spec for every answer, and upstream's for the App API's where it declares the status."""
    platform = tuple(f"{BASE}/{name}/" for name in ("storage", "authentication", "testtools"))
    api = ALTINN_STORAGE if response.url.path.startswith(platform) else ALTINN_APP
    await assert_conforms(api, response)
    if api == ALTINN_APP:
        problems = await upstream_problems(response)
        assert not problems, problems
    return response


def maskinporten_token(**claims: Any) -> str:
    """A token as Maskinporten issues it (the exchange does not check a provider's signature)."""
    now = int(NOW.timestamp())
    return jwt.encode(
        {"iat": now, "exp": now + 120, **claims}, "maskinporten-test-signing-key-of-32-bytes", algorithm="HS256"
    )


# --- wenche ----------------------------------------------------------------------------------


async def test_wenche_files_an_annual_account_as_a_system_user(client: TestClient) -> None:
    """WEN aarsregnskap.py:437-515 through altinn_client.py, as §3.1 lists it (W1-W6), with the
    system-user token wenche gets as a vendor (auth.py:174-184) exchanged as auth.py:216-224 does."""
    grant = maskinporten_token(
        scope="altinn:instances.read altinn:instances.write",
        consumer={"authority": "iso6523-actorid-upis", "ID": "0192:991825827"},
        authorization_details=[
            {
                "type": "urn:altinn:systemuser",
                "systemuser_id": [SYSTEM_USER],
                "systemuser_org": {"authority": "iso6523-actorid-upis", "ID": f"0192:{FJORDLYS}"},
                "system_id": "b2c3d4e5-0000-4000-8000-000000000001",
            }
        ],
    )
    exchanged = await checked(
        await client.get(
            f"{BASE}/authentication/api/v1/exchange/maskinporten", headers={"Authorization": f"Bearer {grant}"}
        )
    )
    assert exchanged.status == 200
    token = (await exchanged.text()).strip().strip('"')  # WEN auth.py:224
    # altinn_client.py:58-65: one httpx client, bearer token, Accept: application/json
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    # W1 (altinn_client.py:71-81): raise_for_status, resp.json(), the whole dict kept
    created = await checked(
        await client.post(
            f"{AARSREGNSKAP}/instances", json={"instanceOwner": {"organisationNumber": FJORDLYS}}, headers=headers
        )
    )
    assert created.status < 400
    instans = await created.json()
    instance_url = f"{AARSREGNSKAP}/instances/{instans['id']}"  # instans["id"] = "{partyId}/{guid}" (:96-98)

    def finn_data_element_id(data_type: str) -> str:  # _finn_data_element_id (:107-115)
        return next(e["id"] for e in instans["data"] if e["dataType"] == data_type)

    # W2, W3 (altinn_client.py:83-105): XML, no Content-Disposition; raise_for_status; resp.json()
    for data_type, xml in (
        (
            "Hovedskjema",
            b"<Hovedskjema><regnskapsaar>2025</regnskapsaar><aarsresultat>120000</aarsresultat></Hovedskjema>",
        ),
        ("Underskjema", b"<Underskjema><noteopplysninger>Ingen</noteopplysninger></Underskjema>"),
    ):
        put = await checked(
            await client.put(
                f"{instance_url}/data/{finn_data_element_id(data_type)}",
                data=xml,
                headers={**headers, "Content-Type": "application/xml"},
            )
        )
        assert put.status < 400 and isinstance(await put.json(), dict)

    # W4 (altinn_client.py:152-179): lower-case `datatype`, a quoted filename; resp.json()["id"]
    uploaded = await checked(
        await client.post(
            f"{instance_url}/data",
            params={"datatype": "Vedlegg"},
            data=PDF,
            headers={
                **headers,
                "Content-Type": "application/pdf",
                "Content-Disposition": f'attachment; filename="aksjenote_2025_{FJORDLYS}.pdf"',
            },
        )
    )
    assert uploaded.status < 400
    vedlegg_id = (await uploaded.json())["id"]
    assert (await uploaded.json())["fileScanResult"] == "Pending"

    # W5 (altinn_client.py:117-150): at most ten reads until that element's scan is "Clean"
    results = []
    for _ in range(10):
        polled = await (await checked(await client.get(instance_url, headers=headers))).json()
        results.append(next(e for e in polled["data"] if e["id"] == vedlegg_id).get("fileScanResult"))
        if results[-1] in ("Clean", "Infected"):
            break
    assert results[-1] == "Clean" and len(results) == 1

    # W6 (altinn_client.py:218-232): no body; only is_success is read
    moved = await checked(await client.put(f"{instance_url}/process/next", headers=headers))
    assert 200 <= moved.status < 300, await moved.text()
    state = await moved.json()
    assert state["currentTask"]["altinnTaskType"] == "signing"
    stored = await (await client.get(instance_url, headers=headers)).json()
    assert stored["lastChangedBy"] == SYSTEM_USER and stored["createdBy"] == SYSTEM_USER


async def test_a_system_user_is_its_organisation_only_where_the_app_allows_system_users(client: TestClient) -> None:
    """ATT GetSystemUserToken.cs:25-44 (parameters and defaults), Token.cs:121-151 (claims); app-lib
    Authenticated.cs reads `authorization_details` first and refuses broken ones."""
    minted = await checked(
        await client.get(
            f"{BASE}/testtools/api/GetSystemUserToken",
            params={
                "env": "tt02",
                "systemUserId": SYSTEM_USER,
                "systemUserOrg": FJORDLYS,
                "scopes": "altinn:instances.read",
            },
        )
    )
    assert minted.status == 200 and minted.content_type == "text/plain"
    claims = jwt.decode(await minted.text(), options={"verify_signature": False})
    details = claims["authorization_details"]
    assert details[0]["type"] == "urn:altinn:systemuser" and details[0]["systemuser_id"] == [SYSTEM_USER]
    assert details[0]["systemuser_org"] == {"authority": "iso6523-actorid-upis", "ID": f"0192:{FJORDLYS}"}
    assert claims["consumer"]["ID"] == "0192:991825827" and "urn:altinn:org" not in claims
    assert "urn:altinn:orgNumber" not in claims and claims["urn:altinn:authlevel"] == 3
    system = {"Authorization": f"Bearer {await minted.text()}"}

    allowed = await checked(
        await client.post(f"{AARSREGNSKAP}/instances", params={"instanceOwnerPartyId": "51001001"}, headers=system)
    )
    assert allowed.status == 201
    other_party = await checked(
        await client.post(f"{AARSREGNSKAP}/instances", params={"instanceOwnerPartyId": "51001004"}, headers=system)
    )
    assert other_party.status == 403
    other_app = await checked(
        await client.post(
            f"{BASE}/ttd/arsrapport/instances", params={"instanceOwnerPartyId": "51001001"}, headers=system
        )
    )
    assert other_app.status == 403
    current = await checked(await client.get(f"{AARSREGNSKAP}/api/authorization/parties/current", headers=system))
    assert await current.json() == 51001001
    profile = await checked(await client.get(f"{AARSREGNSKAP}/api/v1/profile/user", headers=system))
    assert profile.status == 400 and await profile.text() == "Unknown authentication context: SystemUser"
    listed = await checked(
        await client.get(
            f"{BASE}/storage/api/v1/instances", params={"instanceOwner.partyId": "51001001"}, headers=system
        )
    )
    assert {i["appId"] for i in (await listed.json())["instances"]} == {"brg/aarsregnskap-vanlig-202406"}

    broken = maskinporten_token(
        consumer={"authority": "iso6523-actorid-upis", "ID": "0192:991825827"},
        authorization_details=[{"type": "urn:altinn:systemuser", "systemuser_org": {"ID": f"0192:{FJORDLYS}"}}],
    )
    refused = await checked(
        await client.get(
            f"{BASE}/authentication/api/v1/exchange/maskinporten", headers={"Authorization": f"Bearer {broken}"}
        )
    )
    assert refused.status == 400
    bad_org = await checked(
        await client.get(
            f"{BASE}/testtools/api/GetSystemUserToken",
            params={"env": "tt02", "systemUserId": SYSTEM_USER, "systemUserOrg": "123456789"},
        )
    )
    assert bad_org.status == 400 and await bad_org.json() == {
        "systemUserOrg": "Parameter was supplied with a invalid value"
    }


# --- ssb-altinn3-util ------------------------------------------------------------------------


async def test_ssb_reads_an_instance_and_its_attachment_and_confirms_it(client: TestClient) -> None:
    """SSB §3.2 S0-S3: the exchange's raw body is the token (http_helper.py:4-14), Storage's
    instance is json.loads-ed (storage.py:11-20), the data's bytes, Content-Type and filename by
    `filename=(.+?);` (storage.py:23-62), and `complete` posted with `json="{}"`
    (application.py:6-22), whose answer is json.loads-ed."""
    kari = await kari_headers(client)
    made = await (
        await client.post(f"{TILSKUDD}/instances", params={"instanceOwnerPartyId": "50001001"}, headers=kari)
    ).json()
    upload = await client.post(
        f"{TILSKUDD}/instances/{made['id']}/data",
        params={"dataType": "vedlegg"},
        data=PDF,
        headers={
            **kari,
            "Content-Type": "application/pdf",
            "Content-Disposition": "attachment; filename=kvittering mai.pdf",
        },
    )
    element = await upload.json()

    grant = maskinporten_token(
        consumer={"authority": "iso6523-actorid-upis", "ID": "0192:991825827"},
        scope="altinn:serviceowner/instances.read altinn:serviceowner/instances.write",
    )
    exchanged = await checked(
        await client.get(
            f"{BASE}/authentication/api/v1/exchange/maskinporten",
            params={"test": "true"},
            headers={"Authorization": f"Bearer {grant}"},
        )
    )
    assert exchanged.status == 200
    token = (await exchanged.read()).decode("utf-8")  # used verbatim: quotes would break it
    assert not token.startswith('"') and token.count(".") == 2
    headers = {"Authorization": f"Bearer {token}"}

    instance = json.loads(
        await (await checked(await client.get(f"{BASE}/storage/api/v1/instances/{made['id']}", headers=headers))).read()
    )
    assert instance["id"] == made["id"]

    data = await checked(
        await client.get(f"{BASE}/storage/api/v1/instances/{made['id']}/data/{element['id']}", headers=headers)
    )
    content_type = data.headers["Content-Type"]  # KeyError if absent (storage.py:38)
    found = re.findall("filename=(.+?);", data.headers["Content-Disposition"])  # storage.py:52
    filename = found[0][1:-1] if found and found[0].startswith('"') and found[0].endswith('"') else found[0]
    assert await data.read() == PDF and content_type == "application/pdf" and filename == "kvittering mai.pdf"

    completed = await checked(
        await client.post(
            f"{TILSKUDD}/instances/{made['id']}/complete",
            data=json.dumps("{}"),
            headers={**headers, "Content-Type": "application/json"},
        )
    )
    confirmed = json.loads(await completed.read())
    assert [c["stakeholderId"] for c in confirmed["completeConfirmations"]] == ["ttd"]


async def test_ssb_reads_seeded_attachments_as_the_same_bytes_every_time(client: TestClient) -> None:
    """Seeded data elements have no uploaded bytes: the mock makes `size` bytes from the element,
    the same on every read and in every server with the same seed."""
    owner = await ttd_headers(client)
    listed = await (
        await client.get(
            f"{BASE}/storage/api/v1/instances", params={"appId": "ttd/soknad-tilskudd", "size": "100"}, headers=owner
        )
    ).json()
    instance, element = next(
        (i, e)
        for i in listed["instances"]
        for e in i.get("data", [])
        if e["dataType"] == "vedlegg" and "deleteStatus" not in e
    )
    url = f"{BASE}/storage/api/v1/instances/{instance['id']}/data/{element['id']}"
    first = await checked(await client.get(url, headers=owner))
    body = await first.read()
    assert len(body) == element["size"] and first.headers["Content-Type"] == element["contentType"]
    assert body == await (await client.get(url, headers=owner)).read()
    app_read = await client.get(f"{TILSKUDD}/instances/{instance['id']}/data/{element['id']}", headers=owner)
    assert await app_read.read() == body


# --- app-frontend-react ----------------------------------------------------------------------


class FrontEnd:
    """axios as app-frontend-react configures it: same-origin cookies, `Pragma: no-cache` on GETs
    (networking.ts:10-17), `X-XSRF-TOKEN` copied from the `XSRF-TOKEN` cookie on unsafe requests."""

    def __init__(self, client: TestClient, app: str) -> None:
        self.client, self.app = client, app

    def _xsrf(self) -> dict[str, str]:
        cookie = next((c for c in self.client.session.cookie_jar if c.key == "XSRF-TOKEN"), None)
        return {"X-XSRF-TOKEN": cookie.value} if cookie is not None else {}

    async def get(self, path: str, status: int = 200) -> Any:
        response = await checked(await self.client.get(self.app + path, headers={"Pragma": "no-cache"}))
        assert response.status == status, await response.text()
        body = await response.read()
        return json.loads(body) if body and response.content_type.endswith("json") else body

    async def send(self, method: str, path: str, status: int, **kwargs: Any) -> Any:
        headers = {**self._xsrf(), **kwargs.pop("headers", {})}
        response = await checked(await self.client.request(method, self.app + path, headers=headers, **kwargs))
        assert response.status == status, await response.text()
        body = await response.read()
        return json.loads(body) if body and response.content_type.endswith("json") else body


def version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


async def start_up(front: FrontEnd) -> tuple[dict[str, Any], dict[str, Any]]:
    """The providers of AFR index.tsx:92-129 in order; each answer read as its provider reads it."""
    page = await front.get("/")
    assert b'<div id="root">' in page
    metadata = await front.get("/api/v1/applicationmetadata")  # ApplicationMetadataProvider.tsx:46-52
    assert version(metadata["altinnNugetVersion"]) >= (8, 5, 0, 153)  # versions.ts:3-14: the new APIs
    assert metadata["onEntry"]["show"] == "new-instance" and metadata["id"].endswith(front.app.rsplit("/", 1)[1])
    layout_sets = await front.get("/api/layoutsets")  # LayoutSetsProvider.tsx:43-49
    profile = await front.get("/api/v1/profile/user")  # ProfileProvider.tsx; LanguageProvider.tsx:45
    assert isinstance(profile["partyId"], int) and profile["profileSettingPreference"]["language"] == "nb"
    languages = await front.get("/api/v1/applicationlanguages")
    texts = await front.get(f"/api/v1/texts/{profile['profileSettingPreference']['language']}")
    assert {"language": texts["language"]} in languages and any(r["id"] == "appName" for r in texts["resources"])
    assert await front.get("/api/v1/applicationsettings") == {}
    parties = await front.get("/api/v1/parties?allowedtoinstantiatefilter=true")  # PartiesProvider.tsx:134-136
    current = await front.get("/api/authorization/parties/current?returnPartyObject=true")
    assert parties and isinstance(current["partyId"], int)
    if current["partyId"] not in {p["partyId"] for p in parties}:  # Entrypoint.tsx:69-76: choose a party
        chosen = await front.send("PUT", f"/api/v1/parties/{parties[0]['partyId']}", 200)
        assert chosen == b"Party successfully updated"  # compared literally: PartiesProvider.tsx:138,153
        current = await front.get("/api/authorization/parties/current?returnPartyObject=true")
        assert current["partyId"] == parties[0]["partyId"]
    assert await front.get("/api/authentication/keepAlive") == b""  # KeepAliveProvider.tsx:20-39
    assert await front.get("/api/v1/footer", 204) == b""
    return layout_sets, current


async def show_instance(front: FrontEnd, instance_id: str, layout_sets: dict[str, Any]) -> dict[str, Any]:
    """InstanceContext, ProcessWrapper and the layout/data providers for the current task."""
    instance = await front.get(f"/instances/{instance_id}")
    process = await front.get(f"/instances/{instance_id}/process")
    task = process["currentTask"]
    assert {a["id"] for a in task["userActions"] if a["authorized"]} >= {"read", "write"}
    assert all(a["type"] == "ProcessAction" for a in task["userActions"])  # types.ts: "ProcessAction" | "ServerAction"
    chosen = next(s for s in layout_sets["sets"] if task["elementId"] in s["tasks"])  # ProcessWrapper.tsx:132-162
    pages = await front.get(f"/api/layouts/{chosen['id']}")  # LayoutsContext.tsx:128-134
    settings = await front.get(f"/api/layoutsettings/{chosen['id']}")
    assert ("order" in settings["pages"]) != ("groups" in settings["pages"])  # LayoutSettingsContext.tsx:46-55
    assert all(page in pages for page in settings["pages"]["order"])
    assert await front.get(f"/api/ruleconfiguration/{chosen['id']}", 204) == b""
    assert await front.get(f"/api/rulehandler/{chosen['id']}", 204) == b""
    model_element = next(e for e in instance["data"] if e["dataType"] == chosen["dataType"])
    assert isinstance(await front.get(f"/api/jsonschema/{chosen['dataType']}"), dict)
    model = await front.get(f"/instances/{instance_id}/data/{model_element['id']}?includeRowId=true&language=nb")
    assert isinstance(model, dict)  # DataModelsProvider.tsx:176-202
    assert await front.get(f"/api/validationconfig/{chosen['dataType']}", 204) == b""
    assert await front.get(f"/instances/{instance_id}/validate?language=nb&onlyIncrementalValidators=true") == []
    return {"instance": instance, "process": process, "layout": pages, "model": model_element}


async def test_app_frontend_react_runs_an_instance_from_creation_to_the_end(client: TestClient) -> None:
    """AFR §3.3: start-up, instantiation without a body (useInstantiation.tsx:48-57), showing the
    instance, saving with JSON Patch (FormDataWrite.tsx:318-345), uploading an attachment with the
    new API (AttachmentsStorePlugin.tsx:303,712), submitting with body `null` and confirming with
    `{"action": "confirm"}` (useProcessNext.tsx:93-103), then the receipt's reads."""
    token = (await kari_headers(client))["Authorization"].split(" ", 1)[1]
    client.session.cookie_jar.update_cookies({"AltinnStudioRuntime": token})  # the login's cookie
    front = FrontEnd(client, TILSKUDD)
    layout_sets, current = await start_up(front)

    created = await front.send("POST", f"/instances?instanceOwnerPartyId={current['partyId']}&language=nb", 201)
    party, guid = created["id"].split("/")
    shown = await show_instance(front, f"{party}/{guid}", layout_sets)
    inputs = [c for c in shown["layout"]["Side1"]["data"]["layout"] if c["type"] == "Input"]
    field = inputs[0]["dataModelBindings"]["simpleBinding"]

    saved = await front.send(
        "PATCH",
        f"/instances/{party}/{guid}/data/{shown['model']['id']}?includeRowId=true&language=nb",
        200,
        json={"patch": [{"op": "add", "path": f"/{field}", "value": "Kari"}], "ignoredValidators": ["Required"]},
    )
    assert saved["newDataModel"] == {field: "Kari"} and isinstance(
        saved["validationIssues"], dict
    )  # formData/types.ts:41-50

    upload = next(c for c in shown["layout"]["Side1"]["data"]["layout"] if c["type"] == "FileUpload")
    posted = await front.send(
        "POST",
        f"/instances/{party}/{guid}/data/{upload['id']}?language=nb",
        200,
        data=PDF,
        headers={"Content-Type": "application/pdf", "Content-Disposition": "attachment; filename=kvittering.pdf"},
    )
    assert posted["newDataElementId"] in {e["id"] for e in posted["instance"]["data"]}

    submitted = await front.send(
        "PUT",
        f"/instances/{party}/{guid}/process/next?language=nb",
        200,
        data=b"null",
        headers={"Content-Type": "application/json"},
    )
    task = submitted["currentTask"]
    assert task["altinnTaskType"] == "confirmation"
    assert any(a["id"] == "confirm" and a["authorized"] for a in task["userActions"])  # ConfirmPage.tsx:77-78
    ended = await front.send(
        "PUT", f"/instances/{party}/{guid}/process/next?language=nb", 200, json={"action": "confirm"}
    )
    assert ended["ended"] and ended["currentTask"] is None
    receipt = await front.get(f"/instances/{party}/{guid}")  # ReceiptContainer.tsx:87-135
    assert receipt["status"]["isArchived"] and receipt["instanceOwner"]["party"]["partyId"] == int(party)


async def test_app_frontend_react_sees_validation_409_and_needs_the_antiforgery_pair(client: TestClient) -> None:
    """A task whose attachment is required stops `next` with 409 and `validationIssues`, which the
    front end shows (useProcessNext.tsx:77-79); unsafe requests of a cookie session without the
    antiforgery header are 400 (app-lib ServiceCollectionExtensions.cs:579-593 and its filter);
    bearer calls are exempt."""
    token = (await kari_headers(client))["Authorization"].split(" ", 1)[1]
    client.session.cookie_jar.update_cookies({"AltinnStudioRuntime": token})
    front = FrontEnd(client, f"{BASE}/ttd/arsrapport")
    _, current = await start_up(front)  # Kari's own party may not instantiate: she picks Fjordlys
    parties = await front.get("/api/v1/parties?allowedtoinstantiatefilter=true")
    assert {p["partyId"] for p in parties} == {51001001, 51001004}  # organisations only (partyTypesAllowed)
    assert current["partyId"] == 51001001
    refused = await front.send("PUT", "/api/v1/parties/50001001", 400)
    assert refused == b"Party 50001001 is not allowed to instantiate this application ttd/arsrapport"

    created = await front.send("POST", "/instances?instanceOwnerPartyId=51001001&language=nb", 201)
    blocked = await front.send("PUT", f"/instances/{created['id']}/process/next?language=nb", 409, json=None)
    assert isinstance(blocked["validationIssues"], list) and blocked["validationIssues"][0]["field"] == "regnskap"
    issues = await front.get(f"/instances/{created['id']}/validate?language=nb")
    assert [i["code"] for i in issues] == ["TooFewDataElementsOfType"]

    no_header = await checked(await client.put(f"{front.app}/instances/{created['id']}/process/next"))
    assert no_header.status == 400 and (await no_header.json())["title"] == "Bad Request"
    forged = await checked(
        await client.put(f"{front.app}/instances/{created['id']}/process/next", headers={"X-XSRF-TOKEN": "forged"})
    )
    assert forged.status == 400
    client.session.cookie_jar.clear()
    bearer = await checked(
        await client.put(
            f"{front.app}/instances/{created['id']}/process/next", headers={"Authorization": f"Bearer {token}"}
        )
    )
    assert bearer.status == 409  # past the antiforgery check, stopped by validation again
