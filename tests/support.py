"""Helpers every API test uses: a strict in-process server and a spec check of any response."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from werkzeug.datastructures import Headers

from instancemock import admin, registry
from instancemock.app import mount
from instancemock.core.routing import Route, Router
from instancemock.core.validation import check_response
from instancemock.settings import Settings

MakeClient = Callable[..., Awaitable[TestClient]]  # make_client(**settings overrides)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
KIANDA = "kianda"
BARIUM = "barium"
ALTINN_STORAGE = "altinn-storage"
ALTINN_APP = "altinn-app"
ADMIN = "admin"


PLATFORMS = registry.discover()
OWN_FIELDS = set(Settings.__dataclass_fields__)


def settings(**overrides: Any) -> Settings:
    """What the suite runs with: a fixed seed and clock, strict response checks on.

    Keys a platform declares (`kianda_token_lifetime=5`) go to `Settings.options`.
    """
    base: dict[str, Any] = {"seed": 7, "now": NOW, "strict": True}
    options = {k: overrides.pop(k) for k in list(overrides) if k not in OWN_FIELDS}
    base.update(overrides)
    return Settings(**base, options=options)


APIS, _ = mount([*PLATFORMS, admin.plugin(PLATFORMS)], Settings())
_ROUTER = Router(list(APIS.values()))


async def assert_conforms(api_name: str, response: ClientResponse) -> None:
    """The response validates against the operation of `api_name`'s spec that its request hit."""
    found = _ROUTER.resolve(response.method, response.url.path)
    assert isinstance(found, Route), f"{response.method} {response.url.path} matches no operation"
    assert found.api.name == api_name, f"{response.url.path} belongs to {found.api.name}, not {api_name}"
    body = await response.read()
    headers = Headers(list(response.headers.items()))
    problems = check_response(found.api, found.op, response.status, body, headers, response.content_type)
    assert not problems, f"{response.method} {response.url.path} -> {response.status}: {problems}"


# --- the stores the API suites run on -----------------------------------------------------------

STORES = ("memory", "redis")
TESTS = Path(__file__).parent
# The API suites: every test here that starts a server (make_client, client, the conformance
# server) runs once per store. They are where the two stores could differ: each platform's reads,
# writes, versions and paging, the admin API, fault rules, stubs and the journal (shared on Redis),
# and the conformance server's parallel writers and version race. The conformance server's
# hostile-input and schemathesis runs stay on memory: they take ~43% of the suite's time, doubled
# they would add ~4 minutes, and what they check (validation and error shapes) comes before a store.
STORE_SUITES = (
    "platforms",
    "admin",
    "conformance/test_concurrency.py",
    "conformance/test_regressions.py",
    "core/test_faults.py",
    "core/test_stubs.py",
    "core/test_journal.py",
    "core/test_journal_bodies.py",
    "core/test_control.py",
)


# What a store gets wrong today, by test function: run, expected to fail (strict, so a fix shows).
KNOWN_STORE_FAILURES: dict[tuple[str, str], str] = {}  # none today


def stores_for(config: pytest.Config, path: Path, function: str = "") -> list[Any] | None:
    """The stores a test at `path` runs on, as parameters; None: not parametrized (one server
    on the store `--store` names, memory under `both`)."""
    chosen = config.getoption("--store")
    relative = path.relative_to(TESTS).as_posix() if path.is_relative_to(TESTS) else ""
    if not any(relative == suite or relative.startswith(suite + "/") for suite in STORE_SUITES):
        return None
    stores = list(STORES) if chosen == "both" else [chosen]
    return [
        pytest.param(store, marks=pytest.mark.xfail(reason=KNOWN_STORE_FAILURES[store, function], strict=True))
        if (store, function) in KNOWN_STORE_FAILURES
        else store
        for store in stores
    ]


def default_store(config: pytest.Config) -> str:
    chosen = str(config.getoption("--store"))
    return "memory" if chosen == "both" else chosen


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(base: str, process: subprocess.Popen[str], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited early: {process.communicate()}")
        try:
            with urllib.request.urlopen(f"{base}/__admin/health", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:  # refused (not listening yet), or a first answer slower than the poll's timeout
            time.sleep(0.05)  # polling a port that is not open yet: there is no event to await
    raise AssertionError("server did not become healthy")


# --- credentials of each platform's demo users ------------------------------------------------

ALTINN_TOOLS = "/altinn/testtools/api"
OWNER_SCOPES = "altinn:serviceowner/instances.read,altinn:serviceowner/instances.write"
KARI = {"userId": "20001001", "partyId": "50001001", "pid": "12038522157"}  # delegated 51001001, 51001004
BARIUM_LOGIN = {
    "APIKey": "2f9d8c7b-6a5e-4d3c-b2a1-0f9e8d7c6b5a",
    "Username": "anna.berg@nordvik.se",
    "Password": "Sommar2024!",
}


async def altinn_token(client: TestClient, kind: str, **params: str) -> str:
    """A token from the test token generator (`GetPersonalToken`, `GetEnterpriseToken`), checked against the spec."""
    response = await client.get(f"{ALTINN_TOOLS}/{kind}", params={"env": "tt02", **params})
    assert response.status == 200, await response.text()
    await assert_conforms(ALTINN_STORAGE, response)
    return await response.text()


async def altinn_headers(client: TestClient, kind: str, **params: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {await altinn_token(client, kind, **params)}"}


async def ttd_headers(
    client: TestClient, scopes: str = OWNER_SCOPES, org: str = "ttd", org_no: str = "991825827"
) -> dict[str, str]:
    """The service owner `ttd` (or another org), by default with read and write scopes."""
    token = await altinn_token(client, "GetEnterpriseToken", org=org, orgNo=org_no, scopes=scopes)
    return {"Authorization": f"Bearer {token}"}


async def kari_headers(
    client: TestClient, scopes: str = "altinn:instances.read,altinn:instances.write", **extra: str
) -> dict[str, str]:
    """Kari Nordmann, a person with her own party and two delegated ones."""
    token = await altinn_token(client, "GetPersonalToken", scopes=scopes, **{**KARI, **extra})
    return {"Authorization": f"Bearer {token}"}


async def barium_headers(client: TestClient, **form: str) -> dict[str, str]:
    """A Barium ticket for Anna Berg (or the form given), as the `ticket` header.

    The login answers the bare ticket (`text/plain`) when neither `format` nor `webTicket` is sent.
    """
    response = await client.post("/barium/api/v1.1/Authenticate", data={**BARIUM_LOGIN, **form})
    assert response.status == 200, await response.text()
    return {"ticket": await response.text()}


async def kianda_headers(client: TestClient) -> dict[str, str]:
    """A bearer token of the Kianda administrator whose login `GET /` advertises."""
    index = await (await client.get("/")).json()
    form = next(api["credentials"] for api in index["apis"] if api["name"] == KIANDA)
    response = await client.post("/kianda/Token", data=form)
    assert response.status == 200, await response.text()
    return {"Authorization": f"Bearer {(await response.json())['access_token']}"}


def operation_id(method: str, path: str) -> str:
    """The id of the operation (of any mounted spec) a request path (query and all) hits."""
    found = _ROUTER.resolve(method, path.partition("?")[0])
    assert isinstance(found, Route), f"{method} {path} matches no operation"
    return found.op.id
