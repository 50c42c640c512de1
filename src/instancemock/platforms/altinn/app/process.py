"""The process routes of the App API: read, start, move on (one step or to the end), history.

Status codes and bodies follow app-lib's ProcessController and ProcessEngine: a process that
cannot move is a 409 (ProblemDetails from `next`, JSON strings where the controller returns
`Conflict("...")`), a caller who may not perform the action a 403, and a task whose data
elements break their data types' counts a 409 "Validation failed for task" with the issues.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from instancemock.core.context import Ctx, ctx
from instancemock.core.encoding import json_response
from instancemock.core.errors import Refusal
from instancemock.platforms.altinn import errors
from instancemock.platforms.altinn.app.common import may, permitted_instance, record_events
from instancemock.platforms.altinn.app.create import new_element
from instancemock.platforms.altinn.auth import Principal, principal_of
from instancemock.platforms.altinn.domain.forms import FORM_DATA, form_bytes, root_name
from instancemock.platforms.altinn.domain.instances import INSTANCES, guid_of, mutable, party_of, touch
from instancemock.platforms.altinn.domain.process import (
    EVENTS,
    REJECT,
    START_EVENT,
    ProcessConflict,
    advance,
    app_process_state,
    complete_action,
    current_task,
    derived_history,
    may_move,
    start,
    task_issues,
)
from instancemock.platforms.altinn.domain.world import App, Task
from instancemock.world.store import Document


def _state(c: Ctx, principal: Principal, app: App, doc: Document) -> web.Response:
    body = app_process_state(doc.get("process"), app, _allowed(c, principal, app, doc))
    return json_response(body)


def _allowed(c: Ctx, principal: Principal, app: App, doc: Document) -> Any:
    party = party_of(doc)
    return lambda action: may(c, principal, action, app, party)


async def get_process_state(request: web.Request) -> web.Response:
    c = ctx(request)
    principal = principal_of(request)
    app, doc = await permitted_instance(c, principal, "read")
    return _state(c, principal, app, doc)


async def start_process(request: web.Request) -> web.Response:
    """`POST .../process/start`: 409 JSON strings when started already or the start event is unknown."""
    c = ctx(request)
    principal = principal_of(request)
    app, doc = await permitted_instance(c, principal, "instantiate")
    if (doc.get("process") or {}).get("started"):
        return errors.json_string(409, "Process is already started. Use next.")
    wanted = c.args.query.get("startEvent")
    if wanted not in (None, "", START_EVENT):
        return errors.json_string(409, "No matching startevent")
    now = c.now()
    try:
        process, events = start(app, now, principal.actor)
    except ProcessConflict as conflict:
        return errors.json_string(409, str(conflict))
    new = touch(mutable(doc) | {"process": process}, now, principal.actor)
    forms = _auto_create(app, app.tasks[0], new, principal, c)
    await _save(c, new, forms, events, doc, app)
    return _state(c, principal, app, new)


async def next_process_step(request: web.Request) -> web.Response:
    """`PUT .../process/next`: state checks (409), the action (403), validation (409), then one step."""
    c = ctx(request)
    principal = principal_of(request)
    app, doc = await permitted_instance(c, principal, "read")
    body = c.args.body if isinstance(c.args.body, dict) else {}
    action = body.get("action") or c.args.query.get("elementId") or None
    try:
        task = current_task(app, doc)
    except ProcessConflict as conflict:
        return errors.problem(409, detail=str(conflict), validationIssues=None)
    new = await _step(c, principal, app, doc, task, str(action) if action else None)
    return _state(c, principal, app, new)


async def complete_process(request: web.Request) -> web.Response:
    """`PUT .../process/completeProcess`: `next` with each task type's own action until the end."""
    c = ctx(request)
    principal = principal_of(request)
    app, doc = await permitted_instance(c, principal, "read")
    process = doc.get("process")
    if not process:
        return errors.problem(409, "Process is not started. Use start!")
    if process.get("ended"):
        return errors.json_string(409, "Process is ended. It cannot be restarted.")
    if not process.get("currentTask"):
        return errors.json_string(409, "Instance does not have valid currentTask")
    for _ in app.tasks:
        try:
            task = current_task(app, doc)
        except ProcessConflict:
            break
        action = complete_action(task)
        if not may_move(task, action, _allowed(c, principal, app, doc)):
            return errors.empty(403)
        doc = await _step(c, principal, app, doc, task, action)
    return _state(c, principal, app, doc)


async def _step(c: Ctx, principal: Principal, app: App, doc: Document, task: Task, action: str | None) -> Document:
    """One move of the process, stored with its events; a Refusal when the caller or the data stop it."""
    if not may_move(task, action, _allowed(c, principal, app, doc)):
        raise Refusal.answer(
            errors.problem(
                403,
                "Unauthorized",
                f"User is not authorized to perform process next. Task ID: {task.element_id}. "
                f"Task type: {task.task_type}. Action: {action or 'none'}.",
            )
        )
    rejecting = action == REJECT and REJECT in task.actions  # a rejection skips validation
    issues = [] if rejecting else task_issues(app, doc, task)
    if issues:
        raise Refusal.answer(
            errors.problem(
                409,
                "Validation failed for task",
                f"{len(issues)} validation errors found for task {task.element_id}",
                validationIssues=issues,
            )
        )
    now = c.now()
    try:
        new, events, entered = advance(app, doc, now, principal.actor, action)
    except ProcessConflict as conflict:
        raise Refusal.answer(errors.problem(409, detail=str(conflict), validationIssues=None)) from conflict
    touch(new, now, principal.actor)
    forms = _auto_create(app, entered, new, principal, c) if entered is not None else {}
    await _save(c, new, forms, events, doc, app)
    return new


async def _save(
    c: Ctx, new: Document, forms: dict[str, dict[str, str]], events: list[dict[str, Any]], before: Document, app: App
) -> None:
    guid = guid_of(new)
    await c.store.put(INSTANCES, guid, new)
    for element_id, values in forms.items():
        await c.store.put(FORM_DATA, element_id, {"instanceGuid": guid, "values": values})
    await record_events(c, guid, events, before=before, app=app)


def _auto_create(app: App, task: Task, doc: Document, principal: Principal, c: Ctx) -> dict[str, dict[str, str]]:
    """The entered task's form data that the app creates by itself (`appLogic.autoCreate`)."""
    forms: dict[str, dict[str, str]] = {}
    for data_type in app.data_types:
        logic = data_type.get("appLogic") or {}
        if not logic.get("autoCreate") or data_type.get("taskId") != task.element_id:
            continue
        if any(e.get("dataType") == data_type["id"] for e in doc.get("data") or []):
            continue
        content_type = (data_type.get("allowedContentTypes") or ["application/xml"])[0]
        size = len(form_bytes({}, content_type, root_name(data_type)))
        element = new_element(app, doc, data_type["id"], content_type, size, principal, c.now())
        doc.setdefault("data", []).append(element)
        forms[element["id"]] = {}
    return forms


async def get_process_history(request: web.Request) -> web.Response:
    c = ctx(request)
    principal = principal_of(request)
    app, doc = await permitted_instance(c, principal, "read")
    recorded = await c.store.get(EVENTS, guid_of(doc))
    items = list(recorded.doc["events"]) if recorded else derived_history(doc, app)
    return json_response({"processHistory": items})
