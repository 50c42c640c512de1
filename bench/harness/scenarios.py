"""The scenarios: each one exact request (or request stream), with credentials from a running instancemock.

A scenario's Lua script is built right before each wrk run, from the instancemock that the
scenario is about (the default one, or the one with 100,000 instances per API): Kianda tokens
live 299 s, and the versioned PUT needs the instances' current versions. Prism is sent the very
same script, credentials included; it answers from the spec's examples.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from .client import Logins, call, expect
from .wrk import PRELUDE, Request, lua_string, lua_table

BARIUM_LIST = "/barium/api/v1.1/Instances?Status=active&Max=10"
STORAGE_QUERY = "/altinn/storage/api/v1/instances?org=ttd&size=10&lastChanged=gt:2025-01-01T00:00:00Z"
KIANDA_FIELDS = "/kianda/api/instances/training-approval-request-1/fields?names=employeeName,courseTitle"
APP_CREATE = "/altinn/ttd/soknad-tilskudd/instances/create"
JSON = {"Content-Type": "application/json"}

# The versioned PUT writes instances of one design (its field names are known) in turn.
PUT_PROCESS = "training-approval-request"
PUT_MARK = "bench:"  # a written field's value names its instance, so the echoed body says whose Version it is


@dataclass(frozen=True)
class Scenario:
    """A benchmark scenario: which spec (and so which Prism) serves it, and how to build its Lua script."""

    name: str
    api: str
    request: str  # the request as the README and the table describe it
    script: Callable[[Logins], str]
    large: bool = False  # against the instancemock with 100,000 instances per API
    bare: bool = False  # also against the bare aiohttp app (our stack's ceiling)


def barium(path: str) -> Callable[[Logins], str]:
    return lambda logins: Request("GET", path, {"Ticket": logins.barium_ticket()}).lua()


def storage(path: str) -> Callable[[Logins], str]:
    return lambda logins: Request("GET", path, bearer(logins.altinn_token("service_owner"))).lua()


def kianda_get(path: str) -> Callable[[Logins], str]:
    return lambda logins: Request("GET", path, bearer(logins.kianda_token())).lua()


def app_create(body: object) -> Callable[[Logins], str]:
    text = json.dumps(body, separators=(",", ":"))
    return lambda logins: Request("POST", APP_CREATE, bearer(logins.altinn_token("person")) | JSON, text).lua()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def kianda_put(logins: Logins) -> str:
    """PUTs with `Version` to every instance of one design in turn, each with the version it is at.

    The versions start as the server lists them; each 200 echoes the body with the new `Version`,
    and the written `managerComments` names the instance, so `response` learns the next version
    of exactly that instance. With more instances than connections, an instance's previous write
    has always been answered before its next is sent, so no request is stale (a 409 would show
    in the non-2xx count). Prism's echo is its example, which names no instance: it changes nothing.
    """
    token = logins.kianda_token()
    versions = instance_versions(logins, token)
    headers = bearer(token) | JSON
    return (
        PRELUDE
        + "\n".join(f"wrk.headers[{lua_string(k)}] = {lua_string(v)}" for k, v in headers.items())
        + f"""
versions = {lua_table(versions)}
names = {{}}
for name in pairs(versions) do names[#names + 1] = name end
table.sort(names)
turn = 0

function request()
  turn = turn % #names + 1
  local name = names[turn]
  local body = '{{"Version":"' .. versions[name] .. '","FieldsMappings":[' ..
    '{{"fieldname":"employeeName","text":"Ciara Walsh","value":"Ciara Walsh"}},' ..
    '{{"fieldname":"courseTitle","text":"Advanced Excel","value":"Advanced Excel"}},' ..
    '{{"fieldname":"managerComments","text":"{PUT_MARK}' .. name .. '","value":"{PUT_MARK}' .. name .. '"}}]}}'
  return wrk.format("PUT", "/kianda/api/instances/" .. name, nil, body)
end

function response(status, headers, body)
  record(status)
  if status == 200 then
    local name = string.match(body, "{PUT_MARK}([%w%-%.]+)")
    local version = string.match(body, '"Version"%s*:%s*"([^"]*)"')
    if name and version and versions[name] then versions[name] = version end
  end
end
"""
    )


def instance_versions(logins: Logins, token: str) -> dict[str, str]:
    """Every instance of PUT_PROCESS with its current `Version`, from the server's own list."""
    versions: dict[str, str] = {}
    page = 1
    while True:
        url = f"{logins.base}/kianda/api/instances?processName={PUT_PROCESS}&page={page}&pageSize=500"
        items = expect(call("GET", url, bearer(token)), 200, "Kianda instance list").json()
        versions.update({item["id"]: item["Version"] for item in items})
        if len(items) < 500:
            return versions
        page += 1


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("barium-list", "barium", f"GET {BARIUM_LIST} (Ticket)", barium(BARIUM_LIST), bare=True),
    Scenario("storage-query", "altinn-storage", f"GET {STORAGE_QUERY} (service owner token)", storage(STORAGE_QUERY)),
    Scenario("kianda-fields", "kianda", f"GET {KIANDA_FIELDS} (Bearer)", kianda_get(KIANDA_FIELDS)),
    Scenario(
        "storage-query-100k",
        "altinn-storage",
        f"GET {STORAGE_QUERY}, 100,000 instances per API",
        storage(STORAGE_QUERY),
        large=True,
    ),
    Scenario(
        "invalid-kianda",
        "kianda",
        "GET .../training-approval-request-1/fields?names= (empty; 400)",
        kianda_get(KIANDA_FIELDS.partition("?")[0] + "?names="),
    ),
    Scenario(
        "invalid-barium",
        "barium",
        "GET .../Instances?Status=active&Max=abc (400)",
        barium(BARIUM_LIST.replace("Max=10", "Max=abc")),
    ),
    Scenario(
        "invalid-storage",
        "altinn-storage",
        "GET .../instances?org=ttd&size=abc&lastChanged=... (400)",
        storage(STORAGE_QUERY.replace("size=10", "size=abc")),
    ),
    Scenario(
        "invalid-app",
        "altinn-app",
        'POST .../instances/create {"prefill":"x"} (400)',
        app_create({"instanceOwner": {"partyId": "50001001"}, "prefill": "x"}),
    ),
    Scenario(
        "kianda-put",
        "kianda",
        f"PUT /kianda/api/instances/{{name}} with Version, round robin over every {PUT_PROCESS}",
        kianda_put,
    ),
    Scenario(
        "app-create",
        "altinn-app",
        f"POST {APP_CREATE} (person token, prefill)",
        app_create({"instanceOwner": {"partyId": "50001001"}, "prefill": {"navn": "Kari"}}),
    ),
)
