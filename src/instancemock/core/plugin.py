"""The plugin contract: how a platform plugs into the server, whole.

A platform (a vendor: Kianda, Barium, Altinn) is one package that exposes `PLUGIN = Plugin(...)`.
The plugin declares everything the core and the admin API need to know about it, so adding a
platform edits no shared file:

- its APIs (`ApiPlugin`): each one spec, its handlers by operationId, its error shape, how it
  authenticates callers and what demo login `GET /` shows;
- its world: the seeder that builds it, the simulated users that move it (`--simulate`), and
  the fixture file it is built from;
- settings only it reads (`kianda_token_lifetime`), and each API's keys under `apis:`
  (`instances`), declared with their defaults, parsers and schemas.

The world belongs to the platform, not to one of its APIs: both Altinn APIs read and write one
world, so with one of them disabled the other still has instances, tokens and simulation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from instancemock.core.context import Ctx, Handler
from instancemock.core.errors import ErrorShape
from instancemock.settings import PlatformSetting, Settings
from instancemock.world.fixtures import FixtureFile
from instancemock.world.recording import Recorder
from instancemock.world.simulate import Advancer
from instancemock.world.state import Seeder, State
from instancemock.world.store import Index

Authenticator = Callable[[web.Request, Ctx], Awaitable[web.StreamResponse | None]]
InstanceSummary = Callable[[dict[str, Any]], dict[str, Any]]  # document -> {"id", "title", "status", "position"}
Credentials = Callable[[Settings, str], dict[str, Any]]  # (settings, server origin) -> demo login
# (request, answer) -> the answer in the representation the request asked for (Barium's `format=xml`)
Presenter = Callable[[web.Request, web.StreamResponse], web.StreamResponse]


@dataclass(frozen=True, slots=True)
class ApiPlugin:
    """One API of a platform: one spec, mounted under the bases its `servers` list."""

    name: str  # in URLs (/__admin/specs/{name}), config (`apis: {name: ...}`), fault rules, the journal
    spec: Path | dict[str, Any]  # its OpenAPI 3.1 document (a file, or one built at start-up)
    errors: ErrorShape
    operations: Mapping[str, Handler] = field(default_factory=dict)
    # Checks the caller, sets ctx.principal; returns an error response to stop the request.
    authenticate: Authenticator | None = None
    credentials: Credentials | None = None
    # Rewrites every answer of a routed request, errors included, before `--strict` checks it:
    # for platforms whose clients choose the answer's representation (Barium's global query
    # strings `format`, `jsonp`, `jsontext`).
    present: Presenter | None = None
    # Operations that stay mounted when this API is disabled, because a sibling API needs them
    # (Altinn's token endpoints are declared by the Storage spec and used by the App API too).
    shared_operations: frozenset[str] = frozenset()
    # Keys it takes under `apis: {name: {...}}` in the config file besides `enabled` (`instances`);
    # any other key there stops start-up.
    settings: Mapping[str, PlatformSetting] = field(default_factory=dict)
    # Proxy mode's --record: the changes to this platform's world an answered exchange makes
    # (world/recording.py). Without one, the API's traffic is proxied and checked but not recorded.
    recorder: Recorder | None = None


@dataclass(frozen=True, slots=True)
class InstanceView:
    """How the dashboard (/__admin/ui) lists a platform's instances: the collection that holds
    them, and per document its id, a title, its status and where its process stands, in words."""

    summarize: InstanceSummary
    collection: str = "instances"


@dataclass(frozen=True, slots=True)
class Plugin:
    """A platform: its APIs and its world (`name` is also the world's name in stores and state)."""

    name: str
    apis: tuple[ApiPlugin, ...]
    position: int = 100  # where `GET /` and the admin API list it, lowest first (then by name)
    seeder: Seeder | None = None
    simulate: Advancer | None = None  # one simulated user's action, for --simulate (world/simulate.py)
    startup: Callable[[State], Awaitable[None]] | None = None
    # Work the platform begins as the app is made, on a thread of its own, while the specs load
    # (app.py); its `startup` collects it. Altinn makes its signing key so: 0.1-0.8 s of RSA.
    warm_up: Callable[[State], None] | None = None
    # Indexes (world/store.py) to build with each of its worlds, as (collection, index class):
    # filled while a large world arrives instead of all at once on the first request that asks.
    indexes: tuple[tuple[str, Callable[[], Index]], ...] = ()
    fixture: FixtureFile | None = None
    settings: Mapping[str, PlatformSetting] = field(default_factory=dict)
    # Operations of the admin spec this platform handles (Kianda: /__admin/webhooks).
    admin_operations: Mapping[str, Handler] = field(default_factory=dict)
    instances: InstanceView | None = None  # what the dashboard shows of its world

    def api(self, name: str) -> ApiPlugin:
        return next(api for api in self.apis if api.name == name)


INSTANCE_VIEWS = web.AppKey("instance_views", dict[str, InstanceView])  # by platform name
