"""Our App API answers against Altinn's own published OpenAPI document (app-lib-dotnet 1363997d).

`upstream/altinn-app-api.openapi.json` is OpenAPI 3.0: `nullable: true` becomes a type array here.
3.0 cannot mark a `$ref` property nullable (siblings of `$ref` are ignored), yet the running app
writes `process: null`, `currentTask: null`, `substatus: null`, `validated: null`,
`deleteStatus: null` (upstream's own GET snapshot), so every `$ref` property is read as
`anyOf [ref, null]`. Statuses upstream does not declare are not checked. The deliberate
differences, each explained in our spec (`openapi/altinn-app.yaml`) and listed here so that no
other difference can pass unnoticed:

- 400 as a JSON string, not ProblemDetails (`info.description`): `DIFFERENT_400`;
- `UserAction.type` as the enum's name, not upstream's integer (`UserAction`): `SCHEMA_DEPARTURES`;
- `POST .../data/type/{dataType}` answers 200 and not every 400 of it carries upload issues,
  the delete of a data element answers DataDeleteResponse, `parties/current` may answer the
  bare party id, process/start and completeProcess answer some 409s with JSON strings, and the
  layout documents are JSON documents, not JSON strings
  (`postDataElement`, `deleteDataElement`, `getCurrentParty`, `getLayoutSets`): `RESPONSE_DEPARTURES`;
- `POST .../data/{dataType}`, the alias upstream does not declare (`postDataElementByType`):
  `UNDECLARED_ALIASES`.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from jsonschema import Draft202012Validator

# Altinn's document is read where the project keeps it, beside the checkout (CI has it there);
# it is not copied into this repository.
UPSTREAM = Path(__file__).resolve().parents[4] / "shared" / "upstream" / "altinn-app-api.openapi.json"
MOUNT = "/altinn"


@cache
def _document() -> dict[str, Any]:
    if not UPSTREAM.is_file():
        pytest.skip(f"Altinn's upstream OpenAPI document is not at {UPSTREAM}")
    return json.loads(UPSTREAM.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _ref(name: str) -> str:
    return "#/$defs/" + name.rsplit("/", 1)[-1]


def as_json_schema(node: Any, is_property: bool = False) -> Any:
    """OpenAPI 3.0 schema -> JSON Schema 2020-12 (nullable, `$ref` properties may be null)."""
    if isinstance(node, list):
        return [as_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = {"$ref": _ref(node["$ref"])}
        return {"anyOf": [target, {"type": "null"}]} if is_property else target
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties":
            out[key] = {name: as_json_schema(sub, is_property=True) for name, sub in value.items()}
        elif key in ("nullable", "example", "xml", "deprecated"):
            continue
        else:
            out[key] = as_json_schema(value)
    if node.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


# Upstream schemas replaced before validating, and why (each also stated in our spec).
SCHEMA_DEPARTURES: dict[str, dict[str, Any]] = {
    # app-lib writes `UserAction.type` with a property-level JsonStringEnumConverter
    # (app-lib-dotnet UserAction.cs; ProcessControllerTests expects "ProcessAction"); the published
    # document was generated without it and says `integer` enum [0, 1].
    "ActionType": {"type": "string", "enum": ["ProcessAction", "ServerAction"]},
}


APP = "/{org}/{app}"
DATA = f"{APP}/instances/{{instanceOwnerPartyId}}/{{instanceGuid}}/data"


def _without_new_element_id(defs: dict[str, Any]) -> dict[str, Any]:
    """app-lib's DataDeleteResponse: DataPostResponse without `newDataElementId`."""
    posted = defs["DataPostResponse"]
    return {
        **posted,
        "properties": {k: v for k, v in posted["properties"].items() if k != "newDataElementId"},
        "required": [r for r in posted["required"] if r != "newDataElementId"],
    }


# (method, upstream path, our status) -> (the upstream status to check against, a schema in its
# place or None). Each is stated in our spec's description of the operation.
RESPONSE_DEPARTURES: dict[tuple[str, str, str], tuple[str, Any]] = {
    # DataController.Post returns the DataPostResponse itself, which ASP.NET writes with 200
    # (app-lib's DataController_PostTests expect 200); the attribute says 201.
    ("post", f"{DATA}/type/{{dataType}}", "200"): ("201", None),
    # PostImpl's other 400s ("Data Type Not Found", "Missing content type", "Invalid data") are
    # plain ProblemDetails; only upload validation adds `uploadValidationIssues`.
    ("post", f"{DATA}/type/{{dataType}}", "400"): ("400", lambda defs: defs["ProblemDetails"]),
    # DataController.Delete returns a DataDeleteResponse though its signature names DataPostResponse.
    ("delete", f"{DATA}/{{dataGuid}}", "200"): ("200", _without_new_element_id),
    # AuthorizationController.GetCurrentParty answers the bare party id unless returnPartyObject.
    ("get", f"{APP}/api/authorization/parties/current", "200"): (
        "200",
        lambda defs: {"anyOf": [{"$ref": "#/$defs/Party"}, {"type": "integer"}]},
    ),
    # ProcessController answers these 409s with `Conflict(message)`, a JSON string, besides the
    # ProblemDetails the attributes declare (ProcessController.cs:159-161, :385-396).
    **{
        (
            "post" if route == "start" else "put",
            f"{APP}/instances/{{instanceOwnerPartyId}}/{{instanceGuid}}/process/{route}",
            "409",
        ): (
            "409",
            lambda defs: {"anyOf": [{"$ref": "#/$defs/ProblemDetails"}, {"type": "string"}]},
        )
        for route in ("start", "completeProcess")
    },
    # ResourceController returns these documents as `Ok(string)`, which upstream declares as a
    # JSON string; the mock answers the JSON document itself (what clients parse either way).
    **{
        ("get", f"{APP}/api/{resource}", "200"): ("200", lambda defs: {"type": "object"})
        for resource in ("layoutsets", "layouts/{id}", "layoutsettings/{id}", "jsonschema/{id}")
    },
}
# Routes app-lib serves that the upstream document does not declare -> the declared route they alias.
UNDECLARED_ALIASES = {("post", f"{DATA}/{{dataType}}"): f"{DATA}/type/{{dataType}}"}


@cache
def _defs() -> dict[str, Any]:
    defs = {name: as_json_schema(s) for name, s in _document()["components"]["schemas"].items()}
    return defs | SCHEMA_DEPARTURES


@cache
def _validator(path: str, method: str, status: str) -> Draft202012Validator | None:
    declared_status, replacement = RESPONSE_DEPARTURES.get((method, path, status), (status, None))
    declared = _document()["paths"][path][method]["responses"].get(declared_status)
    if declared is None:
        return None
    schema = (declared.get("content") or {}).get("application/json", {}).get("schema")
    if schema is None:
        return None
    converted = replacement(_defs()) if replacement is not None else as_json_schema(schema)
    return Draft202012Validator({**converted, "$defs": _defs()})


def upstream_path(method: str, path: str) -> str:
    """The upstream path template a request path (with our mount base) belongs to."""
    relative = (path[len(MOUNT) :] if path.startswith(MOUNT) else path).rstrip("/")  # ASP.NET ignores it
    candidates = []
    for template, item in _document()["paths"].items():
        if method.lower() not in item:
            continue
        if _matches(template, relative):
            candidates.append(template)
    if not candidates:
        candidates = [
            declared
            for (verb, alias), declared in UNDECLARED_ALIASES.items()
            if verb == method.lower() and _matches(alias, relative)
        ]
    assert candidates, f"{method} {path}: no upstream operation"
    return min(candidates, key=lambda t: t.count("{"))  # literal segments win, as in ASP.NET routing


def _matches(template: str, relative: str) -> bool:
    pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
    return re.match(pattern, relative, flags=re.IGNORECASE) is not None


async def upstream_problems(response: ClientResponse) -> list[str]:
    """Why the response does not validate against upstream's schema for its status ([]: it does)."""
    template = upstream_path(response.method, response.url.path)
    validator = _validator(template, response.method.lower(), str(response.status))
    if validator is None:
        return []
    body = await response.read()
    value = json.loads(body) if body else None
    return [f"{'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in validator.iter_errors(value)]


async def app_call(
    client: TestClient, method: str, path: str, headers: dict[str, str], status: int, **kwargs: Any
) -> Any:
    """One App API call: the status expected, our spec and upstream's (JSON strings only on 400s)
    kept; the body as JSON when it is JSON, else its bytes (None when empty)."""
    from support import ALTINN_APP, assert_conforms

    response = await client.request(method, path, headers=headers, **kwargs)
    assert response.status == status, await response.text()
    await assert_conforms(ALTINN_APP, response)
    problems = await upstream_problems(response)
    assert not problems or (status == 400 and all(DIFFERENT_400 in p for p in problems)), problems
    body = await response.read()
    if not body:
        return None
    return json.loads(body) if response.content_type.endswith("json") else body


async def assert_upstream(response: ClientResponse) -> None:
    problems = await upstream_problems(response)
    assert not problems, f"{response.method} {response.url.path} -> {response.status} vs upstream: {problems}"


DIFFERENT_400 = "is not of type 'object'"  # a JSON string where upstream declares ProblemDetails


def test_conversion_makes_nullable_and_ref_properties_optional_null() -> None:
    converted = as_json_schema(
        {
            "type": "object",
            "properties": {"a": {"type": "string", "nullable": True}, "b": {"$ref": "#/components/schemas/X"}},
        }
    )
    assert converted["properties"]["a"] == {"type": ["string", "null"]}
    assert converted["properties"]["b"] == {"anyOf": [{"$ref": "#/$defs/X"}, {"type": "null"}]}


def test_each_schema_departure_is_still_a_difference_upstream() -> None:
    """Once upstream publishes what the app writes, the departure (and its note) must go."""
    schemas = _document()["components"]["schemas"]
    for name, ours in SCHEMA_DEPARTURES.items():
        assert as_json_schema(schemas[name]) != ours, f"upstream now agrees on {name}: drop the departure"
    assert schemas["ActionType"]["type"] == "integer"


def test_every_operation_we_serve_exists_upstream() -> None:
    from support import APIS

    paths = {t.lower(): item for t, item in _document()["paths"].items()}
    aliases = {(verb, alias.rsplit("/", 1)[0].lower()) for verb, alias in UNDECLARED_ALIASES}
    for op in APIS["altinn-app"].operations:
        if (op.method.lower(), op.template.rsplit("/", 1)[0].lower()) in aliases and op.id == "postDataElementByType":
            continue  # POST .../data/{dataType}: shares our path with the element routes, see UNDECLARED_ALIASES
        assert op.method.lower() in paths.get(op.template.lower(), {}), op.id


async def test_every_operation_answers_in_upstream_shape(client: TestClient) -> None:
    """One success of each App API operation we declare, each answer checked against our spec
    and upstream's (`app_call`): the front end's start-up calls, the data API, process actions
    (next with an action, start, completeProcess), instance calls; a cookie session's write with
    its antiforgery pair, a system user's. An operation added to our spec without a success
    here fails the last assertion, so none goes unchecked against upstream."""
    from support import APIS, kari_headers, operation_id, ttd_headers

    hit: set[str] = set()

    async def call(method: str, path: str, headers: dict[str, str], status: int, **kwargs: Any) -> Any:
        body = await app_call(client, method, path, headers, status, **kwargs)
        if status < 300:
            hit.add(operation_id(method, path))
        return body

    user, owner = await kari_headers(client), await ttd_headers(client)
    app = f"{MOUNT}/ttd/soknad-tilskudd"
    assert b'<div id="root">' in await call("GET", app, user, 200)
    metadata = await call("GET", f"{app}/api/v1/applicationmetadata", user, 200)
    assert metadata["id"] == "ttd/soknad-tilskudd"
    assert await call("GET", f"{app}/api/v1/applicationsettings", user, 200) == {}
    assert {"language": "nb"} in await call("GET", f"{app}/api/v1/applicationlanguages", user, 200)
    assert (await call("GET", f"{app}/api/v1/texts/nb", user, 200))["language"] == "nb"
    layout_set = (await call("GET", f"{app}/api/layoutsets", user, 200))["sets"][0]
    assert await call("GET", f"{app}/api/layouts/{layout_set['id']}", user, 200)
    assert await call("GET", f"{app}/api/layoutsettings/{layout_set['id']}", user, 200)
    assert await call("GET", f"{app}/api/ruleconfiguration/{layout_set['id']}", user, 204) is None
    assert await call("GET", f"{app}/api/rulehandler/{layout_set['id']}", user, 204) is None
    assert (await call("GET", f"{app}/api/jsonschema/{layout_set['dataType']}", user, 200))["type"] == "object"
    assert await call("GET", f"{app}/api/validationconfig/{layout_set['dataType']}", user, 204) is None
    assert await call("GET", f"{app}/api/v1/footer", user, 204) is None
    profile = await call("GET", f"{app}/api/v1/profile/user", user, 200)
    parties = await call("GET", f"{app}/api/v1/parties?allowedToInstantiateFilter=true", user, 200)
    assert profile["partyId"] in {p["partyId"] for p in parties}
    assert await call("PUT", f"{app}/api/v1/parties/{profile['partyId']}", user, 200) == b"Party successfully updated"
    current = await call("GET", f"{app}/api/authorization/parties/current?returnPartyObject=true", user, 200)
    assert current["partyId"] == profile["partyId"]
    assert await call("GET", f"{app}/api/authentication/keepAlive", user, 200) is None
    # keepAlive set the runtime cookie: from here on a cookie session, whose unsafe calls carry
    # the request token of the index page's antiforgery pair
    jar = {c.key: c.value for c in client.session.cookie_jar}
    assert "AltinnStudioRuntime" in jar
    user = {**user, "X-XSRF-TOKEN": jar["XSRF-TOKEN"]}

    created = await call("POST", f"{app}/instances?instanceOwnerPartyId={current['partyId']}", user, 201)
    path = f"{app}/instances/{created['id']}"
    copied = await call("POST", f"{app}/instances/create", user, 201, json={"instanceOwner": {"partyId": "50001001"}})
    assert copied["id"] != created["id"]
    assert created["id"] in {a["id"] for a in await call("GET", f"{app}/instances/50001001/active", user, 200)}
    model = next(e for e in (await call("GET", path, user, 200))["data"] if e["dataType"] == "model")
    assert await call("GET", f"{path}/validate?language=nb", user, 200) == []
    pdf = {**user, "Content-Type": "application/pdf", "Content-Disposition": "attachment; filename=a.pdf"}
    document = b"%PDF-1.4\n%%EOF\n"
    element = await call("POST", f"{path}/data?dataType=vedlegg", pdf, 201, data=document)
    posted = await call("POST", f"{path}/data/type/vedlegg", pdf, 200, data=document)
    aliased = await call("POST", f"{path}/data/vedlegg", pdf, 200, data=document)
    assert await call("GET", f"{path}/data/{element['id']}", user, 200) == document
    assert (await call("PUT", f"{path}/data/{element['id']}", pdf, 201, data=document * 2))["size"] == 2 * len(document)
    remaining = await call("DELETE", f"{path}/data/{posted['newDataElementId']}", user, 200)
    assert posted["newDataElementId"] not in {e["id"] for e in remaining["instance"]["data"]}
    assert aliased["newDataElementId"] in {e["id"] for e in remaining["instance"]["data"]}
    one = {"patch": [{"op": "add", "path": "/navn", "value": "Kari"}], "ignoredValidators": []}
    assert (await call("PATCH", f"{path}/data/{model['id']}", user, 200, json=one))["newDataModel"] == {"navn": "Kari"}
    many = {"patches": [{"dataElementId": model["id"], "patch": [{"op": "add", "path": "/telefon", "value": "1"}]}]}
    saved = await call("PATCH", f"{path}/data", user, 200, json=many)
    assert saved["newDataModels"][0]["data"] == {"navn": "Kari", "telefon": "1"}

    assert (await call("GET", f"{path}/process", user, 200))["currentTask"]["elementId"] == "Task_1"
    confirming = await call("PUT", f"{path}/process/next", user, 200, json={"action": "write"})
    assert confirming["currentTask"]["altinnTaskType"] == "confirmation"
    assert (await call("PUT", f"{path}/process/completeProcess", user, 200))["ended"]
    assert len((await call("GET", f"{path}/process/history", user, 200))["processHistory"]) == 6
    client.session.cookie_jar.clear()  # bearer tokens alone from here on: no antiforgery check
    labelled = await call("PUT", f"{path}/substatus", owner, 200, json={"label": "received"})
    assert labelled["status"]["substatus"]["label"] == "received"
    assert (await call("POST", f"{path}/complete", owner, 200))["completeConfirmations"]
    assert (await call("DELETE", f"{path}?hard=true", user, 200))["status"]["isHardDeleted"]

    storage = await client.post(
        f"{MOUNT}/storage/api/v1/instances?appId=ttd/soknad-tilskudd",
        json={"instanceOwner": {"partyId": "50001001"}},
        headers=owner,
    )
    assert storage.status == 201, await storage.text()
    started = await call("POST", f"{app}/instances/{(await storage.json())['id']}/process/start", owner, 200)
    assert started["currentTask"]["elementId"] == "Task_1"

    system = await client.get(
        f"{MOUNT}/testtools/api/GetSystemUserToken",
        params={"env": "tt02", "systemUserId": "3f1c2a9e-77d2-4b1a-9c0e-5a6b7c8d9e0f", "systemUserOrg": "390748337"},
    )
    annual = f"{MOUNT}/brg/aarsregnskap-vanlig-202406"
    as_system = {"Authorization": f"Bearer {await system.text()}"}
    assert await call("GET", f"{annual}/api/authorization/parties/current", as_system, 200) == 51001001
    by_system = await call("POST", f"{annual}/instances?instanceOwnerPartyId=51001001", as_system, 201)
    assert (await call("GET", f"{annual}/instances/{by_system['id']}/process", as_system, 200))["currentTask"]["write"]

    declared = {op.id for op in APIS["altinn-app"].operations}
    assert declared - hit == set(), "operations without an upstream-checked success"
