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
from instancemock.platforms.altinn.domain.instances import is_hard_deleted_element
from instancemock.platforms.altinn.domain.world import App, Task
from instancemock.world.clock import iso
from instancemock.world.store import Document

START_EVENT = "StartEvent_1"
END_EVENT = "EndEvent_1"
EVENTS = "processEvents"  # collection: instance GUID -> {"events": [ProcessHistoryItem, ...]}

# Who may move the process on without naming an action: any of these on the current task
# (app-lib's ProcessEngineAuthorizer); other task types need an action named like the type.
NEXT_ACTIONS: dict[str, tuple[str, ...]] = {
    "data": ("write",),
    "feedback": ("write",),
    "pdf": ("write",),
    "eFormidling": ("write",),
    "payment": ("pay", "write"),
    "confirmation": ("confirm",),
    "signing": ("sign", "write"),
}
# The action `completeProcess` performs on each task type as it loops `next` (ProcessEngine).
COMPLETE_ACTIONS = {"confirmation": "confirm", "signing": "sign", "payment": "pay"}
REJECT = "reject"
VALIDATOR_SOURCE = "Altinn.App.Core.Features.Validation.Default.DefaultTaskValidator-*"


class ProcessConflict(Exception):
    """The process cannot move; the message is app-lib's 409 detail."""


def user_actions(task: Task) -> tuple[str, ...]:
    """`read` and `write`, then the task's BPMN actions: what ConvertAndAuthorizeActions evaluates."""
    return ("read", "write", *(a for a in task.actions if a not in ("read", "write")))


def may_move(task: Task, action: str | None, allowed: Callable[[str], bool]) -> bool:
    """ProcessEngineAuthorizer: a named action must be one of the task's and permitted; without
    one, any of the task type's default actions will do."""
    if action:
        return action in user_actions(task) and allowed(action)
    return any(allowed(a) for a in NEXT_ACTIONS.get(task.task_type, (task.task_type,)))


def complete_action(task: Task) -> str:
    return COMPLETE_ACTIONS.get(task.task_type, "write")


def current_task(app: App, doc: Document) -> Task:
    """The task the process is at; ProcessConflict (app-lib's 409 detail) when there is none."""
    process = doc.get("process")
    if not process:
        raise ProcessConflict("Process is not started. Use start!")
    current = process.get("currentTask")
    if process.get("ended") or not current:
        raise ProcessConflict("Process is ended.")
    task = app.task(str(current.get("elementId")))
    if task is None:
        raise ProcessConflict(f"The current task {current.get('elementId')} is not in the process definition.")
    return task


def task_issues(app: App, doc: Document, task: Task) -> list[dict[str, Any]]:
    """DefaultTaskValidator: too many or too few data elements of the task's data types."""
    issues = []
    elements = [e for e in doc.get("data") or [] if not is_hard_deleted_element(e)]
    for data_type in app.data_types:
        if data_type.get("taskId") != task.element_id:
            continue
        count = sum(1 for e in elements if e.get("dataType") == data_type["id"])
        most, least = int(data_type.get("maxCount", 1) or 0), int(data_type.get("minCount", 1) or 0)
        if most > 0 and most < count:
            issues.append(_issue("TooManyDataElementsOfType", str(data_type["id"])))
        if least > 0 and least > count:
            issues.append(_issue("TooFewDataElementsOfType", str(data_type["id"])))
    return issues


def _issue(code: str, field: str) -> dict[str, Any]:
    return {
        "severity": 1,  # Error
        "dataElementId": None,
        "field": field,
        "code": code,
        "description": code,
        "source": VALIDATOR_SOURCE,
        "noIncrementalUpdates": False,
        "customTextKey": None,
        "customTextParameters": None,
    }


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


def advance(
    app: App, doc: Document, now: datetime, actor: str, action: str | None = None
) -> tuple[Document, list[dict[str, Any]], Task | None]:
    """`doc` (a copy) moved one step: the next task, or the end; and the task entered (None at the end).

    [I] The mock's processes are linear; `reject` takes the gateway back to the nearest earlier
    data task (how Studio's signing and payment templates are drawn), abandoning the current task
    instead of completing it, and unlocks that task's data again.
    """
    task = current_task(app, doc)
    current = doc["process"]["currentTask"]
    index = app.tasks.index(task)
    new = copy.deepcopy(doc)
    flow = int(current.get("flow") or index + 2) + 1
    if action == REJECT:
        back = next((t for t in reversed(app.tasks[:index]) if t.task_type == "data"), None)
        if back is None:
            raise ProcessConflict(f"Task {task.element_id} has no earlier data task to return to.")
        new["process"]["currentTask"] = _task_info(back, flow, now) | {"flowType": "AbandonCurrentMoveToNext"}
        _lock_data_of(app, back, new, locked=False)
        events = [_event("AbandonTask", task.element_id, now, actor, ended=True)]
        return new, [*events, _event("StartTask", back.element_id, now, actor)], back
    events = [_event("EndTask", task.element_id, now, actor, ended=True)]
    _lock_data_of(app, task, new)
    if index + 1 < len(app.tasks):
        entered: Task | None = app.tasks[index + 1]
        new["process"]["currentTask"] = _task_info(entered, flow, now)  # type: ignore[arg-type]
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


def _lock_data_of(app: App, task: Task, doc: Document, *, locked: bool = True) -> None:
    """Data written in a task is locked once the task is done, and unlocked when it is entered
    again (app-lib's task end and start handling)."""
    types = {t["id"] for t in app.data_types if t.get("taskId") == task.element_id}
    for element in doc.get("data") or []:
        if element.get("dataType") in types:
            element["locked"] = locked


def app_process_state(process: dict[str, Any] | None, app: App, allowed: Callable[[str], bool]) -> dict[str, Any]:
    """`AppProcessState`: the process with the caller's rights on the current task.

    ConvertAndAuthorizeActions: `read`, `write` and the task's BPMN actions are each decided for
    the caller; all are process actions, so `actions` holds every one of them, and `userActions`
    lists them with `type` written as the enum's name (UserAction's string enum converter).
    """
    view = process_view(process) or dict.fromkeys(PROCESS_FIELDS)
    current = view.get("currentTask")
    if isinstance(current, dict):
        task = app.task(str(current.get("elementId")))
        ids = user_actions(task) if task else ("read", "write")
        granted = {action: allowed(action) for action in ids}
        current |= {
            "actions": granted,
            "userActions": [{"id": a, "authorized": ok, "type": "ProcessAction"} for a, ok in granted.items()],
            "read": granted["read"],
            "write": granted["write"],
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
