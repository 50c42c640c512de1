"""Tasks (listing, completing) and form objects (reading and writing their fields).

Which fields a task shows and may change comes from the app's process model: a task step lists
its `Editable` fields; fields that only later steps fill in are hidden until then. Everything is
read-only once the task is done, locked, the instance finished, or the caller may not perform it.
"""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from instancemock.core.context import Ctx, ctx
from instancemock.core.encoding import json_response
from instancemock.core.errors import Refusal
from instancemock.platforms.barium import process
from instancemock.platforms.barium.access import (
    app_of,
    bad_field,
    caller,
    docs,
    instance_of,
    new_id,
    newest_first,
    object_of,
    page,
    status_equal,
    task_of,
    users,
)
from instancemock.platforms.barium.catalog import Catalog, User
from instancemock.platforms.barium.forms import FALSE, TRUE, coerce, first, form_pairs
from instancemock.world.clock import iso
from instancemock.world.store import Document, Store, Stored, VersionConflict

IGNORED_NAMES = {"complete", "ticket", "format"}


# --- the task's view of a form ------------------------------------------------------------------


def _task_is_open(task: Document, instance: Document, user: User) -> bool:
    return (
        task["Status"] == "ready"
        and not task["Locked"]
        and instance["Status"] not in process.FINISHED
        and process.may_perform(task, user)
    )


def _visible(app: Document, task: Document, obj: Document) -> list[Document]:
    """The form's fields as the task shows them: a main-form field later steps fill in is hidden."""
    fields = obj.get("Fields") or []
    if obj["Id"] != task.get("FormId"):
        return fields
    step = int(task["Step"])
    now_or_before = {n for s in app["Steps"][: step + 1] for n in s["Editable"]}
    later = {n for s in app["Steps"][step + 1 :] for n in s["Editable"]} - now_or_before
    return [f for f in fields if f["Name"] not in later]


def _editable(app: Document, task: Document, obj: Document) -> set[str]:
    names = {f["Name"] for f in obj.get("Fields") or []}
    if obj["Id"] != task.get("FormId"):
        return names
    return set(app["Steps"][int(task["Step"])]["Editable"]) & names


async def _context(c: Ctx, task: Document) -> tuple[Document, Document]:
    instance = (await instance_of(c, task["InstanceId"])).doc
    app = (await app_of(c, instance["ApplicationId"])).doc
    return instance, app


async def _task_form(c: Ctx, task_id: str, object_id: str) -> tuple[Document, Document, Document, Document]:
    task = (await task_of(c, task_id)).doc
    instance, app = await _context(c, task)
    obj = (await object_of(c, object_id)).doc
    if obj["InstanceId"] != instance["Id"]:
        raise Refusal(404, "Object not found")
    return {**task, "FormId": instance["FormId"]}, instance, app, obj


def _apply(
    obj: Document, pairs: list[tuple[str, str]], allowed: set[str], at: str
) -> tuple[Document, list[str], list[str]]:
    """Values for the allowed fields (names case-insensitive); every other name is ignored."""
    fields = [dict(f) for f in obj.get("Fields") or []]
    by_name = {f["Name"].lower(): f for f in fields}
    updated: list[str] = []
    ignored: list[str] = []
    for key, raw in pairs:
        field = by_name.get(key.lower())
        if field is None or field["Name"] not in allowed:
            ignored.append(key)
            continue
        try:
            field["Value"] = coerce(field, raw)
        except ValueError as error:
            raise bad_field(key, str(error)) from error
        if field["Name"] not in updated:
            updated.append(field["Name"])
    changed = {**obj, "Fields": fields}
    if updated:
        changed.update(UpdatedDate=at, DataId=new_id())
    return changed, updated, ignored


def _flag(value: str | None) -> bool:
    if value is None or value.strip().lower() in FALSE:
        return False
    if value.strip().lower() in TRUE:
        return True
    raise bad_field("complete", f"'complete' must be true or false, got {value!r}.")


# --- tasks --------------------------------------------------------------------------------------


async def list_tasks(request: web.Request) -> web.Response:
    c = ctx(request)
    user = caller(c)
    items = newest_first(await docs(c, "tasks", **status_equal(c)), "CreatedDate")
    return json_response(page(c, items, lambda d: process.task_summary(d, user)))


async def get_task(request: web.Request) -> web.Response:
    c = ctx(request)
    return json_response(process.task_view((await task_of(c, c.args.path["Id"])).doc, caller(c)))


async def complete_task(request: web.Request) -> web.Response:
    c = ctx(request)
    stored_task = await task_of(c, c.args.path["Id"])
    task = stored_task.doc
    instance_stored = await instance_of(c, task["InstanceId"])
    instance = instance_stored.doc
    app = (await app_of(c, instance["ApplicationId"])).doc
    user = caller(c)
    if not process.may_perform(task, user):
        raise Refusal(403, f"The user {user.name} does not have permission to perform the task {task['Name']}.")
    if task["Status"] == "completed":
        raise Refusal(409, f"The task {task['Name']} is already completed.")
    if task["Locked"] or instance["Status"] in process.FINISHED:
        raise Refusal(409, f"The task {task['Name']} is locked and cannot be performed.")
    if int(task["Step"]) != int(instance["Step"]):
        raise Refusal(409, f"The task {task['Name']} is not the instance's current task.")
    pairs = [(k, v) for k, v in form_pairs(c) if k.lower() not in IGNORED_NAMES]
    complete = _flag(first(form_pairs(c), "complete"))
    now = c.now()
    form_stored = await c.store.get("objects", instance["FormId"])
    form = None
    if form_stored is not None and pairs:
        allowed = _editable(app, {**task, "FormId": instance["FormId"]}, form_stored.doc)
        form, _, _ = _apply(form_stored.doc, pairs, allowed, iso(now))
    if form is not None:
        await c.store.put("objects", form["Id"], form)
    if not complete:
        return json_response({"success": True})
    try:
        await complete_and_move_on(c.store, app, instance_stored, stored_task, user, now, new_id, users(c))
    except VersionConflict as error:
        raise Refusal(409, f"The task {task['Name']} changed meanwhile; try again.") from error
    return json_response({"success": True})


async def complete_and_move_on(
    store: Store,
    app: Document,
    instance: Stored,
    task: Stored,
    user: User,
    now: datetime,
    make_id: process.NewId,
    users: Catalog,
) -> None:
    """`user` completes the instance's current task: it moves on (the simulation does the same).

    Raises VersionConflict, changing nothing, if the instance or the task changed since read.
    """
    moved, opened = process.enter(app, instance.doc, int(task.doc["Step"]) + 1, now, make_id, users)
    await store.put("instances", instance.doc["Id"], moved, expect=instance.version)
    await store.put("tasks", task.doc["Id"], process.completed(task.doc, now, user.name, user.id), expect=task.version)
    if opened is not None:
        await store.put("tasks", opened["Id"], opened)


async def list_task_objects(request: web.Request) -> web.Response:
    c = ctx(request)
    task = (await task_of(c, c.args.path["Id"])).doc
    items = sorted(await docs(c, "objects", InstanceId=task["InstanceId"]), key=lambda d: (d["SortIndex"], d["Id"]))
    return json_response(page(c, items, process.task_object_summary))


async def get_task_object(request: web.Request) -> web.Response:
    c = ctx(request)
    task, instance, _, obj = await _task_form(c, c.args.path["Id"], c.args.path["ObjectId"])
    return json_response(process.task_object_view(obj, not _task_is_open(task, instance, caller(c))))


def _form_only(obj: Document) -> None:
    if obj["Type"] != "form":
        raise Refusal(404, f"The object {obj['Name']} is a {obj['Type']}, not a form; it has no fields.")


async def get_task_object_fields(request: web.Request) -> web.Response:
    c = ctx(request)
    task, instance, app, obj = await _task_form(c, c.args.path["Id"], c.args.path["ObjectId"])
    _form_only(obj)
    open_ = _task_is_open(task, instance, caller(c))
    editable = _editable(app, task, obj) if open_ else set()
    fields = [process.field_view(f, f["Name"] not in editable) for f in _visible(app, task, obj)]
    return json_response({"TotalCount": len(fields), "Data": fields})


async def update_task_object_fields(request: web.Request) -> web.Response:
    c = ctx(request)
    task, instance, app, obj = await _task_form(c, c.args.path["Id"], c.args.path["ObjectId"])
    _form_only(obj)
    user = caller(c)
    if not process.may_perform(task, user):
        raise Refusal(403, f"The user {user.name} does not have permission to perform the task {task['Name']}.")
    if task["Status"] == "completed" or task["Locked"] or instance["Status"] in process.FINISHED:
        raise Refusal(
            409, f"The task {task['Name']} is {'locked' if task['Locked'] else 'done'}; its forms are read-only."
        )
    pairs = [(k, v) for k, v in form_pairs(c) if k.lower() not in IGNORED_NAMES]
    if not pairs:
        raise bad_field("", "Send at least one name=value pair.")
    visible = {f["Name"] for f in _visible(app, task, obj)}
    changed, updated, ignored = _apply(obj, pairs, _editable(app, task, obj) & visible, iso(c.now()))
    await c.store.put("objects", obj["Id"], changed)
    return json_response({"success": True, "updatedFields": updated, "ignoredFields": ignored})


# --- objects ------------------------------------------------------------------------------------


async def get_object(request: web.Request) -> web.Response:
    c = ctx(request)
    obj = (await object_of(c, c.args.path["Id"])).doc
    instance = (await instance_of(c, obj["InstanceId"])).doc
    return json_response(process.object_view(obj, instance["Status"] in process.FINISHED))


async def get_object_fields(request: web.Request) -> web.Response:
    c = ctx(request)
    obj = (await object_of(c, c.args.path["Id"])).doc
    _form_only(obj)
    instance = (await instance_of(c, obj["InstanceId"])).doc
    finished = instance["Status"] in process.FINISHED
    fields = [process.field_view(f, finished) for f in obj.get("Fields") or []]
    return json_response({"TotalCount": len(fields), "Data": fields})


async def update_object_fields(request: web.Request) -> web.Response:
    c = ctx(request)
    obj = (await object_of(c, c.args.path["Id"])).doc
    _form_only(obj)
    instance = (await instance_of(c, obj["InstanceId"])).doc
    pairs = [(k, v) for k, v in form_pairs(c) if k.lower() not in IGNORED_NAMES]
    if not pairs:
        raise bad_field("", "Send at least one name=value pair.")
    finished = instance["Status"] in process.FINISHED
    allowed = set() if finished else {f["Name"] for f in obj.get("Fields") or []}
    changed, updated, ignored = _apply(obj, pairs, allowed, iso(c.now()))
    if updated:
        await c.store.put("objects", obj["Id"], changed)
    return json_response({"success": True, "updatedFields": updated, "ignoredFields": ignored})
