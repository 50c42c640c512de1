"""The space's lists (`GET /Lists`, `/Lists/{Id}`, `/Lists/{Id}/Data`): live views of instances.

A list is configured in the fixture (catalog.py, `SpaceList`); its rows are made on every call
from the sandbox's instances and their start forms, so an instance started a moment ago is on the
list. Rows are objects keyed by the column names as written (`form.formId`, `instance.Name`), and
`/Data` answers the rows as a bare array: Barium.psm1's README reads `$list.'form.formId'`
straight off the answer, which PowerShell's member enumeration only allows on an array of rows.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from instancemock.core.context import Ctx, ctx
from instancemock.core.encoding import json_response
from instancemock.core.errors import Refusal
from instancemock.platforms.barium.access import docs, newest_first, page, users, window
from instancemock.platforms.barium.catalog import FORM_ID, SpaceList
from instancemock.world.store import Document


def _list_of(c: Ctx) -> SpaceList:
    wanted = str(c.args.path["Id"]).strip().lower()
    found = next((item for item in users(c).lists if item.id == wanted), None)
    if found is None:
        raise Refusal(404, "List not found")
    return found


def _summary(item: SpaceList) -> dict[str, Any]:
    return {"Id": item.id, "Name": item.name, "Description": item.description}


async def list_lists(request: web.Request) -> web.Response:
    c = ctx(request)
    return json_response(page(c, [_summary(item) for item in users(c).lists]))


async def get_list(request: web.Request) -> web.Response:
    c = ctx(request)
    item = _list_of(c)
    app = await c.store.get("apps", item.app_id.lower())
    return json_response(
        {
            **_summary(item),
            "ApplicationId": item.app_id,
            "ApplicationName": app.doc["Name"] if app is not None else None,
            "Columns": list(item.columns),
        }
    )


def _cell(column: str, instance: Document, form: Document | None) -> str | None:
    source, _, field = column.partition(".")
    if source == "instance":
        value = next((v for k, v in instance.items() if k.lower() == field.lower()), None)
        return None if value is None else str(value)
    if form is None:
        return None
    if field.lower() == FORM_ID.lower():
        return str(form["Id"])
    return next((f["Value"] for f in form.get("Fields") or [] if f["Name"].lower() == field.lower()), None)


async def get_list_data(request: web.Request) -> web.Response:
    c = ctx(request)
    item = _list_of(c)
    instances = [
        d
        for d in newest_first(await docs(c, "instances", ApplicationId=item.app_id), "StartDate")
        if (not item.statuses or d["Status"] in item.statuses)
        and (item.milestone is None or d.get("Milestone") == item.milestone)
    ]
    rows = []
    for instance in window(c, instances):
        form = await c.store.get("objects", str(instance.get("FormId", "")).lower())
        rows.append({column: _cell(column, instance, form.doc if form else None) for column in item.columns})
    return json_response(rows)
