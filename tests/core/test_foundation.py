"""The skeleton every API stands on: mounts, routing, validation, error shapes, strict mode."""

from __future__ import annotations

from dataclasses import replace

import pytest
from aiohttp import web

from instancemock.app import create_app
from instancemock.core.pipeline import API_PLUGINS

from support import ADMIN, BARIUM, MakeClient, assert_conforms, settings


async def test_index_lists_the_four_apis_with_their_mounts(make_client: MakeClient) -> None:
    client = await make_client()
    response = await client.get("/")
    assert response.status == 200
    body = await response.json()
    names = [api["name"] for api in body["apis"]]
    assert names == ["kianda", "barium", "altinn-storage", "altinn-app"]
    bases = {api["name"]: api["base_url"].split("/", 3)[3] for api in body["apis"]}
    assert bases == {
        "kianda": "kianda",
        "barium": "barium/api/v1.1",
        "altinn-storage": "altinn",
        "altinn-app": "altinn",
    }
    for api in body["apis"]:
        assert api["spec_url"].endswith(f"/__admin/specs/{api['name']}")
        assert isinstance(api["credentials"], dict)


async def test_health_and_specs_point_at_this_server(make_client: MakeClient) -> None:
    client = await make_client()
    assert (await client.get("/__admin/health")).status == 200
    response = await client.get("/__admin/specs/barium")
    await assert_conforms(ADMIN, response)
    spec = await response.json()
    origin = str(client.make_url("/")).rstrip("/")
    assert [s["url"] for s in spec["servers"]] == [f"{origin}/barium/api/v1.1", f"{origin}/barium/api/v1.0"]
    missing = await client.get("/__admin/specs/nope")
    assert missing.status == 400  # not in the enum: the admin spec rejects it before the handler


async def test_wrong_query_type_is_a_400_naming_the_parameter(make_client: MakeClient) -> None:
    client = await make_client(auth=False)
    response = await client.get("/barium/api/v1.1/Instances", params={"Max": "many"})
    assert response.status == 400
    body = await response.json()
    assert body["success"] is False and body["errorCode"] == 400
    assert "Max" in body["errorMessage"]
    assert body["errorData"]["Violations"][0]["field"] == "Max"
    await assert_conforms(BARIUM, response)


async def test_routes_and_query_names_match_case_insensitively(make_client: MakeClient) -> None:
    client = await make_client(auth=False)
    upper = await client.get("/BARIUM/API/V1.1/INSTANCES", params={"max": "x"})
    assert upper.status == 400  # routed, and `max` bound to the declared `Max`
    assert "Max" in (await upper.json())["errorMessage"]


@pytest.mark.parametrize(
    ("path", "content_type", "key"),
    [
        ("/kianda/api/nothing-here", "application/json", "Message"),
        ("/barium/api/v1.1/Nothing", "application/json", "errorMessage"),
        ("/altinn/storage/api/v1/nothing", "application/problem+json", "title"),
        ("/elsewhere", "application/json", "error"),
    ],
)
async def test_unknown_path_is_404_in_the_owners_shape(
    make_client: MakeClient, path: str, content_type: str, key: str
) -> None:
    client = await make_client()
    response = await client.get(path)
    assert response.status == 404
    assert response.content_type == content_type
    assert key in await response.json()


async def test_wrong_method_is_405_with_allow(make_client: MakeClient) -> None:
    client = await make_client()
    response = await client.delete("/kianda/api/processes")  # (not /Token: it takes every method, as OWIN does)
    assert response.status == 405
    assert response.headers["Allow"] == "GET"
    assert "does not support http method 'DELETE'" in (await response.json())["Message"]


async def test_both_altinn_apis_answer_under_one_prefix(make_client: MakeClient) -> None:
    client = await make_client(auth=False)
    storage = await client.get("/altinn/storage/api/v1/instances", params={"size": "x"})
    app = await client.put(
        "/altinn/ttd/some-app/instances/50001/6f1c2a9e-3b7d-4c52-9a1e-2d8f0b7c4e11/substatus", data="not json"
    )
    assert storage.status == 400 and app.status in (400, 415)
    assert storage.content_type == app.content_type == "application/problem+json"


async def test_malformed_json_and_wrong_content_type(make_client: MakeClient) -> None:
    client = await make_client(auth=False)
    broken = await client.post(
        "/kianda/api/instances/create", data="{broken", headers={"Content-Type": "application/json"}
    )
    assert broken.status == 400
    assert "ModelState" in await broken.json()
    wrong = await client.post("/kianda/api/instances/create", data="x=1", headers={"Content-Type": "text/csv"})
    assert wrong.status == 415


async def test_json_keys_bind_case_insensitively(make_client: MakeClient) -> None:
    client = await make_client(auth=False)
    missing = await client.post("/kianda/api/instances/create", json={"instanceID": "x"})
    assert missing.status == 400
    assert "request.processName" in (await missing.json())["ModelState"]  # Web API 2 keys: parameter.property
    cased = await client.post("/kianda/api/instances/create", json={"ProcessName": "no-such-design"})
    assert cased.status != 400 or "request.processName" not in (await cased.json()).get("ModelState", {})


async def test_hostile_nesting_is_a_400_not_a_500(make_client: MakeClient) -> None:
    client = await make_client(auth=False)
    deep = "[" * 50_000 + "]" * 50_000
    response = await client.post(
        "/kianda/api/instances/create", data=deep, headers={"Content-Type": "application/json"}
    )
    assert response.status == 400


async def test_strict_mode_turns_a_nonconforming_answer_into_a_named_500(aiohttp_client) -> None:
    app = create_app(settings(auth=False))

    async def liar(request: web.Request) -> web.Response:
        return web.json_response({"success": "yes"})  # the spec says success is a boolean

    plugins = dict(app[API_PLUGINS])
    plugins["kianda"] = replace(plugins["kianda"], operations={"deleteInstance": liar})
    app[API_PLUGINS] = plugins
    client = await aiohttp_client(app)
    response = await client.delete("/kianda/api/instances/anything-1")
    assert response.status == 500
    assert "deleteInstance" in (await response.json())["Message"]


async def test_body_over_the_limit_is_413(make_client: MakeClient) -> None:
    client = await make_client(auth=False, max_body_bytes=1024)
    response = await client.post(
        "/kianda/api/instances/create", data=b"x" * 5000, headers={"Content-Type": "application/json"}
    )
    assert response.status == 413
    assert "Message" in await response.json()
