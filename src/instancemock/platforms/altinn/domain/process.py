"""The BPMN process of an instance, as app-lib's process engine moves it.

An app's process is its fixture's ordered task list between `StartEvent_1` and `EndEvent_1`:
starting enters the first task (`flow` 2, the start event being 1), each `next` ends the current
task and enters the following one (`flow` + 1), and leaving the last task ends the process, which
Storage records as archiving. Every move is also written as process events, which
`process/history` answers with.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime
from typing import Any

from instancemock.platforms.altinn.domain.app_view import PROCESS_FIELDS, process_view
from instancemock.platforms.altinn.domain.world import App, Task
from instancemock.world.clock import iso
from instancemock.world.store import Document

START_EVENT = "StartEvent_1"
END_EVENT = "EndEvent_1"
EVENTS = "processEvents"  # collection: instance GUID -> {"events": [ProcessHistoryItem, ...]}

# What a user does to complete a task of each type (app-lib's default action per task type).
TASK_ACTIONS: dict[str, tuple[str, ...]] = {
    "data": ("write",),
    "confirmation": ("confirm",),
    "signing": ("sign", "reject"),
    "payment": ("pay", "reject"),
    "feedback": ("write",),
}


class ProcessConflict(Exception):
    """The process cannot move; the message is app-lib's 409 detail."""


def actions_of(task_type: str | None) -> tuple[str, ...]:
    return TASK_ACTIONS.get(task_type or "", ("write",))


def default_action(task_type: str | None) -> str:
    return actions_of(task_type)[0]


def _task_info(task: Task, flow: int, now: datetime) -> dict[str, Any]:
    return {
        "flow": flow,
        "started": iso(now),
        "elementId": task.element_id,
        "name": task.name,
        "altinnTaskType": task.task_type,
        "flowType": "CompleteCurrentMoveToNext",
    }


def _event(kind: str, element_id: str, now: datetime, actor: str, *, ended: bool = False) -> dict[str, Any]:
    return _item(kind, element_id, iso(now), actor, ended=ended)


def start(app: App, now: datetime, actor: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The process state of a new instance, at its first task, and the events that got it there."""
    if not app.tasks:
        raise ProcessConflict("No matching startevent")
    first = app.tasks[0]
    process = {"started": iso(now), "startEvent": START_EVENT, "currentTask": _task_info(first, 2, now)}
    events = [_event("StartEvent", START_EVENT, now, actor), _event("StartTask", first.element_id, now, actor)]
    return process, events


def advance(app: App, doc: Document, now: datetime, actor: str) -> tuple[Document, list[dict[str, Any]], Task | None]:
    """`doc` (a copy) moved one step: the next task, or the end; and the task entered (None at the end)."""
    process = doc.get("process")
    if not process:
        raise ProcessConflict("Process is not started. Use start!")
    if process.get("ended") or not process.get("currentTask"):
        raise ProcessConflict("Process is ended.")
    current = process["currentTask"]
    index = next((i for i, t in enumerate(app.tasks) if t.element_id == current.get("elementId")), None)
    if index is None:
        raise ProcessConflict(f"The current task {current.get('elementId')} is not in the process definition.")
    new = copy.deepcopy(doc)
    events = [_event("EndTask", current["elementId"], now, actor, ended=True)]
    _lock_data_of(app, app.tasks[index], new)
    if index + 1 < len(app.tasks):
        entered: Task | None = app.tasks[index + 1]
        new["process"]["currentTask"] = _task_info(entered, int(current.get("flow") or index + 2) + 1, now)  # type: ignore[arg-type]
        events.append(_event("StartTask", entered.element_id, now, actor))  # type: ignore[union-attr]
    else:
        entered = None
        new["process"].pop("currentTask", None)
        new["process"]["ended"] = iso(now)
        new["process"]["endEvent"] = END_EVENT
        new["status"]["isArchived"] = True
        new["status"]["archived"] = iso(now)
        events.append(_event("EndEvent", END_EVENT, now, actor, ended=True))
    return new, events, entered


def _lock_data_of(app: App, task: Task, doc: Document) -> None:
    """Data written in a task is locked once the task is done (app-lib's task-end handling)."""
    types = {t["id"] for t in app.data_types if t.get("taskId") == task.element_id}
    for element in doc.get("data") or []:
        if element.get("dataType") in types:
            element["locked"] = True


def app_process_state(process: dict[str, Any] | None, app: App, allowed: Callable[[str], bool]) -> dict[str, Any]:
    """`AppProcessState`: the process with the caller's rights on the current task."""
    view = process_view(process) or dict.fromkeys(PROCESS_FIELDS)
    current = view.get("currentTask")
    if isinstance(current, dict):
        task = app.task(str(current.get("elementId")))
        actions = actions_of(task.task_type if task else current.get("altinnTaskType"))
        granted = {action: allowed(action) for action in actions}
        current |= {
            "actions": granted,
            "userActions": [{"id": action, "authorized": ok, "type": 0} for action, ok in granted.items()],
            "read": allowed("read"),
            "write": allowed("write"),
            "elementType": "Task",
        }
    view["processTasks"] = [
        {"altinnTaskType": t.task_type, "elementId": t.element_id, "elementType": "Task"} for t in app.tasks
    ]
    return view


def derived_history(doc: Document, app: App) -> list[dict[str, Any]]:
    """History of an instance whose events were never recorded here (seeded ones).

    What the instance itself tells: when the process started, the current task and when it was
    entered, when it ended. [I] Tasks passed in between are dated at the next known moment.
    """
    process = doc.get("process") or {}
    if not process.get("started"):
        return []
    actor = str(doc.get("createdBy") or "")
    started = str(process["started"])
    current = process.get("currentTask") or {}
    ended = process.get("ended")
    later = str(current.get("started") or ended or started)
    ids = [t.element_id for t in app.tasks]
    reached = ids.index(current["elementId"]) if current.get("elementId") in ids else len(ids) - 1
    items = [_item("StartEvent", START_EVENT, started, actor, ended=False)]
    for i in range(reached + 1):
        moment = started if i == 0 else later
        if i > 0:
            items.append(_item("EndTask", ids[i - 1], moment, actor, ended=True))
        items.append(_item("StartTask", ids[i], moment, actor, ended=False))
    if ended:
        if ids:
            items.append(_item("EndTask", ids[reached], str(ended), actor, ended=True))
        items.append(_item("EndEvent", str(process.get("endEvent") or END_EVENT), str(ended), actor, ended=True))
    return items


def _item(kind: str, element_id: str, when: str, actor: str, *, ended: bool) -> dict[str, Any]:
    return {
        "eventType": f"process_{kind}",
        "elementId": element_id,
        "occured": when,
        "started": None if ended else when,
        "ended": when if ended else None,
        "performedBy": actor,
    }
