"""Stubs: checked against the spec when added, answering in the handler's place without touching the world."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from instancemock.__main__ import main
from instancemock.app import create_app
from instancemock.core.matching import globs_overlap
from instancemock.core.stubs import StubError

from support import ADMIN, KIANDA, MakeClient, assert_conforms, kianda_headers, settings

API = "/kianda/api"
CREATE = {"processName": "training-approval-request"}
CREATED = {"success": True, "instanceID": "training-approval-request-999"}


async def add(client: TestClient, stub: dict[str, Any], status: int = 201) -> dict[str, Any]:
    response = await client.post("/__admin/stubs", json=stub)
    assert response.status == status, await response.text()
    await assert_conforms(ADMIN, response)
    return await response.json()


async def journal(client: TestClient, **filters: str) -> list[dict[str, Any]]:
    response = await client.get("/__admin/requests", params=filters)
    return list((await response.json())["requests"])


async def count_instances(client: TestClient) -> int:
    listed = await client.get(f"{API}/instances", params={"pageSize": "500"})
    return len(await listed.json())


async def test_a_2xx_stub_answers_instead_of_the_handler_and_leaves_the_world_alone(make_client: MakeClient) -> None:
    client = await make_client(auth=False)
    before = await count_instances(client)
    stub = await add(
        client,
        {
            "request": {"api": "kianda", "method": "POST", "path": "/api/instances/create"},
            "response": {"status": 200, "body": CREATED},
        },
    )
    assert stub["operations"] == [{"api": "kianda", "operation": "createInstance"}] and not stub["offContract"]
    response = await client.post(f"{API}/instances/create", json=CREATE)
    assert response.status == 200 and await response.json() == CREATED
    assert response.headers["X-Mock-Source"] == "stub"
    await assert_conforms(KIANDA, response)
    assert await count_instances(client) == before  # a stubbed create made nothing
    assert (await client.get(f"{API}/instances/training-approval-request-999")).status == 404
    [entry] = await journal(client, method="POST")
    assert entry["stub"] == {"id": stub["id"], "offContract": False}
    assert entry["responseBody"]["value"] == CREATED


async def test_a_stub_the_spec_does_not_allow_is_refused_with_the_violations(make_client: MakeClient) -> None:
    client = await make_client(auth=False)
    refused = await add(
        client,
        {
            "request": {"api": "kianda", "operation": "createInstance"},
            "response": {"status": 200, "body": {"success": "yes"}},
        },
        status=422,
    )
    fields = {v["field"] for v in refused["violations"]}
    assert "body.success" in fields  # a string where the spec says boolean
    assert any("instanceID" in v["message"] for v in refused["violations"])  # required, missing
    assert "createInstance" in refused["error"] and "--allow-off-contract-stubs" in refused["error"]
    wrong_status = await add(
        client,
        {"request": {"api": "kianda", "operation": "createInstance"}, "response": {"status": 201, "body": CREATED}},
        422,
    )
    assert wrong_status["violations"]
    assert (await (await client.get("/__admin/stubs")).json())["stubs"] == []  # nothing added
    answered = await client.post(f"{API}/instances/create", json=CREATE)
    assert answered.headers.get("X-Mock-Source") != "stub"


async def test_off_contract_stubs_are_kept_when_allowed_and_marked_in_the_journal(make_client: MakeClient) -> None:
    client = await make_client(auth=False, allow_off_contract_stubs=True)  # strict, too
    stub = await add(
        client,
        {"request": {"api": "kianda", "operation": "createInstance"}, "response": {"status": 200, "body": {"ok": 1}}},
    )
    assert stub["offContract"] and stub["violations"]
    response = await client.post(f"{API}/instances/create", json=CREATE)
    assert response.status == 200 and await response.json() == {"ok": 1}  # not turned into a --strict 500
    [entry] = await journal(client, method="POST")
    assert entry["stub"] == {"id": "stub-1", "offContract": True}


async def test_criteria_query_headers_body_and_sandbox(make_client: MakeClient) -> None:
    client = await make_client(auth=False)
    await add(
        client,
        {
            "request": {
                "api": "kianda",
                "operation": "createInstance",
                "query": {"dryRun": "*"},
                "headers": {"x-team": "qa-*"},
                "body": {"processName": "training-approval-request"},
                "sandbox": "s1",
            },
            "response": {"status": 200, "body": CREATED},
        },
    )
    create = f"{API}/instances/create"
    hit = {"X-Team": "qa-blue", "X-Mock-Sandbox": "s1"}

    async def stubbed(**kwargs: Any) -> bool:
        response = await client.post(create, **{"json": CREATE, "params": {"dryRun": "1"}, "headers": hit, **kwargs})
        return response.headers.get("X-Mock-Source") == "stub"

    assert await stubbed()
    assert not await stubbed(params={})
    assert not await stubbed(headers={**hit, "X-Team": "dev"})
    assert not await stubbed(headers={"X-Team": "qa-blue"})  # default sandbox
    assert not await stubbed(json={"processName": "equipment-request"})


async def test_times_newest_first_delete_and_clear(make_client: MakeClient) -> None:
    client = await make_client(auth=False)
    await add(
        client,
        {
            "id": "general",
            "request": {"api": "kianda", "operation": "listInstances"},
            "response": {"status": 200, "body": []},
        },
    )
    await add(
        client,
        {
            "request": {"api": "kianda", "operation": "listInstances"},
            "response": {"status": 200, "body": []},
            "times": 2,
        },
    )
    listed = await (await client.get("/__admin/stubs")).json()
    assert [s["id"] for s in listed["stubs"]] == ["stub-2", "general"]  # newest first: the order tried
    for _ in range(3):
        await client.get(f"{API}/instances")
    listed = await (await client.get("/__admin/stubs")).json()
    assert [(s["answered"], s["remaining"]) for s in listed["stubs"]] == [(2, 0), (1, None)]
    assert (await client.delete("/__admin/stubs/general")).status == 200
    assert (await client.delete("/__admin/stubs/general")).status == 404
    assert await count_instances(client) > 0  # the handler answers again
    await add(
        client,
        {
            "request": {"api": "kianda", "operation": "listInstances", "sandbox": "s1"},
            "response": {"status": 200, "body": []},
        },
    )
    cleared = await client.delete("/__admin/stubs", params={"sandbox": "s1"})
    assert await cleared.json() == {"deleted": 1}
    assert len((await (await client.get("/__admin/stubs")).json())["stubs"]) == 1


async def test_a_body_templated_from_the_request_is_checked_when_sent(make_client: MakeClient) -> None:
    client = await make_client(auth=False)
    await add(
        client,
        {
            "request": {"api": "kianda", "operation": "createInstance"},
            "response": {
                "status": 200,
                "body": {"success": "{{body.ok}}", "instanceID": "{{body.processName}}-{{sandbox}}"},
            },
        },
    )
    response = await client.post(f"{API}/instances/create", json={**CREATE, "ok": True})
    assert response.status == 200, await response.text()
    assert await response.json() == {"success": True, "instanceID": "training-approval-request-default"}
    await assert_conforms(KIANDA, response)
    broken = await client.post(f"{API}/instances/create", json={**CREATE, "ok": "not a boolean"})
    assert broken.status == 500
    assert "stub-1" in await broken.text() and "breaks the spec" in await broken.text()


async def test_a_stub_still_needs_the_platforms_credentials_and_a_valid_request(make_client: MakeClient) -> None:
    client = await make_client()
    await add(
        client, {"request": {"api": "kianda", "operation": "listInstances"}, "response": {"status": 200, "body": []}}
    )
    assert (await client.get(f"{API}/instances")).status == 401
    assert (
        await client.get(f"{API}/instances", params={"pageSize": "many"}, headers=await kianda_headers(client))
    ).status == 400
    answered = await client.get(f"{API}/instances", headers=await kianda_headers(client))
    assert answered.status == 200 and answered.headers["X-Mock-Source"] == "stub"


async def test_stubs_that_cannot_be_used_are_refused(make_client: MakeClient) -> None:
    client = await make_client()
    nowhere = await add(
        client, {"request": {"api": "kianda", "path": "/no/such/path"}, "response": {"status": 200}}, 400
    )
    assert "matches no operation" in nowhere["error"]
    unknown = await add(
        client,
        {"request": {"api": "kianda", "operation": "listInstances"}, "response": {"status": 200}, "color": 1},
        400,
    )
    assert "color" in unknown["error"]
    await add(
        client,
        {
            "id": "x",
            "request": {"api": "kianda", "operation": "listInstances"},
            "response": {"status": 200, "body": []},
        },
    )
    await add(
        client,
        {
            "id": "x",
            "request": {"api": "kianda", "operation": "listInstances"},
            "response": {"status": 200, "body": []},
        },
        409,
    )


async def test_the_config_files_stubs_load_at_start_and_a_bad_one_stops_it(tmp_path: Any) -> None:
    app = create_app(
        settings(
            stubs=(
                {"request": {"api": "kianda", "operation": "listInstances"}, "response": {"status": 200, "body": []}},
            )
        )
    )
    assert app.router is not None
    with pytest.raises(StubError, match=r"stubs\[1\].*body.success"):
        create_app(
            settings(
                stubs=(
                    {
                        "request": {"api": "kianda", "operation": "listInstances"},
                        "response": {"status": 200, "body": []},
                    },
                    {
                        "request": {"api": "kianda", "operation": "createInstance"},
                        "response": {"status": 200, "body": {"success": 1}},
                    },
                )
            )
        )
    config = tmp_path / "config.yaml"
    config.write_text(
        "stubs:\n  - request: {api: kianda, operation: createInstance}\n    response: {status: 200, body: {}}\n"
    )
    assert main(["serve", "--config", str(config), "--port", "0"]) == 2


@pytest.mark.parametrize(
    ("glob", "template", "overlap"),
    [
        ("/Instances/*", "/Instances/{id}", True),
        ("/Instances/*", "/Instances/{id}/Tasks", True),  # `*` crosses `/`, as in fault rules
        ("/instances/A?C", "/Instances/{id}", True),
        ("/Instances/a/b", "/Instances/{id}", False),  # a parameter never holds a `/`
        ("/Instances/", "/Instances/{id}", False),  # nor is it empty
        ("/x/*/z", "/x/{a}/y", False),
    ],
)
def test_a_path_glob_reaches_the_operations_whose_template_it_can_match(
    glob: str, template: str, overlap: bool
) -> None:
    assert globs_overlap(glob, template) is overlap
