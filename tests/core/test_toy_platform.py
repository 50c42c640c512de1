"""A platform plugs in whole: a toy one in a temporary package needs no edit anywhere else.

The package holds a spec with two operations and a plugin (seeder, error shape, credentials, a
setting); it is loaded by module name, as `platforms: [module]` in the config does.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from instancemock.app import create_app

from support import settings

SPEC = """
openapi: 3.1.0
info: {title: Toy, version: "1"}
servers: [{url: /toy}]
paths:
  /things:
    get:
      operationId: listThings
      parameters:
        - {name: size, in: query, schema: {type: integer, minimum: 1, maximum: 50}}
      responses:
        "200":
          description: the things
          content:
            application/json:
              schema:
                type: object
                required: [things, greeting]
                properties:
                  things: {type: array, items: {type: object, required: [id], properties: {id: {type: string}}}}
                  greeting: {type: string}
        "400": {description: bad, content: {application/json: {schema: {type: object}}}}
  /things/{id}:
    get:
      operationId: getThing
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        "200":
          description: one thing
          content: {application/json: {schema: {type: object, required: [id], properties: {id: {type: string}}}}}
        "404": {description: none, content: {application/json: {schema: {type: object, required: [toyError]}}}}
"""

PLUGIN = """
from pathlib import Path

from aiohttp import web

from instancemock.core.context import ctx
from instancemock.core.errors import ErrorShape, Refusal, error_body
from instancemock.core.plugin import ApiPlugin, Plugin
from instancemock.settings import PlatformSetting


def render(status, message, violations):
    return error_body({"toyError": message, "fields": [v.field for v in violations]}, status)


def seed(context):
    rng = context.random("things")
    return {"things": {f"t{i}": {"id": f"t{i}", "weight": rng.randint(1, 9)} for i in range(3)}}


async def list_things(request):
    c = ctx(request)
    things = [s.doc for s in await c.store.list("things")][: c.args.query.get("size", 10)]
    return web.json_response({"things": things, "greeting": c.state.settings.option("toy_greeting")})


async def get_thing(request):
    c = ctx(request)
    found = await c.store.get("things", c.args.path["id"])
    if found is None:
        raise Refusal(404, "no such thing")
    return web.json_response(found.doc)


PLUGIN = Plugin(
    name="toy",
    apis=(
        ApiPlugin(
            name="toy",
            spec=Path(__file__).parent / "toy.yaml",
            errors=ErrorShape(render=render),
            operations={"listThings": list_things, "getThing": get_thing},
            credentials=lambda settings, origin: {"note": "no login"},
        ),
    ),
    seeder=seed,
    settings={"toy_greeting": PlatformSetting("hello", str)},
)
"""


@pytest.fixture
async def toy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, aiohttp_client: object) -> TestClient:
    package = tmp_path / "toyplatform"
    package.mkdir()
    (package / "toy.yaml").write_text(textwrap.dedent(SPEC), encoding="utf-8")
    (package / "__init__.py").write_text(PLUGIN, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    app = create_app(settings(platforms=("toyplatform",), toy_greeting="hej"))
    return await aiohttp_client(app)  # type: ignore[operator, no-any-return]


async def test_a_toy_platform_is_served_with_its_world_shape_and_settings(toy: TestClient) -> None:
    listed = await toy.get("/TOY/things", params={"size": "2"})  # routes match case-insensitively
    assert listed.status == 200, await listed.text()
    body = await listed.json()
    assert [t["id"] for t in body["things"]] == ["t0", "t1"] and body["greeting"] == "hej"

    missing = await toy.get("/toy/things/nope")
    assert missing.status == 404 and (await missing.json())["toyError"] == "no such thing"
    invalid = await toy.get("/toy/things", params={"size": "0"})
    assert invalid.status == 400 and (await invalid.json())["fields"] == ["size"]
    unknown = await toy.get("/toy/nothing")
    assert unknown.status == 404 and "toyError" in await unknown.json()

    index = await (await toy.get("/")).json()
    assert {"name": "toy", "credentials": {"note": "no login"}}.items() <= next(
        a for a in index["apis"] if a["name"] == "toy"
    ).items()
    spec = await toy.get("/__admin/specs/toy")
    assert spec.status == 200 and (await spec.json())["servers"][0]["url"].endswith("/toy")
    faulted = await toy.post("/__admin/faults", json={"api": "toy", "status": 503, "times": 1})
    assert faulted.status == 201
    assert (await toy.get("/toy/things")).status == 503


async def test_the_built_in_platforms_keep_working_beside_it(toy: TestClient) -> None:
    response = await toy.get("/kianda/api/processes")
    assert response.status == 401  # Kianda's own auth, untouched by the toy
