"""Hostile input, one table per API: every request gets a 4xx in the platform's own error shape, the
server stays up, and the sandbox it aimed at is unchanged (`GET /__admin/state` before and after)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest
from conformance_support import Server, auth_headers
from rawhttp import Answer, exchange, request_bytes

HUGE = "a" * 100_000
DEEP = b"[" * 50_000 + b"]" * 50_000


@dataclass(frozen=True, slots=True)
class Target:
    """Where each API is attacked: a write taking a body, a list taking a number, an item path."""

    api: str
    write: tuple[str, str]  # method, path
    body_type: str  # the content type the write takes
    list_path: str
    number: str  # where a number goes: a query prefix (`...?Max=`) or a path prefix
    repeated: tuple[str, str]  # method and target naming a one-value query parameter twice
    item: str  # an item path prefix, e.g. /kianda/api/instances/
    long_body: bytes  # a 100 KB value where the write needs a short one that names something

    @property
    def sandbox(self) -> str:
        return f"hostile-{self.api}"


def first_barium_instance(server: Server, headers: dict[str, str]) -> str:
    found = server.get_json("/barium/api/v1.1/Instances?Max=1", {**headers, "X-Mock-Sandbox": "hostile-barium"})
    return str(found["Data"][0]["Id"])


@cache
def target(server: Server, api: str) -> Target:
    headers = auth_headers(server, api)
    if api == "barium":
        instance = first_barium_instance(server, headers)
        return Target(
            api,
            ("POST", f"/barium/api/v1.1/Instances/{instance}"),
            "application/x-www-form-urlencoded",
            "/barium/api/v1.1/Instances",
            "/barium/api/v1.1/Instances?Max=",
            ("GET", "/barium/api/v1.1/Instances?Max=1&max=2"),
            "/barium/api/v1.1/Instances/",
            f"message={HUGE}".encode(),
        )
    if api == "altinn-storage":
        return Target(
            api,
            ("POST", "/altinn/storage/api/v1/instances?appId=ttd/soknad-tilskudd"),
            "application/json",
            "/altinn/storage/api/v1/instances?org=ttd",
            "/altinn/storage/api/v1/instances?org=ttd&size=",
            ("GET", "/altinn/storage/api/v1/instances?org=ttd&size=1&size=2"),
            "/altinn/storage/api/v1/instances/50001008/",
            json.dumps({"instanceOwner": {"partyId": "5" * 100_000}}).encode(),
        )
    if api == "kianda":
        return Target(
            api,
            ("POST", "/kianda/api/instances/create"),
            "application/json",
            "/kianda/api/instances",
            "/kianda/api/instances/",
            ("GET", "/kianda/api/instances?status=Active&status=Closed"),
            "/kianda/api/instances/",
            json.dumps({"processName": HUGE}).encode(),
        )
    return Target(
        api,
        ("POST", "/altinn/ttd/soknad-tilskudd/instances"),
        "application/json",
        "/altinn/ttd/soknad-tilskudd/instances/50001001/active",
        "/altinn/ttd/soknad-tilskudd/instances/",
        ("POST", "/altinn/ttd/soknad-tilskudd/instances?instanceOwnerPartyId=50001001&instanceOwnerPartyId=50001002"),
        "/altinn/ttd/soknad-tilskudd/instances/50001001/",
        json.dumps({"instanceOwner": {"partyId": "5" * 100_000}}).encode(),
    )


Build = Callable[[Target], tuple[str, str, dict[str, str], bytes]]  # method, target, headers, body


def body(raw: bytes, content_type: str | None = None) -> Build:
    def build(t: Target) -> tuple[str, str, dict[str, str], bytes]:
        return t.write[0], t.write[1], {"Content-Type": content_type or "application/json"}, raw

    return build


def typed_body(json_body: Any, form_body: str) -> Build:
    """The same mistake in the body type the write takes."""

    def build(t: Target) -> tuple[str, str, dict[str, str], bytes]:
        if t.body_type == "application/json":
            return t.write[0], t.write[1], {"Content-Type": t.body_type}, json.dumps(json_body).encode()
        return t.write[0], t.write[1], {"Content-Type": t.body_type}, form_body.encode()

    return build


def long_value(t: Target) -> tuple[str, str, dict[str, str], bytes]:
    return t.write[0], t.write[1], {"Content-Type": t.body_type}, t.long_body


def number(value: str) -> Build:
    def build(t: Target) -> tuple[str, str, dict[str, str], bytes]:
        return "GET", t.number + value, {}, b""

    return build


def repeated(t: Target) -> tuple[str, str, dict[str, str], bytes]:
    return t.repeated[0], t.repeated[1], {"Content-Type": "application/json"} if t.repeated[0] == "POST" else {}, b""


def long_url(t: Target) -> tuple[str, str, dict[str, str], bytes]:
    return "GET", t.list_path + ("&" if "?" in t.list_path else "?") + "q=" + "1" * 16_384, {}, b""


def item(suffix: str) -> Build:
    def build(t: Target) -> tuple[str, str, dict[str, str], bytes]:
        return "GET", t.item + suffix, {}, b""

    return build


def big_header(t: Target) -> tuple[str, str, dict[str, str], bytes]:
    return "GET", t.list_path, {"X-Filler": "a" * 9000}, b""


CASES: dict[str, Build] = {
    "malformed JSON": body(b'{"a": '),
    "top-level array": body(b"[]"),
    "top-level null": body(b"null"),
    "top-level string": body(b'"x"'),
    "invalid UTF-8": body(b'{"a": "\xff\xfe\xfd"}'),
    "invalid UTF-8 form": body(b"message=\xff\xfe&a=\xc3", "application/x-www-form-urlencoded"),
    "50,000-deep nesting": body(DEEP),
    "100 KB string": long_value,
    "unknown fields only": typed_body({"unknownField": 1, "another": [1]}, "unknownField=1&another=2"),
    "wrong content type": body(b"a,b\n1,2\n", "text/csv"),
    "empty body": body(b""),
    "duplicate query parameters": repeated,
    "number out of range": number("1e99"),
    "negative number": number("-1"),
    "dot-dot segment": item("%2E%2E%2F%2E%2E%2Fsecret"),
    "dot-dot in a segment": item("..%2F..%2F__admin%2Fstate"),
    "NUL in a segment": item("a%00b"),
    "direction marks": item("a%E2%80%AEb%E2%80%8F"),
    "16 KB URL": long_url,
    "header over 8 KB": big_header,
    "lone surrogate escape": typed_body({"processName": "x\ud800", "partyId": "\udc00"}, "message=%ED%A0%80"),
    "lone surrogate bytes": body(b'{"processName": "x\xed\xa0\x80", "instanceOwner": {"partyId": "\xed\xb0\x80"}}'),
    "NaN and Infinity": body(b'{"processName": NaN, "instanceOwner": {"partyId": Infinity}}'),
}


def in_platform_shape(api: str, answer: Answer) -> bool:
    if api == "barium":
        found = json.loads(answer.body)
        return found["success"] is False and found["errorCode"] == answer.status
    if api == "kianda":
        found = json.loads(answer.body)
        return isinstance(found.get("Message") or found.get("error"), str)
    # Altinn: ProblemDetails, a bare JSON string, or an empty 401/403 (Forbid(), the bearer handler)
    if not answer.body:
        return answer.status in (401, 403)
    found = json.loads(answer.body)
    if answer.content_type == "application/problem+json":
        return found["status"] == answer.status and isinstance(found["title"], str)
    return answer.content_type == "application/json" and isinstance(found, str)


def sandbox_state(server: Server, sandbox: str) -> Any:
    return server.state()["sandboxes"].get(sandbox)


def attack(server: Server, api: str, case: str) -> None:
    t = target(server, api)
    method, path, headers, payload = CASES[case](t)
    headers = {**auth_headers_cached(server, api), "X-Mock-Sandbox": t.sandbox, **headers}
    before = baseline(server, api)
    answer = exchange(server.port, request_bytes(method, path, headers, payload))
    assert 400 <= answer.status < 500, f"{case}: {method} {path[:120]} -> {answer.status} {answer.body[:300]!r}"
    assert in_platform_shape(api, answer), f"{case}: {answer.status} {answer.content_type} {answer.body[:300]!r}"
    assert server.healthy()
    assert sandbox_state(server, t.sandbox) == before, f"{case}: the store changed"


@cache
def auth_headers_cached(server: Server, api: str) -> dict[str, str]:
    return auth_headers(server, api)


@cache
def baseline_json(server: Server, api: str) -> str:
    t = target(server, api)
    server.get_json(t.list_path, {**auth_headers_cached(server, api), "X-Mock-Sandbox": t.sandbox})  # seeds it
    return json.dumps(sandbox_state(server, t.sandbox), sort_keys=True)


def baseline(server: Server, api: str) -> Any:
    return json.loads(baseline_json(server, api))


@pytest.mark.parametrize("case", CASES)
def test_hostile_barium(server: Server, case: str) -> None:
    attack(server, "barium", case)


@pytest.mark.parametrize("case", CASES)
def test_hostile_altinn_storage(server: Server, case: str) -> None:
    attack(server, "altinn-storage", case)


@pytest.mark.parametrize("case", CASES)
def test_hostile_kianda(server: Server, case: str) -> None:
    attack(server, "kianda", case)


@pytest.mark.parametrize("case", CASES)
def test_hostile_altinn_app(server: Server, case: str) -> None:
    attack(server, "altinn-app", case)


# --- what aiohttp's HTTP parser refuses before any middleware runs (src/instancemock/server.py) ---------


def head(method: str, target: bytes, extra: bytes = b"") -> bytes:
    return method.encode() + b" " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + extra + b"\r\n"


PROTOCOL_CASES: dict[str, tuple[Callable[[Target], bytes], int, bytes]] = {
    # name: (the request's bytes, the status, bytes the answer must not quote back)
    "header over 64 KB": (
        lambda t: head("GET", t.list_path.encode(), b"X-Filler: " + b"q" * 70_000 + b"\r\n"),
        431,
        b"qqq",
    ),
    "150 headers": (
        lambda t: head("GET", t.list_path.encode(), b"".join(b"X-H%d: zz\r\n" % i for i in range(150))),
        431,
        b"X-H1",
    ),
    "NUL in a header": (lambda t: head("GET", t.list_path.encode(), b"X-A: a\x00zz\r\n"), 400, b"\x00zz"),
    "CR in a header": (lambda t: head("GET", t.list_path.encode(), b"X-A: a\rzz\r\n"), 400, b"a\rzz"),
    "raw 0xFF in the path": (lambda t: head("GET", t.item.encode() + b"\xff\xfe"), 400, b"\xff\xfe"),
    "1 MB URL": (lambda t: head("GET", t.list_path.encode() + b"&q=" + b"7" * 1_000_000), 414, b"777"),
}


@pytest.mark.parametrize("api", ["kianda", "barium", "altinn-storage", "altinn-app"])
@pytest.mark.parametrize("case", PROTOCOL_CASES)
def test_protocol_errors_are_answered_in_the_platform_shape(server: Server, api: str, case: str) -> None:
    """Before: aiohttp's own text/plain 400 that quoted the input (once as HTTP/1.0), never 414 or 431."""
    build, status, secret = PROTOCOL_CASES[case]
    t = target(server, api)
    answer = exchange(server.port, build(t))
    assert answer.status_line.startswith("HTTP/1.1 "), answer.status_line
    assert answer.status == status, f"{case}: {answer.status} {answer.body[:200]!r}"
    assert in_platform_shape(api, answer), f"{case}: {answer.content_type} {answer.body[:300]!r}"
    assert secret not in answer.body
    assert server.healthy()


# --- the admin API from a web page, and DNS rebinding ----------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("POST", "/__admin/reset", {"Origin": "http://evil.example"}),
        ("POST", "/__admin/reset", {"Sec-Fetch-Site": "cross-site"}),
        ("GET", "/__admin/state", {"Origin": "http://evil.example"}),
        ("PUT", "/__admin/state", {"Origin": "null"}),
        ("POST", "/__admin/reset", {"Host": "evil.example:8080"}),
        ("GET", "/__admin/state", {"Host": "rebind.evil.example"}),
    ],
)
def test_the_admin_api_refuses_web_pages_and_foreign_hosts(
    server: Server, method: str, path: str, headers: dict[str, str]
) -> None:
    before = server.state()
    payload = json.dumps({"format": "instancemock-state/1", "sandboxes": {}}).encode() if method == "PUT" else b""
    raw = request_bytes(method, path, {"Content-Type": "application/json", **headers}, payload)
    if "Host" in headers:  # request_bytes sends Host: 127.0.0.1 first; this one replaces it
        raw = raw.replace(b"Host: 127.0.0.1\r\n", b"", 1)
    answer = exchange(server.port, raw)
    assert answer.status == 403, answer.body[:300]
    assert "access-control-allow-origin" not in answer.headers
    assert server.state() == before


def test_an_options_allow_names_only_methods_that_route(server: Server) -> None:
    headers = auth_headers_cached(server, "altinn-app")
    path = "/altinn/ttd/soknad-tilskudd/instances/50001001/active"
    allowed = exchange(server.port, request_bytes("OPTIONS", path, headers))
    assert allowed.status == 405 and allowed.headers["allow"] == "GET"
    deleted = exchange(server.port, request_bytes("DELETE", path, headers))
    assert deleted.status == 405 and deleted.headers["allow"] == "GET"


def test_the_kelvin_sign_is_no_k(server: Server) -> None:
    """Route literals fold ASCII case only, as .NET's ordinal-ignore-case does: `\u212aianda` is no route."""
    headers = auth_headers_cached(server, "kianda")
    answer = exchange(server.port, request_bytes("GET", "/%E2%84%AAianda/api/instances", headers))
    assert answer.status == 404
    assert "Message" not in json.loads(answer.body)  # not Kianda's answer: no API owns the path
