"""What every Barium handler needs: the caller, lookups that answer 404, paging, and refusals.

A helper raises `Refusal` (core/errors.py) and the pipeline renders it in Barium's envelope, so a
lookup helper can stop a request without every caller checking for None.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any

from instancemock.core.context import Ctx
from instancemock.core.errors import Refusal
from instancemock.core.violations import Violation
from instancemock.platforms.barium.catalog import Catalog, User, catalog
from instancemock.world.store import Document, Stored

MAX_CAP = 1000
MAX_DEFAULT = 100


def bad_field(field: str, message: str) -> Refusal:
    return Refusal(400, message, (Violation("body", field, message),))


def caller(c: Ctx) -> User:
    user = c.principal
    return user if isinstance(user, User) else catalog(c.state.settings).default_user


def users(c: Ctx) -> Catalog:
    return catalog(c.state.settings)


def new_id() -> str:
    return str(uuid.uuid4())


async def found(c: Ctx, collection: str, key: str, what: str) -> Stored:
    stored = await c.store.get(collection, key.strip().lower())
    if stored is None:
        raise Refusal(404, f"{what} not found")
    return stored


async def app_of(c: Ctx, key: str) -> Stored:
    return await found(c, "apps", key, "App")


async def instance_of(c: Ctx, key: str) -> Stored:
    return await found(c, "instances", key, "Instance")


async def task_of(c: Ctx, key: str) -> Stored:
    return await found(c, "tasks", key, "Task")


async def object_of(c: Ctx, key: str) -> Stored:
    return await found(c, "objects", key, "Object")


async def instance_object(c: Ctx) -> tuple[Document, Document]:
    """The instance `{Id}` and its object `{ObjectId}`; an object of another instance is a 404."""
    instance = (await instance_of(c, c.args.path["Id"])).doc
    obj = (await found(c, "objects", c.args.path["ObjectId"], "Object")).doc
    if obj["InstanceId"] != instance["Id"]:
        raise Refusal(404, "Object not found")
    return instance, obj


def check_version(c: Ctx, obj: Document) -> None:
    """`VersionId`, when sent, must be the object's one version (its `DataId`)."""
    version = (c.args.query.get("VersionId") or "").strip().lower()
    if version and version != (obj.get("DataId") or ""):
        raise Refusal(404, f"Version {version} of the object {obj['Name']} not found")


async def docs(c: Ctx, collection: str, **equal: Any) -> list[Document]:
    """The documents whose fields equal the given values, in store order."""
    stored = await c.store.list(collection)
    if not equal:
        return [s.doc for s in stored]
    if len(equal) == 1:  # the lists' usual filter (Status, ApplicationId): one comparison per item
        ((key, value),) = equal.items()
        return [s.doc for s in stored if s.doc.get(key) == value]
    return [s.doc for s in stored if all(s.doc.get(key) == value for key, value in equal.items())]


def window_bounds(c: Ctx) -> tuple[int, int]:
    """`Start` (a 0-based offset) and `Max` (default 100, clamped to 1000)."""
    return int(c.args.query.get("Start", 0)), min(int(c.args.query.get("Max", MAX_DEFAULT)), MAX_CAP)


def window(c: Ctx, items: list[Any]) -> list[Any]:
    """The items `Start` and `Max` ask for (`window_bounds`)."""
    start, limit = window_bounds(c)
    return items[start : start + limit]


def page(c: Ctx, items: Iterable[Any], view: Callable[[Any], Any] | None = None) -> dict[str, Any]:
    """`{TotalCount, Data}`: the total before paging, and the window of it.

    `view` makes the answer's summary of an item: only the items of the page are summarised.
    """
    everything = items if isinstance(items, list) else list(items)
    shown = window(c, everything)
    return {"TotalCount": len(everything), "Data": shown if view is None else [view(item) for item in shown]}


def newest_first(items: Iterable[Document], key: str) -> list[Document]:
    return sorted(items, key=lambda d: (d.get(key) or "", d["Id"]), reverse=True)


def status_equal(c: Ctx) -> dict[str, Any]:
    """The `Status` filter as `docs` takes it, so the store's list is filtered in one pass."""
    status = c.args.query.get("Status")
    return {"Status": status} if status else {}


def created_item(c: Ctx, obj: Document) -> dict[str, Any]:
    """One entry of a create answer's `Items`; `resourceURI` is under the API version called."""
    return {
        "success": True,
        "ObjectClass": obj["ObjectClass"],
        "Name": obj["Name"],
        "Id": obj["Id"],
        "ReferenceId": obj["ReferenceId"],
        "resourceURI": f"{c.route.base.removeprefix('/barium')}/Objects/{obj['Id']}",
    }
