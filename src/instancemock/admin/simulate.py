"""/__admin/simulate: what the simulated users did lately, and `step` to make them act now."""

from __future__ import annotations

from aiohttp import web

from instancemock.core.context import APIS, ctx
from instancemock.core.encoding import json_response
from instancemock.core.errors import Refusal
from instancemock.world.simulate import simulation_of
from instancemock.world.state import DEFAULT_SANDBOX


async def get_simulation(request: web.Request) -> web.Response:
    simulation = simulation_of(ctx(request).state)
    return json_response(
        {
            "speed": simulation.speed,
            "running": simulation.speed > 0,
            "apis": simulation.platforms(),
            "recent": list(simulation.recent),
        }
    )


async def step_simulation(request: web.Request) -> web.Response:
    context = ctx(request)
    simulation = simulation_of(context.state)
    platform = None
    if (api_name := context.args.query.get("api")) is not None:
        api = request.app[APIS].get(api_name)
        if api is None or api.platform not in simulation.platforms():
            raise Refusal(400, f"The API {api_name!r} is not simulated here.")
        platform = api.platform
    sandbox = context.args.query.get("sandbox") or DEFAULT_SANDBOX
    done = await simulation.step(sandbox, int(context.args.query.get("actions", 1)), platform)
    return json_response({"sandbox": sandbox, "applied": len(done), "actions": done})


async def set_simulation(request: web.Request) -> web.Response:
    """Change the speed while serving: the dashboard's toggle between off and on."""
    context = ctx(request)
    simulation = simulation_of(context.state)
    try:
        simulation.set_speed(float(context.args.body["speed"]))
    except ValueError as error:
        raise Refusal(400, str(error)) from error
    return await get_simulation(request)


OPERATIONS = {"getSimulation": get_simulation, "stepSimulation": step_simulation, "setSimulation": set_simulation}
