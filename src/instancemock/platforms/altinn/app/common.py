"""What every App API handler needs: the app of the path, the instance, the caller, the answer."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from instancemock.core.context import Ctx
from instancemock.core.encoding import json_response
from instancemock.core.errors import Refusal
from instancemock.platforms.altinn import errors
from instancemock.platforms.altinn.auth import Principal
from instancemock.platforms.altinn.domain.app_view import instance_response, instance_view
from instancemock.platforms.altinn.domain.instances import INSTANCES, party_of
from instancemock.platforms.altinn.domain.policy import permits
from instancemock.platforms.altinn.domain.process import EVENTS, derived_history
from instancemock.platforms.altinn.domain.world import App, World, world_for
from instancemock.world.store import Document


def world(c: Ctx) -> World:
    return world_for(c.state.settings)


def app_of(c: Ctx) -> App:
    """The app named by the path; an unknown app is no app at all on the platform: 404."""
    org, name = str(c.route.params.get("org", "")), str(c.route.params.get("app", ""))
    found = world(c).app(f"{org}/{name}") or world(c).app(f"{org.lower()}/{name.lower()}")
    if found is None:
        raise Refusal.answer(errors.problem(404, detail=f"No app {org}/{name} is served here."))
    return found


def guid_of_path(c: Ctx) -> str:
    return str(c.args.path["instanceGuid"]).lower()


async def instance_of(c: Ctx, app: App) -> Document:
    """The instance of the path: 404 (bare NotFound) unless it exists and belongs to this app."""
    found = await c.store.get(INSTANCES, guid_of_path(c))
    if found is None or str(found.doc.get("appId", "")).lower() != app.app_id.lower():
        raise Refusal.answer(errors.problem(404))
    return found.doc


def may(c: Ctx, principal: Principal, action: str, app: App, party_id: int | str) -> bool:
    return permits(world(c), principal, action, app.app_id, party_id)


def authorize(c: Ctx, principal: Principal, action: str, app: App, doc: Document) -> None:
    """The PDP on the path's party: another owner than the stored one is denied (403, no body)."""
    party = c.args.path.get("instanceOwnerPartyId")
    if party is not None and str(party) != party_of(doc):
        raise Refusal.answer(errors.empty(403))
    if not may(c, principal, action, app, party_of(doc)):
        raise Refusal.answer(errors.empty(403))


async def permitted_instance(c: Ctx, principal: Principal, action: str) -> tuple[App, Document]:
    """The app and instance of the path, once the caller may do `action` on it; else a Refusal."""
    app = app_of(c)
    doc = await instance_of(c, app)
    authorize(c, principal, action, app, doc)
    return app, doc


def is_app_owner(principal: Principal, doc: Document) -> bool:
    return principal.org is not None and principal.org.lower() == str(doc["org"]).lower()


def response_of(c: Ctx, doc: Document, principal: Principal, status: int = 200) -> web.Response:
    """`InstanceResponse`: the instance with its owner's register party."""
    party = world(c).party(party_of(doc))
    body = instance_response(doc, c.origin, party, owner_org=is_app_owner(principal, doc))
    return json_response(body, status=status)


def plain_of(c: Ctx, doc: Document, principal: Principal) -> web.Response:
    """The plain `Instance` (delete, substatus, complete)."""
    return json_response(instance_view(doc, c.origin, owner_org=is_app_owner(principal, doc)))


async def record_events(
    c: Ctx, guid: str, events: list[dict[str, Any]], before: Document | None = None, app: App | None = None
) -> None:
    """Appends process events; an instance moved here for the first time (a seeded one) starts
    from the history its state tells (`derived_history`)."""
    found = await c.store.get(EVENTS, guid)
    if found is not None:
        recorded = list(found.doc["events"])
    else:
        recorded = derived_history(before, app) if before is not None and app is not None else []
    await c.store.put(EVENTS, guid, {"events": recorded + events})
