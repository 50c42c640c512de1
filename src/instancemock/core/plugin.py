"""Per-API plugins: a module per API (`kianda.py`, `barium.py`, `altinn_storage.py`, ...).

Each module may define `PLUGIN = Plugin(...)`. Modules are found by name, so adding an API's
handlers never means editing a shared table.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from instancemock.core.context import Ctx, Handler
from instancemock.settings import Settings
from instancemock.world.simulate import Advancer
from instancemock.world.state import Seeder, State

Authenticator = Callable[[web.Request, Ctx], Awaitable[web.StreamResponse | None]]
Credentials = Callable[[Settings, str], dict[str, Any]]  # (settings, server origin) -> demo login


@dataclass(frozen=True, slots=True)
class Plugin:
    operations: Mapping[str, Handler] = field(default_factory=dict)
    # Checks the caller, sets ctx.principal; returns an error response to stop the request.
    authenticate: Authenticator | None = None
    credentials: Credentials | None = None
    seeders: Mapping[str, Seeder] = field(default_factory=dict)  # dataset -> seeder
    startup: Callable[[State], Awaitable[None]] | None = None
    simulate: Advancer | None = None  # one simulated user's action, for --simulate (simulate.py)


def plugin_for(api_name: str) -> Plugin:
    module_name = {
        "kianda": "instancemock.platforms.kianda",
        "barium": "instancemock.platforms.barium",
        "altinn-storage": "instancemock.platforms.altinn.storage",
        "altinn-app": "instancemock.platforms.altinn.app",
    }.get(api_name, "")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name != module_name:
            raise
        return Plugin()
    return getattr(module, "PLUGIN", Plugin())
