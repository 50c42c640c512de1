"""GET/PUT /__admin/state: the whole state as one document, for snapshots and CI fixtures.

Both ends may be large (six sandboxes at default data make 12.7 MB), so neither runs on the event
loop beyond dict copies: the export is encoded and sent in pieces, and the import is read in chunks under
its own limit (`max_state_bytes`, the operation is `x-streamed-body` in openapi/admin.yaml), then
parsed, checked and turned into stores in a thread (world/snapshot.py).
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from instancemock.core.bodies import stream_body
from instancemock.core.context import ctx
from instancemock.core.encoding import json_response
from instancemock.core.errors import PLAIN, Refusal
from instancemock.world import snapshot
from instancemock.world.snapshot import StateError

JSON = "application/json"


async def get_state(request: web.Request) -> web.StreamResponse:
    """Streamed as it is encoded, a piece at a time in a thread: a 12 MB export is never one string.

    [I] A streamed answer is not held to the spec by `--strict` (core/pipeline.py checks complete
    bodies only); tests/world/test_state.py checks this one against it.
    """
    document = await snapshot.export_state(ctx(request).state)
    pieces = snapshot.encoded(document)
    response = web.StreamResponse(headers={"Content-Type": f"{JSON}; charset=utf-8"})
    await response.prepare(request)
    while (piece := await asyncio.to_thread(next, pieces, None)) is not None:
        await response.write(piece)
    await response.write_eof()
    return response


async def put_state(request: web.Request) -> web.Response:
    context = ctx(request)
    settings = context.state.settings
    media_type = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if media_type != JSON:
        raise Refusal(415, f"content type {media_type or '(none)'!r} is not supported; use {JSON}")
    raw = await stream_body(request, PLAIN, settings.max_state_bytes, settings.body_timeout)
    try:
        document = await asyncio.to_thread(snapshot.parse, raw)
        await snapshot.import_state(context.state, document)
    except StateError as error:
        raise Refusal(400, f"The state document was not loaded, nothing changed: {error}") from error
    return json_response({"loaded": True, "sandboxes": context.state.sandboxes()})


OPERATIONS = {"getState": get_state, "putState": put_state}
