"""Altinn 3 Platform Storage: the instance query and single-instance operations.

Instances live in the `altinn` world shared with the App API (see `domain/instances.py`); this
module only decides who may do what and renders Storage's wire form. Tokens and the token
operations are in `auth.py`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from instancemock.core.context import Ctx, ctx
from instancemock.core.encoding import dumps, encoded_response, json_response
from instancemock.core.errors import Refusal
from instancemock.platforms.altinn import auth, errors
from instancemock.platforms.altinn.auth import Principal, principal_of
from instancemock.platforms.altinn.domain import query as q
from instancemock.platforms.altinn.domain.changes import (
    apply_substatus,
    confirm_complete,
    deletion_prevented,
    mark_deleted,
    substatus_problem,
)
from instancemock.platforms.altinn.domain.data import content_of, file_headers, finish_file_scans
from instancemock.platforms.altinn.domain.index import InstanceIndex
from instancemock.platforms.altinn.domain.instances import (
    INSTANCES,
    guid_of,
    is_hard_deleted_element,
    mutable,
    next_seq,
    read_status_name,
)
from instancemock.platforms.altinn.domain.policy import permits
from instancemock.platforms.altinn.domain.serialize import omit_nulls, platform_link, storage_view
from instancemock.platforms.altinn.domain.world import World, world_for
from instancemock.world.clock import iso
from instancemock.world.store import Document

OWNER_HEADER = "X-Ai-InstanceOwnerIdentifier"


def _world(c: Ctx) -> World:
    return world_for(c.state.settings)


def _guid(c: Ctx) -> str:
    return str(c.args.path["instanceGuid"]).lower()


async def _load(c: Ctx) -> Document | None:
    found = await c.store.get(INSTANCES, _guid(c))
    return found.doc if found else None


def _not_found(guid: str) -> web.Response:
    return errors.json_string(404, f"Unable to find instance {guid}")


def _may(c: Ctx, principal: Principal, action: str, doc: Document) -> bool:
    return permits(_world(c), principal, action, str(doc["appId"]), str(doc["instanceOwner"]["partyId"]))


def _instance(doc: Document, c: Ctx, principal: Principal, status: int = 200, links: bool = True) -> web.Response:
    strip = principal.org is None or principal.org.lower() != str(doc["org"]).lower()
    return json_response(storage_view(doc, c.origin, links=links, strip_deleted_data=strip), status=status)


# --- query ----------------------------------------------------------------------------------


async def query_instances(request: web.Request) -> web.Response:
    c = ctx(request)
    principal = principal_of(request)
    try:
        return await _query(request, c, principal)
    except q.QueryError as error:
        return errors.json_string(400, str(error))


async def _query(request: web.Request, c: Ctx, principal: Principal) -> web.Response:
    world = _world(c)
    identifier = request.headers.get(OWNER_HEADER)
    index = await c.store.index(INSTANCES, InstanceIndex)
    changes = index.changes
    # Every fact the answer reads (the checks below read no others, so a kept answer passed them)
    facts = (request.path, request.rel_url.raw_query_string, identifier, c.origin, _caller(principal), id(world))
    kept = index.answers.get(changes, facts)
    if kept is not None:
        return encoded_response(kept)
    args = c.args.query
    party_id: int | None = args.get("instanceOwner.partyId")
    if party_id is not None and identifier is not None:
        return errors.json_string(
            400, "Both InstanceOwner.PartyId and InstanceOwnerIdentifier cannot be present at the same time."
        )
    org: str | None = args.get("org")
    app_id: str | None = args.get("appId")
    if principal.is_service_owner:
        if not (principal.has_scope(auth.SERVICEOWNER_READ) or principal.is_sync_adapter):
            return errors.empty(403)
        if not org and not app_id:
            return errors.json_string(400, "Org or AppId must be defined.")
        org = org or str(app_id).split("/", 1)[0]
        if org.lower() != str(principal.org).lower() and not principal.is_sync_adapter:
            if not app_id:
                return errors.json_string(400, "AppId must be defined.")
            if not permits(world, principal, "read", app_id, 0):
                return errors.empty(403)
    elif principal.is_user or "authorization_details" in principal.claims:
        if party_id is None and identifier is None:
            return errors.json_string(400, "Either InstanceOwnerPartyId or InstanceOwnerIdentifier need to be defined.")
    else:
        return errors.problem(400)
    links = _Links(request, c)
    if identifier is not None:
        owner = _resolve_owner(world, identifier)
        if owner is None:
            return json_response({"totalHits": 0, "count": 0, "self": None, "next": None, "instances": []})
        party_id = owner
    query = _build_query(args, org, app_id, party_id)
    owner_view = principal.acts_as_service_owner
    if not owner_view:
        if query.is_hard_deleted:
            return encoded_response(_envelope(links, query, [], 0, None))
        query.is_hard_deleted = False
    page, total, cursor = query.select(index, None if owner_view else _readable(c, principal))
    include_data = args.get("includeDataElements", True)
    views = index.wire.page(page, c.origin, strip_deleted_data=not owner_view, include_data=include_data)
    body = _envelope(links, query, views, total, cursor)
    index.answers.put(changes, facts, body)  # made without a pause since `get`: still the instances of `changes`
    return encoded_response(body)


def _caller(principal: Principal) -> tuple[Any, ...]:
    """Everything of the caller the query reads (its visibility rules and `policy.permits`): every
    `Principal` field but the claims, and whether the claims carry `authorization_details`."""
    return (
        principal.org,
        principal.org_number,
        principal.user_id,
        principal.party_id,
        principal.auth_level,
        principal.scope,
        principal.system_user_id,
        principal.system_user_org,
        "authorization_details" in principal.claims,
    )


def _readable(c: Ctx, principal: Principal) -> Callable[[Document], bool]:
    """Whether the caller may read an instance, asked once per (app, owner party) of a query: the
    policy (domain/policy.py) depends on nothing else, and a party has thousands in a large world."""
    known: dict[tuple[str, str], bool] = {}

    def readable(doc: Document) -> bool:
        key = (str(doc["appId"]), str(doc["instanceOwner"]["partyId"]))
        found = known.get(key)
        if found is None:
            found = known[key] = _may(c, principal, "read", doc)
        return found

    return readable


def _envelope(links: _Links, query: q.Query, views: list[bytes], total: int, cursor: q.Cursor | None) -> bytes:
    """The query's answer around the instances' encoded wire forms (`instances` is its last member)."""
    head = dumps(
        {
            "totalHits": total,
            "count": len(views),
            "self": links.url(query.after),
            "next": links.url(cursor) if cursor is not None else None,
        }
    )
    return b"".join((head[:-1], b',"instances":[', b",".join(views), b"]}"))


class _Links:
    """`self` and `next`: the request's own URL with the continuation token moved to the end."""

    def __init__(self, request: web.Request, c: Ctx) -> None:
        self.base = c.origin + request.path
        raw = request.rel_url.raw_query_string
        self.kept = [part for part in raw.split("&") if part and _name(part).lower() != "continuationtoken"]

    def url(self, cursor: q.Cursor | None) -> str:
        parts = self.kept + ([f"continuationToken={cursor.encoded()}"] if cursor is not None else [])
        return self.base + ("?" + "&".join(parts) if parts else "")


def _name(part: str) -> str:
    """The decoded name of a raw `name=value` (most names have no escape to decode)."""
    name = part.partition("=")[0]
    return unquote(name) if "%" in name else name


def _resolve_owner(world: World, identifier: str) -> int | None:
    """`Person:<11 digits>` / `Organisation:<9 digits>` -> the party id, None if no such party."""
    kind, colon, number = identifier.replace(" ", "").partition(":")
    if not colon or kind.lower() not in ("person", "organisation"):
        raise Refusal.answer(errors.json_string(400, "Invalid InstanceOwnerIdentifier."))
    if kind.lower() == "person":
        if len(number) != 11 or not number.isdigit():
            raise Refusal.answer(errors.json_string(400, "Person number needs to be exactly 11 digits."))
        party = world.party_by_person_number(number)
    else:
        if len(number) != 9 or not number.isdigit():
            raise Refusal.answer(errors.json_string(400, "Organization number needs to be exactly 9 digits."))
        party = world.party_by_organisation_number(number)
    return party.party_id if party else None


def _build_query(args: dict[str, Any], org: str | None, app_id: str | None, party_id: int | None) -> q.Query:
    a3_ref = args.get("A3Ref")
    if a3_ref is not None and len(a3_ref) != 12:
        raise q.QueryError("The A3 reference needs to be exactly 12 characters long.")
    dates = [f for name in q.DATE_FIELDS if name in args for f in _date_filters(name, tuple(_listed(args[name])))]
    token = args.get("continuationToken")
    return q.Query(
        org=org,
        app_id=app_id,
        party_id=party_id,
        current_task=args.get("process.currentTask"),
        is_complete=args.get("process.isComplete"),
        dates=dates,
        exclude_confirmed_by=args.get("excludeConfirmedBy"),
        confirmed=args.get("confirmed"),
        is_archived=args.get("status.isArchived"),
        is_soft_deleted=args.get("status.isSoftDeleted"),
        is_hard_deleted=args.get("status.isHardDeleted"),
        search=args.get("searchString") or None,
        a3_ref=a3_ref,
        a2_arch_ref=args.get("dataValues.A2ArchRef"),
        main_version_include=args.get("mainVersionInclude"),
        main_version_exclude=args.get("mainVersionExclude"),
        descending=q.descending(args.get("order")),
        size=int(args.get("size", q.DEFAULT_SIZE)),
        after=q.parse_token(token) if token else None,
    )


@lru_cache(maxsize=1024)
def _date_filters(name: str, values: tuple[str, ...]) -> tuple[q.DateFilter, ...]:
    """`q.date_filters`, parsed once per distinct expression: clients page with the same window
    (`lastChanged=gt:...`) request after request, and parsing it was a twentieth of a query.
    A malformed expression raises every time (exceptions are not cached)."""
    return tuple(q.date_filters(name, values))


def _listed(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


# --- single instance ------------------------------------------------------------------------


async def get_instance(request: web.Request) -> web.Response:
    c = ctx(request)
    principal = principal_of(request)
    doc = await _load(c)
    if doc is None:
        return _not_found(_guid(c))
    if not _may(c, principal, "read", doc):
        return errors.empty(403)
    scanned = finish_file_scans(doc)
    if scanned is not None:
        await c.store.put(INSTANCES, guid_of(scanned), scanned)
        doc = scanned
    return _instance(doc, c, principal)


async def create_instance(request: web.Request) -> web.Response:
    c = ctx(request)
    principal = principal_of(request)
    app_id = str(c.args.query["appId"])
    app = _world(c).app(app_id)
    if app is None:
        return errors.json_string(404, f"Did not find application with appId={app_id}")
    template: dict[str, Any] = _plain(c.args.body) if isinstance(c.args.body, dict) else {}
    owner = {k: v for k, v in (template.get("instanceOwner") or {}).items() if v not in (None, "")}
    party = str(owner.get("partyId", "")).strip()
    if not party.isdigit():
        return errors.json_string(400, "Cannot create an instance without an instanceOwner.PartyId.")
    if not permits(_world(c), principal, "instantiate", app_id, party):
        return errors.empty(403)
    status = _template_status(template.get("status"))
    if isinstance(status, web.Response):
        return status
    store = c.store
    guid = _new_guid()
    now = iso(c.now())
    doc: Document = {
        "id": f"{party}/{guid}",
        "instanceOwner": {**{k: str(v) for k, v in owner.items()}, "partyId": party},
        "appId": app_id,
        "org": app.org,
        "dueBefore": template.get("dueBefore"),
        "visibleAfter": template.get("visibleAfter") or now,
        "process": template.get("process"),
        "status": status,
        "data": [],
        "dataValues": {k: v for k, v in (template.get("dataValues") or {}).items() if v not in (None, "")} or None,
        "created": now,
        "createdBy": principal.actor,
        "lastChanged": now,
        "lastChangedBy": principal.actor,
        "_seq": await next_seq(store),
    }
    doc = omit_nulls(doc) | {"_seq": doc["_seq"]}
    await store.put(INSTANCES, guid, doc)
    response = _instance(doc, c, principal, status=201)
    response.headers["Location"] = platform_link(c.origin, party, guid)
    return response


def _plain(value: Any) -> Any:
    """The body as JSON again: openapi-core hands `date-time` members over as datetimes."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _new_guid() -> str:
    """A fresh instance GUID; random at run time (only seeded data must be reproducible)."""
    return str(uuid.uuid4())


def _template_status(given: Any) -> dict[str, Any] | web.Response:
    status: dict[str, Any] = {"isArchived": False, "isSoftDeleted": False, "isHardDeleted": False}
    if not isinstance(given, dict):
        return {**status, "readStatus": "Unread"}
    for key, value in given.items():
        if value is not None and key != "readStatus":
            status[key] = value
    raw = given.get("readStatus")
    name = read_status_name(raw) if raw is not None else "Unread"
    if name is None:
        return errors.problem(
            400,
            "One or more validation errors occurred.",
            errors={"status.readStatus": [f"Error converting value {json.dumps(raw)} to type 'ReadStatus'."]},
        )
    status["readStatus"] = name
    return status


async def delete_instance(request: web.Request) -> web.Response:
    c = ctx(request)
    principal = principal_of(request)
    doc = await _load(c)
    if doc is None:
        party = c.args.path["instanceOwnerPartyId"]
        return errors.json_string(
            404, f"Didn't find the object that should be deleted with instanceId={party}/{_guid(c)}"
        )
    app = _world(c).app(str(doc["appId"]))
    if app is None:
        return errors.json_string(404, f"Did not find application with appId={doc['appId']}")
    if not _may(c, principal, "delete", doc):
        return errors.empty(403)
    now = c.now()
    if deletion_prevented(doc, app.prevent_deletion_days, now):
        return errors.json_string(403, "Instance cannot be deleted yet due to application restrictions.")
    new = mark_deleted(mutable(doc), bool(c.args.query.get("hard")), now, principal.actor)
    await c.store.put(INSTANCES, _guid(c), new)
    return _instance(new, c, principal, links=False)


async def complete_instance(request: web.Request) -> web.Response:
    c = ctx(request)
    principal = principal_of(request)
    doc = await _load(c)
    if doc is None:
        return _not_found(_guid(c))
    if principal.org is None or not _may(c, principal, "complete", doc):
        return errors.empty(403)
    new = mutable(doc)
    if not confirm_complete(new, principal.org, c.now(), principal.actor):
        return _instance(doc, c, principal)
    await c.store.put(INSTANCES, _guid(c), new)
    return _instance(new, c, principal)


async def update_read_status(request: web.Request) -> web.Response:
    c = ctx(request)
    principal = principal_of(request)
    raw = str(c.args.query["status"])
    name = read_status_name(raw)
    if name is None:
        return errors.json_string(
            400, f"Invalid read status: {raw}. Accepted types include: Unread, Read, UpdatedSinceLastReview"
        )
    doc = await _load(c)
    if doc is None:
        return _not_found(_guid(c))
    if not _may(c, principal, "read", doc):
        return errors.empty(403)
    new = mutable(doc)
    new["status"]["readStatus"] = name
    await c.store.put(INSTANCES, _guid(c), new)
    return _instance(new, c, principal)


async def update_substatus(request: web.Request) -> web.Response:
    c = ctx(request)
    principal = principal_of(request)
    doc = await _load(c)
    if doc is None:
        return _not_found(_guid(c))
    if principal.org != doc["org"]:
        return errors.empty(403)
    body = c.args.body
    problem = substatus_problem(body)
    if problem is not None:
        return errors.json_string(400, problem)
    new = apply_substatus(mutable(doc), body, c.now(), principal.org_number or principal.actor)
    await c.store.put(INSTANCES, _guid(c), new)
    return _instance(new, c, principal)


async def update_presentation_texts(request: web.Request) -> web.Response:
    return await _merge(request, "presentationTexts", "texts")


async def update_data_values(request: web.Request) -> web.Response:
    return await _merge(request, "dataValues", "values")


async def _merge(request: web.Request, member: str, key: str) -> web.Response:
    """Upsert the given keys; a null or empty value removes its key; `lastChanged` stays."""
    c = ctx(request)
    principal = principal_of(request)
    body = c.args.body if isinstance(c.args.body, dict) else {}
    given = body.get(key)
    if not isinstance(given, dict):
        return errors.json_string(400, f"Missing parameter value: {member} is misformed or empty")
    doc = await _load(c)
    if doc is None:
        return _not_found(_guid(c))
    sync = member == "dataValues" and principal.is_sync_adapter
    if not sync and not (_may(c, principal, "write", doc) or _may(c, principal, "reject", doc)):
        return errors.empty(403)
    new = mutable(doc)
    merged = dict(new.get(member) or {})
    for name, value in given.items():
        if value in (None, ""):
            merged.pop(name, None)
        else:
            merged[name] = str(value)
    new[member] = merged
    await c.store.put(INSTANCES, _guid(c), new)
    return _instance(new, c, principal, links=False)


# --- data ----------------------------------------------------------------------------------


async def get_data_content(request: web.Request) -> web.Response:
    """Storage's DataController.Get: the bytes the App API stored, in Storage's order of checks."""
    c = ctx(request)
    principal = principal_of(request)
    party = c.args.path["instanceOwnerPartyId"]
    if int(party) == 0:
        return errors.json_string(400, "Missing parameter value: instanceOwnerPartyId can not be empty")
    doc = await _load(c)
    if doc is None:
        return errors.json_string(404, f"Unable to find any instance with id: {party}/{_guid(c)}.")
    if not _may(c, principal, "read", doc):
        return errors.empty(403)
    wanted = str(c.args.path["dataGuid"]).lower()
    owner = principal.org is not None and principal.org.lower() == str(doc["org"]).lower()
    element = next((e for e in doc.get("data") or [] if str(e.get("id")).lower() == wanted), None)
    if element is None or (is_hard_deleted_element(element) and not owner):
        # [I] Storage answers a hard-deleted element with an empty 404; the mock says not found in words
        return errors.json_string(404, f"Unable to find any data element with id: {wanted}.")
    app = _world(c).app(str(doc["appId"]))
    if app is None:
        return errors.json_string(404, f"Cannot find application {doc['appId']} in storage")
    data_type = next((t for t in app.data_types if t.get("id") == element.get("dataType")), None)
    if data_type is None:
        return errors.json_string(400, "Requested element type is not declared in application metadata")
    if not owner and not element.get("isRead", True):
        new = mutable(doc)
        for item in new["data"]:
            if str(item.get("id")).lower() == wanted:
                item["isRead"] = True
        await c.store.put(INSTANCES, _guid(c), new)
    data = await content_of(c.store, element, data_type)
    return web.Response(body=data, headers=file_headers(element))


OPERATIONS = {
    "getEnterpriseToken": auth.get_enterprise_token,
    "getSystemUserToken": auth.get_system_user_token,
    "getPersonalToken": auth.get_personal_token,
    "getOpenIdConfiguration": auth.get_openid_configuration,
    "getJwks": auth.get_jwks,
    "exchangeToken": auth.exchange_token,
    "queryInstances": query_instances,
    "createInstance": create_instance,
    "getInstance": get_instance,
    "getInstanceByGuid": get_instance,
    "deleteInstance": delete_instance,
    "completeInstance": complete_instance,
    "updateReadStatus": update_read_status,
    "updateSubstatus": update_substatus,
    "updatePresentationTexts": update_presentation_texts,
    "updateDataValues": update_data_values,
    "getDataElementContent": get_data_content,
}
TOKEN_OPERATIONS = frozenset(
    {
        "getEnterpriseToken",
        "getSystemUserToken",
        "getPersonalToken",
        "getOpenIdConfiguration",
        "getJwks",
        "exchangeToken",
    }
)
