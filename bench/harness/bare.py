"""A bare aiohttp app that answers GET <path> with fixed bytes: the ceiling of our stack.

    python bench/harness/bare.py PORT PATH BODY_FILE CONTENT_TYPE

It sends the very bytes and Content-Type that instancemock sent for the same request, with no
middleware, routing table of an API, validation or access log, on the same event loop that
instancemock would use (uvloop when it is installed, as issue 13 plans for the server).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from aiohttp import web


def app(path: str, body: bytes, content_type: str) -> web.Application:
    async def answer(_request: web.Request) -> web.Response:
        return web.Response(body=body, headers={"Content-Type": content_type})

    application = web.Application()
    application.router.add_get(path, answer)
    return application


def main(argv: list[str]) -> None:
    port, path, body_file, content_type = argv
    try:
        import uvloop  # type: ignore[import-not-found,unused-ignore]

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    application = app(path, Path(body_file).read_bytes(), content_type)
    web.run_app(application, host="127.0.0.1", port=int(port), access_log=None, print=None)


if __name__ == "__main__":
    main(sys.argv[1:])
