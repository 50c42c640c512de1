"""Instantiation through the App API (seed 004 "Create instance").

Both `POST .../instances` and `POST .../instances/create` end the same way: an instance created in
Storage's collection with its process started at the first task, its uploaded or prefilled data
elements, and the first task's auto-created form data; the checks before that follow app-lib's
order, so a client sees the same error first.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from aiohttp import web

from instancemock.core.context import Ctx, ctx
from instancemock.core.encoding import json_response
from instancemock.core.errors import Refusal
from instancemock.core.operations import read_json
from instancemock.platforms.altinn import errors
from instancemock.platforms.altinn.app.common import app_of, is_app_owner, may, record_events, world
from instancemock.platforms.altinn.auth import Principal, principal_of
from instancemock.platforms.altinn.domain.app_view import app_link, instance_response
from instancemock.platforms.altinn.domain.data import write_bytes
from instancemock.platforms.altinn.domain.forms import FORM_DATA, FormError, form_bytes, is_form, parse_form, root_name
from instancemock.platforms.altinn.domain.frontend import may_instantiate_as
from instancemock.platforms.altinn.domain.instances import INSTANCES, is_hard_deleted_element, next_seq
from instancemock.platforms.altinn.domain.process import ProcessConflict, start
from instancemock.platforms.altinn.domain.world import App, Party, World
from instancemock.world.clock import iso
from instancemock.world.store import Document

OWNER_KEYS = ("partyId", "personNumber", "organisationNumber", "username")
NO_OWNER = (
    "Cannot create an instance without an instanceOwner.partyId. Either provide instanceOwner party Id as a "
    "query parameter or an instanceTemplate object in the body."
)
BOTH_OWNERS = (
    "You cannot provide an instanceOwnerPartyId as a query param as well as an instance template in the body. "
    "Choose one or the other."
)
EMPTY_OWNER = (
    "Error: instanceOwnerPartyId query parameter is empty and InstanceOwner is missing from instance template. "
    "You must populate instanceOwnerPartyId or InstanceOwner"
)


@dataclass(frozen=True, slots=True)
class Part:
    name: str | None
    content_type: str | None
    filename: str | None
    data: bytes


# --- POST /{org}/{app}/instances -------------------------------------------------------------


async def create_instance(request: web.Request) -> web.Response:
    c = ctx(request)
    principal = principal_of(request)
    app = app_of(c)
    parts = _parts(c)
    template = _template(parts)
    query_party = c.args.query.get("instanceOwnerPartyId")
    owner = _owner_fields(template)
    if query_party is None and template is None:
        return errors.json_string(400, NO_OWNER)
    if query_party is not None and owner:
        return errors.json_string(400, BOTH_OWNERS)
    if query_party is None and not owner:
        return errors.json_string(400, EMPTY_OWNER)
    uploads = [p for p in parts if p.name not in ("instance", "notification") and not _is_template(p, parts)]
    if problem := _check_parts(app, uploads):
        return errors.json_string(400, f"Error when comparing content to application metadata: {problem}")
    party = _lookup(world(c), owner or {"partyId": str(query_party)})
    _may_instantiate(c, principal, app, party)
    template = template or {}
    doc = await _new_instance(c, principal, app, party, template.get("dueBefore"), template.get("visibleAfter"))
    values = template.get("dataValues")
    if isinstance(values, dict) and (kept := {k: str(v) for k, v in values.items() if v not in (None, "")}):
        doc["dataValues"] = kept
    types = {t["id"]: t for t in app.data_types}
    guid = str(doc["id"]).split("/", 1)[1]
    forms: dict[str, dict[str, str]] = {}
    for part in uploads:
        element = new_element(
            app, doc, str(part.name), _media(part.content_type), len(part.data), principal, c.now(), part.filename
        )
        doc["data"].append(element)
        if is_form(types[str(part.name)]):
            forms[element["id"]] = _part_values(part)
        else:
            await write_bytes(c.store, element["id"], guid, part.data)
    doc["_copied"] = forms
    return await _finish(c, principal, app, party, doc, prefill=None)


def _part_values(part: Part) -> dict[str, str]:
    """A form data part's model; [I] one that cannot be read is kept empty (app-lib answers 400)."""
    try:
        return parse_form(part.data, part.content_type or "")
    except FormError:
        return {}


def _parts(c: Ctx) -> list[Part]:
    """The body as parts: a JSON body is one unnamed part; no body, none."""
    media = c.args.content_type.split(";")[0].strip().lower()
    if not c.args.raw_body:
        return []
    if media != "multipart/form-data":
        return [Part(None, media or "application/json", None, c.args.raw_body)]
    head = f"Content-Type: {c.args.content_type}\r\n\r\n".encode()
    message = BytesParser(policy=policy.HTTP).parsebytes(head + c.args.raw_body)
    if not isinstance(message, EmailMessage) or not message.is_multipart() or message.defects:
        raise Refusal.answer(
            errors.problem(400, "Error reading request", "The request body is not a readable multipart form.")
        )
    found: list[Part] = []
    for index, section in enumerate(message.iter_parts()):
        name = section.get_param("name", header="content-disposition")
        if not name:
            raise Refusal.answer(
                errors.problem(400, "Error reading request", f"Multipart section without name found at index {index}")
            )
        payload = section.get_payload(decode=True)
        found.append(
            Part(
                str(name),
                section.get("Content-Type"),
                section.get_filename(),
                payload if isinstance(payload, bytes) else b"",
            )
        )
    return found


def _is_template(part: Part, parts: list[Part]) -> bool:
    """app-lib reads a single unnamed JSON part (a plain JSON body) as the instance template."""
    return part.name is None and len(parts) == 1 and _media(part.content_type).endswith("json")


def _template(parts: list[Part]) -> dict[str, Any] | None:
    chosen = next((p for p in parts if p.name == "instance" or _is_template(p, parts)), None)
    if chosen is None:
        return None
    if chosen.name == "instance" and not _media(chosen.content_type).startswith("application/json"):
        raise Refusal.answer(
            errors.json_string(
                400,
                f"Error when comparing content to application metadata: Unexpected Content-Type "
                f"'{chosen.content_type}' of embedded instance template. Expecting 'application/json'",
            )
        )
    try:
        value = json.loads(chosen.data) if chosen.data.strip() else None
    except ValueError as error:
        raise Refusal.answer(
            errors.problem(400, "Error reading request", f"The instance template is not JSON: {error}")
        ) from error
    if value is not None and not isinstance(value, dict):
        raise Refusal.answer(
            errors.problem(400, "Error reading request", "The instance template must be a JSON object.")
        )
    return {_lower_first(k): v for k, v in value.items()} if value else ({} if value is not None else None)


def _lower_first(key: str) -> str:
    """ASP.NET binds member names case-insensitively: `InstanceOwner` is `instanceOwner`."""
    known = {
        "instanceowner": "instanceOwner",
        "duebefore": "dueBefore",
        "visibleafter": "visibleAfter",
        "datavalues": "dataValues",
    }
    return known.get(key.lower(), key)


def _owner_fields(template: dict[str, Any] | None) -> dict[str, str]:
    owner = (template or {}).get("instanceOwner") or (template or {}).get("instanceowner")
    if not isinstance(owner, dict):
        return {}
    by_lower = {k.lower(): v for k, v in owner.items()}
    return {
        key: str(by_lower[key.lower()]).strip() for key in OWNER_KEYS if by_lower.get(key.lower()) not in (None, "")
    }


def _media(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def _check_parts(app: App, parts: list[Part]) -> str | None:
    """app-lib's RequestPartValidator: names, content types, sizes and counts against the metadata."""
    types = {t["id"]: t for t in app.data_types}
    for part in parts:
        data_type = types.get(str(part.name))
        if data_type is None:
            return (
                f"Multipart section named, '{part.name}' does not correspond to an element type in application metadata"
            )
        if part.content_type is None:
            return f"The multipart section named {part.name} is missing Content-Type."
        allowed = [a.lower() for a in data_type.get("allowedContentTypes") or []]
        if allowed and _media(part.content_type) not in allowed:
            return (
                f"The multipart section named {part.name} has a Content-Type '{part.content_type}' which is invalid "
                f"for element type '{part.name}'"
            )
        if not part.data:
            return f"The multipart section named {part.name} has no data. Cannot process empty part."
    for type_id, data_type in types.items():
        count = sum(1 for p in parts if p.name == type_id)
        most = int(data_type.get("maxCount") or 0)
        if most and count > most:
            return f"The list of parts contains more elements of type '{type_id}' than the element type allows."
    return None


def _lookup(w: World, owner: dict[str, str]) -> Party:
    """Register lookup by partyId, personNumber, organisationNumber, then username."""
    if "partyId" in owner:
        party = w.party(owner["partyId"])
        kind, value = "partyId", owner["partyId"]
    elif "personNumber" in owner:
        party = w.party_by_person_number(owner["personNumber"])
        kind, value = "personNumber", owner["personNumber"]
    elif "organisationNumber" in owner:
        party = w.party_by_organisation_number(owner["organisationNumber"])
        kind, value = "organisationNumber", owner["organisationNumber"]
    else:
        party = w.party_by_username(owner["username"])
        kind, value = "username", owner["username"]
    if party is None:
        raise Refusal.answer(
            errors.json_string(
                404,
                f"Cannot lookup party: Failed to lookup party by {kind}: {value}. The exception was: 404 - Not Found",
            )
        )
    return party


def _may_instantiate(c: Ctx, principal: Principal, app: App, party: Party) -> None:
    if not may(c, principal, "instantiate", app, party.party_id):
        raise Refusal.answer(errors.empty(403))
    if not may_instantiate_as(app, party):
        raise Refusal.answer(
            errors.json_string(
                403, f"Party {party.party_id} is not allowed to instantiate this application {app.app_id}"
            )
        )


async def _new_instance(
    c: Ctx, principal: Principal, app: App, party: Party, due_before: Any, visible_after: Any
) -> Document:
    guid = new_guid()  # created at run time: only seeded data must be reproducible
    moment = c.now()  # one reading: the instance is created, and its process started, at one instant
    now = iso(moment)
    try:
        process, events = start(app, moment, principal.actor)
    except ProcessConflict as conflict:
        raise Refusal.answer(errors.json_string(409, str(conflict))) from conflict
    doc: Document = {
        "id": f"{party.party_id}/{guid}",
        "instanceOwner": party.owner(),
        "appId": app.app_id,
        "org": app.org,
        "visibleAfter": _template_text(visible_after) or now,
        "process": process,
        "status": {
            "isArchived": False,
            "isSoftDeleted": False,
            "isHardDeleted": False,
            "readStatus": "Unread" if principal.is_service_owner else "Read",
        },
        "data": [],
        "created": now,
        "createdBy": principal.actor,
        "lastChanged": now,
        "lastChangedBy": principal.actor,
        "_seq": await next_seq(c.store),
        "_events": events,
    }
    if due := _template_text(due_before):
        doc["dueBefore"] = due
    return doc


def _template_text(value: Any) -> str | None:
    if isinstance(value, datetime):
        return iso(value)
    return str(value) if value not in (None, "") else None


def new_element(
    app: App,
    doc: Document,
    data_type: str,
    content_type: str,
    size: int,
    principal: Principal,
    now: datetime,
    filename: str | None = None,
) -> Document:
    guid = str(doc["id"]).split("/", 1)[1]
    element_guid = new_guid()
    stamp = iso(now)
    element: Document = {
        "id": element_guid,
        "instanceGuid": guid,
        "dataType": data_type,
        "contentType": content_type or "application/octet-stream",
        "blobStoragePath": f"{app.org}/{app.name}/{guid}/data/{element_guid}",
        "size": size,
        "locked": False,
        "isRead": True,
        "tags": [],
        "fileScanResult": "NotApplicable",
        "created": stamp,
        "createdBy": principal.actor,
        "lastChanged": stamp,
        "lastChangedBy": principal.actor,
    }
    if filename:
        element["filename"] = filename
    return element


async def _finish(
    c: Ctx, principal: Principal, app: App, party: Party, doc: Document, prefill: dict[str, str] | None
) -> web.Response:
    """The first task's auto-created form data (with any prefill), then store and answer 201."""
    first = app.tasks[0].element_id
    guid = str(doc["id"]).split("/", 1)[1]
    forms: dict[str, dict[str, str]] = {}
    for data_type in app.data_types:
        auto = (data_type.get("appLogic") or {}).get("autoCreate")
        if not auto or data_type.get("taskId") != first or any(e["dataType"] == data_type["id"] for e in doc["data"]):
            continue
        values = dict(prefill or {})
        content_type = (data_type.get("allowedContentTypes") or ["application/xml"])[0]
        size = _form_size(values, content_type, root_name(data_type))
        element = new_element(app, doc, data_type["id"], content_type, size, principal, c.now())
        doc["data"].append(element)
        forms[element["id"]] = values
    events = doc.pop("_events", [])
    forms |= doc.pop("_copied", {})
    await c.store.put(INSTANCES, guid, doc)
    for element_id, values in forms.items():
        await c.store.put(FORM_DATA, element_id, {"instanceGuid": guid, "values": values})
    await record_events(c, guid, events)
    body = instance_response(doc, c.origin, party, owner_org=is_app_owner(principal, doc))
    response = json_response(body, status=201)  # response_of, with the party already looked up
    response.headers["Location"] = app_link(c.origin, app.app_id, party.party_id, guid)
    return response


def _form_size(values: dict[str, str], content_type: str, root: str) -> int:
    """The size of a new form's stored bytes; a client creating many instances sends the same
    prefill each time, so the size is remembered rather than the form written again for each."""
    key = (tuple(values.items()), content_type, root)
    size = _FORM_SIZES.get(key)
    if size is None:
        size = len(form_bytes(values, content_type, root))
        if len(_FORM_SIZES) >= FORM_SIZES_KEPT:
            _FORM_SIZES.clear()
        _FORM_SIZES[key] = size
    return size


FORM_SIZES_KEPT = 256
_FORM_SIZES: dict[tuple[tuple[tuple[str, str], ...], str, str], int] = {}


def new_guid() -> str:
    """`str(uuid.uuid4())` (the same random version 4 GUIDs), without building a `uuid.UUID`:
    an App create makes two, and the UUID object cost more than the rest of the element."""
    value = int.from_bytes(os.urandom(16)) & _CLEAR | _VERSION_4
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


_CLEAR = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)  # the version nibble, the variant bits
_VERSION_4 = (0x4000 << 64) | (0x8000 << 48)  # version 4, RFC 4122 variant


# --- POST /{org}/{app}/instances/create ------------------------------------------------------


async def create_simplified(request: web.Request) -> web.Response:
    c = ctx(request)
    principal = principal_of(request)
    app = app_of(c)
    body = _body_json(c.args.raw_body) if c.args.raw_body else None
    body = body if isinstance(body, dict) else {}
    source_id = str(body.get("sourceInstanceId") or "")
    copying = bool(source_id)
    if copying and not (app.metadata.get("copyInstanceSettings") or {}).get("enabled"):
        return errors.json_string(
            400, "Creating instance based on a copy from an archived instance is not enabled for this app."
        )
    owner = _owner_fields(body)
    if not owner:
        return errors.json_string(400, EMPTY_OWNER)
    party = _lookup(world(c), owner)
    source_party, source_guid = _source_id(source_id) if copying else ("", "")
    if copying and str(party.party_id) != source_party:
        return errors.json_string(400, "It is not possible to copy instances between instance owners.")
    _may_instantiate(c, principal, app, party)
    source = await _source(c, source_guid) if copying else None
    if source is not None and not (source.get("status") or {}).get("isArchived"):
        return errors.json_string(400, "It is not possible to copy an instance that isn't archived.")
    doc = await _new_instance(c, principal, app, party, body.get("dueBefore"), body.get("visibleAfter"))
    if source is not None:
        await _copy_data(c, principal, app, source, doc)
    prefill = body.get("prefill")
    values = {str(k): str(v) for k, v in prefill.items() if v is not None} if isinstance(prefill, dict) else None
    return await _finish(c, principal, app, party, doc, prefill=values)


def _body_json(raw: bytes) -> Any:
    """`json.loads(raw)`: through `read_json` (orjson, the same values) first, as it is several
    times faster; whatever that refuses is read by `json.loads` as before (NaN, a BOM, ...)."""
    try:
        return read_json(raw)
    except ValueError:
        return json.loads(raw)


def _source_id(text: str) -> tuple[str, str]:
    party, _, guid = text.partition("/")
    try:
        return party.strip(), str(uuid.UUID(guid.strip()))
    except ValueError:
        raise Refusal.answer(
            errors.problem(
                400,
                "One or more validation errors occurred.",
                errors={
                    "sourceInstanceId": [f"'{text}' is not of the form {{instanceOwnerPartyId}}/{{instanceGuid}}."]
                },
            )
        ) from None


async def _source(c: Ctx, guid: str) -> Document:
    found = await c.store.get(INSTANCES, guid)
    if found is None:
        raise Refusal.answer(errors.json_string(404, "Retrieving source instance failed with status code NotFound"))
    return found.doc


async def _copy_data(c: Ctx, principal: Principal, app: App, source: Document, doc: Document) -> None:
    """app-lib's CopyDataFromSourceInstance: the first task's form data, minus excluded types."""
    settings = app.metadata.get("copyInstanceSettings") or {}
    excluded = set(settings.get("excludedDataTypes") or [])
    first = app.tasks[0].element_id
    forms = {t["id"] for t in app.data_types if (t.get("appLogic") or {}).get("classRef") and t.get("taskId") == first}
    copied: dict[str, dict[str, str]] = {}
    for element in source.get("data") or []:
        kind = element.get("dataType")
        if kind in excluded or kind not in forms or is_hard_deleted_element(element):
            continue
        stored = await c.store.get(FORM_DATA, str(element["id"]))
        values = dict(stored.doc.get("values") or {}) if stored else {}
        new = new_element(
            app,
            doc,
            str(kind),
            str(element.get("contentType") or ""),
            int(element.get("size") or 0),
            principal,
            c.now(),
        )
        doc["data"].append(new)
        copied[new["id"]] = values
    doc["_copied"] = copied
