"""create_app(): the platforms' plugins mounted on one aiohttp application; wiring only."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from aiohttp import web

from instancemock import admin, registry
from instancemock.core import proxy
from instancemock.core.context import APIS, STATE, origin_of
from instancemock.core.encoding import json_response
from instancemock.core.faults import FAULT_RULES, FaultRules, SharedFaultRules
from instancemock.core.journal import JOURNAL, Journal, SharedJournal
from instancemock.core.pipeline import API_PLUGINS, MIDDLEWARES, ROUTER, dispatch
from instancemock.core.plugin import INSTANCE_VIEWS, ApiPlugin, Plugin
from instancemock.core.routing import CachingRouter
from instancemock.core.spec import ADMIN, Api, load_api
from instancemock.core.stubs import STUBS, SharedStubs, Stubs
from instancemock.settings import Settings, check_apis, with_options
from instancemock.world import simulate, snapshot
from instancemock.world.clock import Clock
from instancemock.world.persistence import InMemory, Persistence
from instancemock.world.redis_store import RedisPersistence
from instancemock.world.simulate import Simulation
from instancemock.world.sqlite_store import SqlitePersistence
from instancemock.world.state import DEFAULT_SANDBOX, Progress, State

log = logging.getLogger("instancemock")

PLATFORMS = web.AppKey("platforms", list[Plugin])
FAULTS = "faults"  # the shared store's name for the fault rules (State.shared)
STUB_BOARD = "stubs"  # and for the stubs


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def mounted(platforms: Sequence[Plugin], settings: Settings) -> dict[str, tuple[ApiPlugin, frozenset[str] | None]]:
    """The APIs to serve: every enabled API, and of a disabled one only what its siblings need (`only`)."""
    chosen: dict[str, tuple[ApiPlugin, frozenset[str] | None]] = {}
    for platform in platforms:
        enabled = [api for api in platform.apis if settings.api_enabled(api.name)]
        for api in platform.apis:
            only = None
            if api not in enabled:
                if not enabled or not api.shared_operations:
                    continue
                only = api.shared_operations
            chosen[api.name] = (api, only)
    return chosen


def mount(platforms: Sequence[Plugin], settings: Settings) -> tuple[dict[str, Api], dict[str, ApiPlugin]]:
    """The mounted APIs with their specs loaded, and their plugins, by API name."""
    owner = {api.name: platform.name for platform in platforms for api in platform.apis}
    apis: dict[str, Api] = {}
    plugins: dict[str, ApiPlugin] = {}
    for name, (api, only) in mounted(platforms, settings).items():
        apis[name] = load_api(name, owner[name], api.spec, api.errors, only)
        plugins[name] = api
    return apis, plugins


def create_app(
    settings: Settings | None = None,
    platforms: Sequence[Plugin] | None = None,
    progress: Progress | None = None,
    *,
    background: bool = False,
) -> web.Application:
    """The server; `platforms` defaults to every discovered platform (registry.py); `progress`
    hears of each platform's seeding (the CLI shows it).

    `background`: seed the default sandbox in forked processes while the specs load and while the
    server already listens (`/__admin/health` answers 503 "seeding" meanwhile, and each request
    waits for its own world); the CLI serves this way. Without it the worlds are seeded before
    this returns, which tests and in-process use rely on.
    """
    settings = settings or Settings()
    found = list(platforms) if platforms is not None else registry.discover(settings.platforms)
    known = registry.declared(found)
    settings = replace(with_options(settings, {}, known.options), apis=check_apis(settings.apis, known.apis))
    every = [*found, admin.plugin(found)]
    names = mounted(every, settings)
    serving = [p for p in found if any(api.name in names for api in p.apis)]
    settings = _with_admin_token(settings)
    _check_limits(settings)
    persistence = _persistence(settings)
    state = State(
        settings=settings,
        clock=Clock(settings.now),
        platform_apis={p.name: tuple(a.name for a in p.apis if a.name in names) for p in serving},
        seeders={p.name: p.seeder for p in serving if p.seeder is not None},
        indexes={p.name: p.indexes for p in serving if p.indexes},
        progress=progress,
        persistence=persistence,
    )
    try:
        app = _application(settings, state, every, serving, background)
    except BaseException:
        if isinstance(persistence, SqlitePersistence):
            persistence.close_now()
        raise
    return app


def _check_limits(settings: Settings) -> None:
    """A limit of 0 or less would refuse every request (or none): configuration fails closed."""
    for name in ("max_body_bytes", "max_state_bytes", "body_timeout", "max_connections"):
        if getattr(settings, name) < 1:
            raise ValueError(f"{name} must be at least 1, not {getattr(settings, name)}")


def _persistence(settings: Settings) -> Persistence:
    """Redis for `--store redis://...`; a SQLite database for `--state-file x.db` (any name but
    *.json); memory otherwise. A state file beside a shared store would be two truths: refused."""
    if settings.store is not None:
        if settings.state_file is not None:
            raise ValueError("store and state_file exclude each other: with a shared store, Redis keeps the state")
        return RedisPersistence(settings.store, settings.sandboxes, DEFAULT_SANDBOX)
    state_file = settings.state_file
    if state_file is None or snapshot.is_json_file(state_file):
        return InMemory()
    return SqlitePersistence(state_file)


def _application(
    settings: Settings, state: State, every: list[Plugin], serving: list[Plugin], background: bool
) -> web.Application:
    # A corrupt state file, or a bad fixture, stops start-up here with its path and reason.
    if settings.state_file is not None and snapshot.is_json_file(settings.state_file):
        restored = snapshot.load_file(state, settings.state_file)
    else:
        restored = state.restore()  # the worlds a SQLite state file kept, if any
    if background and not restored:
        for platform in serving:  # a fixture that breaks its schema stops start-up before the port opens
            if platform.fixture is not None:
                platform.fixture.load(settings.fixtures)
        state.seed_in_background(DEFAULT_SANDBOX)  # the children seed while the specs load below
    for platform in serving:  # after the fork above: a thread is not the child's to inherit
        if platform.warm_up is not None:
            platform.warm_up(state)
    apis, api_plugins = mount(every, settings)

    app = web.Application(middlewares=MIDDLEWARES, client_max_size=settings.max_body_bytes)
    app[STATE] = state
    app[APIS] = apis
    app[ROUTER] = CachingRouter(list(apis.values()))
    app[API_PLUGINS] = api_plugins
    app[PLATFORMS] = serving
    app[INSTANCE_VIEWS] = {p.name: p.instances for p in serving if p.instances is not None}
    shared = state.persistence if isinstance(state.persistence, RedisPersistence) else None
    app[JOURNAL] = SharedJournal(shared, settings.journal_size) if shared else Journal(settings.journal_size)
    names = [name for name in apis if name != ADMIN]
    if shared is not None:
        app[FAULT_RULES] = SharedFaultRules(settings.seed, state.shared(FAULTS), names)
    else:
        app[FAULT_RULES] = FaultRules(settings.seed, names)
    app[FAULT_RULES].add_all(settings.faults)  # a bad rule stops start-up, naming its index
    rules = app[FAULT_RULES]
    if isinstance(rules, SharedFaultRules):  # the two move one version on, read once per request
        app[STUBS] = SharedStubs(apis, state.shared(STUB_BOARD), rules, settings.allow_off_contract_stubs)
    else:
        app[STUBS] = Stubs(apis, settings.allow_off_contract_stubs)
    app[STUBS].add_all(settings.stubs)  # so does a stub the spec does not allow
    proxy.install(app, settings, apis, api_plugins)  # a proxied API the server does not mount stops start-up
    app.router.add_get("/", index, name="index")
    app.router.add_route("*", "/{tail:.*}", dispatch, name="dispatch")

    if (restored or not background) and not state.persistence.shared:  # restored worlds are in at once
        state.seed_all(DEFAULT_SANDBOX)  # seed what is missing now: a bad fixture stops start-up, not the first request

    async def start(app: web.Application) -> None:
        if isinstance(state.persistence, RedisPersistence):
            await _shared_worlds_ready(state, state.persistence, background)
        rules = app[FAULT_RULES]
        if isinstance(rules, SharedFaultRules):
            await rules.share()
        stubs = app[STUBS]
        if isinstance(stubs, SharedStubs):
            await stubs.share()
        for platform in serving:
            if platform.startup is not None:
                await platform.startup(state)

    app.on_startup.append(start)
    if background and not restored:
        app.cleanup_ctx.append(_absorbing(state))
    simulation = simulate.install(state, {p.name: p.simulate for p in serving if p.simulate is not None})
    app.cleanup_ctx.append(_simulating(simulation))
    if settings.state_file is not None and snapshot.is_json_file(settings.state_file):
        app.cleanup_ctx.append(_keep_state_file(state, settings.state_file, settings.state_save_seconds))
    app.on_cleanup.append(_close_persistence(state))
    return app


async def _shared_worlds_ready(state: State, shared: RedisPersistence, background: bool) -> None:
    """Before listening: Redis answers and, unless they are seeded in the background (`absorb`
    settles them while the server answers), the default sandbox's worlds are in it, seeded by the
    first replica to start, the others waiting for its lock: a bad fixture still stops start-up."""
    await shared.check()
    if background:
        return
    for platform in state.platforms():
        await state.settle(DEFAULT_SANDBOX, platform)


def _close_persistence(state: State) -> Callable[[web.Application], Awaitable[None]]:
    """On shutdown: every queued write committed, the database closed."""

    async def close(app: web.Application) -> None:
        await state.persistence.close()

    return close


def _absorbing(state: State) -> Callable[[web.Application], AsyncIterator[None]]:
    """For `app.cleanup_ctx`: bring the background worlds in while the server answers."""

    async def run(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(state.absorb(), name="instancemock-seed")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return run


def _simulating(simulation: Simulation) -> Callable[[web.Application], AsyncIterator[None]]:
    """For `app.cleanup_ctx`: the simulation's background task (started with `--simulate`, or when
    the speed is set while serving) never outlives the server."""

    async def run(app: web.Application) -> AsyncIterator[None]:
        simulation.start()
        yield
        await simulation.stop()

    return run


def _keep_state_file(state: State, path: Path, every: int) -> Callable[[web.Application], AsyncIterator[None]]:
    """Save every `every` seconds while serving, and once more on a clean shutdown."""

    async def keep(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(snapshot.save_periodically(state, path, every)) if every > 0 else None
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        try:
            await snapshot.save_file_async(state, path)
        except Exception:
            log.exception("could not save the state file %s on shutdown", path)

    return keep


MIN_ADMIN_TOKEN = 16  # characters; a token is guessed over the network, so it must not be short


def _with_admin_token(settings: Settings) -> Settings:
    """The admin token as given (refused if empty or short), or a generated one off loopback.

    An empty `--admin-token ''` (or `INSTANCEMOCK_ADMIN_TOKEN=`) used to leave /__admin open on
    every interface; configuration fails closed, so a token too short to be a secret stops start-up.
    """
    if settings.admin_token is not None:
        if len(settings.admin_token.strip()) < MIN_ADMIN_TOKEN:
            raise ValueError(
                f"the admin token must be at least {MIN_ADMIN_TOKEN} characters "
                "(leave it unset to have one generated when listening beyond loopback)"
            )
        return settings
    if is_loopback(settings.host):
        return settings
    token = secrets.token_urlsafe(24)
    log.warning("listening beyond loopback: /__admin needs 'Authorization: Bearer %s'", token)
    print(f"instancemock: admin token (for /__admin): {token}", flush=True)
    return replace(settings, admin_token=token)


async def index(request: web.Request) -> web.Response:
    """GET /: what is mounted where, and how to log in to each API."""
    state = request.app[STATE]
    apis = request.app[APIS]
    origin = origin_of(request)
    entries: list[dict[str, Any]] = []
    for platform in request.app[PLATFORMS]:
        for plugin in platform.apis:
            api = apis.get(plugin.name)
            if api is None or not state.settings.api_enabled(plugin.name):
                continue
            credentials = plugin.credentials(state.settings, origin) if plugin.credentials else {}
            entries.append(
                {
                    "name": api.name,
                    "title": api.title,
                    "base_url": origin + api.bases[0],
                    "spec_url": f"{origin}/__admin/specs/{api.name}",
                    "credentials": credentials,
                }
            )
    return json_response({"apis": entries, "admin": f"{origin}/__admin", "seed": state.settings.seed})
