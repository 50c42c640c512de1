"""Barium's recorder for proxy mode's `--record` (world/recording.py): answers -> stored documents.

The answers show the public fields of apps, instances, tasks and objects (process.py's `*_view`
and `pick` lists); the stored documents are those plus a few of the mock's own, which the
recorder fills with neutral defaults (`Step`, `FormId`, an app without a process model). What the
mock computes per caller is not stored but turned back into what computes it: a task's
`PerformPermission` into a `Role` the fixture's first user holds (or none), an object's
`ReadOnly` is left to the instance's status, as the mock decides it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from instancemock.platforms.barium import process
from instancemock.platforms.barium.catalog import catalog
from instancemock.world.recording import Change, Delete, Exchange, Put
from instancemock.world.store import Document

COMPUTED = ("InstancesCount", "PerformPermission", "ReadOnly", "Renditions")
APP_DEFAULTS: Document = {
    "Template": "",
    "Prefix": "",
    "Messages": ["START"],
    "Describe": "",
    "Fields": [],
    "Steps": [],
    "NextNumber": 1,
}
OBJECT_DEFAULTS: Document = {"Fields": None, "Content": None, "Size": None, "SortIndex": 0, "CreatedDate": None}


def _key(value: Any) -> str:
    return str(value).strip().lower()


def _public(view: Document) -> Document:
    return {k: v for k, v in view.items() if k not in COMPUTED}


def _items(answer: Any) -> list[Document]:
    """The `Data` of a `{TotalCount, Data}` page, or the single document answered."""
    if isinstance(answer, dict) and isinstance(answer.get("Data"), list):
        return [d for d in answer["Data"] if isinstance(d, dict) and d.get("Id")]
    return [answer] if isinstance(answer, dict) and answer.get("Id") else []


def _instance(view: Document, app_ids: dict[str, str], app_id: str | None = None) -> Put:
    """A list's summary has the app's name only: its id comes from the apps known by that name."""
    defaults: Document = {key: None for key in process.INSTANCE}
    defaults.update(Step=-1, FormId=None, UpdatedDate=view.get("StartDate"))
    known = _key(app_id) if app_id else app_ids.get(str(view.get("ApplicationName")))
    if known:
        defaults["ApplicationId"] = known
    return Put("instances", _key(view["Id"]), _public(view), defaults)


def _app_ids(exchange: Exchange) -> dict[str, str]:
    """App ids by name: the fixture's apps, then those recorded (a real service's own)."""
    found = {str(app["name"]): _key(app["id"]) for app in catalog(exchange.settings).apps}
    found.update({str(doc.get("Name")): key for key, doc in exchange.recorded("apps").items()})
    return found


def _orphans(app: Document, exchange: Exchange) -> Iterator[Change]:
    """Instances recorded from a list before their app was: they now learn its id."""
    for key, doc in exchange.recorded("instances").items():
        if doc.get("ApplicationId") is None and doc.get("ApplicationName") == app.get("Name"):
            yield Put("instances", key, {"ApplicationId": _key(app["Id"])})


def _task(view: Document, settings_roles: list[str]) -> Put:
    defaults: Document = {key: None for key in process.TASK_SUMMARY}
    role = settings_roles[0] if view.get("PerformPermission") and settings_roles else ""
    defaults.update(Step=0, Role=role, Locked=False)
    return Put("tasks", _key(view["Id"]), _public(view), defaults)


def _object(view: Document, instance_id: str | None) -> Put:
    defaults = dict(OBJECT_DEFAULTS)
    if instance_id:
        defaults.update(InstanceId=_key(instance_id), ParentId=_key(instance_id))
    return Put("objects", _key(view["Id"]), _public(view), defaults)


def _app(view: Document, exchange: Exchange) -> Put:
    users = catalog(exchange.settings)
    known = next((a for a in users.apps if _key(a["id"]) == _key(view["Id"])), None)
    defaults = process.app_doc(known, users.space) if known is not None else dict(APP_DEFAULTS)
    return Put("apps", _key(view["Id"]), _public(view), defaults)


def record(exchange: Exchange) -> Iterator[Change]:
    """What one answered Barium exchange tells about the world; logins and failures tell nothing."""
    operation, path, answer = exchange.operation, exchange.path, exchange.response
    roles = sorted(catalog(exchange.settings).default_user.roles)
    if operation in ("listApps", "getApp"):
        for view in _items(answer):
            yield _app(view, exchange)
            yield from _orphans(view, exchange)
    elif operation in ("listInstances", "getInstance"):
        app_ids = _app_ids(exchange)
        yield from (_instance(view, app_ids) for view in _items(answer))
    elif operation == "listAppInstances":
        yield from (_instance(view, {}, path.get("Id")) for view in _items(answer))
    elif operation == "deleteInstance":
        yield Delete("instances", _key(path["Id"]))
    elif operation in ("listTasks", "getTask"):
        yield from (_task(view, roles) for view in _items(answer))
    elif operation in ("listInstanceTasks", "getInstanceTask"):
        for view in _items(answer):
            yield _task({"InstanceId": _key(path["Id"]), **view}, roles)
    elif operation in ("listInstanceObjects", "getInstanceObject"):
        yield from (_object(view, path.get("Id")) for view in _items(answer))
    elif operation == "getObject":
        yield from (_object(view, None) for view in _items(answer))
    elif operation == "getObjectFields" and _key(path["Id"]) in exchange.recorded("objects"):
        # Every field of the form (a task's view may hide some), kept on the object already recorded.
        fields = [_field(f) for f in (answer or {}).get("Data") or [] if isinstance(f, dict)]
        yield Put("objects", _key(path["Id"]), {"Fields": fields})


def _field(view: Document) -> Document:
    return {key: view.get(key) for key in ("Id", "Name", "Type", "Value", "Required")} | {"Options": []}
