"""A toy platform whose seeding ends when a test says so: for the tests of background seeding.

Its seeder blocks on a pipe (`Gate`) until the test writes a byte to it, so a test decides when
seeding ends without sleeping. The seeder runs in a forked process, which inherits the pipe; a
real `instancemock serve --platform slow_platform` is given the pipe's read end with `pass_fds`
and its number in `SLOW_PLATFORM_GATE_FD` (tests/world/test_background_seeding.py).
"""

from __future__ import annotations

import os
from typing import Any

from aiohttp import web

from instancemock.core.context import ctx
from instancemock.core.encoding import json_response
from instancemock.core.errors import ErrorShape
from instancemock.core.plugin import ApiPlugin, Plugin
from instancemock.core.violations import Violation
from instancemock.settings import instances
from instancemock.world.state import SeedContext

GATE_FD = "SLOW_PLATFORM_GATE_FD"
COLLECTION = "instances"  # what every platform calls its instances (the banner counts them)

SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Slow", "version": "1"},
    "servers": [{"url": "/slow"}],
    "paths": {
        "/things": {
            "get": {
                "operationId": "listThings",
                "responses": {
                    "200": {
                        "description": "the things",
                        "content": {"application/json": {"schema": {"type": "object", "required": ["things"]}}},
                    },
                    "500": {"description": "broken", "content": {"application/json": {"schema": {"type": "object"}}}},
                },
            }
        }
    },
}


def render(status: int, message: str, violations: tuple[Violation, ...]) -> web.Response:
    return json_response({"slowError": message}, status=status)


async def list_things(request: web.Request) -> web.Response:
    c = ctx(request)
    return json_response({"things": sorted(s.doc["id"] for s in await c.store.list(COLLECTION))})


class Gate:
    """A pipe the seeder waits on: each byte written lets one seeding (in any process) finish."""

    def __init__(self) -> None:
        self.read_end, self.write_end = os.pipe()

    def wait(self) -> None:
        os.read(self.read_end, 1)

    def open_once(self) -> None:
        os.write(self.write_end, b"x")

    def close(self) -> None:
        os.close(self.read_end)
        os.close(self.write_end)


class _InheritedGate(Gate):
    """The read end of a test's gate, passed to a server process."""

    def __init__(self, read_end: int) -> None:
        self.read_end = read_end


def slow_platform(gate: Gate | None, fail: bool = False) -> Plugin:
    def seed(context: SeedContext) -> dict[str, dict[str, dict[str, Any]]]:
        if gate is not None:
            gate.wait()
        if fail:
            raise ValueError("slow.yaml: things/0: not a thing")
        rng = context.random("things")
        return {COLLECTION: {f"t{i}": {"id": f"t{i}-{rng.randint(1, 9)}"} for i in range(3)}}

    api = ApiPlugin("slow", SPEC, ErrorShape(render), {"listThings": list_things}, settings={"instances": instances(3)})
    return Plugin(name="slow", apis=(api,), seeder=seed)


# What `--platform slow_platform` loads: gated by the pipe named in the environment, if any.
PLUGIN = slow_platform(_InheritedGate(int(os.environ[GATE_FD])) if GATE_FD in os.environ else None)
