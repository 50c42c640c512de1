"""Living processes: simulated users move instances through each API's own rules, repeatably."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from instancemock.__main__ import parser, settings_from
from instancemock.app import create_app
from instancemock.core.context import STATE
from instancemock.platforms.kianda.webhooks import services
from instancemock.settings import build, from_env
from instancemock.world.simulate import simulation_of, step

from support import ADMIN, ALTINN_STORAGE, BARIUM, KIANDA, MakeClient, assert_conforms, barium_headers, settings

BARIUM_BASE = "/barium/api/v1.1"
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?")
TASK_NAME = "instancemock-simulate"


async def simulate_step(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    response = await client.post("/__admin/simulate/step", params={k: str(v) for k, v in params.items()})
    assert response.status == 200, await response.text()
    await assert_conforms(ADMIN, response)
    body = await response.json()
    assert body["applied"] == len(body["actions"])
    return body["actions"]  # type: ignore[no-any-return]


async def barium_get(client: TestClient, path: str, ticket: dict[str, str], **params: Any) -> Any:
    response = await client.get(f"{BARIUM_BASE}{path}", headers=ticket, params=params)
    assert response.status == 200, await response.text()
    await assert_conforms(BARIUM, response)
    return await response.json()


async def eventually(condition: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    """Poll until `condition` holds; fail after `timeout` seconds."""

    async def poll() -> None:
        while not await condition():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), timeout)


def simulation_tasks() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if t.get_name() == TASK_NAME and not t.done()]


# --- off by default, and configured like every other setting -------------------------------------


async def test_the_simulation_is_off_by_default(make_client: MakeClient) -> None:
    client = await make_client()
    assert simulation_tasks() == []
    response = await client.get("/__admin/simulate")
    await assert_conforms(ADMIN, response)
    body = await response.json()
    assert body["speed"] == 0 and body["running"] is False and body["recent"] == []
    assert body["apis"] == ["altinn", "barium", "kianda"]


def test_the_speed_comes_from_flag_environment_or_config() -> None:
    assert settings_from(parser().parse_args(["serve", "--simulate", "60"])).simulate == 60.0
    assert build(from_env({"INSTANCEMOCK_SIMULATE": "2.5"})).simulate == 2.5
    assert build({"simulate": 1}).simulate == 1.0
    with pytest.raises(ValueError, match="speed factor"):
        build({"simulate": "fast"})
    with pytest.raises(ValueError, match="simulate"):
        create_app(settings(simulate=-1.0))
    with pytest.raises(ValueError, match="simulate"):
        create_app(settings(simulate=float("inf")))


# --- Barium: tasks get completed, instances complete ---------------------------------------------


async def test_barium_users_complete_tasks_until_instances_complete(make_client: MakeClient) -> None:
    client = await make_client()
    ticket = await barium_headers(client)
    before = await barium_get(client, "/Instances", ticket, Max=1000)
    apps_before = await barium_get(client, "/Apps", ticket)
    active_before = {i["Id"] for i in before["Data"] if i["Status"] in ("active", "ready")}

    first = (await simulate_step(client, api="barium"))[0]
    assert first["api"] == "barium" and first["action"] in ("completeTask", "sendInstanceMessage")
    if first["action"] == "completeTask":
        tasks = await barium_get(client, f"/Instances/{first['id']}/Tasks", ticket)
        done = [t for t in tasks["Data"] if t["Status"] == "completed" and t["CompletedBy"]]
        newest = max(done, key=lambda t: t["CompletedDate"])
        assert newest["CompletedBy"] in first["detail"] and newest["Name"] in first["detail"]

    completed: dict[str, Any] | None = None
    for _ in range(20):
        actions = await simulate_step(client, api="barium", actions=25)
        assert actions and all(a["api"] == "barium" for a in actions)
        now = await barium_get(client, "/Instances", ticket, Max=1000)
        finished = [i for i in now["Data"] if i["Id"] in active_before and i["Status"] == "completed"]
        if finished:
            completed = finished[0]
            break
    assert completed is not None, "no instance reached the end of its process"
    assert completed["CompletedDate"] is not None
    instance = await barium_get(client, f"/Instances/{completed['Id']}", ticket)
    assert instance["Status"] == "completed" and instance["CompletedDate"] == completed["CompletedDate"]
    tasks = (await barium_get(client, f"/Instances/{completed['Id']}/Tasks", ticket, Max=1000))["Data"]
    assert tasks and all(t["Status"] != "ready" for t in tasks)

    # Nothing is created or lost: every app still counts its instances, and the lists agree.
    assert await barium_get(client, "/Apps", ticket) == apps_before
    after = await barium_get(client, "/Instances", ticket, Max=1000)
    assert after["TotalCount"] == before["TotalCount"]
    completed_count = (await barium_get(client, "/Instances", ticket, Status="completed"))["TotalCount"]
    assert completed_count == sum(1 for i in after["Data"] if i["Status"] == "completed")
    assert completed_count > sum(1 for i in before["Data"] if i["Status"] == "completed")


# --- Kianda: statuses move on, with Version, modified and the webhook -----------------------------


async def test_kianda_instances_move_to_their_next_form_and_webhooks_hear_it(make_client: MakeClient) -> None:
    received: asyncio.Queue[dict[str, str]] = asyncio.Queue()

    async def hook(request: web.Request) -> web.Response:
        await received.put(dict(request.query))
        return web.Response(text="ok")

    receiver = web.Application()
    receiver.router.add_get("/hook", hook)
    async with TestServer(receiver) as server:  # an OS-chosen port
        client = await make_client()
        assert (await client.post("/__admin/webhooks", json={"url": str(server.make_url("/hook"))})).status == 201
        index = await (await client.get("/")).json()
        form = next(api["credentials"] for api in index["apis"] if api["name"] == KIANDA)
        token = (await (await client.post("/kianda/Token", data=form)).json())["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        designs = {d["name"]: d for d in await (await client.get("/kianda/api/processes", headers=auth)).json()}

        action = (await simulate_step(client, api="kianda"))[0]
        name = action["id"]
        state = client.server.app[STATE]
        before = next(  # the seeded document, from a fresh world of the same seed
            s.doc for s in await state.seed_world("kianda").list("instances") if s.doc["id"] == name
        )
        response = await client.get(f"/kianda/api/instances/{name}", headers=auth)
        await assert_conforms(KIANDA, response)
        after = await response.json()

        forms = designs[after["processName"]]["forms"]
        position = forms.index(before["status"])
        assert after["status"] == (forms[position + 1] if position + 1 < len(forms) else "Completed")
        assert after["Version"] == f"{int(before['Version'].split('.')[0]) + 1}.0"
        assert after["modified"] > before["modified"]
        assert after["modifiedBy"] == (before["assignTo"] or before["createdBy"])
        assert after["fields"] == before["fields"]
        assert action["action"] == "patchInstance" and after["status"] in action["detail"]

        event = await asyncio.wait_for(received.get(), timeout=5)
        assert event == {"instanceID": name, "processName": after["processName"], "eventType": "updated"}
        await asyncio.gather(*services(state).pending)

        # Completed instances stay where they are; in the end every instance is Completed.
        for _ in range(40):
            if not await simulate_step(client, api="kianda", actions=50):
                break
        token = (await (await client.post("/kianda/Token", data=form)).json())["access_token"]  # time passed
        auth = {"Authorization": f"Bearer {token}"}
        listed = await client.get("/kianda/api/instances", headers=auth, params={"pageSize": "500"})
        assert listed.status == 200 and int(listed.headers["Total-Items"]) <= 500
        assert {i["status"] for i in await listed.json()} == {"Completed"}
        assert await simulate_step(client, api="kianda") == []


# --- Altinn: processes move on and end archived --------------------------------------------------


async def test_altinn_instances_move_through_their_tasks_and_get_archived(make_client: MakeClient) -> None:
    client = await make_client(auth=False)
    first = (await simulate_step(client, api="altinn-app"))[0]
    assert first["api"] == "altinn" and first["action"] == "nextProcessStep"
    archived: dict[str, Any] | None = None
    for _ in range(20):
        for action in await simulate_step(client, api="altinn-storage", actions=10):
            if "archived" in action["detail"]:
                archived = action
        if archived is not None:
            break
    assert archived is not None, "no process reached its end"
    response = await client.get(f"/altinn/storage/api/v1/instances/{archived['id']}")
    assert response.status == 200, await response.text()
    await assert_conforms(ALTINN_STORAGE, response)
    instance = await response.json()
    assert instance["status"]["isArchived"] is True
    assert instance["process"]["ended"] == instance["status"]["archived"]
    assert instance.get("process", {}).get("currentTask") is None
    assert instance["lastChanged"] == instance["status"]["archived"]

    org, app = instance["appId"].split("/")
    history = await client.get(f"/altinn/{org}/{app}/instances/{archived['id']}/process/history")
    assert history.status == 200
    kinds = [item["eventType"] for item in (await history.json())["processHistory"]]
    assert kinds[0] == "process_StartEvent" and kinds[-2:] == ["process_EndTask", "process_EndEvent"]


# --- repeatable ----------------------------------------------------------------------------------


def masked(document: Any) -> Any:
    """The document with every timestamp blanked: the clock runs in real time, even with --now."""
    if isinstance(document, dict):
        return {k: masked(v) for k, v in document.items()}
    if isinstance(document, list):
        return [masked(v) for v in document]
    if isinstance(document, str):
        return TIMESTAMP.sub("<time>", document)
    return document


async def test_the_same_seed_and_steps_give_the_same_world(make_client: MakeClient) -> None:
    first, second = await make_client(), await make_client()
    seeded = await (await first.get("/__admin/state")).json()
    one = [await simulate_step(first, actions=10) for _ in range(3)]
    two = [await simulate_step(second, actions=10) for _ in range(3)]
    assert masked(one) == masked(two)
    assert sum(len(batch) for batch in one) == 30 and {a["api"] for batch in one for a in batch} == {
        "altinn",
        "barium",
        "kianda",
    }

    state_one = await (await first.get("/__admin/state")).json()
    state_two = await (await second.get("/__admin/state")).json()
    assert masked(state_one) == masked(state_two)
    assert masked(state_one) != masked(seeded)

    other_seed = await make_client(seed=8)
    assert masked(await simulate_step(other_seed, actions=10)) != masked(one[0])


async def test_a_reset_world_starts_its_simulation_over(make_client: MakeClient) -> None:
    client = await make_client()
    before = await simulate_step(client, actions=8)
    assert (await client.post("/__admin/reset")).status == 200
    again = await simulate_step(client, actions=8)
    assert [(a["api"], a["action"], a["id"], a["detail"]) for a in again] == [
        (a["api"], a["action"], a["id"], a["detail"]) for a in before
    ]


async def test_step_moves_a_named_sandbox_only(make_client: MakeClient) -> None:
    client = await make_client()
    default_before = await (await client.get("/__admin/state")).json()
    actions = await simulate_step(client, sandbox="mine", actions=5)
    assert actions and {a["sandbox"] for a in actions} == {"mine"}
    exported = await (await client.get("/__admin/state")).json()
    assert exported["sandboxes"]["default"] == default_before["sandboxes"]["default"]

    bad = await client.post("/__admin/simulate/step", params={"api": "nope"})
    assert bad.status == 400
    await assert_conforms(ADMIN, bad)


async def test_step_is_callable_from_python_and_moves_the_clock_on(make_client: MakeClient) -> None:
    client = await make_client()
    state = client.server.app[STATE]
    start = state.clock.now()
    actions = await step(state, actions=5)
    assert len(actions) == 5
    assert state.clock.now() > start


# --- the background task -------------------------------------------------------------------------


async def test_at_a_high_speed_the_background_task_moves_instances_by_itself() -> None:
    client = TestClient(TestServer(create_app(settings(simulate=600.0))))
    await client.start_server()
    try:
        assert len(simulation_tasks()) == 1

        async def moved() -> bool:
            body = await (await client.get("/__admin/simulate")).json()
            return len({a["api"] for a in body["recent"]}) >= 2

        await eventually(moved)
        body = await (await client.get("/__admin/simulate")).json()
        assert body["running"] is True and all(a["sandbox"] == "default" for a in body["recent"])
        kianda = next(a for a in body["recent"] if a["api"] == "kianda")
        exported = await (await client.get("/__admin/state")).json()
        assert exported["sandboxes"]["default"]["kianda"]["instances"][kianda["id"]]["Version"] != "1.0"
    finally:
        await client.close()
    assert simulation_tasks() == []  # cancelled cleanly on shutdown


async def test_the_background_task_stops_even_when_an_action_swallows_the_cancellation() -> None:
    """A cancellation that reaches an action mid-way and is swallowed below it (a store client may
    turn it into an error) must not keep the task alive: the server's shutdown awaits it."""
    app = create_app(settings(simulate=600.0))
    client = TestClient(TestServer(app))
    await client.start_server()
    entered = asyncio.Event()

    async def swallowing_tick() -> int:
        entered.set()
        with contextlib.suppress(asyncio.CancelledError):  # swallowed, as a library below the action might
            await asyncio.sleep(3600)
        return 0

    simulation = simulation_of(app[STATE])
    simulation.tick = swallowing_tick  # type: ignore[method-assign]
    await asyncio.wait_for(entered.wait(), 30)
    closing = asyncio.ensure_future(client.close())
    done, _ = await asyncio.wait({closing}, timeout=30)
    assert closing in done, "the server's shutdown waited for the simulation for ever"
    assert simulation_tasks() == []
