"""The Instances API: create, read, list, update with a version check, patch and delete.

An instance document is the resource clients read (`GET /api/instances/{name}`) plus private
keys starting with `_` (the last TriggerField), which never leave the server. `Version` is the
instance's own "1.0", "2.0", ... and moves on with every successful PUT or PATCH.
"""

from __future__ import annotations

import functools
import uuid
from typing import Any

from aiohttp import web

from instancemock.core.context import Ctx, Handler, ctx
from instancemock.core.encoding import json_response
from instancemock.core.errors import Refusal
from instancemock.core.violations import Violation
from instancemock.platforms.kianda import designs, errors
from instancemock.platforms.kianda.auth import principal
from instancemock.platforms.kianda.webhooks import notify
from instancemock.world.store import Document, VersionConflict

INSTANCES = "instances"
COUNTERS = "counters"


def key(name: str) -> str:
    return name.strip().lower()


def public(doc: Document) -> Document:
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def summary(doc: Document) -> Document:
    return {k: v for k, v in public(doc).items() if k != "fields"}


def parse_version(text: str) -> tuple[int, ...]:
    return tuple(map(int, str(text).split(".")))


def same_version(expected: Any, current: str) -> bool:
    """No `Version` sent, or the one stored: "2.0" matches "2.0" and "2.00" (the text, as a client
    that echoes it sends, settles it without parsing)."""
    return expected is None or expected == current or parse_version(expected) == parse_version(current)


@functools.lru_cache(maxsize=4096)
def next_version(text: str) -> str:
    """ "2.0" -> "3.0"; remembered, as every write of an instance at that version asks the same."""
    return f"{parse_version(text)[0] + 1}.0"


def not_found(name: str) -> Refusal:
    return Refusal(404, f"Instance '{name}' not found.")


def conflict(current: str) -> Refusal:
    return Refusal(409, f"Version conflict: instance is at {current}.")


async def allocate_number(c: Ctx, process_name: str) -> int:
    """One more than the highest number ever used for the design; numbers are never reused.

    The counter outlives deletions. If it is missing (a hand-written state file), it starts after
    the highest number among the design's stored instances, and a number whose name is taken is
    skipped, so an allocation never overwrites an instance.
    """
    counter_key = key(process_name)
    while True:
        bumped = await c.store.update(COUNTERS, counter_key, lambda d: {**d, "last": int(d.get("last", 0)) + 1})
        if bumped is None:
            try:
                bumped = await c.store.put(
                    COUNTERS, counter_key, {"last": await _highest_number(c, process_name) + 1}, expect=0
                )
            except VersionConflict:  # another request created the counter first: bump theirs
                continue
        number = int(bumped.doc["last"])
        if await c.store.get(INSTANCES, key(f"{process_name}-{number}")) is None:
            return number


async def _highest_number(c: Ctx, process_name: str) -> int:
    prefix = key(process_name) + "-"
    numbers = [
        int(k.removeprefix(prefix))
        for k in (key(str(s.doc.get("id", ""))) for s in await c.store.list(INSTANCES))
        if k.startswith(prefix) and k.removeprefix(prefix).isdigit()
    ]
    return max(numbers, default=0)


async def create_record(
    c: Ctx, design: Document, values: designs.FieldValues, status: str | None, trigger: str
) -> Document:
    """A new instance of `design` as the caller, stored, announced to the webhooks."""
    number = await allocate_number(c, design["name"])
    user = principal(c).username
    now = c.state.clock.second_text()
    name = f"{design['name']}-{number}"
    doc: Document = {
        "id": name,
        "uniqueId": uuid.uuid4().hex,
        "processName": design["name"],
        "processTitle": design["title"],
        "processVersion": design["version"],
        "status": status or design["forms"][0],
        "Version": "1.0",
        "created": now,
        "createdBy": user,
        "modified": now,
        "modifiedBy": user,
        "assignTo": user,
        "fields": [
            {"name": f["name"], "text": values.get(f["name"], ("", ""))[0], "value": values.get(f["name"], ("", ""))[1]}
            for f in design["fields"]
        ],
        "_triggerField": trigger,
    }
    await c.store.put(INSTANCES, key(name), doc)
    notify(c.state, name, design["name"], "created")
    return doc


async def create_instance(request: web.Request) -> web.Response:
    c = ctx(request)
    body: dict[str, Any] = c.args.body
    design = await designs.find_design(c.store, str(body["processName"]))
    if design is None:
        raise designs.not_found(str(body["processName"]))
    values, problems = designs.resolve_mappings(design, body.get("FieldsMappings"))
    status, status_problems = designs.resolve_status(design, body.get("Status"))
    if problems or status_problems:
        raise Refusal.invalid(*problems, *status_problems)
    doc = await create_record(c, design, values, status, designs.as_text(body.get("TriggerField")))
    return json_response({"success": True, "instanceID": doc["id"]})


async def get_instance(request: web.Request) -> web.Response:
    c = ctx(request)
    name = str(c.args.path["name"])
    found = await c.store.get(INSTANCES, key(name))
    if not found:
        raise not_found(name)
    return json_response(public(found.doc))


async def get_instance_fields(request: web.Request) -> web.Response:
    c = ctx(request)
    if "names" not in c.args.query:  # Web API 2 selects no action without it
        raise Refusal.answer(errors.no_action(request, "Instances"))
    name = str(c.args.path["name"])
    found = await c.store.get(INSTANCES, key(name))
    if found is None:
        raise not_found(name)
    by_lower = {f["name"].lower(): f for f in found.doc["fields"]}
    answer: list[Document] = []
    seen: set[str] = set()
    for wanted in str(c.args.query["names"]).split(","):
        wanted = wanted.strip().lower()
        if wanted in by_lower and wanted not in seen:
            seen.add(wanted)
            answer.append(dict(by_lower[wanted]))
    return json_response(answer)


async def list_instances(request: web.Request) -> web.Response:
    c = ctx(request)
    process = str(c.args.query.get("processName") or "").strip().lower()
    status = str(c.args.query.get("status") or "").strip().lower()
    page = int(c.args.query.get("page") or 1)
    size = int(c.args.query.get("pageSize") or 50)
    matches = [
        s.doc
        for s in await c.store.list(INSTANCES)
        if (not process or str(s.doc.get("processName", "")).lower() == process)
        and (not status or str(s.doc.get("status", "")).lower() == status)
    ]
    matches.sort(key=lambda d: str(d.get("id", "")))
    matches.sort(key=lambda d: str(d.get("created", "")), reverse=True)
    chosen = matches[(page - 1) * size : page * size]
    return json_response([summary(d) for d in chosen], headers={"Total-Items": str(len(matches))})


async def update_instance(request: web.Request) -> web.Response:
    return await _change(request, replace=True)


async def patch_instance(request: web.Request) -> web.Response:
    return await _change(request, replace=False)


async def _change(request: web.Request, replace: bool) -> web.Response:
    """PUT (replace every field) and PATCH (only the named ones), both with the version rule."""
    c = ctx(request)
    name = str(c.args.path["name"])
    body: dict[str, Any] = c.args.body or {}
    store = c.store  # the sandbox's world, looked up once
    found = await store.get(INSTANCES, key(name))
    if found is None:
        raise not_found(name)
    design = await designs.find_design(store, found.doc["processName"])
    if design is None:
        raise designs.not_found(found.doc["processName"])
    problems: list[Violation] = []
    sent_process = body.get("ProcessName")
    if sent_process not in (None, "") and str(sent_process).strip().lower() != design["name"].lower():
        message = f"Instance '{found.doc['id']}' belongs to process '{design['name']}', not '{sent_process}'."
        problems.append(Violation("body", "ProcessName", message))
    values, mapping_problems = designs.resolve_mappings(design, body.get("FieldsMappings"))
    status, status_problems = designs.resolve_status(design, body.get("Status"))
    problems += mapping_problems + status_problems
    if problems:
        raise Refusal.invalid(*problems)

    expected = body.get("Version")
    user = principal(c).username
    now = c.state.clock.second_text()
    stale: list[str] = []

    trigger = designs.as_text(body.get("TriggerField"))

    def apply(doc: Document) -> Document | None:
        # Runs inside the store's atomic update: the version compared is the one written over.
        if not same_version(expected, doc["Version"]):
            stale.append(doc["Version"])
            return None
        return revised(doc, values, status, user, now, trigger, replace=replace)

    saved = await store.update(INSTANCES, key(name), apply)
    if saved is None:
        raise not_found(name)
    if stale:
        raise conflict(stale[0])
    notify(c.state, saved.doc["id"], design["name"], "updated")
    return json_response(_echo(body, saved.doc, design))


def revised(
    doc: Document, values: designs.FieldValues, status: str | None, user: str, now: str, trigger: str, replace: bool
) -> Document:
    """`doc` after a successful PUT (`replace`) or PATCH by `user`: the next Version, modified now.

    The simulation moves instances with it too, so its changes look like a client's.
    """
    fields = []
    for field in doc["fields"]:
        name = field["name"]
        written = values.get(name)
        if written is not None:
            fields.append({"name": name, "text": written[0], "value": written[1]})
        elif replace:
            fields.append({"name": name, "text": "", "value": ""})
        else:
            fields.append(dict(field))
    return {
        **doc,
        "status": status or doc["status"],
        "Version": next_version(doc["Version"]),
        "modified": now,
        "modifiedBy": user,
        "fields": fields,
        "_triggerField": trigger,
    }


def _echo(body: dict[str, Any], doc: Document, design: Document) -> Document:
    """The request as sent, every key present, with the new Version."""
    sent_process = body.get("ProcessName")
    return {
        "ProcessName": sent_process if sent_process not in (None, "") else design["name"],
        "Version": doc["Version"],
        "TriggerField": designs.as_text(body.get("TriggerField")),
        "Status": designs.as_text(body.get("Status")),
        "FieldsMappings": list(body.get("FieldsMappings") or []),
    }


async def delete_instance(request: web.Request) -> web.Response:
    c = ctx(request)
    name = str(c.args.path["name"])
    found = await c.store.get(INSTANCES, key(name))
    if found is None or not await c.store.delete(INSTANCES, key(name)):
        raise not_found(name)
    notify(c.state, found.doc["id"], found.doc["processName"], "deleted")
    return json_response({"success": True})


OPERATIONS: dict[str, Handler] = {
    "createInstance": create_instance,
    "listInstances": list_instances,
    "getInstance": get_instance,
    "getInstanceFields": get_instance_fields,
    "updateInstance": update_instance,
    "patchInstance": patch_instance,
    "deleteInstance": delete_instance,
}
