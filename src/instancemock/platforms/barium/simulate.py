"""Barium's simulated users: someone who may perform a ready task completes it, or a message arrives.

Every move goes through the same functions as `POST /Tasks/{Id}` (complete=true) and
`POST /Instances/{Id}` (message=...), so the task gets CompletedDate and CompletedBy, the next
step's task opens, and an instance past its last step completes, exactly as for a client.
"""

from __future__ import annotations

from instancemock.platforms.barium import process
from instancemock.platforms.barium.catalog import catalog
from instancemock.platforms.barium.instances import receive_message
from instancemock.platforms.barium.tasks import complete_and_move_on
from instancemock.world.simulate import Action, SimulationContext
from instancemock.world.store import Stored


async def advance(turn: SimulationContext) -> Action | None:
    users = catalog(turn.state.settings)
    apps = {s.doc["Id"]: s.doc for s in await turn.store.list("apps")}
    instances = {s.doc["Id"]: s for s in await turn.store.list("instances")}

    def moving(instance: Stored | None) -> bool:
        return (
            instance is not None
            and instance.doc["Status"] not in process.FINISHED
            and (instance.doc["ApplicationId"] in apps)
        )

    tasks = [
        s
        for s in sorted(await turn.store.list("tasks"), key=lambda s: s.doc["Id"])
        if s.doc["Status"] == "ready"
        and not s.doc["Locked"]
        and moving(instances.get(s.doc["InstanceId"]))
        and int(s.doc["Step"]) == int(instances[s.doc["InstanceId"]].doc["Step"])
        and any(process.may_perform(s.doc, u) for u in users.users)
    ]
    waiting = [
        s
        for s in sorted(instances.values(), key=lambda s: s.doc["Id"])
        if moving(s) and s.doc["Status"] == "ready" and _message_awaited(apps[s.doc["ApplicationId"]], s.doc)
    ]
    candidates: list[tuple[str, Stored]] = [("task", s) for s in tasks] + [("message", s) for s in waiting]
    if not candidates:
        return None
    kind, chosen = turn.rng.choice(candidates)
    if kind == "task":
        task = chosen.doc
        instance = instances[task["InstanceId"]]
        app = apps[instance.doc["ApplicationId"]]
        user = turn.rng.choice(sorted((u for u in users.users if process.may_perform(task, u)), key=lambda u: u.id))
        await complete_and_move_on(turn.store, app, instance, chosen, user, turn.now, turn.new_id, users)
        return Action(
            "completeTask", instance.doc["Id"], f"{user.name} completed {task['Name']} of {task['InstanceName']}"
        )
    app = apps[chosen.doc["ApplicationId"]]
    message = process.awaited_messages(app, chosen.doc)[0]
    await receive_message(turn.store, app, chosen, users.default_user, turn.now, turn.new_id, users)
    return Action("sendInstanceMessage", chosen.doc["Id"], f"{chosen.doc['Name']} received the message {message}")


def _message_awaited(app: dict, instance: dict) -> bool:
    step = process.current_step(app, instance)
    return step is not None and step["Kind"] == process.MESSAGE
