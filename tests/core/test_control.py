"""X-Mock-* control headers, as a front-end developer or CI job uses them, through real HTTP.

Socket faults are checked from a real aiohttp client's point of view (the test server is real
TCP): a reset is a connection reset, `empty` a server disconnect, `malformed` JSON that does not
parse, and `timeout` a request that never gets an answer.
"""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, make_mocked_request

from instancemock.app import create_app
from instancemock.core.control import CONTROL_HEADERS, controls_idle

from support import ALTINN_APP, ALTINN_STORAGE, BARIUM, KIANDA, MakeClient, assert_conforms, settings

# One operation of each API; forced answers never reach its handler.
ENDPOINTS = {
    KIANDA: "/kianda/api/instances",
    BARIUM: "/barium/api/v1.1/Instances",
    ALTINN_STORAGE: "/altinn/storage/api/v1/instances",
    ALTINN_APP: "/altinn/ttd/demo/instances/50001337/active",
}


def shape_of(api: str, status: int, body: object) -> None:
    """The platform's own error body for `status`."""
    assert isinstance(body, dict)
    match api:
        case "kianda":
            assert isinstance(body["Message"], str) and body["Message"]
        case "barium":
            assert body["success"] is False and body["errorCode"] == status
            assert isinstance(body["errorMessage"], str)
        case _:
            assert body["status"] == status and body["title"]
            assert body["type"].startswith("https://tools.ietf.org/html/rfc")


async def journal(client: TestClient, **filters: str) -> list[dict]:
    response = await client.get("/__admin/requests", params=filters)
    return (await response.json())["requests"]


async def test_forced_status_answers_in_the_platforms_error_shape(make_client: MakeClient) -> None:
    client = await make_client()  # auth on: a forced status comes before any credential check
    for api, path in ENDPOINTS.items():
        for status in (400, 401, 403, 404, 409, 500, 502, 503):
            response = await client.get(path, headers={"X-Mock-Status": str(status)})
            assert response.status == status, (api, status)
            if response.content_length:  # Altinn answers 401/403 with no body at all
                shape_of(api, status, await response.json(content_type=None))
            if (api, status) != (ALTINN_APP, 401):  # its spec has no empty 401 yet (told the lead)
                await assert_conforms(api, response)


async def test_kianda_forced_500_is_the_web_api_message(make_client: MakeClient) -> None:
    client = await make_client()
    response = await client.get(ENDPOINTS[KIANDA], headers={"X-Mock-Status": "500"})
    assert await response.json() == {"Message": "An error has occurred."}


async def test_forced_429_says_when_to_retry(make_client: MakeClient) -> None:
    client = await make_client()
    for api, path in ENDPOINTS.items():
        response = await client.get(path, headers={"X-Mock-Status": "429"})
        assert response.status == 429
        assert response.headers["Retry-After"] == "1"
        shape_of(api, 429, await response.json(content_type=None))
        await assert_conforms(api, response)


async def test_forced_status_works_on_paths_no_operation_declares(make_client: MakeClient) -> None:
    client = await make_client()
    response = await client.get("/barium/api/v1.1/NoSuchThing", headers={"X-Mock-Status": "503"})
    assert response.status == 503
    assert (await response.json())["errorCode"] == 503
    elsewhere = await client.get("/nowhere", headers={"X-Mock-Status": "502"})
    assert elsewhere.status == 502
    assert (await elsewhere.json())["status"] == 502


BAD_HEADERS = [
    ("X-Mock-Status", "abc"),
    ("X-Mock-Status", "200"),
    ("X-Mock-Status", "600"),
    ("X-Mock-Delay", "-5"),
    ("X-Mock-Delay", "fast"),
    ("X-Mock-Delay", "600001"),
    ("X-Mock-Fault", "explode"),
    ("X-Mock-Sandbox", "no spaces/or slashes"),
    ("X-Mock-Sandbox", "x" * 65),
]


async def test_invalid_control_header_is_a_400_naming_it(make_client: MakeClient) -> None:
    client = await make_client()
    for header, value in BAD_HEADERS:
        response = await client.get(ENDPOINTS[BARIUM], headers={header: value})
        assert response.status == 400, (header, value)
        body = await response.json()
        assert header in body["errorMessage"]
        assert [v["field"] for v in body["errorData"]["Violations"]] == [header]
        await assert_conforms(BARIUM, response)


async def test_invalid_header_400_uses_each_platforms_violation_list(make_client: MakeClient) -> None:
    client = await make_client()
    for api in (KIANDA, ALTINN_STORAGE, ALTINN_APP):
        response = await client.get(ENDPOINTS[api], headers={"X-Mock-Delay": "soon"})
        assert response.status == 400
        body = await response.json(content_type=None)
        listed = body["ModelState"] if api == KIANDA else body["errors"]
        assert any("X-Mock-Delay" in key for key in listed)
        await assert_conforms(api, response)


async def test_status_and_fault_together_are_refused(make_client: MakeClient) -> None:
    client = await make_client()
    response = await client.get(ENDPOINTS[BARIUM], headers={"X-Mock-Status": "503", "X-Mock-Fault": "reset"})
    assert response.status == 400
    assert "X-Mock-Fault" in (await response.json())["errorMessage"]


async def test_delay_waits_before_answering_and_is_journaled(make_client: MakeClient) -> None:
    client = await make_client()
    started = time.monotonic()
    response = await client.get(ENDPOINTS[BARIUM], headers={"X-Mock-Delay": "150", "X-Mock-Status": "503"})
    assert response.status == 503
    assert time.monotonic() - started >= 0.15
    [entry] = await journal(client, api=BARIUM)
    assert entry["fault"] == {"source": "header", "rule": None, "status": 503, "delayMs": 150.0, "fault": None}
    assert entry["durationMs"] >= 150


async def test_valid_sandbox_name_is_used_and_recorded(make_client: MakeClient) -> None:
    client = await make_client()
    response = await client.get("/barium/api/v1.1/Nope", headers={"X-Mock-Sandbox": "team-a_1.2"})
    assert response.status == 404
    [entry] = await journal(client, sandbox="team-a_1.2")
    assert entry["path"] == "/barium/api/v1.1/Nope"


async def test_admin_api_ignores_control_headers(make_client: MakeClient) -> None:
    client = await make_client()
    response = await client.get("/__admin/health", headers={"X-Mock-Status": "503", "X-Mock-Fault": "reset"})
    assert response.status == 200


# --- socket faults, from a real client --------------------------------------------------------


async def test_reset_fault_resets_the_connection(make_client: MakeClient) -> None:
    client = await make_client()
    with pytest.raises(aiohttp.ClientOSError) as raised:
        await client.get(ENDPOINTS[BARIUM], headers={"X-Mock-Fault": "reset"})
    assert isinstance(raised.value, ConnectionResetError) or "reset" in str(raised.value).lower()
    [entry] = await journal(client, api=BARIUM)
    assert entry["status"] is None and entry["fault"]["fault"] == "reset"


async def test_empty_fault_closes_without_a_byte(make_client: MakeClient) -> None:
    client = await make_client()
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await client.get(ENDPOINTS[KIANDA], headers={"X-Mock-Fault": "empty"})
    [entry] = await journal(client, api=KIANDA)
    assert entry["status"] is None and entry["fault"]["fault"] == "empty"


async def test_malformed_fault_is_a_200_whose_json_does_not_parse(make_client: MakeClient) -> None:
    client = await make_client()
    response = await client.get(ENDPOINTS[ALTINN_STORAGE], headers={"X-Mock-Fault": "malformed"})
    assert response.status == 200
    assert response.content_type == "application/json"
    with pytest.raises(json.JSONDecodeError):
        await response.json()
    [entry] = await journal(client, api=ALTINN_STORAGE)
    assert entry["status"] == 200 and entry["fault"]["fault"] == "malformed"


async def test_timeout_fault_never_answers_and_lets_go_when_the_client_does(make_client: MakeClient) -> None:
    client = await make_client()
    with pytest.raises(asyncio.TimeoutError):
        await client.get(
            ENDPOINTS[ALTINN_APP],
            headers={"X-Mock-Fault": "timeout"},
            timeout=aiohttp.ClientTimeout(total=0.3),
        )
    for _ in range(100):  # the server notices the client left within a poll interval
        entries = await journal(client, api=ALTINN_APP)
        if entries:
            break
        await asyncio.sleep(0.02)
    [entry] = entries
    assert entry["status"] is None and entry["fault"]["fault"] == "timeout"
    assert 250 <= entry["durationMs"] < 5000
    # the connection pool is not poisoned: the next request is answered
    assert (await client.get("/__admin/health")).status == 200


@pytest.mark.parametrize("header", CONTROL_HEADERS)
def test_each_control_header_wakes_the_controls_step(header: str) -> None:
    """The pipeline skips the controls step when `controls_idle`; that check names the headers one
    by one, so a header added to CONTROL_HEADERS and not to it would be skipped silently."""
    app = create_app(settings())
    quiet = make_mocked_request("GET", "/barium/api/v1.1/Instances", app=app)
    assert controls_idle(quiet)
    sent = make_mocked_request("GET", "/barium/api/v1.1/Instances", headers={header.lower(): "1"}, app=app)
    assert not controls_idle(sent)
