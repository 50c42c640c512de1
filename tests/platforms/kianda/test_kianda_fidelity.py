"""Kianda as its own stack answers: OWIN's token endpoint, the documented key casing, Web API 2's errors.

Sources, cited in prose because the repository cannot hold them: AspNetKatana
OAuthAuthorizationServerHandler.cs at commit d667750f (:43-68 the token endpoint is matched by
path alone, any method; :316 the body is read as a form; :372-378 no `grant_type` is
`unsupported_grant_type`); KiandaBPM/docs content/apis/instances.md at commit 3d45353 (:59-80
create request and answer, :106-112 fields answer, :126-145 the PUT request and answer block,
`ProcessName`; :37 PATCH named without a body) and content/docs/apis/authentication.md at commit
544a06a (:13-23 the older GET with the credentials in headers); AspNetWebStack at commit c62b87fb
(HttpError.cs:80-110 the model-state body, ApiControllerActionSelector.cs:134-139,303-308 the 404
when no action takes the request). openapi/kianda.yaml records the decisions.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from support import KIANDA, MakeClient, assert_conforms, kianda_headers

NO_CACHE = {"Cache-Control": "no-cache, no-store", "Pragma": "no-cache", "Expires": "-1"}
UNSUPPORTED = {"error": "unsupported_grant_type"}
INSTANCE = "training-approval-request-1"
PUT_KEYS = {"ProcessName", "FieldsMappings", "TriggerField", "Status", "Version"}  # Version: ours [I]


async def answer(client: TestClient, method: str, path: str, status: int, **kwargs: Any) -> Any:
    response = await client.request(method, f"/kianda{path}", **kwargs)
    assert response.status == status, await response.text()
    await assert_conforms(KIANDA, response)
    return await response.json()


async def create(client: TestClient, headers: dict[str, str], **extra: Any) -> Any:
    """The docs' create example (content/apis/instances.md:59-70) as a client sends it."""
    body = {"processName": "training-approval-request", "instanceID": "training-approval-request", "TriggerField": ""}
    return await answer(client, "POST", "/api/instances/create", 200, headers=headers, json={**body, **extra})


async def admin_form(client: TestClient) -> dict[str, str]:
    index = await (await client.get("/")).json()
    return dict(next(api["credentials"] for api in index["apis"] if api["name"] == KIANDA))


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
async def test_the_token_endpoint_answers_every_method_as_owin_does(make_client: MakeClient, method: str) -> None:
    client = await make_client()
    form = await admin_form(client)
    older_docs = {
        "username": form["username"],
        "password": form["password"],
        "grant_type": "password",
        "remember": "yes",
    }
    for path in ("/token", "/Token"):
        response = await client.request(method, f"/kianda{path}", headers=older_docs)  # credentials as headers
        assert response.status == 400 and await response.json() == UNSUPPORTED
        assert {k: response.headers[k] for k in NO_CACHE} == NO_CACHE and "Allow" not in response.headers
        await assert_conforms(KIANDA, response)
    if method != "GET":  # a form body is read whatever the method
        issued = await answer(client, method, "/TOKEN", 200, data=form)
        assert issued["token_type"] == "bearer" and issued["userName"] == form["username"]
        wrong_case = await answer(client, method, "/token", 400, data={**form, "grant_type": "Password"})
        assert wrong_case == UNSUPPORTED


async def test_put_and_patch_answer_in_the_documented_put_casing(make_client: MakeClient) -> None:
    client = await make_client()
    headers = await kianda_headers(client)
    created = await create(client, headers)
    assert set(created) == {"success", "instanceID"}  # the create answer, as documented
    name = created["instanceID"]
    mapping = [{"fieldname": "reason", "text": "New employee", "value": "New employee"}]
    put = await answer(
        client,
        "PUT",
        f"/api/instances/{name}",
        200,
        headers=headers,
        json={"processName": "training-approval-request", "fieldsmappings": mapping, "triggerfield": "", "status": ""},
    )  # the request in another casing binds; the answer is the documented block's casing
    assert set(put) == PUT_KEYS and put["ProcessName"] == "training-approval-request"
    assert put["FieldsMappings"] == mapping
    patch = await answer(
        client, "PATCH", f"/api/instances/{name}", 200, headers=headers, json={"FieldsMappings": mapping}
    )
    assert set(patch) == PUT_KEYS and patch["Version"] == "3.0"
    listed = await answer(client, "GET", "/api/instances", 200, headers=headers, params={"pageSize": "1"})
    assert "processName" in listed[0] and "ProcessName" not in listed[0]  # the list keeps its own casing
    fields = await answer(
        client, "GET", f"/api/instances/{name}/fields", 200, headers=headers, params={"names": "reason"}
    )
    assert fields == [{"name": "reason", "text": "New employee", "value": "New employee"}]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "expected"),
    [
        (
            "POST",
            "/api/instances/create",
            {"json": {}},
            {"request.processName": ["The processName field is required."]},
        ),
        (
            "POST",
            "/api/instances/create",
            {"json": {"processName": ""}},
            {"request.processName": ["The processName field is required."]},
        ),
        (
            "POST",
            "/api/instances/create",
            {"json": {"processName": "training-approval-request", "FieldsMappings": [{"fieldname": 3}]}},
            {"request.FieldsMappings[0].fieldname": ["The value '3' is not valid for fieldname."]},
        ),
        (
            "POST",
            "/api/instances/create",
            {"data": "{broken", "headers": {"Content-Type": "application/json"}},
            {"request": ["An error has occurred."]},
        ),
        (
            "GET",
            f"/api/instances/{INSTANCE}/fields",
            {"params": {"names": ""}},
            {"names": ["The names field is required."]},
        ),
        ("GET", "/api/instances", {"params": {"page": "abc"}}, {"page": ["The value 'abc' is not valid for page."]}),
        (
            "GET",
            "/api/instances",
            {"params": {"PAGESIZE": "1000"}},
            {"pageSize": ["The value '1000' is not valid for pageSize."]},
        ),
        (
            "POST",
            "/api/tasks",
            {"json": {"name": "x", "processName": "equipment-request", "schedule": {"type": "Daily", "at": "25:00"}}},
            {
                "request.schedule.at": [
                    "The field at must match the regular expression '^([01][0-9]|2[0-3]):[0-5][0-9]$'."
                ]
            },
        ),
    ],
)
async def test_model_state_is_written_in_web_api_2s_words(
    make_client: MakeClient, method: str, path: str, kwargs: dict[str, Any], expected: dict[str, list[str]]
) -> None:
    client = await make_client()
    kwargs = {**kwargs, "headers": {**kwargs.get("headers", {}), **await kianda_headers(client)}}
    body = await answer(client, method, path, 400, **kwargs)
    assert body == {"Message": "The request is invalid.", "ModelState": expected}


async def test_fields_without_names_is_web_api_2s_404(make_client: MakeClient) -> None:
    client = await make_client()
    headers = await kianda_headers(client)
    response = await client.get(f"/kianda/api/instances/{INSTANCE}/fields", headers=headers)
    assert response.status == 404
    assert await response.json() == {
        "Message": f"No HTTP resource was found that matches the request URI '{response.url}'.",
        "MessageDetail": "No action was found on the controller 'Instances' that matches the request.",
    }
    await assert_conforms(KIANDA, response)


async def test_the_documented_calls_replayed(make_client: MakeClient) -> None:
    """KDOC in order: the older GET token (refused), the current POST token, create, read fields,
    PUT, and a read without `names`; each answer read as a client of the docs reads it."""
    client = await make_client()
    form = await admin_form(client)
    refused = await client.get("/kianda/token", headers={**form, "remember": "yes"})
    assert (refused.status, (await refused.json())["error"]) == (400, "unsupported_grant_type")
    await assert_conforms(KIANDA, refused)
    token = await answer(client, "POST", "/Token", 200, data=form)
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    created = await create(
        client, headers, FieldsMappings=[{"fieldname": "reason", "text": "New employee", "value": "New employee"}]
    )
    name = created["instanceID"]
    assert created["success"] is True and name.startswith("training-approval-request-")
    read = await answer(
        client, "GET", f"/api/instances/{name}/fields", 200, headers=headers, params={"names": "reason"}
    )
    assert {f["name"]: f["value"] for f in read} == {"reason": "New employee"}
    put = await answer(
        client,
        "PUT",
        f"/api/instances/{name}",
        200,
        headers=headers,
        json={"ProcessName": "training-approval-request", "FieldsMappings": [], "TriggerField": "", "Status": ""},
    )
    assert {"ProcessName", "FieldsMappings", "TriggerField", "Status"} <= set(put)
    missing = await client.get(f"/kianda/api/instances/{name}/fields", headers=headers)
    assert missing.status == 404 and "MessageDetail" in await missing.json()
    await assert_conforms(KIANDA, missing)
