"""/__admin/stubs: list, add and remove stubs (matching, the contract check and answering: core/stubs.py).

Every call goes through the async methods, so with a shared store it acts on every replica."""

from __future__ import annotations

import json

from aiohttp import web

from instancemock.core.context import Handler, ctx
from instancemock.core.encoding import json_response
from instancemock.core.errors import Refusal
from instancemock.core.stubs import STUBS, DuplicateStub, OffContract, StubError


async def list_stubs(request: web.Request) -> web.Response:
    """Newest first: the order in which they are tried."""
    stubs = await request.app[STUBS].current()
    return json_response({"stubs": [stub.as_json() for stub in stubs]})


async def add_stub(request: web.Request) -> web.Response:
    try:
        stub = await request.app[STUBS].added(json.loads(ctx(request).args.raw_body))  # the JSON as sent
    except OffContract as error:
        raise Refusal(422, str(error), error.violations) from error
    except StubError as error:
        status = 409 if isinstance(error, DuplicateStub) else 400
        raise Refusal(status, f"The stub was not added: {error}") from error
    return json_response(stub.as_json(), status=201)


async def clear_stubs(request: web.Request) -> web.Response:
    sandbox = ctx(request).args.query.get("sandbox")
    return json_response({"deleted": await request.app[STUBS].cleared(sandbox)})


async def delete_stub(request: web.Request) -> web.Response:
    stub_id = ctx(request).args.path["id"]
    if not await request.app[STUBS].removed(stub_id):
        raise Refusal(404, f"No stub with id {stub_id!r}.")
    return json_response({"deleted": 1})


OPERATIONS: dict[str, Handler] = {
    "listStubs": list_stubs,
    "addStub": add_stub,
    "clearStubs": clear_stubs,
    "deleteStub": delete_stub,
}
