"""Reading a request body within bounds: at most so many bytes, within so many seconds.

A client that declares `Content-Length: 100` and sends one byte used to hold its connection (and a
file descriptor) for ever: nothing bounded the wait for the rest of a body. Every body is now read
under `body_timeout` (settings.py); past it the answer is a 408 in the API's shape and the
connection is closed, since the rest of the body may still arrive on it.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from instancemock.core import errors
from instancemock.core.errors import ErrorShape, Refusal


def _closing(shape: ErrorShape | None, status: int, message: str) -> Refusal:
    """A refusal whose answer closes the connection: the unread rest of the body must not be parsed as a request."""
    response = errors.error(shape, status, message)
    response.force_close()
    return Refusal.answer(response)


def too_slow(shape: ErrorShape | None, seconds: float) -> Refusal:
    return _closing(shape, 408, f"The request body was not received within {seconds:g} seconds.")


def too_large(shape: ErrorShape | None, limit: int) -> Refusal:
    return _closing(shape, 413, f"The request body is larger than {limit} bytes.")


async def read_body(request: web.Request, shape: ErrorShape | None, seconds: float) -> bytes:
    """The body up to the app's `client_max_size` (else aiohttp's 413), within `seconds` (else a 408).

    A body that has arrived whole (most are: they come with their headers) is read without a
    timer, which would be set and cancelled for nothing.
    """
    if request.content.is_eof():
        return await request.read()
    try:
        async with asyncio.timeout(seconds):
            return await request.read()
    except TimeoutError:
        raise too_slow(shape, seconds) from None


async def stream_body(request: web.Request, shape: ErrorShape | None, limit: int, seconds: float) -> bytes:
    """The body of an operation with its own, larger limit (`x-streamed-body`), read chunk by chunk."""
    if request.content_length is not None and request.content_length > limit:
        raise too_large(shape, limit)
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(seconds):
            async for chunk in request.content.iter_any():
                size += len(chunk)
                if size > limit:
                    raise too_large(shape, limit)
                chunks.append(chunk)
    except TimeoutError:
        raise too_slow(shape, seconds) from None
    return b"".join(chunks)
