"""A client for a running instancemock: its admin API (faults, stubs, journal, state, reset,
simulation) and logins as each platform's demo users. `Client` is synchronous, `AsyncClient` the
same methods to await; both on httpx.

Every call is described once, as a `Call` (method, path, arguments, how to read the answer), by
`_Calls`; the two clients only send it. An answer the admin API refuses raises `AdminError` with
the status, the message and any violations (a stub the spec does not allow lists them).

    with Client("http://127.0.0.1:8080", sandbox="my-test") as mock:
        mock.stub("kianda", "GET", "/api/instances", body=[])
        mock.fault(api="barium", path="/Instances/*", status=503, times=1)
        ...
        mock.assert_requested(api="kianda", method="GET", path="/api/instances")
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

import httpx

ABSENT: Any = object()
DEFAULT_TIMEOUT = 30.0


class AdminError(Exception):
    """The admin API refused a call: `status`, the server's message and its `violations`."""

    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body
        message = body.get("error", body) if isinstance(body, dict) else body
        self.violations: list[dict[str, Any]] = list(body.get("violations", [])) if isinstance(body, dict) else []
        details = "".join(f"\n  {v.get('field')}: {v.get('message')}" for v in self.violations)
        super().__init__(f"{status}: {message}{details}")


class NotRequested(AssertionError):
    """`assert_requested` failed; the message shows what arrived instead, nearest first."""


@dataclass(frozen=True, slots=True)
class Call:
    method: str
    path: str  # under the server's origin
    params: Mapping[str, Any] = field(default_factory=dict)
    json: Any = ABSENT
    data: Mapping[str, str] | None = None
    read: Callable[[httpx.Response], Any] = lambda response: response.json()
    admin: bool = True  # an admin call: refusals raise AdminError, the admin token is sent


def _drop_none(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def describe_near_misses(outcome: Mapping[str, Any], criteria: Mapping[str, Any]) -> str:
    """The failure of `assert_requested` in words: what was expected, what arrived, why each differs."""
    words = {"count": "exactly", "atLeast": "at least", "atMost": "at most"}
    expected = " and ".join(f"{words.get(k, k)} {v}" for k, v in outcome["expected"].items())
    shown = {k: v for k, v in criteria.items() if v not in (None, {}, [])}
    lines = [f"expected {expected} request(s) matching {shown}, found {outcome['count']}"]
    misses = outcome.get("nearMisses") or []
    if misses:
        lines.append("nearest requests that arrived instead:")
    for miss in misses:
        request = miss["request"]
        lines.append(f"  #{request['id']} {request['method']} {request['path']} -> {request['status']}")
        lines += [f"      {d['field']}: expected {d['expected']!r}, got {d['actual']!r}" for d in miss["differences"]]
    if not misses and outcome["count"] == 0:
        lines.append("no request arrived that could be compared")
    return "\n".join(lines)


class _Calls:
    """What each operation sends, and how its answer is read; shared by both clients."""

    def __init__(self, sandbox: str | None) -> None:
        self.sandbox = sandbox

    def _sandboxed(self, sandbox: str | None) -> str | None:
        return sandbox if sandbox is not None else self.sandbox

    def index(self) -> Call:
        return Call("GET", "/", admin=False)

    def health(self) -> Call:
        return Call("GET", "/__admin/health")

    def spec(self, api: str) -> Call:
        return Call("GET", f"/__admin/specs/{api}")

    def add_fault(self, rule: Mapping[str, Any]) -> Call:
        return Call("POST", "/__admin/faults", json=_drop_none({"sandbox": self.sandbox, **rule}))

    def faults(self) -> Call:
        return Call("GET", "/__admin/faults", read=lambda r: r.json()["rules"])

    def delete_fault(self, rule_id: str) -> Call:
        return Call("DELETE", f"/__admin/faults/{rule_id}")

    def clear_faults(self) -> Call:
        return Call("DELETE", "/__admin/faults", read=lambda r: r.json()["deleted"])

    def add_stub(self, stub: Mapping[str, Any]) -> Call:
        request = dict(stub.get("request") or {})
        if self.sandbox is not None:
            request.setdefault("sandbox", self.sandbox)
        return Call("POST", "/__admin/stubs", json={**stub, "request": request})

    def stub(
        self,
        api: str | None,
        method: str | None,
        path: str | None,
        *,
        status: int,
        body: Any,
        headers: Mapping[str, str] | None,
        content_type: str | None,
        operation: str | None,
        query: Mapping[str, Any] | None,
        request_headers: Mapping[str, str] | None,
        request_body: Any,
        times: int | None,
        stub_id: str | None,
    ) -> Call:
        request = _drop_none(
            {
                "api": api,
                "method": method,
                "path": path,
                "operation": operation,
                "query": query,
                "headers": request_headers,
            }
        )
        if request_body is not ABSENT:
            request["body"] = request_body
        response = _drop_none({"status": status, "headers": headers, "contentType": content_type})
        if body is not ABSENT:
            response["body"] = body
        return self.add_stub(_drop_none({"id": stub_id, "request": request, "response": response, "times": times}))

    def stubs(self) -> Call:
        return Call("GET", "/__admin/stubs", read=lambda r: r.json()["stubs"])

    def delete_stub(self, stub_id: str) -> Call:
        return Call("DELETE", f"/__admin/stubs/{stub_id}")

    def clear_stubs(self, sandbox: str | None = None) -> Call:
        params = _drop_none({"sandbox": self._sandboxed(sandbox)})
        return Call("DELETE", "/__admin/stubs", params=params, read=lambda r: r.json()["deleted"])

    def requests(self, filters: Mapping[str, Any]) -> Call:
        params = _drop_none({"sandbox": self.sandbox, **filters})
        return Call("GET", "/__admin/requests", params=params, read=lambda r: r.json()["requests"])

    def count_requests(self, filters: Mapping[str, Any]) -> Call:
        params = _drop_none({"sandbox": self.sandbox, **filters})
        return Call("GET", "/__admin/requests/count", params=params, read=lambda r: r.json()["count"])

    def clear_requests(self) -> Call:
        return Call("DELETE", "/__admin/requests", read=lambda r: r.json()["deleted"])

    def verify(self, criteria: Mapping[str, Any], expectation: Mapping[str, Any]) -> Call:
        request = _drop_none({"sandbox": self.sandbox, **criteria})
        return Call("POST", "/__admin/requests/verify", json={"request": request, **_drop_none(expectation)})

    def state(self) -> Call:
        return Call("GET", "/__admin/state")

    def put_state(self, document: Mapping[str, Any]) -> Call:
        return Call("PUT", "/__admin/state", json=document)

    def reset(self, api: str | None, sandbox: str | None) -> Call:
        return Call("POST", "/__admin/reset", params=_drop_none({"api": api, "sandbox": self._sandboxed(sandbox)}))

    def simulation(self) -> Call:
        return Call("GET", "/__admin/simulate")

    def step(self, actions: int, api: str | None, sandbox: str | None) -> Call:
        params = _drop_none({"actions": actions, "api": api, "sandbox": self._sandboxed(sandbox)})
        return Call("POST", "/__admin/simulate/step", params=params, read=lambda r: r.json()["actions"])

    def set_speed(self, speed: float) -> Call:
        return Call("PUT", "/__admin/simulate", json={"speed": speed})


# --- logins: each platform's own way, with the demo users `GET /` describes ----------------------


def _bare_ticket(answer: httpx.Response) -> str:
    """Barium's login answers the ticket alone (text/plain) unless JSON is asked for (openapi/barium.yaml)."""
    return answer.text.strip().strip('"')


def _login_call(api: Mapping[str, Any], user: str | None) -> tuple[Call, Callable[[httpx.Response], dict[str, str]]]:
    """How to log in to one API of the index, and how to turn the answer into request headers."""
    name, login = api["name"], api.get("credentials") or {}
    origin_path = lambda url: urlsplit(url)._replace(scheme="", netloc="").geturl()  # noqa: E731
    if name == "kianda":
        form = {key: str(login[key]) for key in ("username", "password", "grant_type", "scope")}
        call = Call("POST", origin_path(api["base_url"]) + "/Token", data=form, admin=False)
        return call, lambda r: {"Authorization": f"Bearer {r.json()['access_token']}"}
    if name == "barium":
        form = {field: str(login[field]) for field in ("APIKey", "Username", "Password")}  # as the spec names them
        call = Call("POST", origin_path(login["authenticate"]), data=form, admin=False)
        return call, lambda r: {login.get("header", "ticket"): _bare_ticket(r)}
    if "service_owner_token_url" in login:
        chosen = user or ("person" if name == "altinn-app" else "owner")
        url = login["person_token_url" if chosen == "person" else "service_owner_token_url"]
        call = Call("GET", origin_path(url), admin=False)
        return call, lambda r: {"Authorization": f"Bearer {r.text.strip().strip(chr(34))}"}
    return Call("GET", "/", admin=False), lambda r: {}


def _check(call: Call, response: httpx.Response) -> Any:
    if response.status_code >= 400:
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        if call.admin:
            raise AdminError(response.status_code, body)
        raise AdminError(response.status_code, {"error": f"{call.method} {call.path}: {body}"})
    return call.read(response)


def _api_of(index: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    for api in index["apis"]:
        if api["name"] == name:
            return dict(api)
    raise KeyError(f"no API named {name!r} is mounted; known: {', '.join(a['name'] for a in index['apis'])}")


class Client:
    """The admin API and the platforms' logins, synchronously; `sandbox` scopes faults, stubs and journal reads."""

    def __init__(
        self,
        url: str,
        *,
        sandbox: str | None = None,
        admin_token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        http: httpx.Client | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.sandbox = sandbox
        self.calls = _Calls(sandbox)
        headers = {"Authorization": f"Bearer {admin_token}"} if admin_token else {}
        self._admin_headers = headers
        self._http = http or httpx.Client(base_url=self.url, timeout=timeout)
        self._logins: dict[tuple[str, str | None], dict[str, str]] = {}

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def in_sandbox(self, sandbox: str) -> Client:
        """The same server and connection pool, scoped to another sandbox."""
        other = Client(self.url, sandbox=sandbox, http=self._http)
        other._admin_headers, other._logins = self._admin_headers, self._logins
        return other

    def send(self, call: Call) -> Any:
        headers = self._admin_headers if call.admin else {}
        json = None if call.json is ABSENT else call.json
        response = self._http.request(
            call.method, call.path, params=call.params, json=json, data=call.data, headers=headers
        )
        return _check(call, response)

    def wait_healthy(self, timeout: float = 30.0) -> None:
        """Until the server answers its health check (polling: a port that is not open yet sends no event)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.send(self.calls.health())
                return
            except (httpx.TransportError, AdminError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def index(self) -> dict[str, Any]:
        return dict(self.send(self.calls.index()))

    def base_urls(self) -> dict[str, str]:
        return {api["name"]: api["base_url"] for api in self.index()["apis"]}

    def headers(self, api: str, user: str | None = None) -> dict[str, str]:
        """Request headers of a logged-in demo user of `api` (cached; tokens work in every sandbox)."""
        key = (api, user)
        if key not in self._logins:
            call, headers_of = _login_call(_api_of(self.index(), api), user)
            response = self._http.request(call.method, call.path, data=call.data)
            self._logins[key] = headers_of(_raise_for(call, response))
        return dict(self._logins[key])

    def add_fault(self, **rule: Any) -> dict[str, Any]:
        return dict(self.send(self.calls.add_fault(rule)))

    fault = add_fault

    def faults(self) -> list[dict[str, Any]]:
        return list(self.send(self.calls.faults()))

    def delete_fault(self, rule_id: str) -> None:
        self.send(self.calls.delete_fault(rule_id))

    def clear_faults(self) -> int:
        return int(self.send(self.calls.clear_faults()))

    def add_stub(self, stub: Mapping[str, Any]) -> dict[str, Any]:
        return dict(self.send(self.calls.add_stub(stub)))

    def stub(
        self,
        api: str | None = None,
        method: str | None = None,
        path: str | None = None,
        *,
        status: int = 200,
        body: Any = ABSENT,
        headers: Mapping[str, str] | None = None,
        content_type: str | None = None,
        operation: str | None = None,
        query: Mapping[str, Any] | None = None,
        request_headers: Mapping[str, str] | None = None,
        request_body: Any = ABSENT,
        times: int | None = None,
        id: str | None = None,  # the stub's own field name
    ) -> dict[str, Any]:
        """Answer matching requests with `status` and `body`; refused (AdminError 422) if the spec does not allow it."""
        call = self.calls.stub(
            api, method, path, status=status, body=body, headers=headers, content_type=content_type,
            operation=operation, query=query, request_headers=request_headers, request_body=request_body,
            times=times, stub_id=id,
        )  # fmt: skip
        return dict(self.send(call))

    def stubs(self) -> list[dict[str, Any]]:
        return list(self.send(self.calls.stubs()))

    def delete_stub(self, stub_id: str) -> None:
        self.send(self.calls.delete_stub(stub_id))

    def clear_stubs(self, sandbox: str | None = None) -> int:
        return int(self.send(self.calls.clear_stubs(sandbox)))

    def requests(self, **filters: Any) -> list[dict[str, Any]]:
        """Journal entries (newest first) of this client's sandbox; filters: api, method, path, status, since, limit."""
        return list(self.send(self.calls.requests(filters)))

    def count_requests(self, **filters: Any) -> int:
        return int(self.send(self.calls.count_requests(filters)))

    def clear_requests(self) -> int:
        return int(self.send(self.calls.clear_requests()))

    def verify(
        self,
        count: int | None = None,
        *,
        at_least: int | None = None,
        at_most: int | None = None,
        near_misses: int = 3,
        **criteria: Any,
    ) -> dict[str, Any]:
        expectation = {"count": count, "atLeast": at_least, "atMost": at_most, "nearMisses": near_misses}
        return dict(self.send(self.calls.verify(criteria, expectation)))

    def assert_requested(
        self, count: int | None = None, *, at_least: int | None = None, at_most: int | None = None, **criteria: Any
    ) -> dict[str, Any]:
        """Raise NotRequested, showing the near misses, unless the expected requests arrived."""
        __tracebackhide__ = True
        outcome = self.verify(count, at_least=at_least, at_most=at_most, **criteria)
        if not outcome["verified"]:
            raise NotRequested(describe_near_misses(outcome, {"sandbox": self.sandbox, **criteria}))
        return outcome

    def state(self) -> dict[str, Any]:
        return dict(self.send(self.calls.state()))

    def put_state(self, document: Mapping[str, Any]) -> dict[str, Any]:
        return dict(self.send(self.calls.put_state(document)))

    def reset(self, api: str | None = None, sandbox: str | None = None) -> dict[str, Any]:
        return dict(self.send(self.calls.reset(api, sandbox)))

    def simulation(self) -> dict[str, Any]:
        return dict(self.send(self.calls.simulation()))

    def step(self, actions: int = 1, api: str | None = None, sandbox: str | None = None) -> list[dict[str, Any]]:
        return list(self.send(self.calls.step(actions, api, sandbox)))

    def set_simulation_speed(self, speed: float) -> dict[str, Any]:
        return dict(self.send(self.calls.set_speed(speed)))


class AsyncClient:
    """`Client`'s methods to await, for asyncio test suites (pytest-asyncio, pytest-aiohttp)."""

    def __init__(
        self,
        url: str,
        *,
        sandbox: str | None = None,
        admin_token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.sandbox = sandbox
        self.calls = _Calls(sandbox)
        self._admin_headers = {"Authorization": f"Bearer {admin_token}"} if admin_token else {}
        self._http = http or httpx.AsyncClient(base_url=self.url, timeout=timeout)
        self._logins: dict[tuple[str, str | None], dict[str, str]] = {}

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def send(self, call: Call) -> Any:
        headers = self._admin_headers if call.admin else {}
        json = None if call.json is ABSENT else call.json
        response = await self._http.request(
            call.method, call.path, params=call.params, json=json, data=call.data, headers=headers
        )
        return _check(call, response)

    async def wait_healthy(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                await self.send(self.calls.health())
                return
            except (httpx.TransportError, AdminError):
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.05)

    async def index(self) -> dict[str, Any]:
        return dict(await self.send(self.calls.index()))

    async def base_urls(self) -> dict[str, str]:
        return {api["name"]: api["base_url"] for api in (await self.index())["apis"]}

    async def headers(self, api: str, user: str | None = None) -> dict[str, str]:
        key = (api, user)
        if key not in self._logins:
            call, headers_of = _login_call(_api_of(await self.index(), api), user)
            response = await self._http.request(call.method, call.path, data=call.data)
            self._logins[key] = headers_of(_raise_for(call, response))
        return dict(self._logins[key])

    async def add_fault(self, **rule: Any) -> dict[str, Any]:
        return dict(await self.send(self.calls.add_fault(rule)))

    fault = add_fault

    async def faults(self) -> list[dict[str, Any]]:
        return list(await self.send(self.calls.faults()))

    async def delete_fault(self, rule_id: str) -> None:
        await self.send(self.calls.delete_fault(rule_id))

    async def clear_faults(self) -> int:
        return int(await self.send(self.calls.clear_faults()))

    async def add_stub(self, stub: Mapping[str, Any]) -> dict[str, Any]:
        return dict(await self.send(self.calls.add_stub(stub)))

    async def stub(
        self,
        api: str | None = None,
        method: str | None = None,
        path: str | None = None,
        *,
        status: int = 200,
        body: Any = ABSENT,
        headers: Mapping[str, str] | None = None,
        content_type: str | None = None,
        operation: str | None = None,
        query: Mapping[str, Any] | None = None,
        request_headers: Mapping[str, str] | None = None,
        request_body: Any = ABSENT,
        times: int | None = None,
        id: str | None = None,  # the stub's own field name
    ) -> dict[str, Any]:
        call = self.calls.stub(
            api, method, path, status=status, body=body, headers=headers, content_type=content_type,
            operation=operation, query=query, request_headers=request_headers, request_body=request_body,
            times=times, stub_id=id,
        )  # fmt: skip
        return dict(await self.send(call))

    async def stubs(self) -> list[dict[str, Any]]:
        return list(await self.send(self.calls.stubs()))

    async def delete_stub(self, stub_id: str) -> None:
        await self.send(self.calls.delete_stub(stub_id))

    async def clear_stubs(self, sandbox: str | None = None) -> int:
        return int(await self.send(self.calls.clear_stubs(sandbox)))

    async def requests(self, **filters: Any) -> list[dict[str, Any]]:
        return list(await self.send(self.calls.requests(filters)))

    async def count_requests(self, **filters: Any) -> int:
        return int(await self.send(self.calls.count_requests(filters)))

    async def clear_requests(self) -> int:
        return int(await self.send(self.calls.clear_requests()))

    async def verify(
        self,
        count: int | None = None,
        *,
        at_least: int | None = None,
        at_most: int | None = None,
        near_misses: int = 3,
        **criteria: Any,
    ) -> dict[str, Any]:
        expectation = {"count": count, "atLeast": at_least, "atMost": at_most, "nearMisses": near_misses}
        return dict(await self.send(self.calls.verify(criteria, expectation)))

    async def assert_requested(
        self, count: int | None = None, *, at_least: int | None = None, at_most: int | None = None, **criteria: Any
    ) -> dict[str, Any]:
        outcome = await self.verify(count, at_least=at_least, at_most=at_most, **criteria)
        if not outcome["verified"]:
            raise NotRequested(describe_near_misses(outcome, {"sandbox": self.sandbox, **criteria}))
        return outcome

    async def state(self) -> dict[str, Any]:
        return dict(await self.send(self.calls.state()))

    async def put_state(self, document: Mapping[str, Any]) -> dict[str, Any]:
        return dict(await self.send(self.calls.put_state(document)))

    async def reset(self, api: str | None = None, sandbox: str | None = None) -> dict[str, Any]:
        return dict(await self.send(self.calls.reset(api, sandbox)))

    async def simulation(self) -> dict[str, Any]:
        return dict(await self.send(self.calls.simulation()))

    async def step(self, actions: int = 1, api: str | None = None, sandbox: str | None = None) -> list[dict[str, Any]]:
        return list(await self.send(self.calls.step(actions, api, sandbox)))

    async def set_simulation_speed(self, speed: float) -> dict[str, Any]:
        return dict(await self.send(self.calls.set_speed(speed)))


def _raise_for(call: Call, response: httpx.Response) -> httpx.Response:
    if response.status_code >= 400:
        raise AdminError(response.status_code, {"error": f"login failed: {call.method} {call.path}: {response.text}"})
    return response
