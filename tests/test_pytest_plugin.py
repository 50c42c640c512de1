"""The pytest plugin as a user meets it: suites run through `pytester`.

Each run is a pytest session that loads the plugin from its entry point, so these tests fail if
the entry point, an option, a fixture or the failure message breaks. Three runs cover it: a suite
with ini options (sync and asyncio tests, one meant to fail), in this process; and in pytest
subprocesses under pytest-xdist, one server per worker, and one server shared at `--instancemock-url`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from instancemock.pytest_plugin import ThreadServer

from support import settings

INI = """
[pytest]
instancemock_seed = 11
instancemock_now = 2026-01-01T00:00:00Z
instancemock_strict = true
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
"""

SUITE = '''
import httpx
import pytest

from instancemock.client import AdminError


def list_instances(base_url, headers):
    """The user's own code under test: it lists Kianda instances and counts them."""
    response = httpx.get(f"{base_url}/api/instances", headers=headers)
    response.raise_for_status()
    return len(response.json())


def test_stub_fault_own_code_and_journal(instancemock):
    base = instancemock.base_url("kianda")
    headers = instancemock.headers("kianda")
    seeded = list_instances(base, headers)
    assert seeded > 0
    instancemock.stub("kianda", "GET", "/api/instances", body=[], times=1)
    assert list_instances(base, headers) == 0
    instancemock.fault(api="kianda", path="/api/instances", status=503, times=1)
    with pytest.raises(httpx.HTTPStatusError):
        list_instances(base, headers)
    assert list_instances(base, headers) == seeded
    instancemock.assert_requested(4, api="kianda", method="GET", path="/api/instances")
    [stubbed] = [e for e in instancemock.requests(path="/api/instances") if e["stub"]]
    assert stubbed["responseBody"]["value"] == []


def test_a_stub_the_spec_forbids_is_refused(instancemock):
    with pytest.raises(AdminError) as refused:
        instancemock.stub("kianda", "GET", "/api/instances", body={"not": "a list"})
    assert refused.value.status == 422 and refused.value.violations


def test_barium_and_altinn_logins(instancemock):
    barium = httpx.get(instancemock.base_url("barium") + "/Instances", headers=instancemock.headers("barium"))
    assert barium.status_code == 200
    storage = instancemock.base_url("altinn-storage") + "/storage/api/v1/instances"
    owner = httpx.get(storage, params={"org": "ttd"}, headers=instancemock.headers("altinn-storage"))
    assert owner.status_code == 200, owner.text


def test_the_sandbox_is_this_tests_own(instancemock, request):
    assert instancemock.sandbox.startswith("test_suite.py-test_the_sandbox")
    assert not instancemock.client.stubs()  # the first test's stub is gone
    assert not instancemock.client.faults()
    assert httpx.get(instancemock.url + "/").json()["seed"] == 11  # from the ini file


async def test_asyncio_tests_use_the_same_sandbox(instancemock):
    async with instancemock.async_client() as admin, httpx.AsyncClient() as http:
        await admin.stub("kianda", operation="listProcesses", body=[])
        processes = instancemock.base_url("kianda") + "/api/processes"
        response = await http.get(processes, headers=instancemock.headers("kianda"))
        assert response.json() == []
        await admin.assert_requested(1, operation="listProcesses", status="200")
    instancemock.assert_requested(1, operation="listProcesses")  # the sync helpers work here too


def test_a_missing_request_fails_with_the_near_misses(instancemock):
    httpx.get(instancemock.base_url("kianda") + "/api/processes", headers=instancemock.headers("kianda"))
    instancemock.assert_requested(api="kianda", method="POST", path="/api/processes")
'''


def test_a_suite_with_the_plugin(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "-q"
    )  # the specs this process has read serve it too
    result.assert_outcomes(passed=5, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*NotRequested: expected at least 1 request(s) matching*'method': 'POST', 'path': '/api/processes'*found 0",
            "*nearest requests that arrived instead:",
            "*GET /kianda/api/processes -> 200",
            "*method: expected 'POST', got 'GET'",
        ]
    )


PARALLEL = """
import json, os, httpx


def record(instancemock, name, created):
    path = os.path.join(os.environ["RECORDS"], name)
    with open(path, "w") as handle:
        json.dump({"url": instancemock.url, "sandbox": instancemock.sandbox, "created": created}, handle)


{tests}
"""
TEST = """
def test_{n}(instancemock):
    created = httpx.post(
        instancemock.base_url("kianda") + "/api/instances/create",
        json={{"processName": "equipment-request"}},
        headers=instancemock.headers("kianda"),
    )
    assert created.status_code == 200, created.text
    record(instancemock, "{n}", created.json()["instanceID"])
"""


def run_in_parallel(pytester: pytest.Pytester, *args: str) -> list[dict[str, str]]:
    records = pytester.mkdir("records")
    pytester.makeini(INI.replace("instancemock_strict = true\n", ""))
    tests = "\n".join(TEST.format(n=n) for n in range(4))
    pytester.makepyfile(test_parallel=PARALLEL.replace("{tests}", tests))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RECORDS", str(records))
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q", "-n", "2", *args)
    result.assert_outcomes(passed=4)
    return [json.loads(path.read_text()) for path in sorted(Path(records).iterdir())]


def test_under_xdist_each_worker_has_its_own_server(pytester: pytest.Pytester) -> None:
    seen = run_in_parallel(pytester)
    assert len({record["url"] for record in seen}) == 2  # one server per worker
    assert len({record["sandbox"] for record in seen}) == 4
    assert len({record["created"] for record in seen}) == 1  # each test its own fresh sandbox: the same next number


@pytest.fixture
def shared_server() -> Iterator[str]:
    server = ThreadServer(settings(seed=11))
    try:
        yield server.start()
    finally:
        server.stop()


def test_under_xdist_workers_can_share_one_server(pytester: pytest.Pytester, shared_server: str) -> None:
    seen = run_in_parallel(pytester, "--instancemock-url", shared_server)
    assert {record["url"] for record in seen} == {shared_server}
    assert len({record["sandbox"] for record in seen}) == 4
    assert len({record["created"] for record in seen}) == 1
