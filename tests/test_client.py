"""instancemock.client against a listening server: each admin resource, logins, and the async twin."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from instancemock.client import AdminError, AsyncClient, Client, NotRequested
from instancemock.pytest_plugin import ThreadServer

from support import settings


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    server = ThreadServer(settings())
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def mock(url: str, request: pytest.FixtureRequest) -> Iterator[Client]:
    with Client(url, sandbox=request.node.name[:60]) as client:
        yield client
        client.clear_faults()
        client.clear_stubs()


def test_logins_for_every_api(mock: Client) -> None:
    bases = mock.base_urls()
    checks = {
        "kianda": "/api/processes",
        "barium": "/Apps",
        "altinn-storage": "/storage/api/v1/instances?org=ttd",
        "altinn-app": "/ttd/soknad-tilskudd/instances/50001001/active",
    }
    for api, path in checks.items():
        headers = mock.headers(api)
        answer = httpx.get(bases[api] + path, headers=headers)
        assert answer.status_code == 200, (api, answer.text)
        assert httpx.get(bases[api] + path).status_code == 401, api  # without the login: refused
    assert mock.headers("altinn-storage", "person") != mock.headers("altinn-storage")


def test_faults_stubs_and_the_journal_are_scoped_to_the_sandbox(mock: Client) -> None:
    kianda = mock.base_urls()["kianda"]
    login = mock.headers("kianda")
    rule = mock.fault(api="kianda", path="/api/processes", status=503)
    assert rule["sandbox"] == mock.sandbox and [r["id"] for r in mock.faults()] == [rule["id"]]
    assert httpx.get(kianda + "/api/processes", headers={**login, "X-Mock-Sandbox": mock.sandbox}).status_code == 503
    assert httpx.get(kianda + "/api/processes", headers=login).status_code == 200  # the default sandbox
    mock.delete_fault(rule["id"])
    stub = mock.stub("kianda", "GET", "/api/processes", body=[], times=1)
    assert stub["request"]["sandbox"] == mock.sandbox
    assert httpx.get(kianda + "/api/processes", headers={**login, "X-Mock-Sandbox": mock.sandbox}).json() == []
    assert [s["answered"] for s in mock.stubs()] == [1]
    assert mock.count_requests(path="/api/processes") == 2  # this sandbox's only
    assert [e["status"] for e in mock.requests(path="/api/processes")] == [200, 503]
    mock.assert_requested(2, api="kianda", path="/api/processes")
    with pytest.raises(NotRequested, match="expected exactly 3"):
        mock.assert_requested(3, api="kianda", path="/api/processes")


def test_refusals_raise_admin_error_with_the_violations(mock: Client) -> None:
    with pytest.raises(AdminError) as refused:
        mock.stub("kianda", "GET", "/api/processes", body={"not": "a list"})
    assert refused.value.status == 422 and refused.value.violations
    with pytest.raises(AdminError) as bad_rule:
        mock.fault(api="kianda", status=200)
    assert bad_rule.value.status == 400


def test_state_reset_and_simulation(mock: Client) -> None:
    assert mock.state()["format"] == "instancemock-state/1"
    assert mock.reset(api="kianda")["sandbox"] == mock.sandbox
    done = mock.step(2, api="kianda")
    assert len(done) == 2 and all(action["sandbox"] == mock.sandbox for action in done)
    assert mock.simulation()["speed"] == 0


async def test_the_async_client_makes_the_same_calls(url: str) -> None:
    async with AsyncClient(url, sandbox="async-client") as mock:
        assert (await mock.index())["seed"] == 7
        headers = await mock.headers("barium")
        assert set(headers) == {"ticket"}
        await mock.stub("barium", operation="listApps", body={"TotalCount": 0, "Data": []})
        async with httpx.AsyncClient() as http:
            apps = await http.get(
                (await mock.base_urls())["barium"] + "/Apps", headers={**headers, "X-Mock-Sandbox": "async-client"}
            )
        assert apps.json() == {"TotalCount": 0, "Data": []}
        outcome = await mock.assert_requested(1, operation="listApps")
        assert outcome["count"] == 1
        assert await mock.clear_stubs() == 1
        speed = await mock.set_simulation_speed(0)
        assert speed["running"] is False
