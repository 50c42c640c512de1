"""The App API's data routes: create, read, replace, patch and delete an instance's data elements.

They follow app-lib's DataController (see `openapi/altinn-app.yaml`, tag Data): the obsolete
`POST .../data?dataType=` answers 201 with the `DataElement` and refuses with a JSON string,
`POST .../data/{dataType}` (and `.../data/type/{dataType}`) answers 200 with a `DataPostResponse`
and refuses with ProblemDetails. Every write keeps the instance's `data` list and its
`lastChanged(By)` in step, in the one store Storage reads (`../storage.py` serves the same bytes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from instancemock.core.context import Ctx, ctx
from instancemock.core.encoding import json_response
from instancemock.core.errors import Refusal
from instancemock.platforms.altinn import errors
from instancemock.platforms.altinn.app.common import app_of, authorize, is_app_owner
from instancemock.platforms.altinn.app.create import new_element
from instancemock.platforms.altinn.auth import Principal, principal_of
from instancemock.platforms.altinn.domain import data as blobs
from instancemock.platforms.altinn.domain.app_view import app_link, data_element_view, instance_view
from instancemock.platforms.altinn.domain.forms import (
    FORM_DATA,
    FormError,
    PatchConflict,
    PatchInvalid,
    apply_patch,
    flatten,
    form_bytes,
    is_form,
    nest,
    parse_form,
    root_name,
)
from instancemock.platforms.altinn.domain.instances import INSTANCES, guid_of, is_hard_deleted_element, mutable, touch
from instancemock.platforms.altinn.domain.world import App
from instancemock.world.clock import iso
from instancemock.world.store import Document


@dataclass(slots=True)
class Target:
    """The app, the instance (a copy to change), the path's element in it and the element's type."""

    app: App
    doc: Document
    element: Document
    data_type: dict[str, Any]


async def _instance(c: Ctx, principal: Principal, action: str) -> tuple[App, Document]:
    """The path's instance once the caller may `action` on it; 404 "Instance Not Found" otherwise."""
    app = app_of(c)
    found = await c.store.get(INSTANCES, str(c.args.path["instanceGuid"]).lower())
    if found is None or str(found.doc.get("appId", "")).lower() != app.app_id.lower():
        party, guid = c.args.path["instanceOwnerPartyId"], c.args.path["instanceGuid"]
        raise Refusal.answer(errors.problem(404, "Instance Not Found", f"Did not find instance {party}/{guid}"))
    authorize(c, principal, action, app, found.doc)
    return app, mutable(found.doc)


async def _element(c: Ctx, principal: Principal, action: str) -> Target:
    """GetInstanceDataOrError: the instance, then the element (404), then its data type (400)."""
    app, doc = await _instance(c, principal, action)
    wanted = str(c.args.path["dataGuid"]).lower()
    readable = [e for e in doc.get("data") or [] if is_app_owner(principal, doc) or not is_hard_deleted_element(e)]
    element = next((e for e in readable if str(e.get("id")).lower() == wanted), None)
    if element is None:
        raise Refusal.answer(
            errors.problem(
                404,
                "Data Element Not Found",
                f"Did not find data element {wanted} on instance {doc['id']}",
            )
        )
    data_type = _data_type(app, str(element.get("dataType")))
    if data_type is None:
        raise Refusal.answer(
            errors.problem(
                400,
                "Data Type Not Found",
                f'Could not find the specified data type: "{element.get("dataType")}" in applicationmetadata.json',
            )
        )
    return Target(app, doc, element, data_type)


async def _writable(c: Ctx, principal: Principal) -> Target:
    """The element of the path, once the caller may write the instance and the element may change."""
    target = await _element(c, principal, "write")
    if (problem := _mutation_problem(target.doc, target.data_type)) is not None:
        raise Refusal.answer(problem)
    return target


def _data_type(app: App, type_id: str) -> dict[str, Any] | None:
    return next((t for t in app.data_types if t.get("id") == type_id), None)


def _is_active(doc: Document) -> bool:
    status = doc.get("status") or {}
    return not (status.get("archived") or status.get("softDeleted") or status.get("hardDeleted"))


def _mutation_problem(doc: Document, data_type: dict[str, Any]) -> web.Response | None:
    """DataElementAccessChecker's checks before any create, update or delete."""
    if str(data_type.get("id")).lower() == blobs.REF_DATA_AS_PDF:
        return errors.problem(403, "Forbidden", f"Data element of type {data_type['id']} cannot be modified")
    if not _is_active(doc):
        return errors.problem(
            409, "Instance Not Active", f"Cannot update data element of archived or deleted instance {doc['id']}"
        )
    return None


def _create_problem(principal: Principal, doc: Document, data_type: dict[str, Any]) -> web.Response | None:
    if (problem := _mutation_problem(doc, data_type)) is not None:
        return problem
    existing = sum(1 for e in doc.get("data") or [] if e.get("dataType") == data_type["id"])
    most = int(data_type.get("maxCount", 1) or 0)
    if most > 0 and existing >= most:
        return errors.problem(
            409, "Max Count Exceeded", f"Cannot create more than {most} data elements of type {data_type['id']}"
        )
    if (data_type.get("appLogic") or {}).get("disallowUserCreate") and not principal.is_service_owner:
        return errors.problem(
            400,
            "User Create Disallowed",
            f"Cannot create data element of type {data_type['id']} as it is disallowed by app logic",
        )
    return None


def _upload(request: web.Request, c: Ctx) -> blobs.Upload:
    body = c.args.raw_body
    return blobs.Upload(
        data=body,
        content_type=request.headers.get("Content-Type"),
        disposition=request.headers.get("Content-Disposition"),
        length=request.content_length if request.content_length is not None else len(body),
    )


async def _save(c: Ctx, principal: Principal, doc: Document) -> None:
    touch(doc, c.now(), principal.actor)
    await c.store.put(INSTANCES, guid_of(doc), doc)


# --- create ----------------------------------------------------------------------------------


class Failed(Exception):
    """A create that failed, with app-lib's ProblemDetails (title, detail, status, extensions)."""

    def __init__(self, status: int, title: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.extra = status, title, detail, extra


@dataclass(frozen=True, slots=True)
class Created:
    c: Ctx
    principal: Principal
    doc: Document
    element: Document
    form: dict[str, Any] | None  # the new model, for a form data type


async def _create(request: web.Request, type_id: str) -> Created:
    """PostImpl: the new element stored and added to the instance, or Failed / a Refusal."""
    c = ctx(request)
    principal = principal_of(request)
    app, doc = await _instance(c, principal, "write")
    data_type = _data_type(app, type_id)
    if data_type is None:
        raise Failed(
            400,
            "Data Type Not Found",
            f'Could not find the specified data type: "{type_id}" in applicationmetadata.json',
        )
    if (problem := _create_problem(principal, doc, data_type)) is not None:
        raise Refusal.answer(problem)
    if not ((doc.get("process") or {}).get("currentTask") or {}).get("elementId"):
        raise Failed(409, "No current task", "Cannot create data element without a current task")
    upload = _upload(request, c)
    now = c.now()
    values: dict[str, str] = {}
    if is_form(data_type):
        content_type = (
            blobs.media(upload.content_type) or (data_type.get("allowedContentTypes") or ["application/xml"])[0]
        )
        values = _form_values(upload) if upload.data else {}
        size = len(form_bytes(values, content_type, root_name(data_type)))
        element = new_element(app, doc, type_id, content_type, size, principal, now)
    else:
        if issues := blobs.restriction_issues(data_type, upload):
            raise Failed(400, "File validation failed", "Common checks failed", uploadValidationIssues=issues)
        if upload.content_type is None:
            raise Failed(400, "Missing content type", "The request is missing a content type header.")
        if not upload.data:
            raise Failed(400, "Invalid data", "Invalid data provided. Error: The file is zero bytes.")
        element = new_element(app, doc, type_id, upload.content_type, len(upload.data), principal, now, upload.filename)
        if data_type.get("enableFileScan"):
            element["fileScanResult"] = "Pending"
        await blobs.write_bytes(c.store, element["id"], guid_of(doc), upload.data)
    doc.setdefault("data", []).append(element)
    if is_form(data_type):
        await c.store.put(FORM_DATA, element["id"], {"instanceGuid": guid_of(doc), "values": values})
    await _save(c, principal, doc)
    return Created(c, principal, doc, element, nest(values) if is_form(data_type) else None)


def _form_values(upload: blobs.Upload) -> dict[str, str]:
    try:
        return parse_form(upload.data, upload.content_type or "")
    except FormError as error:
        raise Failed(400, "Failed to deserialize", str(error)) from error


async def create_data_element(request: web.Request) -> web.Response:
    """Obsolete `POST .../data?dataType=`: 201 + `Location` + DataElement; 400s as one JSON string."""
    type_id = str(ctx(request).args.query["dataType"])
    try:
        created = await _create(request, type_id)
    except Failed as failed:
        if failed.status != 400:
            return errors.problem(failed.status, failed.title, failed.detail, **failed.extra)
        issues = failed.extra.get("uploadValidationIssues") or [{"description": failed.detail}]
        return errors.json_string(400, ";".join(str(i["description"]) for i in issues))
    view = data_element_view(created.element, _link(created.c, created.doc))
    return json_response(view, status=201, headers={"Location": view["selfLinks"]["apps"]})


async def post_data_element(request: web.Request) -> web.Response:
    """`POST .../data/{dataType}` and `.../data/type/{dataType}`: 200 DataPostResponse."""
    path = ctx(request).args.path
    type_id = str(path.get("dataType") or path.get("dataGuid"))
    try:
        made = await _create(request, type_id)
    except Failed as failed:
        return errors.problem(failed.status, failed.title, failed.detail, **failed.extra)
    models = [{"dataElementId": made.element["id"], "data": made.form}] if made.form is not None else []
    body = {
        "newDataElementId": made.element["id"],
        "instance": instance_view(made.doc, made.c.origin, owner_org=is_app_owner(made.principal, made.doc)),
        "validationIssues": [],
        "newDataModels": models,
    }
    return json_response(body)


def _link(c: Ctx, doc: Document) -> str:
    party, guid = str(doc["instanceOwner"]["partyId"]), guid_of(doc)
    return app_link(c.origin, str(doc["appId"]), party, guid)


# --- read ------------------------------------------------------------------------------------


async def get_data_element(request: web.Request) -> web.Response:
    """Form data as the model (JSON, or XML when only XML is accepted); other data as its bytes."""
    c = ctx(request)
    principal = principal_of(request)
    target = await _element(c, principal, "read")
    element, data_type = target.element, target.data_type
    await _mark_read(c, principal, target.doc)
    if is_form(data_type):
        stored = await c.store.get(FORM_DATA, str(element["id"]))
        values = dict(stored.doc.get("values") or {}) if stored else {}
        accept = request.headers.get("Accept", "")
        if "xml" in accept and "json" not in accept:
            body = form_bytes(values, "application/xml", root_name(data_type))
            return web.Response(body=body, content_type="application/xml", charset="utf-8")
        return json_response(nest(values))
    data = await blobs.read_bytes(c.store, element)
    return web.Response(body=data, headers=blobs.file_headers(element))


async def _mark_read(c: Ctx, principal: Principal, doc: Document) -> None:
    """app-lib tells Storage the instance is read when someone other than the app owner reads data."""
    if is_app_owner(principal, doc) or doc["status"].get("readStatus") == "Read":
        return
    doc["status"]["readStatus"] = "Read"
    await c.store.put(INSTANCES, guid_of(doc), doc)


# --- replace ---------------------------------------------------------------------------------


async def put_data_element(request: web.Request) -> web.Response:
    """Form data: the model replaced (201 DataElement); other data: the bytes replaced (201)."""
    c = ctx(request)
    principal = principal_of(request)
    target = await _writable(c, principal)
    doc, element, data_type = target.doc, target.element, target.data_type
    if element.get("locked"):
        return errors.problem(409)  # Storage refuses a locked element; app-lib answers a bare Conflict()
    upload = _upload(request, c)
    now = c.now()
    if is_form(data_type):
        try:
            values = parse_form(upload.data, upload.content_type or "")
        except FormError as error:
            return errors.problem(400, "Failed to deserialize", str(error))
        if not ((doc.get("process") or {}).get("currentTask") or {}).get("elementId"):
            return errors.problem(409, "No current task", "Cannot update data element without a current task")
        await c.store.put(FORM_DATA, str(element["id"]), {"instanceGuid": guid_of(doc), "values": values})
        size = len(form_bytes(values, str(element.get("contentType") or ""), root_name(data_type)))
        _changed(element, principal, now, size=size)
    else:
        if issues := blobs.restriction_issues(data_type, upload):
            return errors.json_string(400, ";".join(str(i["description"]) for i in issues))
        await blobs.write_bytes(c.store, str(element["id"]), guid_of(doc), upload.data)
        _changed(element, principal, now, size=len(upload.data))
        element["contentType"] = upload.content_type or element.get("contentType")
        if upload.filename:
            element["filename"] = upload.filename
        if data_type.get("enableFileScan"):
            element["fileScanResult"] = "Pending"
    await _save(c, principal, doc)
    view = data_element_view(element, _link(c, doc))
    return json_response(view, status=201, headers={"Location": view["selfLinks"]["apps"]})


def _changed(element: Document, principal: Principal, now: Any, size: int) -> None:
    element["size"] = size
    element["lastChanged"] = iso(now)
    element["lastChangedBy"] = principal.actor


# --- patch -----------------------------------------------------------------------------------


async def patch_form_data(request: web.Request) -> web.Response:
    """Obsolete single-element PATCH: DataPatchResponse (validation issues by source)."""
    c = ctx(request)
    body = c.args.body if isinstance(c.args.body, dict) else {}
    element_id = str(c.args.path["dataGuid"]).lower()
    patches = [{"dataElementId": element_id, "patch": body.get("patch")}]
    doc, models = await _patch(request, patches)
    return json_response({"validationIssues": {}, "newDataModel": models[0]["data"], "instance": _plain(request, doc)})


async def patch_form_data_multiple(request: web.Request) -> web.Response:
    """`PATCH .../data`: several models at once; DataPatchResponseMultiple."""
    c = ctx(request)
    body = c.args.body if isinstance(c.args.body, dict) else {}
    doc, models = await _patch(request, list(body.get("patches") or []))
    return json_response({"validationIssues": [], "newDataModels": models, "instance": _plain(request, doc)})


def _plain(request: web.Request, doc: Document) -> dict[str, Any]:
    c = ctx(request)
    return instance_view(doc, c.origin, owner_org=is_app_owner(principal_of(request), doc))


async def _patch(request: web.Request, patches: list[dict[str, Any]]) -> tuple[Document, list[dict[str, Any]]]:
    """PatchService.ApplyPatches: every element found and writable first, then every patch applied."""
    c = ctx(request)
    principal = principal_of(request)
    app, doc = await _instance(c, principal, "write")
    targets: list[tuple[Document, dict[str, Any], list[dict[str, Any]]]] = []
    for item in patches:
        wanted = str(item.get("dataElementId") or "").lower()
        element = next((e for e in doc.get("data") or [] if str(e.get("id")).lower() == wanted), None)
        if element is None:
            raise Refusal.answer(
                errors.problem(
                    404, "Data Element Not Found", f"Did not find data element {wanted} on instance {doc['id']}"
                )
            )
        data_type = _data_type(app, str(element.get("dataType"))) or {}
        if (problem := _mutation_problem(doc, data_type)) is not None:
            raise Refusal.answer(problem)
        if not is_form(data_type):
            raise Refusal.answer(
                errors.problem(400, "Not a form data type", f"Data element {wanted} does not hold form data")
            )
        targets.append((element, data_type, _operations(item.get("patch"))))
    if not ((doc.get("process") or {}).get("currentTask") or {}).get("elementId"):
        raise Refusal.answer(errors.problem(409, "No current task", "Cannot update data without a current task"))
    now = c.now()
    models = []
    for element, data_type, operations in targets:
        stored = await c.store.get(FORM_DATA, str(element["id"]))
        model = nest(dict(stored.doc.get("values") or {}) if stored else {})
        try:
            patched = apply_patch(model, operations)
        except PatchConflict as conflict:
            raise Refusal.answer(errors.problem(409, "Precondition in patch failed", str(conflict))) from conflict
        except PatchInvalid as invalid:
            raise Refusal.answer(errors.problem(422, "Patch Operation Failed", str(invalid))) from invalid
        values = flatten(patched)
        await c.store.put(FORM_DATA, str(element["id"]), {"instanceGuid": guid_of(doc), "values": values})
        size = len(form_bytes(values, str(element.get("contentType") or ""), root_name(data_type)))
        _changed(element, principal, now, size=size)
        models.append({"dataElementId": element["id"], "data": nest(values)})
    await _save(c, principal, doc)
    return doc, models


def _operations(patch: Any) -> list[dict[str, Any]]:
    """A JSON Patch as Json.Patch writes it (an array of operations); `{operations: [...]}`, the
    shape the upstream document declares, is read too."""
    if isinstance(patch, dict):
        patch = patch.get("operations")
    return [op for op in patch if isinstance(op, dict)] if isinstance(patch, list) else []


# --- delete ----------------------------------------------------------------------------------


async def delete_data_element(request: web.Request) -> web.Response:
    """The element leaves the instance (and its bytes the store): 200 with the instance."""
    c = ctx(request)
    principal = principal_of(request)
    target = await _writable(c, principal)
    doc, element, data_type = target.doc, target.element, target.data_type
    logic = data_type.get("appLogic") or {}
    if logic.get("classRef") and data_type.get("maxCount", 1) == 1 and data_type.get("minCount", 1) == 1:
        return errors.problem(
            400, "Cannot Delete main data element", "Cannot delete the only data element of a class with app logic"
        )
    if logic.get("disallowUserDelete") and not principal.is_service_owner:
        return errors.problem(
            400,
            "User Delete Disallowed",
            f"Cannot delete data element of type {data_type['id']} as it is disallowed by app logic",
        )
    if not ((doc.get("process") or {}).get("currentTask") or {}).get("elementId"):
        return errors.problem(409, "No current task", "Cannot delete a data element without a current task")
    doc["data"] = [e for e in doc.get("data") or [] if e is not element]
    await c.store.delete(blobs.BLOBS, str(element["id"]))
    await c.store.delete(FORM_DATA, str(element["id"]))
    await _save(c, principal, doc)
    body = {
        "instance": instance_view(doc, c.origin, owner_org=is_app_owner(principal, doc)),
        "validationIssues": [],
        "newDataModels": [],
    }
    return json_response(body)
