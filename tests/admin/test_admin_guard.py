"""No web page drives /__admin unless allowed; no foreign Host name reaches it (DNS rebinding)."""

from __future__ import annotations

import pytest

from instancemock.admin.guard import host_name

from support import ADMIN, MakeClient, assert_conforms

PAGE = "http://evil.example"


@pytest.mark.parametrize(
    ("header", "name"),
    [("localhost:8080", "localhost"), ("[::1]:8080", "::1"), ("127.0.0.1", "127.0.0.1"), ("Mock.Local", "mock.local")],
)
def test_host_name(header: str, name: str) -> None:
    assert host_name(header) == name


async def test_a_cross_origin_page_cannot_reset_or_read_and_gets_no_cors(make_client: MakeClient) -> None:
    client = await make_client()  # cors_origins is "*" by default: that is for the platform APIs only
    preflight = await client.options("/__admin/state", headers={"Origin": PAGE, "Access-Control-Request-Method": "PUT"})
    assert "Access-Control-Allow-Origin" not in preflight.headers
    for method, path in [("POST", "/__admin/reset"), ("GET", "/__admin/state"), ("POST", "/__admin/webhooks")]:
        refused = await client.request(method, path, headers={"Origin": PAGE}, json={"url": "http://127.0.0.1:1/x"})
        assert refused.status == 403, (method, path)
        assert "Access-Control-Allow-Origin" not in refused.headers
        assert "admin_origins" in (await refused.json())["error"]
        await assert_conforms(ADMIN, refused)
    # a no-cors request without Origin is still marked by the browser
    marked = await client.post("/__admin/reset", headers={"Sec-Fetch-Site": "cross-site"})
    assert marked.status == 403
    # the platform APIs still answer any origin (front-end work)
    platform = await client.get("/barium/api/v1.1/Apps", headers={"Origin": PAGE})
    assert platform.headers["Access-Control-Allow-Origin"] == PAGE


async def test_an_allowed_origin_and_the_servers_own_origin_pass(make_client: MakeClient) -> None:
    client = await make_client(admin_origins=("http://localhost:5173",))
    allowed = await client.get("/__admin/faults", headers={"Origin": "http://localhost:5173"})
    assert allowed.status == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
    own = f"http://127.0.0.1:{client.port}"
    assert (await client.get("/__admin/faults", headers={"Origin": own, "Sec-Fetch-Site": "same-origin"})).status == 200
    assert (await client.get("/__admin/faults")).status == 200  # curl, CI: no Origin at all


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8080", "192.168.1.20:8080", "127.0.0.1.nip.io"])
async def test_a_foreign_host_header_is_refused(make_client: MakeClient, host: str) -> None:
    client = await make_client()
    refused = await client.post("/__admin/reset", headers={"Host": host})
    assert refused.status == 403
    assert "admin_hosts" in (await refused.json())["error"]
    await assert_conforms(ADMIN, refused)
    # health and the specs stay open to probes that address the server by any name
    assert (await client.get("/__admin/health", headers={"Host": host})).status == 200


@pytest.mark.parametrize("host", ["localhost:8080", "LOCALHOST", "[::1]:1234", "127.0.0.1"])
async def test_loopback_names_pass(make_client: MakeClient, host: str) -> None:
    client = await make_client()
    assert (await client.get("/__admin/faults", headers={"Host": host})).status == 200


async def test_configured_and_bound_names_pass(make_client: MakeClient) -> None:
    token = {"Authorization": "Bearer a-token-of-sixteen-or-more"}
    client = await make_client(admin_hosts=("mock.internal",), host="10.1.2.3", admin_token=token["Authorization"][7:])
    assert (await client.get("/__admin/faults", headers={"Host": "mock.internal:8080", **token})).status == 200
    assert (await client.get("/__admin/faults", headers={"Host": "10.1.2.3:8080", **token})).status == 200
    assert (
        await client.get("/__admin/faults", headers={"Host": "10.1.2.3:8080"})
    ).status == 401  # the token still counts
    assert (await client.get("/__admin/faults", headers={"Host": "other.internal", **token})).status == 403
