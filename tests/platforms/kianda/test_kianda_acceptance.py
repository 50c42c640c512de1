"""Kianda as a client that has read only the vendor pages drives it.

Each test follows seeds 000/001 and reference §2 literally: the credentials the index gives, the
docs' create body (and its PascalCase twin), `names=` with spaces, the version check on PUT, and
the documented 401 on every `/api` route.
"""

from __future__ import annotations

import re
from datetime import timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient

from support import KIANDA, MakeClient, assert_conforms

SPEC = Path(__file__).resolve().parents[3] / "openapi" / "kianda.yaml"
DENIED = {"Message": "Authorization has been denied for this request."}
COMMON_FIELDS = {
    "id",
    "uniqueId",
    "processName",
    "processTitle",
    "processVersion",
    "status",
    "Version",
    "created",
    "createdBy",
    "modified",
    "modifiedBy",
    "assignTo",
    "fields",
}


def secured_operations() -> list[tuple[str, str]]:
    paths = yaml.safe_load(SPEC.read_text(encoding="utf-8"))["paths"]
    return [
        (method.upper(), "/kianda" + re.sub(r"\{[^}]+\}", "anything-1", path))
        for path, item in paths.items()
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"} and operation.get("security") != []
    ]


async def call(client: TestClient, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
    response = await client.request(method, path, **kwargs)
    assert response.status == status, await response.text()
    await assert_conforms(KIANDA, response)
    return await response.json()


async def bearer(client: TestClient) -> dict[str, str]:
    """Logs in with exactly what `GET /` advertises, as the docs' form post."""
    index = await (await client.get("/")).json()
    form = next(api["credentials"] for api in index["apis"] if api["name"] == KIANDA)
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    response = await client.post("/kianda/Token", data=form, headers=headers)
    assert response.status == 200, await response.text()
    await assert_conforms(KIANDA, response)
    body = await response.json()
    documented = {"access_token", "token_type", "expires_in", "userName", "userId", "subscriptionId"}
    assert documented | {"securityStamp", "hostURL", ".issued", ".expires"} <= set(body)
    assert body["token_type"] == "bearer" and body["expires_in"] == 299 and body["subscriptionId"] == form["scope"]
    lifetime = parsedate_to_datetime(body[".expires"]) - parsedate_to_datetime(body[".issued"])
    assert lifetime == timedelta(seconds=299)
    return {"Authorization": f"Bearer {body['access_token']}"}


@pytest.mark.parametrize(("method", "path"), secured_operations())
async def test_every_api_route_wants_the_bearer_token(make_client: MakeClient, method: str, path: str) -> None:
    client = await make_client()
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        response = await client.request(method, path, headers=headers)
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert await response.json() == DENIED
        await assert_conforms(KIANDA, response)


async def test_the_documented_create_read_update_story(make_client: MakeClient) -> None:
    client = await make_client()
    auth = await bearer(client)
    design = await call(client, "GET", "/kianda/api/processes/new-training-process", headers=auth)
    assert "Reason" in {f["name"] for f in design["fields"]}

    docs_body = {
        "processName": "new-training-process",
        "instanceID": "new-training-process",
        "TriggerField": "",
        "FieldsMappings": [{"fieldname": "Reason", "text": "New employee", "value": "New employee"}],
    }
    created = await call(client, "POST", "/kianda/api/instances/create", headers=auth, json=docs_body)
    assert created["success"] is True and re.fullmatch(r"new-training-process-\d+", created["instanceID"])
    pascal = {
        "ProcessName": "New-Training-Process",
        "InstanceID": "0",
        "triggerField": "",
        "fieldsMappings": [{"FieldName": "reason", "Text": "Promotion", "Value": "Promotion"}],
    }
    twin = await call(client, "POST", "/kianda/api/instances/create", headers=auth, json=pascal)
    assert twin["instanceID"] != created["instanceID"] and twin["instanceID"].startswith("new-training-process-")

    name = created["instanceID"]
    instance = await call(client, "GET", f"/kianda/api/instances/{name}", headers=auth)
    assert set(instance) >= COMMON_FIELDS and instance["id"] == name and instance["Version"] == "1.0"
    assert {"name": "Reason", "text": "New employee", "value": "New employee"} in instance["fields"]

    fields = await call(client, "GET", f"/kianda/api/instances/{name}/fields?names=startDate, Reason", headers=auth)
    assert [f["name"] for f in fields] == ["startDate", "Reason"]

    stale = {**docs_body, "Version": "2.0", "FieldsMappings": [{"fieldname": "Reason", "text": "x", "value": "x"}]}
    conflict = await call(client, "PUT", f"/kianda/api/instances/{name}", 409, headers=auth, json=stale)
    assert set(conflict) == {"Message"}
    current = {**stale, "Version": "1.0"}
    updated = await call(client, "PUT", f"/kianda/api/instances/{name}", headers=auth, json=current)
    assert updated["Version"] == "2.0" and updated["FieldsMappings"] == current["FieldsMappings"]

    patch = {
        "Version": "2.0",
        "FieldsMappings": [{"fieldname": "startDate", "text": "01/06/2026", "value": "2026-06-01"}],
    }
    await call(client, "PATCH", f"/kianda/api/instances/{name}", headers=auth, json=patch)
    after = await call(client, "GET", f"/kianda/api/instances/{name}/fields?names=Reason,startDate", headers=auth)
    assert [f["value"] for f in after] == ["x", "2026-06-01"]

    listed = await client.get("/kianda/api/instances", headers=auth, params={"processName": "new-training-process"})
    assert listed.status == 200 and int(listed.headers["Total-Items"]) >= 2
    await assert_conforms(KIANDA, listed)

    assert await call(client, "DELETE", f"/kianda/api/instances/{name}", headers=auth) == {"success": True}
    missing = await call(client, "GET", f"/kianda/api/instances/{name}/fields?names=Reason", 404, headers=auth)
    assert set(missing) == {"Message"}
