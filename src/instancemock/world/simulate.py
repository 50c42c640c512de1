"""Living processes: simulated users who move active instances on by themselves, as real users would.

Off by default. `--simulate FACTOR` (config `simulate`, env `INSTANCEMOCK_SIMULATE`) starts a
background task that lets each API's users act in the default sandbox: Barium tasks get completed,
Kianda instances move to their next form; Altinn joins once its advancer is plugged in. Each API
does this through its own process rules (`Plugin.simulate`, an "advancer"), so timestamps, counts,
new tasks and webhooks follow exactly as they do for a client's request.

Decisions, and why:

- The factor scales how often users act, not how fast the clock runs. At speed 1 each API sees one
  action a minute on average, at 60 one a second (a dashboard changes visibly every few seconds).
  Tokens and tickets keep their real lifetimes, so a client is never logged out by the simulation.
- Per world (sandbox x platform) the actions come as a Poisson process: the gaps between them, and
  every choice (which instance, which user), are drawn from one private
  `random.Random(f"{seed}:simulate:{platform}")`, always from candidates sorted by id. The schedule
  is anchored at the clock's start (`--now`), so a seed and speed give the same actions, on the
  same instances, in the same order, at the same time after start-up, on every run.
- An action is stamped with the server's clock when it is applied, like a client's request; the
  clock runs in real time even with `--now`, so stamps differ by milliseconds between two runs.
- `step()` (and `POST /__admin/simulate/step`) applies the next scheduled actions at once, in
  schedule order: the clock jumps forward to each one's scheduled moment, as if the time had
  passed (a schedule that is behind the clock catches up without moving it). It works with the
  simulation off too (then the actions are spaced as at speed 60), which makes tests and demos
  repeatable without waiting.
- A world that is reset or replaced (`POST /__admin/reset`, `PUT /__admin/state`) starts its
  simulation over: the same sequence of actions again, from that moment.
- The background task moves the default sandbox only; a sandbox is someone's private copy, and
  moves only when `step` names it.
- The speed can be changed while serving (`PUT /__admin/simulate`, the dashboard's toggle): the
  background task starts when the speed first becomes more than 0, and the next action of each
  world is drawn anew from that moment (so a run with a toggle repeats only from the toggle on).
- When no instance of an API can move (all completed), its users skip their turn.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from instancemock.world.clock import iso
from instancemock.world.state import DEFAULT_SANDBOX, State
from instancemock.world.store import Store, VersionConflict

log = logging.getLogger("instancemock.simulate")

ACTIONS_PER_MINUTE = 1.0  # per API, at speed 1
STEP_SPEED = 60.0  # how `step` spaces actions when the simulation is off
MAX_CATCH_UP = 200  # actions per world and tick; beyond that a late schedule restarts from now
RECENT = 100  # actions kept for GET /__admin/simulate
NEVER = timedelta(days=36500)


@dataclass(frozen=True, slots=True)
class Action:
    """What a simulated user did: `kind` names the API operation it stands for."""

    kind: str
    id: str  # the instance acted on
    detail: str  # for people: who did what


@dataclass(slots=True)
class SimulationContext:
    """What an advancer gets: the world to act in, its private random source and the moment."""

    state: State
    sandbox: str
    platform: str
    store: Store
    rng: random.Random
    now: datetime

    def new_id(self) -> str:
        """A GUID from the simulation's own random source, so a repeated run makes the same ids."""
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))


Advancer = Callable[[SimulationContext], Awaitable[Action | None]]  # None: nothing could move


@dataclass(slots=True)
class _World:
    platform: str
    store: Store
    rng: random.Random
    next_at: datetime


class Simulation:
    def __init__(self, state: State, advancers: Mapping[str, Advancer], speed: float) -> None:
        if not math.isfinite(speed) or speed < 0:
            raise ValueError(f"simulate must be a speed factor of 0 (off) or more, not {speed!r}")
        self.state = state
        self.advancers = dict(sorted(advancers.items()))  # platform -> advancer, in a fixed order
        self.speed = speed
        self.recent: deque[dict[str, Any]] = deque(maxlen=RECENT)
        self._worlds: dict[tuple[str, str], _World] = {}
        self._lock = asyncio.Lock()  # a tick and a step never interleave
        self._task: asyncio.Task[None] | None = None
        self.acted = asyncio.Event()  # set by each action, so a waiter need not poll `recent`

    def set_speed(self, speed: float) -> None:
        """A new speed from now on (0: the users stop); the background task starts if it must."""
        if not math.isfinite(speed) or speed < 0:
            raise ValueError(f"the speed must be a factor of 0 (off) or more, not {speed!r}")
        self.speed = speed
        now = self.state.clock.now()
        for world in self._worlds.values():
            world.next_at = now + self._gap(world.rng)
        if speed > 0:
            self.start()

    def start(self) -> None:
        """Run the background task (in the running event loop) unless it runs already or the speed is 0."""
        if self.speed > 0 and (self._task is None or self._task.done()):
            self._task = asyncio.get_running_loop().create_task(self.run(), name="instancemock-simulate")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise  # the caller was cancelled too: not ours to swallow
            self._task = None

    @property
    def tick_seconds(self) -> float:
        """Once a second, or as often as an action is due at high speeds (so they don't come in bursts)."""
        return min(1.0, max(0.05, 60.0 / (ACTIONS_PER_MINUTE * self.speed))) if self.speed else 1.0

    def platforms(self) -> list[str]:
        enabled = set(self.state.platforms())
        return [platform for platform in self.advancers if platform in enabled]

    def _gap(self, rng: random.Random, step: bool = False) -> timedelta:
        speed = self.speed or (STEP_SPEED if step else 0.0)
        if not speed:
            return NEVER
        return timedelta(seconds=rng.expovariate(ACTIONS_PER_MINUTE * speed / 60.0))

    def _world(self, sandbox: str, platform: str, restart_at: datetime, step: bool = False) -> _World:
        """The world's simulation; started over (at `restart_at`) when the world was reset or replaced.

        Worlds restarted together share one origin, so their actions interleave as on a fresh server.
        """
        store = self.state.store(sandbox, platform)
        found = self._worlds.get((sandbox, platform))
        if found is None or found.store is not store:
            origin = self.state.clock.start if found is None else restart_at
            rng = random.Random(f"{self.state.settings.seed}:simulate:{platform}")
            found = self._worlds[(sandbox, platform)] = _World(platform, store, rng, origin + self._gap(rng, step))
            living = set(self.state.sandboxes())
            for key in [k for k in self._worlds if k[0] not in living]:  # evicted sandboxes
                del self._worlds[key]
        return found

    async def _act(self, world: _World, sandbox: str) -> dict[str, Any] | None:
        now = self.state.clock.now()
        turn = SimulationContext(self.state, sandbox, world.platform, world.store, world.rng, now)
        try:
            action = await self.advancers[world.platform](turn)
        except VersionConflict:  # a client changed the same thing meanwhile: theirs stands
            action = None
        if action is None:
            return None
        record = {
            "at": iso(now),
            "api": world.platform,
            "sandbox": sandbox,
            "action": action.kind,
            "id": action.id,
            "detail": action.detail,
        }
        self.recent.append(record)
        self.acted.set()
        log.debug("simulated %s %s: %s", world.platform, action.kind, action.detail)
        return record

    async def step(
        self, sandbox: str = DEFAULT_SANDBOX, actions: int = 1, platform: str | None = None
    ) -> list[dict[str, Any]]:
        """The next `actions` actions, at once, in schedule order; fewer if nothing more can move."""
        done: list[dict[str, Any]] = []
        async with self._lock:
            now = self.state.clock.now()
            worlds = [self._world(sandbox, d, now, step=True) for d in self.platforms() if platform in (None, d)]
            idle: set[str] = set()
            while len(done) < actions and len(idle) < len(worlds):
                world = min((w for w in worlds if w.platform not in idle), key=lambda w: (w.next_at, w.platform))
                now = self.state.clock.now()
                if world.next_at > now:  # the order comes from the schedule alone, never from real time
                    self.state.clock.advance((world.next_at - now).total_seconds())
                record = await self._act(world, sandbox)
                world.next_at += self._gap(world.rng, step=True)
                if record is None:
                    idle.add(world.platform)
                else:
                    done.append(record)
        return done

    async def tick(self) -> int:
        """Every action of the default sandbox that has come due; how many were applied."""
        applied = 0
        async with self._lock:
            now = self.state.clock.now()
            for platform in self.platforms():
                world = self._world(DEFAULT_SANDBOX, platform, now)
                for _ in range(MAX_CATCH_UP):
                    if world.next_at > self.state.clock.now():
                        break
                    applied += await self._act(world, DEFAULT_SANDBOX) is not None
                    world.next_at += self._gap(world.rng)
                else:
                    world.next_at = self.state.clock.now() + self._gap(world.rng)
        return applied

    async def run(self) -> None:
        """Tick until cancelled, once the default worlds are seeded (they may still be seeding in the
        background when the server starts); a failing action is logged, and the users go on."""
        await self.state.ready_all(DEFAULT_SANDBOX)
        task = asyncio.current_task()
        while True:
            await asyncio.sleep(self.tick_seconds)
            try:
                await self.tick()
            except Exception:
                log.exception("a simulated action failed; the simulation goes on")
            if task is not None and task.cancelling():
                # `stop` cancelled the task while an action ran, and something below it swallowed
                # the cancellation (or turned it into an error): the task stops all the same, or
                # the server's shutdown would wait for it for ever.
                raise asyncio.CancelledError


def install(state: State, advancers: Mapping[str, Advancer]) -> Simulation:
    """The server's simulation (always there, so `step` works with `--simulate` off)."""
    simulation = Simulation(state, advancers, state.settings.simulate)
    state.provide(simulation)
    return simulation


def simulation_of(state: State) -> Simulation:
    return state.service(Simulation, lambda: Simulation(state, {}, state.settings.simulate))


async def step(
    state: State, sandbox: str = DEFAULT_SANDBOX, actions: int = 1, platform: str | None = None
) -> list[dict[str, Any]]:
    """Apply the next `actions` simulated actions now, without waiting (for tests and the admin API)."""
    return await simulation_of(state).step(sandbox, actions, platform)
