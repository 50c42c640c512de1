"""Proxy mode against a second instancemock as the real service (tests/core/upstream_support.py).

Forwarding is faithful (bytes, statuses, headers; links rewritten back to the proxy), drift is
flagged for exactly the operations that break their spec, --strict turns a drifting answer into a
502, and an upstream that is down or slow is a 502 or 504 in the platform's own error shape.
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestClient, TestServer
from multidict import CIMultiDict
from upstream_support import BASE, OFF_CONTRACT, SMALL, proxy_settings

from instancemock.app import create_app
from instancemock.core.proxy import PROXY

from support import BARIUM, assert_conforms, barium_headers, settings

pytestmark = pytest.mark.usefixtures("drifty_package")

MakeProxy = Callable[..., Awaitable[TestClient]]
PROXIED = {"drifty": BASE, "barium": "/barium/api/v1.1"}


@pytest.fixture
def make_proxy(aiohttp_client: Any, upstream: TestServer) -> MakeProxy:
    async def make(apis: dict[str, str] | None = None, **overrides: Any) -> TestClient:
        app = create_app(proxy_settings(upstream, PROXIED if apis is None else apis, **overrides))
        return await aiohttp_client(app)  # type: ignore[no-any-return]

    return make


@pytest.fixture
async def proxy(make_proxy: MakeProxy) -> TestClient:
    return await make_proxy()


async def direct(upstream: TestServer, method: str, path: str, **kwargs: Any) -> tuple[int, CIMultiDict[str], bytes]:
    """The upstream's own answer, asked without the proxy."""
    async with ClientSession() as session, session.request(method, upstream.make_url(path), **kwargs) as answer:
        return answer.status, answer.headers.copy(), await answer.read()


async def drift_of(proxy: TestClient) -> dict[str, Any]:
    answer = await proxy.get("/__admin/drift")
    assert answer.status == 200
    await assert_conforms("admin", answer)
    return await answer.json()  # type: ignore[no-any-return]


async def test_the_request_reaches_the_upstream_as_sent(proxy: TestClient, upstream: TestServer) -> None:
    body = b"\x00raw bytes \xff as sent"
    answer = await proxy.post(
        f"{BASE}/echo?b=2&a=1&a=%20x&empty=",
        data=body,
        headers={
            "Content-Type": "application/octet-stream",
            "Authorization": "Bearer the-callers-own",
            "X-Trace": "abc",
            "X-Mock-Sandbox": "team-a",  # addressed to the proxy, never forwarded
            "Connection": "keep-alive, X-Hop",
            "X-Hop": "for the next hop only",
        },
    )
    assert answer.status == 200 and answer.reason == "Echoed Here"
    seen = await answer.json()
    headers = {name.lower(): value for name, value in seen["headers"]}
    assert seen["method"] == "POST" and seen["path"] == f"{BASE}/echo"
    assert seen["query"] == "b=2&a=1&a=%20x&empty="
    assert seen["body"] == body.decode("latin-1")
    assert headers["authorization"] == "Bearer the-callers-own" and headers["x-trace"] == "abc"
    assert headers["host"] == f"{upstream.host}:{upstream.port}"
    assert "x-mock-sandbox" not in headers and "x-hop" not in headers
    assert answer.headers.getall("Set-Cookie") == ["a=1; Path=/", "b=2; Path=/"]
    assert answer.headers["X-Upstream"] == "drifty"


async def test_the_answer_comes_back_byte_for_byte(proxy: TestClient, upstream: TestServer) -> None:
    status, headers, expected = await direct(upstream, "GET", f"{BASE}/things/t1")
    answer = await proxy.get(f"{BASE}/things/t1")
    assert answer.status == status == 200
    assert await answer.read() == expected
    assert answer.headers["ETag"] == headers["ETag"] == '"v1"' and answer.headers["X-Drifty"] == "yes"
    assert answer.headers["Content-Type"] == headers["Content-Type"]
    missing = await proxy.get(f"{BASE}/things/nope")
    assert missing.status == 404 and await missing.json() == {"driftyError": "no such thing"}


async def test_links_point_back_at_the_proxy(proxy: TestClient, upstream: TestServer) -> None:
    own = str(proxy.make_url(BASE))
    listed = await (await proxy.get(f"{BASE}/things")).json()
    assert [t["self"] for t in listed["things"]] == [f"{own}/things/t{i}" for i in range(3)]

    moved = await proxy.get(f"{BASE}/moved", allow_redirects=False)
    assert moved.status == 302 and moved.headers["Location"] == f"{own}/things/t0"

    created = await proxy.post(f"{BASE}/things", json={"name": "new"})
    assert created.status == 201 and created.headers["Location"] == f"{own}/things/t9"
    assert str(upstream.port) not in (await created.text())


async def test_a_compressed_answer_is_checked_and_its_links_rewritten(proxy: TestClient) -> None:
    answer = await proxy.get(f"{BASE}/things/t2/zipped", headers={"Accept-Encoding": "gzip"})
    assert answer.status == 200 and "Content-Encoding" not in answer.headers  # rewritten: sent decoded
    assert (await answer.json())["self"] == f"{proxy.make_url(BASE)}/things/t2"
    assert (await drift_of(proxy))["groups"] == []


async def test_exactly_the_altered_operations_are_flagged(proxy: TestClient) -> None:
    for path in ("/things", "/things/t0", "/things/t0/missing", "/things/t0/typed", "/things/t0/teapot"):
        await proxy.get(BASE + path)
    assert (await proxy.post(f"{BASE}/things", json={"name": "ok"})).status == 201
    report = await drift_of(proxy)
    assert {(g["operation"], g["kind"]) for g in report["groups"]} == OFF_CONTRACT
    assert report["exchanges"] == 6 and report["drifting"] == 3
    by_operation = {g["operation"]: g for g in report["groups"]}
    assert by_operation["getMissing"]["where"] == "size"  # a missing field is named as the place
    assert by_operation["getMissing"]["message"] == "'size' is required"
    assert by_operation["getWrongType"]["where"] == "size"
    assert by_operation["getWrongType"]["message"] == "is not of type 'integer'"
    assert by_operation["getWrongType"]["example"]["detail"].startswith("'")  # the value itself, in the example
    assert by_operation["getTeapot"]["message"] == "status 418 is not declared"

    journal = await (await proxy.get("/__admin/requests", params={"api": "drifty"})).json()
    drift = {entry["apiPath"]: entry["drift"] for entry in journal["requests"]}
    assert drift["/things/t0"] == [] and drift["/things"] == []
    assert drift["/things/t0/teapot"] == [
        {"direction": "response", "kind": "status", "where": "418", "message": "status 418 is not declared"}
    ]
    assert all(entry["upstream"].startswith("http://127.0.0.1:") for entry in journal["requests"])


async def test_a_request_the_spec_refuses_is_forwarded_and_flagged(proxy: TestClient) -> None:
    answer = await proxy.post(f"{BASE}/things", json={"name": ""})
    assert answer.status == 400  # the upstream decided; the proxy did not refuse it itself
    await proxy.get(f"{BASE}/things", params={"size": "zero"})
    await proxy.get(f"{BASE}/nowhere/12345")
    report = await drift_of(proxy)
    found = {(g["operation"], g["direction"], g["kind"], g["where"]) for g in report["groups"]}
    assert found == {
        ("createThing", "request", "request", "body.name"),
        ("listThings", "request", "request", "query.size"),
        ("GET /nowhere/{}", "request", "operation", "GET /nowhere/{}"),
    }


async def test_repeated_drift_is_one_group_counted(proxy: TestClient) -> None:
    for thing in ("t0", "t1", "t2", "t0"):
        await proxy.get(f"{BASE}/things/{thing}/typed")
    (group,) = (await drift_of(proxy))["groups"]
    assert group["count"] == 4 and group["firstSeen"] <= group["lastSeen"]
    assert group["example"]["path"] == f"{BASE}/things/t0/typed"

    markdown = await proxy.get("/__admin/drift", params={"format": "md"})
    assert markdown.status == 200 and markdown.content_type == "text/markdown"
    text = await markdown.text()
    assert "## drifty" in text and "| getWrongType | response | schema | size |" in text

    assert (await (await proxy.delete("/__admin/drift")).json()) == {"deleted": 1}
    assert (await drift_of(proxy))["groups"] == []


async def test_strict_turns_a_drifting_answer_into_a_502(make_proxy: MakeProxy) -> None:
    proxy = await make_proxy(strict=True)
    answer = await proxy.get(f"{BASE}/things/t0/missing")
    assert answer.status == 502 and answer.headers["X-Mock-Source"] == "proxy"
    message = (await answer.json())["driftyError"]
    assert "getMissing" in message and "schema size: 'size' is required" in message
    assert (await proxy.get(f"{BASE}/things/t0")).status == 200  # a conforming answer passes
    assert (await proxy.post(f"{BASE}/things", json={"name": ""})).status == 400  # request drift alone does not


async def test_an_upstream_that_is_down_is_a_502_in_the_platforms_shape(aiohttp_client: Any) -> None:
    with socket.socket() as closed:  # bound, never listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        settings = proxy_settings_for(f"http://127.0.0.1:{port}/barium/api/v1.1")
        proxy = await aiohttp_client(create_app(settings))
        answer = await proxy.get("/barium/api/v1.1/Instances", headers={"ticket": "anything"})
    assert answer.status == 502 and answer.headers["X-Mock-Source"] == "proxy"
    await assert_conforms(BARIUM, answer)
    body = await answer.json()
    assert body["success"] is False and "could not be reached" in body["errorMessage"]


def proxy_settings_for(url: str, **overrides: Any) -> Any:
    """A proxy of Barium alone, to `url`."""
    return settings(proxy={"barium": url}, strict=False, apis=SMALL, **overrides)


async def test_a_slow_upstream_is_a_504_after_the_configured_timeout(proxy: TestClient, aiohttp_client: Any) -> None:
    assert proxy.server.app is not None
    upstream_url = proxy.server.app[PROXY].upstreams["barium"].base
    slow = await aiohttp_client(create_app(proxy_settings_for(upstream_url, proxy_timeout=0.2)))
    origin = upstream_url.removesuffix("/barium/api/v1.1")
    async with ClientSession() as session:
        rule = {"api": "barium", "path": "/Instances", "delay": {"fixed": 30000}}
        async with session.post(f"{origin}/__admin/faults", json=rule) as made:
            assert made.status == 201
    answer = await slow.get("/barium/api/v1.1/Instances", headers={"ticket": "anything"})
    assert answer.status == 504
    await assert_conforms(BARIUM, answer)
    assert "did not answer within 0.2 s" in (await answer.json())["errorMessage"]


async def test_the_process_image_is_streamed_through(proxy: TestClient, upstream: TestServer) -> None:
    headers = await barium_headers(proxy)  # the upstream's login, through the proxy
    listed = await (await proxy.get("/barium/api/v1.1/Instances", headers=headers)).json()
    path = f"/barium/api/v1.1/Instances/{listed['Data'][0]['Id']}/Image"
    status, direct_headers, expected = await direct(upstream, "GET", path, params={"Width": "3000"}, headers=headers)
    answer = await proxy.get(path, params={"Width": "3000"}, headers=headers)
    assert answer.status == status == 200 and answer.content_type == "image/png"
    assert expected.startswith(b"\x89PNG") and len(expected) > 16 * 1024
    assert await answer.read() == expected
    assert answer.headers["Content-Length"] == direct_headers["Content-Length"]


async def test_a_fault_rule_applies_before_forwarding(proxy: TestClient, upstream: TestServer) -> None:
    made = await proxy.post("/__admin/faults", json={"api": "drifty", "status": 503, "times": 1})
    assert made.status == 201
    assert (await proxy.get(f"{BASE}/things/t0")).status == 503
    assert (await proxy.get(f"{BASE}/things/t0")).status == 200
    _, _, body = await direct(upstream, "GET", "/__admin/requests/count", params={"api": "drifty"})
    assert body == b'{"count":1}'  # the faulted request never reached the upstream


async def test_a_stub_answers_before_forwarding(proxy: TestClient, upstream: TestServer) -> None:
    thing = {"id": "t0", "name": "stubbed", "size": 5}
    stub = {"request": {"api": "drifty", "operation": "getThing"}, "response": {"status": 200, "body": thing}}
    made = await proxy.post("/__admin/stubs", json={**stub, "times": 1})
    assert made.status == 201, await made.text()
    answer = await proxy.get(f"{BASE}/things/t0")
    assert answer.status == 200 and await answer.json() == thing and answer.headers["X-Mock-Source"] == "stub"
    assert (await proxy.get(f"{BASE}/things/t0")).headers.get("X-Mock-Source") != "stub"  # used up: forwarded
    _, _, body = await direct(upstream, "GET", "/__admin/requests/count", params={"api": "drifty"})
    assert body == b'{"count":1}'  # the stubbed request never reached the upstream
    journal = await (await proxy.get("/__admin/requests", params={"api": "drifty"})).json()
    stubbed = [entry for entry in journal["requests"] if entry["stub"] is not None]
    assert len(stubbed) == 1 and stubbed[0]["upstream"] is None


async def test_unproxied_apis_are_mocked_beside_proxied_ones(proxy: TestClient, upstream: TestServer) -> None:
    answer = await proxy.get("/kianda/api/processes")
    assert answer.status == 401  # the proxy's own Kianda mock, with its own auth
    await assert_conforms("kianda", answer)
    journal = await (await proxy.get("/__admin/requests", params={"api": "kianda"})).json()
    assert journal["requests"][0]["upstream"] is None and journal["requests"][0]["drift"] is None
    _, _, body = await direct(upstream, "GET", "/__admin/requests/count", params={"api": "kianda"})
    assert body == b'{"count":0}'
