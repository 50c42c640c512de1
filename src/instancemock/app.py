"""create_app(): mounts, /__admin and GET /; wiring only."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import secrets
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from instancemock import admin
from instancemock.core.context import STATE, origin_of
from instancemock.core.faults import FAULT_RULES, FaultRules
from instancemock.core.journal import JOURNAL, Journal
from instancemock.core.pipeline import MIDDLEWARES, PLUGINS, ROUTER, dispatch
from instancemock.core.plugin import Plugin, plugin_for
from instancemock.core.routing import Router
from instancemock.core.spec import API_NAMES, Api, load_api
from instancemock.settings import Settings
from instancemock.world import simulate
from instancemock.world import snapshot as state_io
from instancemock.world.clock import Clock
from instancemock.world.state import DEFAULT_SANDBOX, State

log = logging.getLogger("instancemock")


class AccessLogger(AbstractAccessLogger):
    """One line per request: method, path, status, milliseconds."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info("%s %s %d %.1fms", request.method, request.path_qs, response.status, time * 1000)


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def build_state(settings: Settings, apis: dict[str, Api], plugins: dict[str, Plugin]) -> State:
    seeders = {}
    for plugin in plugins.values():
        seeders.update(plugin.seeders)
    return State(settings=settings, clock=Clock(settings.now), apis=apis, seeders=seeders)


def create_app(settings: Settings | None = None) -> web.Application:
    settings = settings or Settings()
    names = [name for name in API_NAMES if settings.api_enabled(name)] + ["admin"]
    apis = {name: load_api(name) for name in names}
    plugins = {name: plugin_for(name) for name in names if name != "admin"} | {"admin": admin.PLUGIN}
    if settings.admin_token is None and not is_loopback(settings.host):
        settings = _with_admin_token(settings)
    state = build_state(settings, apis, plugins)

    app = web.Application(middlewares=MIDDLEWARES, client_max_size=settings.max_body_bytes)
    app[STATE] = state
    app[ROUTER] = Router(list(apis.values()))
    app[PLUGINS] = plugins
    app[JOURNAL] = Journal(settings.journal_size)
    app[FAULT_RULES] = FaultRules(settings.seed)
    app[FAULT_RULES].add_all(settings.faults)  # a bad rule stops start-up, naming its index
    app.router.add_get("/", index, name="index")
    app.router.add_route("*", "/{tail:.*}", dispatch, name="dispatch")

    # A corrupt state file, or a bad fixture while seeding, stops start-up here with its path and reason.
    loaded = settings.state_file is not None and state_io.load_file(state, settings.state_file)
    if not loaded:
        state.seed_all(DEFAULT_SANDBOX)  # seed now: a bad fixture stops start-up, not the first request

    async def start(app: web.Application) -> None:
        for plugin in plugins.values():
            if plugin.startup is not None:
                await plugin.startup(state)

    app.on_startup.append(start)
    advancers = {api.dataset: p.simulate for name, p in plugins.items() if p.simulate and (api := apis.get(name))}
    simulation = simulate.install(state, advancers)
    if settings.simulate > 0:
        app.cleanup_ctx.append(simulate.running(simulation))
    if settings.state_file is not None:
        app.cleanup_ctx.append(_keep_state_file(state, settings.state_file, settings.state_save_seconds))
    return app


def _keep_state_file(state: State, path: Path, every: int) -> Callable[[web.Application], AsyncIterator[None]]:
    """Save every `every` seconds while serving, and once more on a clean shutdown."""

    async def keep(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(state_io.save_periodically(state, path, every)) if every > 0 else None
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await state_io.save_file_async(state, path)

    return keep


def _with_admin_token(settings: Settings) -> Settings:
    from dataclasses import replace

    token = secrets.token_urlsafe(24)
    log.warning("listening beyond loopback: /__admin needs 'Authorization: Bearer %s'", token)
    print(f"instancemock: admin token (for /__admin): {token}", flush=True)
    return replace(settings, admin_token=token)


async def index(request: web.Request) -> web.Response:
    """GET /: what is mounted where, and how to log in to each API."""
    state = request.app[STATE]
    plugins = request.app[PLUGINS]
    origin = origin_of(request)
    entries: list[dict[str, Any]] = []
    for name, api in state.apis.items():
        if name == "admin":
            continue
        plugin = plugins.get(name)
        credentials = plugin.credentials(state.settings, origin) if plugin and plugin.credentials else {}
        entries.append(
            {
                "name": name,
                "title": api.title,
                "base_url": origin + api.bases[0],
                "spec_url": f"{origin}/__admin/specs/{name}",
                "credentials": credentials,
            }
        )
    return web.json_response({"apis": entries, "admin": f"{origin}/__admin", "seed": state.settings.seed})
