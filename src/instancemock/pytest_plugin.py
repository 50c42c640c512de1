"""The pytest plugin (entry point `pytest11: instancemock`): a mock server for the user's own test suite.

- `instancemock_server` (session): one server per test session, in this process on a port the OS
  picks (its own thread and event loop, so sync tests and asyncio tests both reach it), or the
  one at `--instancemock-url` (for example in Docker, shared by every pytest-xdist worker). Under
  pytest-xdist without a URL each worker starts its own.
- `instancemock` (function): a fresh sandbox per test, named from the test id, with base URLs per
  API, ready logins (`headers(api)` carries the token or ticket and `X-Mock-Sandbox`), and
  `fault`, `stub`, `requests`, `verify` and `assert_requested` limited to that sandbox. The test's
  faults and stubs are removed, and its sandbox forgotten, when it ends.

Options (command line, or the same names in the `[pytest]` ini section with `_` for `-`):
`--instancemock-url`, `--instancemock-seed`, `--instancemock-now`, `--instancemock-config` (the
server's YAML config file), `--instancemock-strict`, `--instancemock-admin-token`.

The server's modules are imported when a test first asks for the server, so a suite that does not
use the plugin pays nothing for it being installed.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import pytest

from instancemock.client import AdminError, AsyncClient, Client

if TYPE_CHECKING:
    from aiohttp import web

    from instancemock.settings import Settings

OPTIONS = {
    "url": "URL of a running instancemock to use instead of starting one (shared by xdist workers)",
    "seed": "seed of the generated worlds (default 1)",
    "now": "ISO 8601 instant the worlds are seeded at (default: the start-up time)",
    "config": "the server's YAML config file (faults, stubs, apis, ...)",
    "admin-token": "admin token of the server at --instancemock-url, if it needs one",
}
START_TIMEOUT_S = 120.0


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("instancemock", "instancemock mock server")
    for name, help_text in OPTIONS.items():
        group.addoption(f"--instancemock-{name}", dest=f"instancemock_{name.replace('-', '_')}", help=help_text)
        parser.addini(f"instancemock_{name.replace('-', '_')}", help_text)
    group.addoption(
        "--instancemock-strict",
        dest="instancemock_strict",
        action="store_true",
        default=None,
        help="the server checks every answer against its spec (a broken one becomes a 500)",
    )
    parser.addini("instancemock_strict", "check every answer against its spec", type="bool", default=False)


def option(config: pytest.Config, name: str) -> Any:
    """A command-line option, else the ini value, else None."""
    key = f"instancemock_{name.replace('-', '_')}"
    given = config.getoption(key, default=None)
    if given is not None:
        return given
    value = config.getini(key)
    return value if value not in ("", [], None) else None


def server_settings(config: pytest.Config) -> Settings:
    """The in-process server's settings, read as the `instancemock serve` command reads its flags."""
    from instancemock.__main__ import parser, settings_from

    argv = ["serve", "--host", "127.0.0.1", "--port", "0"]
    for name in ("seed", "now", "config"):
        if (value := option(config, name)) is not None:
            argv += [f"--{name}", str(value)]
    if option(config, "strict"):
        argv.append("--strict")
    return settings_from(parser().parse_args(argv))


class ThreadServer:
    """instancemock on its own event loop in a daemon thread, listening on a port the OS chose."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._serve, name="instancemock-server", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> str:
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S):
            raise RuntimeError(f"instancemock did not start within {START_TIMEOUT_S:.0f} s")
        if self._error is not None:
            raise RuntimeError(f"instancemock did not start: {self._error}") from self._error
        return self.url

    def _serve(self) -> None:
        from aiohttp import web

        from instancemock.app import create_app
        from instancemock.core.pipeline import PARSER_CEILING

        asyncio.set_event_loop(self._loop)
        try:
            runner = web.AppRunner(
                create_app(self.settings),
                handle_signals=False,
                access_log=None,
                max_line_size=PARSER_CEILING,
                max_field_size=PARSER_CEILING,
            )
            self._loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, "127.0.0.1", 0)
            self._loop.run_until_complete(site.start())
            self.port = _port_of(runner)
        except BaseException as error:  # reported by start(), in the test session's thread
            self._error = error
            self._ready.set()
            return
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._loop.run_until_complete(runner.cleanup())
            self._loop.close()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)


def _port_of(runner: web.AppRunner) -> int:
    for address in runner.addresses:
        return int(address[1])
    raise RuntimeError("the server listens on no address")


class MockServer:
    """The session's server: its URL and an admin client that sees every sandbox."""

    def __init__(self, url: str, admin_token: str | None, worker: str) -> None:
        self.url = url.rstrip("/")
        self.admin_token = admin_token
        self.worker = worker  # the pytest-xdist worker ("gw0"), or "main"
        self.client = Client(self.url, admin_token=admin_token)
        self._base_urls: dict[str, str] | None = None

    @property
    def base_urls(self) -> dict[str, str]:
        if self._base_urls is None:
            self._base_urls = self.client.base_urls()
        return dict(self._base_urls)

    def sandbox_for(self, test_id: str) -> str:
        """A sandbox name from the test id: readable, at most 64 characters, unique per worker and test."""
        digest = hashlib.sha256(f"{self.worker}:{test_id}".encode()).hexdigest()[:10]
        readable = re.sub(r"[^A-Za-z0-9._-]+", "-", test_id.rsplit("/", 1)[-1]).strip("-.")[:48]
        return f"{readable}-{digest}"


class MockSandbox:
    """One test's view of the server: its own sandbox, logins, faults, stubs and journal."""

    def __init__(self, server: MockServer, sandbox: str) -> None:
        self.server = server
        self.url = server.url
        self.sandbox = sandbox
        self.client = server.client.in_sandbox(sandbox)
        self._faults: list[str] = []

    @property
    def base_urls(self) -> dict[str, str]:
        return self.server.base_urls

    def base_url(self, api: str) -> str:
        return self.server.base_urls[api]

    def credentials(self, api: str, user: str | None = None) -> dict[str, str]:
        """The demo user's token or ticket as headers (Altinn: user "owner" or "person")."""
        return self.client.headers(api, user)

    def headers(self, api: str | None = None, user: str | None = None) -> dict[str, str]:
        """What a request of this test sends: `X-Mock-Sandbox`, and the demo user's login for `api`."""
        login = self.credentials(api, user) if api is not None else {}
        return {**login, "X-Mock-Sandbox": self.sandbox}

    def fault(self, **rule: Any) -> dict[str, Any]:
        """A fault rule for this test's sandbox (see POST /__admin/faults); removed when the test ends."""
        added = self.client.add_fault(**rule)
        self._faults.append(added["id"])
        return added

    def stub(
        self, api: str | None = None, method: str | None = None, path: str | None = None, **answer: Any
    ) -> dict[str, Any]:
        """A stub for this test's sandbox, checked against the spec (AdminError 422 lists what breaks it)."""
        return self.client.stub(api, method, path, **answer)

    def requests(self, **filters: Any) -> list[dict[str, Any]]:
        """This test's requests, newest first."""
        return self.client.requests(**filters)

    def verify(self, count: int | None = None, **criteria: Any) -> dict[str, Any]:
        return self.client.verify(count, **criteria)

    def assert_requested(self, count: int | None = None, **criteria: Any) -> dict[str, Any]:
        """Fails with what arrived instead (nearest first, and why each differs)."""
        __tracebackhide__ = True
        return self.client.assert_requested(count, **criteria)

    def reset(self, api: str | None = None) -> None:
        self.client.reset(api=api)

    def step(self, actions: int = 1, api: str | None = None) -> list[dict[str, Any]]:
        return self.client.step(actions, api)

    @asynccontextmanager
    async def async_client(self) -> AsyncIterator[AsyncClient]:
        """The same calls to await, for asyncio tests."""
        client = AsyncClient(self.url, sandbox=self.sandbox, admin_token=self.server.admin_token)
        try:
            yield client
        finally:
            await client.aclose()

    def close(self) -> None:
        """Remove what the test added and forget its sandbox."""
        for rule in self._faults:
            try:
                self.client.delete_fault(rule)
            except AdminError:  # the test removed it itself
                continue
        self.client.clear_stubs(self.sandbox)
        self.client.reset(sandbox=self.sandbox)


@pytest.fixture(scope="session")
def instancemock_server(request: pytest.FixtureRequest) -> Iterator[MockServer]:
    """One server for the session: in-process on a free port, or the one at --instancemock-url."""
    config = request.config
    worker = str(getattr(config, "workerinput", {}).get("workerid", "main"))
    url = option(config, "url")
    if url is not None:
        server = MockServer(str(url), option(config, "admin-token"), worker)
        server.client.wait_healthy()
        yield server
        server.client.close()
        return
    running = ThreadServer(server_settings(config))
    try:
        server = MockServer(running.start(), None, worker)
        yield server
        server.client.close()
    finally:
        running.stop()


@pytest.fixture
def instancemock(instancemock_server: MockServer, request: pytest.FixtureRequest) -> Iterator[MockSandbox]:
    """A fresh sandbox for this test (named from its id), with logins, faults, stubs and its journal."""
    sandbox = MockSandbox(instancemock_server, instancemock_server.sandbox_for(request.node.nodeid))
    try:
        yield sandbox
    finally:
        sandbox.close()
