"""JSON as the platforms write it: compact, UTF-8, encoded once with a fast encoder.

ASP.NET (Json.NET and System.Text.Json) writes JSON without the spaces after `,` and `:` that
Python's `json.dumps` puts in by default; every answer of every platform goes through `dumps`, so
bodies are byte-for-byte compact and encoded by orjson, which is several times faster than the
standard library on the documents the mock sends.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import orjson
from aiohttp import web

JSON = "application/json"
# What aiohttp composes from `content_type=JSON, charset="utf-8"` (in half the time when given whole);
# aiohttp copies it into each response's own headers.


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON; keys that are not strings (never in our documents) are turned into strings.

    Text orjson cannot write (a lone surrogate: refused at the door, world/text.py, but a server
    never answers 500 for what it holds) is written with the standard library's escapes instead.
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    except orjson.JSONEncodeError:
        return json.dumps(value, separators=(",", ":")).encode()


def json_response(
    data: Any,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    content_type: str = JSON,
) -> web.Response:
    """aiohttp's `web.json_response`, with the platforms' compact encoding and an explicit charset."""
    return encoded_response(dumps(data), status=status, headers=headers, content_type=content_type)


def encoded_response(
    body: bytes,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    content_type: str = JSON,
) -> web.Response:
    """`json_response` of JSON already encoded by `dumps` (or assembled from parts it encoded).

    Without headers of its own, the `Content-Type` is given as a header: aiohttp's `content_type`
    and `charset` arguments parse and rebuild the header twice, half the cost of making the
    response (the same header either way).
    """
    if headers is None:
        return web.Response(body=body, status=status, headers={"Content-Type": _typed(content_type)})
    return web.Response(body=body, status=status, headers=headers, content_type=content_type, charset="utf-8")


@lru_cache(maxsize=64)
def _typed(content_type: str) -> str:
    return f"{content_type}; charset=utf-8"
