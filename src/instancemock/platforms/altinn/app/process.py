"""The process routes of the App API: read, move on, history."""

from __future__ import annotations

from aiohttp import web

from instancemock.core.context import Ctx, ctx
from instancemock.core.encoding import json_response
from instancemock.platforms.altinn import errors
from instancemock.platforms.altinn.app.common import may, permitted_instance, record_events
from instancemock.platforms.altinn.app.create import FORM_DATA, form_bytes, new_element
from instancemock.platforms.altinn.auth import Principal, principal_of
from instancemock.platforms.altinn.domain.instances import INSTANCES, guid_of, party_of, touch
from instancemock.platforms.altinn.domain.process import (
    EVENTS,
    ProcessConflict,
    advance,
    app_process_state,
    default_action,
    derived_history,
)
from instancemock.platforms.altinn.domain.world import App, Task
from instancemock.world.store import Document


def _state(c: Ctx, principal: Principal, app: App, doc: Document) -> web.Response:
    party = party_of(doc)
    body = app_process_state(doc.get("process"), app, lambda action: may(c, principal, action, app, party))
    return json_response(body)


async def get_process_state(request: web.Request) -> web.Response:
    c = ctx(request)
    principal = principal_of(request)
    app, doc = await permitted_instance(c, principal, "read")
    return _state(c, principal, app, doc)


async def next_process_step(request: web.Request) -> web.Response:
    c = ctx(request)
    principal = principal_of(request)
    app, doc = await permitted_instance(c, principal, "read")
    now = c.now()
    current = (doc.get("process") or {}).get("currentTask") or {}
    body = c.args.body if isinstance(c.args.body, dict) else {}
    action = body.get("action") or c.args.query.get("elementId") or default_action(current.get("altinnTaskType"))
    try:
        new, events, entered = advance(app, doc, now, principal.actor)
    except ProcessConflict as conflict:
        return errors.problem(409, "Conflict", str(conflict))
    task_id = current.get("elementId")
    if not may(c, principal, str(action), app, party_of(doc)):
        return errors.problem(403, "Forbidden", f"User is not authorized to perform action {action} on task {task_id}")
    touch(new, now, principal.actor)
    forms = _auto_create(app, entered, new, principal, c) if entered is not None else {}
    guid = guid_of(new)
    await c.store.put(INSTANCES, guid, new)
    for element_id, values in forms.items():
        await c.store.put(FORM_DATA, element_id, {"instanceGuid": guid, "values": values})
    await record_events(c, guid, events, before=doc, app=app)
    return _state(c, principal, app, new)


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
        root = str(logic.get("classRef") or "model").rsplit(".", 1)[-1]
        size = len(form_bytes({}, content_type, root))
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
