"""A "real service" for proxy tests: a second instancemock on its own loopback port.

The fixtures `drifty_package` and `upstream` (tests/core/conftest.py) are built from this module.

It serves the built-in platforms (a small world) and `drifty`, a test-only platform written to a
temporary package (as tests/core/test_toy_platform.py plugs one in), whose handlers answer three
operations off-contract on purpose: `getMissing` leaves out a required field, `getWrongType`
sends a number as text, `getTeapot` answers a status its operation does not declare. Every other
operation keeps to the spec, so a proxy in front of it must flag exactly those three.
"""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestServer

from instancemock.app import create_app

from support import settings

MODULE = "driftyplatform"
BASE = "/drifty"

SPEC = """
openapi: 3.1.0
info: {title: Drifty, version: "1"}
servers: [{url: /drifty}]
components:
  schemas:
    Thing:
      type: object
      required: [id, name, size]
      properties:
        id: {type: string}
        name: {type: string}
        size: {type: integer}
        self: {type: string}
    Error:
      type: object
      required: [driftyError]
      properties:
        driftyError: {type: string}
  responses:
    Error:
      description: an error
      content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}
paths:
  /things:
    get:
      operationId: listThings
      parameters:
        - {name: size, in: query, schema: {type: integer, minimum: 1}}
      responses:
        "200":
          description: every thing, each with its absolute self link
          content:
            application/json:
              schema:
                type: object
                required: [things]
                properties:
                  things: {type: array, items: {$ref: "#/components/schemas/Thing"}}
        default: {$ref: "#/components/responses/Error"}
    post:
      operationId: createThing
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [name]
              properties:
                name: {type: string, minLength: 1}
      responses:
        "201":
          description: made
          headers:
            Location: {required: true, schema: {type: string}}
          content: {application/json: {schema: {$ref: "#/components/schemas/Thing"}}}
        default: {$ref: "#/components/responses/Error"}
  /things/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: string}}
    get:
      operationId: getThing
      responses:
        "200":
          description: one thing
          content: {application/json: {schema: {$ref: "#/components/schemas/Thing"}}}
        default: {$ref: "#/components/responses/Error"}
  /things/{id}/missing:
    parameters:
      - {name: id, in: path, required: true, schema: {type: string}}
    get:
      operationId: getMissing
      responses:
        "200":
          description: one thing (the handler leaves out `size`)
          content: {application/json: {schema: {$ref: "#/components/schemas/Thing"}}}
        default: {$ref: "#/components/responses/Error"}
  /things/{id}/typed:
    parameters:
      - {name: id, in: path, required: true, schema: {type: string}}
    get:
      operationId: getWrongType
      responses:
        "200":
          description: one thing (the handler sends `size` as text)
          content: {application/json: {schema: {$ref: "#/components/schemas/Thing"}}}
        default: {$ref: "#/components/responses/Error"}
  /things/{id}/teapot:
    parameters:
      - {name: id, in: path, required: true, schema: {type: string}}
    get:
      operationId: getTeapot
      responses:
        "200":
          description: one thing (the handler answers 418, declared nowhere)
          content: {application/json: {schema: {$ref: "#/components/schemas/Thing"}}}
  /things/{id}/zipped:
    parameters:
      - {name: id, in: path, required: true, schema: {type: string}}
    get:
      operationId: getZipped
      responses:
        "200":
          description: one thing with its self link, gzip-compressed whatever the client asked
          content: {application/json: {schema: {$ref: "#/components/schemas/Thing"}}}
        default: {$ref: "#/components/responses/Error"}
  /echo:
    post:
      operationId: echo
      requestBody:
        content: {application/octet-stream: {schema: {}}}
      responses:
        "200":
          description: what the service received
          content: {application/json: {schema: {type: object}}}
        default: {$ref: "#/components/responses/Error"}
  /moved:
    get:
      operationId: getMoved
      responses:
        "302":
          description: elsewhere
          headers:
            Location: {required: true, schema: {type: string}}
        default: {$ref: "#/components/responses/Error"}
"""

PLUGIN = """
import gzip
from pathlib import Path

from aiohttp import web

from instancemock.core.context import ctx
from instancemock.core.encoding import dumps, json_response
from instancemock.core.errors import ErrorShape, Refusal, error_body
from instancemock.core.plugin import ApiPlugin, Plugin


def render(status, message, violations):
    return error_body({"driftyError": message}, status)


def seed(context):
    rng = context.random("things")
    return {"things": {f"t{i}": {"id": f"t{i}", "name": f"thing {i}", "size": rng.randint(1, 99)} for i in range(3)}}


async def _thing(request):
    c = ctx(request)
    found = await c.store.get("things", c.args.path["id"])
    if found is None:
        raise Refusal(404, "no such thing")
    return found.doc


async def list_things(request):
    c = ctx(request)
    things = [{**s.doc, "self": f"{c.base_url}/things/{s.doc['id']}"} for s in await c.store.list("things")]
    return json_response({"things": things})


async def create_thing(request):
    c = ctx(request)
    thing = {"id": "t9", "name": c.args.body["name"], "size": 1}
    await c.store.put("things", "t9", thing)
    return json_response(thing, status=201, headers={"Location": f"{c.base_url}/things/t9"})


async def get_thing(request):
    return json_response(await _thing(request), headers={"ETag": '"v1"', "X-Drifty": "yes"})


async def get_missing(request):
    thing = await _thing(request)
    return json_response({k: v for k, v in thing.items() if k != "size"})


async def get_wrong_type(request):
    thing = await _thing(request)
    return json_response({**thing, "size": str(thing["size"])})


async def get_teapot(request):
    return json_response(await _thing(request), status=418)


async def get_zipped(request):
    c = ctx(request)
    thing = {**(await _thing(request)), "self": f"{c.base_url}/things/{c.args.path['id']}"}
    headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
    return web.Response(body=gzip.compress(dumps(thing)), headers=headers)


async def echo(request):
    body = await request.read()
    answer = json_response(
        {
            "method": request.method,
            "path": request.rel_url.raw_path,
            "query": request.rel_url.raw_query_string,
            "headers": [[k, v] for k, v in request.headers.items()],
            "body": body.decode("latin-1"),
        }
    )
    answer.set_status(200, "Echoed Here")
    answer.headers.add("Set-Cookie", "a=1; Path=/")
    answer.headers.add("Set-Cookie", "b=2; Path=/")
    answer.headers["X-Upstream"] = "drifty"
    return answer


async def moved(request):
    c = ctx(request)
    return web.Response(status=302, headers={"Location": f"{c.base_url}/things/t0"})


PLUGIN = Plugin(
    name="drifty",
    apis=(
        ApiPlugin(
            name="drifty",
            spec=Path(__file__).parent / "drifty.yaml",
            errors=ErrorShape(render=render),
            operations={
                "listThings": list_things,
                "createThing": create_thing,
                "getThing": get_thing,
                "getMissing": get_missing,
                "getWrongType": get_wrong_type,
                "getTeapot": get_teapot,
                "getZipped": get_zipped,
                "echo": echo,
                "getMoved": moved,
            },
        ),
    ),
    seeder=seed,
)
"""

OFF_CONTRACT = {("getMissing", "schema"), ("getWrongType", "schema"), ("getTeapot", "status")}
SMALL = {"barium": {"instances": 12}, "kianda": {"instances": 12}, "altinn-storage": {"instances": 12}}


def upstream_settings(**overrides: Any) -> Any:
    """The "real service": not strict (it must be free to break its spec), a small world, drifty mounted."""
    return settings(**{"platforms": (MODULE,), "strict": False, "apis": SMALL, **overrides})


async def start_upstream(**overrides: Any) -> TestServer:
    server = TestServer(create_app(upstream_settings(**overrides)), host="127.0.0.1", port=0)
    await server.start_server()
    return server


def base_of(server: TestServer, mount: str) -> str:
    return str(server.make_url(mount))


def proxy_settings(upstream: TestServer, apis: dict[str, str], **overrides: Any) -> Any:
    """A server in front of `upstream` proxying `apis` (name -> mount base on the upstream)."""
    proxied = {name: base_of(upstream, mount) for name, mount in apis.items()}
    return settings(**{"platforms": (MODULE,), "strict": False, "apis": SMALL, "proxy": proxied, **overrides})
