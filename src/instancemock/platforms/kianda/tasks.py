"""Scheduled tasks (Administration > Scheduled tasks) and their webhook, `POST .../run`.

The mock keeps tasks and runs them when asked; it does not run them on its own clock. `nextRun`
and the `Expired` status are worked out when a task is read, from the schedule and the clock.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from aiohttp import web

from instancemock.core.context import Ctx, Handler, ctx
from instancemock.core.encoding import json_response
from instancemock.core.errors import Refusal
from instancemock.core.violations import Violation
from instancemock.platforms.kianda import designs
from instancemock.platforms.kianda.auth import principal
from instancemock.platforms.kianda.instances import INSTANCES, create_record, key
from instancemock.platforms.kianda.schedule import UNSCHEDULED, next_occurrence, parse_time
from instancemock.world.clock import iso
from instancemock.world.store import Document

TASKS = "tasks"
EXPIRE_NEEDS = {"By date": "date", "After occurrences": "occurrences", "When condition": "condition"}


def _jsonable(value: Any) -> Any:
    """openapi-core hands date-times back as datetime objects; the store keeps JSON."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def expired(task: Document, now: datetime) -> bool:
    expire = task.get("expire") or {}
    if task.get("status") == "Expired":
        return True
    if expire.get("type") == "By date":
        limit = parse_time(expire.get("date"))
        return limit is not None and limit <= now
    if expire.get("type") == "After occurrences":
        return int(task.get("_runs", 0)) >= int(expire.get("occurrences") or 0)
    return False


def public(task: Document, c: Ctx) -> Document:
    now = c.now()
    status = "Expired" if expired(task, now) else task["status"]
    upcoming = next_occurrence(task["schedule"], now) if status == "Active" else None
    expire = task.get("expire") or {}
    if upcoming is not None and expire.get("type") == "By date":
        limit = parse_time(expire.get("date"))
        upcoming = None if limit is not None and upcoming > limit else upcoming
    out = {k: v for k, v in task.items() if not k.startswith("_")}
    out.update(status=status, nextRun=iso(upcoming) if upcoming else None)
    if task["schedule"]["type"] == "On demand":
        out["webhookUrl"] = f"{c.base_url}/api/tasks/{task['id']}/run"
    return out


def not_found(task_id: str) -> Refusal:
    return Refusal(404, f"Task '{task_id}' not found.")


async def _checked_input(c: Ctx, body: dict[str, Any]) -> tuple[Document, list[Violation]]:
    """The writable fields with defaults applied, and what is wrong with them."""
    problems: list[Violation] = []
    body = _jsonable(body)
    design = await designs.find_design(c.store, str(body["processName"]))
    process = design["name"] if design else str(body["processName"])
    if design is None:
        problems.append(Violation("body", "processName", f"Process '{process}' not found."))
    instance_id = body.get("instanceID") or None
    if instance_id is not None and design is not None:
        found = await c.store.get(INSTANCES, key(instance_id))
        if found is None or found.doc["processName"] != process:
            message = f"Instance '{instance_id}' is not an instance of process '{process}'."
            problems.append(Violation("body", "instanceID", message))
        else:
            instance_id = found.doc["id"]
    schedule = dict(body["schedule"])
    if isinstance(schedule.get("dayOfMonth"), str) and not schedule.get("weekDay"):
        problems.append(
            Violation("body", "schedule.weekDay", "A Monthly schedule on the First..Last weekday needs weekDay.")
        )
    if schedule["type"] in ("Daily", "Weekly", "Monthly", "Hourly") and not schedule.get("at"):
        schedule["at"] = "00:00"
    if schedule["type"] not in ("One time", *UNSCHEDULED):
        schedule.setdefault("every", 1)
    expire = body.get("expire") or None
    if expire is not None:
        needed = EXPIRE_NEEDS[expire["type"]]
        if expire.get(needed) in (None, ""):
            problems.append(Violation("body", f"expire.{needed}", f"An expiry '{expire['type']}' needs {needed}."))
    doc = {
        "name": str(body["name"]),
        "schedule": schedule,
        "processName": process,
        "instanceID": instance_id,
        "trigger": body.get("trigger"),
        "status": body.get("status") or "Active",
        "expire": expire,
        "unique": bool(body.get("unique", False)),
        "executeInSeries": bool(body.get("executeInSeries", False)),
    }
    return doc, problems


async def list_tasks(request: web.Request) -> web.Response:
    c = ctx(request)
    tasks = sorted((s.doc for s in await c.store.list(TASKS)), key=lambda t: (t["name"].lower(), t["id"]))
    return json_response([public(t, c) for t in tasks])


async def get_task(request: web.Request) -> web.Response:
    c = ctx(request)
    task_id = str(c.args.path["id"]).lower()
    found = await c.store.get(TASKS, task_id)
    if not found:
        raise not_found(task_id)
    return json_response(public(found.doc, c))


async def create_task(request: web.Request) -> web.Response:
    c = ctx(request)
    fields, problems = await _checked_input(c, c.args.body)
    if problems:
        raise Refusal.invalid(*problems)
    task_id = str(uuid.uuid4())
    task = {"id": task_id, **fields, "lastRun": None, "createdBy": principal(c).username, "_runs": 0}
    await c.store.put(TASKS, task_id, task)
    location = f"{c.route.base}/api/tasks/{task_id}"
    return json_response(public(task, c), status=201, headers={"Location": location})


async def update_task(request: web.Request) -> web.Response:
    c = ctx(request)
    task_id = str(c.args.path["id"]).lower()
    if await c.store.get(TASKS, task_id) is None:
        raise not_found(task_id)
    fields, problems = await _checked_input(c, c.args.body)
    if problems:
        raise Refusal.invalid(*problems)
    saved = await c.store.update(TASKS, task_id, lambda old: {**old, **fields})
    if not saved:
        raise not_found(task_id)
    return json_response(public(saved.doc, c))


async def delete_task(request: web.Request) -> web.Response:
    c = ctx(request)
    task_id = str(c.args.path["id"]).lower()
    if not await c.store.delete(TASKS, task_id):
        raise not_found(task_id)
    return json_response({"success": True})


async def run_task(request: web.Request) -> web.Response:
    """The task webhook: run now against `?instanceID=`, the task's instance, or a new one."""
    c = ctx(request)
    task_id = str(c.args.path["id"]).lower()
    found = await c.store.get(TASKS, task_id)
    if found is None:
        raise not_found(task_id)
    task = found.doc
    if expired(task, c.now()):
        raise Refusal(409, f"Task '{task['name']}' has expired.")
    target = c.args.query.get("instanceID") or task.get("instanceID")
    if target:
        instance = await c.store.get(INSTANCES, key(str(target)))
        if instance is None:
            raise Refusal(404, f"Instance '{target}' not found.")
        if instance.doc["processName"] != task["processName"]:
            message = f"Instance '{target}' is not an instance of process '{task['processName']}'."
            raise Refusal.invalid(Violation("query", "instanceID", message))
        ran_on = instance.doc["id"]
    else:
        design = await designs.find_design(c.store, task["processName"])
        if design is None:
            raise designs.not_found(task["processName"])
        ran_on = (await create_record(c, design, {}, None, designs.as_text(task.get("trigger"))))["id"]
    ran_at = iso(c.now().replace(microsecond=0))
    await c.store.update(TASKS, task_id, lambda t: {**t, "lastRun": ran_at, "_runs": int(t.get("_runs", 0)) + 1})
    return json_response({"success": True, "instanceID": ran_on})


OPERATIONS: dict[str, Handler] = {
    "listTasks": list_tasks,
    "getTask": get_task,
    "createTask": create_task,
    "updateTask": update_task,
    "deleteTask": delete_task,
    "runTask": run_task,
}
