"""Answers from spec examples, for operations that have no stateful handler (yet).

Never silent: such answers carry `X-Mock-Source: example`, so a client can tell canned data from
the stateful world.
"""

from __future__ import annotations

import io
from typing import Any

from aiohttp import web

from instancemock.core.context import Ctx
from instancemock.core.encoding import dumps, json_response
from instancemock.core.spec import resolve_refs


def _example(spec: dict[str, Any], media: dict[str, Any]) -> tuple[bool, Any]:
    if "example" in media:
        return True, media["example"]
    for example in media.get("examples", {}).values():
        example = resolve_refs(spec, example)
        if "value" in example:
            return True, example["value"]
    schema = resolve_refs(spec, media.get("schema", {}))
    if isinstance(schema, dict) and "examples" in schema and schema["examples"]:
        return True, schema["examples"][0]
    if isinstance(schema, dict) and "example" in schema:
        return True, schema["example"]
    return False, None


def _png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (1, 1), "white").save(buffer, format="PNG")
    return buffer.getvalue()


def answer_from_examples(context: Ctx) -> web.Response:
    spec = context.api.spec
    responses = context.op.spec.get("responses", {})
    success = sorted(code for code in responses if str(code).startswith("2"))
    if not success:
        return json_response({"error": f"{context.op.id} declares no success response"}, status=501)
    code = success[0]
    response = resolve_refs(spec, responses[code])
    headers = {"X-Mock-Source": "example"}
    for name, header in response.get("headers", {}).items():
        header = resolve_refs(spec, header)
        found, value = _example(spec, header)
        if found:
            headers[name] = str(value)
    status = int(code)
    for media_type, media in response.get("content", {}).items():
        if media_type.startswith("image/"):
            return web.Response(body=_png(), status=status, content_type=media_type, headers=headers)
        found, value = _example(spec, media)
        if not found:
            continue
        if media_type.startswith("text/"):
            return web.Response(text=str(value), status=status, content_type=media_type, headers=headers)
        body = dumps(value)
        return web.Response(body=body, status=status, content_type=media_type, charset="utf-8", headers=headers)
    return web.Response(status=status, headers=headers)
