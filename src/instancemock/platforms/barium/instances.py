"""Apps and instances: lists, details, starting an instance, messages, objects and deletion."""

from __future__ import annotations

import base64
from collections import Counter
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from instancemock.core.context import Ctx, ctx
from instancemock.core.encoding import dumps, encoded_response, json_response
from instancemock.core.errors import Refusal
from instancemock.platforms.barium import process
from instancemock.platforms.barium.access import (
    app_of,
    bad_field,
    caller,
    check_version,
    created_item,
    docs,
    found,
    instance_object,
    instance_of,
    new_id,
    newest_first,
    page,
    status_equal,
    users,
    window_bounds,
)
from instancemock.platforms.barium.catalog import Catalog, User
from instancemock.platforms.barium.files import content_type_of
from instancemock.platforms.barium.forms import MULTIPART, coerce, first, form_pairs, media_type, multipart_parts
from instancemock.platforms.barium.order import InstanceOrder
from instancemock.world.clock import iso
from instancemock.world.store import Document, Store, Stored, VersionConflict

RESERVED = {"message", "template", "instance.name", "ticket", "format", "webticket"}


# --- apps ---------------------------------------------------------------------------------------


async def _counts(c: Ctx) -> Counter[str]:
    return Counter(s.doc["ApplicationId"] for s in await c.store.list("instances"))


async def list_apps(request: web.Request) -> web.Response:
    c = ctx(request)
    counts = await _counts(c)
    apps = [process.app_view(s.doc, counts[s.doc["Id"]]) for s in await c.store.list("apps")]
    return json_response(page(c, apps))


async def get_app(request: web.Request) -> web.Response:
    c = ctx(request)
    app = (await app_of(c, c.args.path["Id"])).doc
    return json_response(process.app_view(app, (await _counts(c))[app["Id"]]))


async def list_app_instances(request: web.Request) -> web.Response:
    c = ctx(request)
    app = (await app_of(c, c.args.path["Id"])).doc
    items = newest_first(await docs(c, "instances", ApplicationId=app["Id"], **status_equal(c)), "StartDate")
    return json_response(page(c, items, lambda d: process.pick(d, process.APP_INSTANCE_SUMMARY)))


async def start_app(request: web.Request) -> web.Response:
    c = ctx(request)
    stored_app = await app_of(c, c.args.path["Id"])
    app = stored_app.doc
    user = caller(c)
    if not user.may("start"):
        raise Refusal(403, f"The user {user.name} does not have permission to start instances of {app['Name']}.")
    pairs = form_pairs(c)
    message = (c.args.query.get("message") or first(pairs, "message") or "START").strip().upper()
    if message not in app["Messages"]:
        raise Refusal(
            400, f"The app {app['Name']} has no start event for the message '{message}'; it starts on "
            + ", ".join(app["Messages"]) + ".",
        )  # fmt: skip
    values = [(k, v) for k, v in pairs if k.lower() not in RESERVED]
    template = (first(pairs, "template") or "").strip()
    if (values or first(pairs, "instance.name") is not None) and not template:
        raise bad_field("template", "'template' is required when form values are sent.")
    now = c.now()
    form_values, definitions = _start_values(app, values)
    number = await _claim_number(c, stored_app)
    name = (first(pairs, "instance.name") or "").strip() or process.instance_name(app, number, now)
    form_id = new_id()
    instance = process.new_instance(
        app,
        id=new_id(),
        name=name,
        description=process.describe(app, form_values),
        started_by=user.name,
        started_by_id=user.id,
        at=now,
        form_id=form_id,
    )
    form = process.new_object(
        instance,
        id=form_id,
        data_id=new_id(),
        kind="form",
        name=process.form_name(app),
        description=f"Startformulär ({template or app['Template']})",
        at=now,
        sort_index=0,
        template_id=template or app["Template"],
        fields=process.form_fields(definitions, form_values, new_id),
    )
    instance, task = process.enter(app, instance, 0, now, new_id, users(c))
    await c.store.put("objects", form["Id"], form)
    if task is not None:
        await c.store.put("tasks", task["Id"], task)
    await c.store.put("instances", instance["Id"], instance)
    return json_response({"success": True, "InstanceId": instance["Id"]})


CLAIM_ATTEMPTS = 64


async def _claim_number(c: Ctx, stored_app: Stored) -> int:
    """The app's next instance number, taken with a versioned write of the app.

    Why a retry: `NextNumber` is a counter, not somebody's edit, so a start that loses the race for
    it (another request, worker or replica sharing a Redis store wrote the app in between) reads the
    app again and takes the next number, as the real service does with its sequence: every one of
    many parallel starts is kept, with its own number. Only a store that keeps changing under it
    for CLAIM_ATTEMPTS tries gives up with 409.
    """
    app_id = stored_app.doc["Id"]
    for _ in range(CLAIM_ATTEMPTS):
        number = int(stored_app.doc["NextNumber"])
        try:
            await c.store.put("apps", app_id, {**stored_app.doc, "NextNumber": number + 1}, expect=stored_app.version)
        except VersionConflict:
            stored_app = await app_of(c, app_id)
            continue
        return number
    raise Refusal(409, "The app changed while the instance was being started; try again.")


def _start_values(app: Document, pairs: list[tuple[str, str]]) -> tuple[dict[str, str | None], list[dict]]:
    """Posted values by the app's field names (case-insensitive); unknown names become text fields."""
    definitions = [dict(d) for d in app["Fields"]]
    by_name = {d["Name"].lower(): d for d in definitions}
    values: dict[str, str | None] = {}
    for key, raw in pairs:
        definition = by_name.get(key.lower())
        if definition is None:
            definition = {"Name": key, "Type": "text", "Required": False, "Options": []}
            definitions.append(definition)
            by_name[key.lower()] = definition
        try:
            values[definition["Name"]] = coerce(definition, raw)
        except ValueError as error:
            raise bad_field(key, str(error)) from error
    return values, definitions


# --- instances ----------------------------------------------------------------------------------


async def list_instances(request: web.Request) -> web.Response:
    """Newest first, from the store's index (order.py): only the page's instances are read."""
    c = ctx(request)
    start, limit = window_bounds(c)
    order = await c.store.index("instances", InstanceOrder)
    total, shown = order.newest_first_encoded(c.args.query.get("Status"), start, limit, _encoded_summary)
    return encoded_response(b'{"TotalCount":%d,"Data":[%s]}' % (total, b",".join(shown)))


def _encoded_summary(instance: Document) -> bytes:
    """An instance as the list shows it, encoded (the index keeps it while the instance stands)."""
    return dumps(process.pick(instance, process.INSTANCE_SUMMARY))


async def get_instance(request: web.Request) -> web.Response:
    c = ctx(request)
    instance = (await instance_of(c, c.args.path["Id"])).doc
    return json_response(process.pick(instance, process.INSTANCE))


async def send_message(request: web.Request) -> web.Response:
    c = ctx(request)
    stored = await instance_of(c, c.args.path["Id"])
    instance = stored.doc
    message = (c.args.query.get("message") or first(form_pairs(c), "message") or "").strip().upper()
    if not message:
        raise Refusal(400, "'message' is required (in the form body or the query string).")
    if instance["Status"] in process.FINISHED:
        raise Refusal(409, f"The instance {instance['Name']} is {instance['Status']} and cannot receive messages.")
    app = (await app_of(c, instance["ApplicationId"])).doc
    awaited = process.awaited_messages(app, instance)
    if message not in awaited:
        raise Refusal(
            400, f"The instance {instance['Name']} is not waiting for the message '{message}'; it waits for "
            + ", ".join(awaited) + ".",
        )  # fmt: skip
    try:
        await receive_message(c.store, app, stored, caller(c), c.now(), new_id, users(c))
    except VersionConflict as error:
        raise Refusal(409, f"The instance {instance['Name']} changed meanwhile; try again.") from error
    return json_response({"success": True})


async def receive_message(
    store: Store, app: Document, stored: Stored, user: User, now: datetime, make_id: process.NewId, users: Catalog
) -> None:
    """The instance caught an awaited message and moves on (the simulation does the same).

    Raises VersionConflict, changing nothing, if the instance changed since read.
    """
    instance = stored.doc
    open_tasks = [
        s.doc
        for s in await store.list("tasks")
        if s.doc.get("InstanceId") == instance["Id"] and s.doc.get("Status") == "ready"
    ]
    moved, opened = process.enter(app, instance, int(instance["Step"]) + 1, now, make_id, users)
    await store.put("instances", instance["Id"], moved, expect=stored.version)
    for task in open_tasks:  # APPROVE on a user task: the boundary message completes it
        await store.put("tasks", task["Id"], process.completed(task, now, user.name, user.id))
    if opened is not None:
        await store.put("tasks", opened["Id"], opened)


async def delete_instance(request: web.Request) -> web.Response:
    c = ctx(request)
    instance = (await instance_of(c, c.args.path["Id"])).doc
    user = caller(c)
    if not user.may("delete"):
        raise Refusal(403, f"The user {user.name} does not have permission to delete instances.")
    for task in await docs(c, "tasks", InstanceId=instance["Id"]):
        await c.store.delete("tasks", task["Id"])
    for obj in await docs(c, "objects", InstanceId=instance["Id"]):
        await c.store.delete("objects", obj["Id"])
    await c.store.delete("instances", instance["Id"])
    return json_response({"success": True})


# --- an instance's objects and tasks ------------------------------------------------------------


def _objects_in_order(items: list[Document]) -> list[Document]:
    return sorted(items, key=lambda d: (d["SortIndex"], d["CreatedDate"], d["Id"]))


async def list_instance_objects(request: web.Request) -> web.Response:
    c = ctx(request)
    instance = (await instance_of(c, c.args.path["Id"])).doc
    finished = instance["Status"] in process.FINISHED
    items = _objects_in_order(await docs(c, "objects", InstanceId=instance["Id"]))
    return json_response(page(c, items, lambda d: process.object_view(d, finished)))


async def get_instance_object(request: web.Request) -> web.Response:
    c = ctx(request)
    instance, obj = await instance_object(c)
    check_version(c, obj)
    return json_response(process.object_view(obj, instance["Status"] in process.FINISHED))


async def create_instance_object(request: web.Request) -> web.Response:
    c = ctx(request)
    instance = (await instance_of(c, c.args.path["Id"])).doc
    pairs = form_pairs(c)
    files = [p for p in multipart_parts(c) if p.filename is not None] if media_type(c) == MULTIPART else []
    kind = (first(pairs, "Type") or "").strip().lower()
    if kind not in ("form", "file", "folder"):
        raise bad_field("Type", f"'Type' must be form, file or folder, got {first(pairs, 'Type')!r}.")
    if instance["Status"] in process.FINISHED:
        raise Refusal(409, f"The instance {instance['Name']} is {instance['Status']}; objects cannot be added.")
    existing = await docs(c, "objects", InstanceId=instance["Id"])
    data = next((p for p in files if p.name.lower() == "data"), None)
    name = (first(pairs, "Name") or "").strip() or (data.filename if data and data.filename else "")
    now = c.now()
    common: dict[str, Any] = {
        "id": new_id(),
        "data_id": new_id(),
        "at": now,
        "sort_index": max((d["SortIndex"] for d in existing), default=-1) + 1,
        "description": (first(pairs, "Description") or "").strip(),
    }
    if not name:
        raise bad_field("Name", "'Name' is required (for a file, a filename on the Data part will do).")
    if kind == "form":
        obj = await _new_form(c, instance, pairs, name, common)
    elif kind == "file":
        content = data.value if data is not None else (first(pairs, "Data") or "").encode()
        if data is None and first(pairs, "Data") is None:
            raise bad_field("Data", "A file needs its content in 'Data'.")
        suffix = PurePosixPath(name).suffix.lstrip(".").lower() or None
        obj = process.new_object(
            instance,
            kind="file",
            name=name,
            file_type=suffix,
            content=base64.b64encode(content).decode(),
            size=len(content),
            content_type=content_type_of(name, data.content_type if data is not None else None),
            **common,
        )
    else:
        obj = process.new_object(instance, kind="folder", name=name, **common)
    await c.store.put("objects", obj["Id"], obj)
    await c.store.put("instances", instance["Id"], {**instance, "UpdatedDate": iso(now)})
    return json_response({"success": True, "Id": obj["Id"], "Items": [created_item(c, obj)]})


async def _new_form(c: Ctx, instance: Document, pairs: list[tuple[str, str]], name: str, common: dict) -> Document:
    template = (first(pairs, "TemplateId") or "").strip()
    if not template:
        raise bad_field("TemplateId", "'TemplateId' is required for a form.")
    app = (await app_of(c, instance["ApplicationId"])).doc
    known = app["Fields"] if template.lower() == app["Template"].lower() else []
    posted = _posted_fields(pairs)
    values, definitions = _start_values({**app, "Fields": known}, posted)
    return process.new_object(
        instance,
        kind="form",
        name=name,
        template_id=template,
        fields=process.form_fields(definitions, values, new_id),
        **common,
    )


def _posted_fields(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The form values of an object post, in order, however the client shaped `Fields`.

    The docs call `Fields` an array: clients send one url-encoded `a=1&b=2` string, repeat
    `Fields=a=1&Fields=b=2`, or bind it like an ASP.NET dictionary, `Fields[a]=1`.
    """
    posted: list[tuple[str, str]] = []
    for key, value in pairs:
        name = key.lower()
        if name == "fields":
            posted.extend(parse_qsl(value, keep_blank_values=True))
        elif name.startswith("fields[") and name.endswith("]") and len(name) > len("fields[]"):
            posted.append((key[len("fields[") : -1], value))
    return posted


async def list_instance_tasks(request: web.Request) -> web.Response:
    c = ctx(request)
    instance = (await instance_of(c, c.args.path["Id"])).doc
    user = caller(c)
    items = newest_first(await docs(c, "tasks", InstanceId=instance["Id"], **status_equal(c)), "CreatedDate")
    return json_response(page(c, items, lambda d: process.task_summary(d, user)))


async def get_instance_task(request: web.Request) -> web.Response:
    c = ctx(request)
    instance = (await instance_of(c, c.args.path["Id"])).doc
    task = (await found(c, "tasks", c.args.path["TaskId"], "Task")).doc
    if task["InstanceId"] != instance["Id"]:
        raise Refusal(404, "Task not found")
    return json_response(process.task_view(task, caller(c)))
