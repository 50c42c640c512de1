"""Altinn as a client reading only the vendor docs uses it: the seed documents' examples taken
literally, the index's token URLs verbatim, `next` links followed as returned, and paths that
break the route constraints. Every response is checked against the spec it hit."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestClient

from support import ALTINN_APP, ALTINN_STORAGE, assert_conforms

STORAGE = "/altinn/storage/api/v1/instances"
APP = "/altinn/ttd/soknad-tilskudd/instances"
GUID = "6f1c2a9e-3b7d-4c52-9a1e-2d8f0b7c4e11"


async def index_token(client: TestClient, which: str) -> dict[str, str]:
    """A token fetched with the URL `GET /` advertises, exactly as given."""
    index = await (await client.get("/")).json()
    storage = next(api for api in index["apis"] if api["name"] == ALTINN_STORAGE)
    url = urlsplit(storage["credentials"][which])
    response = await client.get(f"{url.path}?{url.query}")
    assert response.status == 200, await response.text()
    assert response.content_type == "text/plain"
    return {"Authorization": f"Bearer {await response.text()}"}


async def fetch(client: TestClient, api: str, method: str, target: str, headers: dict[str, str], **kw: Any) -> Any:
    response = await client.request(method, target, headers=headers, **kw)
    await assert_conforms(api, response)
    body = await response.read()
    return response.status, (json.loads(body) if body else None), response


async def query(client: TestClient, headers: dict[str, str], raw_query: str) -> dict[str, Any]:
    """The query string exactly as typed (no client-side re-encoding of `:` or `/`)."""
    status, body, _ = await fetch(client, ALTINN_STORAGE, "GET", f"{STORAGE}?{raw_query}", headers)
    assert status == 200, body
    return body  # type: ignore[no-any-return]


# --- route constraints ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"{STORAGE}/abc/{GUID}"),
        ("GET", f"{STORAGE}/50001001/not-a-guid"),
        ("GET", f"{STORAGE}/not-a-guid"),
        ("GET", f"{STORAGE}/50001001/{GUID}/data/not-a-guid"),
        ("DELETE", f"{STORAGE}/99999999999/{GUID}"),
        ("PUT", f"{STORAGE}/x/{GUID}/readstatus?status=Read"),
        ("GET", f"{APP}/abc/{GUID}"),
        ("GET", f"{APP}/abc/active"),
        ("PUT", f"{APP}/50001001/zz/process/next"),
    ],
)
async def test_a_segment_breaking_a_route_constraint_is_no_route_404_even_without_a_token(
    client: TestClient, method: str, path: str
) -> None:
    """`{instanceOwnerPartyId:int}` / `{instanceGuid:guid}`: no route matches, so 404, not 400 or 401."""
    for headers in ({}, await index_token(client, "service_owner_token_url")):
        response = await client.request(method, path, headers=headers)
        assert response.status == 404, await response.text()
        assert response.content_type == "application/problem+json"


async def test_a_data_segment_that_is_no_guid_routes_only_to_the_upload(client: TestClient) -> None:
    """app-lib's DataController routes `{dataGuid:guid}` for GET/PUT/PATCH/DELETE and `{dataType}`
    for POST: a non-GUID last segment matches only the upload, so other methods are 405 naming POST."""
    path = f"{APP}/50001001/{GUID}/data/vedlegg"
    for method in ("GET", "PUT", "PATCH", "DELETE"):
        response = await client.request(method, path)
        assert response.status == 405 and response.headers["Allow"] == "POST", method
    assert (await client.post(path)).status == 401  # routed: the upload wants a token


# --- Storage, as the seed document shows it -------------------------------------------------


async def test_the_index_token_urls_work_verbatim(client: TestClient) -> None:
    owner = await index_token(client, "service_owner_token_url")
    person = await index_token(client, "person_token_url")
    assert (await query(client, owner, "org=ttd&size=1"))["count"] == 1
    mine = await query(client, person, "instanceOwner.partyId=50001001")
    assert mine["count"] > 0 and all(i["instanceOwner"]["partyId"] == "50001001" for i in mine["instances"])


async def test_the_seed_documents_query_examples_literally(client: TestClient) -> None:
    owner = await index_token(client, "service_owner_token_url")
    every = (await query(client, owner, "org=ttd&size=10000"))["instances"]

    found = await query(client, owner, "appId=ttd/soknad-tilskudd&process.currentTask=Task_2&lastChanged=gt:2019-05-01")
    expected = {
        i["id"]
        for i in every
        if i["appId"] == "ttd/soknad-tilskudd"
        and ((i.get("process") or {}).get("currentTask") or {}).get("elementId") == "Task_2"
    }
    assert expected and {i["id"] for i in found["instances"]} == expected

    ended = await query(client, owner, "org=ttd&process.ended=gt:2020-03-10&size=10000")
    assert {i["id"] for i in ended["instances"]} == {i["id"] for i in every if (i.get("process") or {}).get("ended")}

    unconfirmed = await query(client, owner, "org=ttd&excludeConfirmedBy=ttd&size=10000")
    confirmed = {i["id"] for i in every if any(c["stakeholderId"] == "ttd" for c in i.get("completeConfirmations", []))}
    assert confirmed and {i["id"] for i in unconfirmed["instances"]} == {i["id"] for i in every} - confirmed

    ranged = await query(client, owner, "org=ttd&dueBefore=gt:2025-02&dueBefore=lt:2026-03-01&size=10000")
    due = {i["id"] for i in every if "2025-02" < i.get("dueBefore", "") < "2026-03-01"}
    assert due and {i["id"] for i in ranged["instances"]} == due


async def test_parameter_names_in_any_case(client: TestClient) -> None:
    owner = await index_token(client, "service_owner_token_url")
    hard = await query(client, owner, "org=ttd&status.IsHardDeleted=true&size=10000")
    assert hard["count"] > 0 and all(i["status"]["isHardDeleted"] for i in hard["instances"])
    person = await index_token(client, "person_token_url")
    mine = await query(client, person, "instanceOwner.PartyId=50001001&status.isSoftDeleted=false")
    assert mine["count"] > 0
    assert all(i["instanceOwner"]["partyId"] == "50001001" for i in mine["instances"])
    assert not any(i["status"]["isSoftDeleted"] for i in mine["instances"])


async def test_following_next_as_returned_visits_every_match_once(client: TestClient) -> None:
    owner = await index_token(client, "service_owner_token_url")
    total = (await query(client, owner, "org=ttd&size=10000"))["count"]
    page = await query(client, owner, "org=ttd&size=50")
    assert page["self"].endswith(f"{STORAGE}?org=ttd&size=50")
    seen: list[str] = []
    while True:
        seen += [i["id"] for i in page["instances"]]
        assert (page["next"] is not None) == (page["count"] == 50)
        if page["next"] is None:
            break
        assert "%253b" in page["next"]
        link = urlsplit(page["next"])
        page = await query(client, owner, link.query)
        assert page["self"] == link.geturl()  # `self` echoes the link just followed
    assert len(seen) == len(set(seen)) == total > 100  # three pages and more


# --- App API, as the seed document shows it -------------------------------------------------


async def test_the_seed_documents_instance_template(client: TestClient) -> None:
    owner = await index_token(client, "service_owner_token_url")
    template = {
        "appId": "ttd/soknad-tilskudd",
        "instanceOwner": {"personNumber": "01017040320", "organisationNumber": None},
        "dueBefore": "2019-06-01T12:00:00Z",
        "visibleAfter": "2019-05-20T00:00:00Z",
    }
    status, created, response = await fetch(client, ALTINN_APP, "POST", APP, owner, json=template)
    assert status == 201, created
    assert response.headers["Location"] == created["selfLinks"]["apps"]
    assert created["instanceOwner"]["partyId"] == "50001002"
    assert created["instanceOwner"]["party"]["ssn"] == "01017040320"
    assert (created["dueBefore"], created["visibleAfter"]) == ("2019-06-01T12:00:00Z", "2019-05-20T00:00:00Z")
    assert created["process"]["currentTask"]["flow"] == 2


async def test_the_seed_documents_multipart_request(client: TestClient) -> None:
    owner = await index_token(client, "service_owner_token_url")
    body = (
        b"--abcdefg\r\n"
        b"Content-Type: application/json; charset=utf-8\r\n"
        b'Content-Disposition: form-data; name="instance"\r\n\r\n'
        b'{"instanceOwner": {"partyId": "50001002"}}\r\n'
        b"--abcdefg\r\n"
        b"Content-Type: application/xml\r\n"
        b'Content-Disposition: form-data; name="model"\r\n\r\n'
        b"<Tilskudd><belop>1000</belop></Tilskudd>\r\n"
        b"--abcdefg\r\n"
        b"Content-Type: application/pdf\r\n"
        b'Content-Disposition: form-data; name="vedlegg"; filename=certificate.pdf\r\n\r\n'
        b"%PDF-1.4\n%\xd3\xeb\xe9\xe1\n1 0 obj\r\n"
        b"--abcdefg--\r\n"
    )
    headers = {**owner, "Content-Type": 'multipart/form-data; boundary="abcdefg"'}
    status, created, _ = await fetch(client, ALTINN_APP, "POST", APP, headers, data=body)
    assert status == 201, created
    parts = {e["dataType"]: e for e in created["data"]}
    assert parts["model"]["contentType"] == "application/xml"
    assert (parts["vedlegg"]["filename"], parts["vedlegg"]["contentType"]) == ("certificate.pdf", "application/pdf")


async def test_the_seed_documents_simplified_instantiation(client: TestClient) -> None:
    owner = await index_token(client, "service_owner_token_url")
    prefill = {
        "instanceOwner": {"personNumber": "01017040320", "organisationNumber": None},
        "prefill": {"navnGarantist": "Ole Hansen", "addresse.gatenavn": "Gateveien", "addresse.husnummer": "4"},
        "dueBefore": "2019-06-01T12:00:00Z",
        "visibleAfter": "2019-05-20T00:00:00Z",
    }
    status, created, _ = await fetch(client, ALTINN_APP, "POST", f"{APP}/create", owner, json=prefill)
    assert status == 201, created
    assert created["instanceOwner"]["partyId"] == "50001002"

    archived = await query(client, owner, "appId=ttd/soknad-tilskudd&status.isArchived=true&status.isSoftDeleted=false")
    source = archived["instances"][0]
    copy = {
        "instanceOwner": {
            "partyId": source["instanceOwner"]["partyId"],
            "personNumber": None,
            "organisationNumber": None,
        },
        "sourceInstanceId": source["id"],
    }
    status, copied, _ = await fetch(client, ALTINN_APP, "POST", f"{APP}/create", owner, json=copy)
    assert status == 201, copied
    assert copied["id"] != source["id"] and copied["instanceOwner"]["partyId"] == source["instanceOwner"]["partyId"]
