"""Altinn 3 App API: `/{org}/{app}/instances` of every fixture app.

It works on the same `altinn` world as Storage (`../storage.py`): what it creates or changes is
what Storage's query returns next. Tokens, the signing key and the seeder belong to the platform
(`../__init__.py`); this module adds the app-specific scope check (`../domain/scopes.py`) to the
shared authentication. Instantiation is in `create.py`, the process routes in `process.py`.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from instancemock.core.context import Ctx, ctx
from instancemock.core.encoding import json_response
from instancemock.core.errors import Refusal
from instancemock.platforms.altinn import auth, errors
from instancemock.platforms.altinn.app import frontend
from instancemock.platforms.altinn.app.common import (
    app_of,
    authorize,
    instance_of,
    is_app_owner,
    permitted_instance,
    plain_of,
    response_of,
    world,
)
from instancemock.platforms.altinn.app.create import create_instance, create_simplified
from instancemock.platforms.altinn.app.data import (
    create_data_element,
    delete_data_element,
    get_data_element,
    patch_form_data,
    patch_form_data_multiple,
    post_data_element,
    put_data_element,
)
from instancemock.platforms.altinn.app.process import (
    complete_process,
    get_process_history,
    get_process_state,
    next_process_step,
    start_process,
)
from instancemock.platforms.altinn.auth import principal_of
from instancemock.platforms.altinn.domain import query as q
from instancemock.platforms.altinn.domain import scopes
from instancemock.platforms.altinn.domain.app_view import simple_instance
from instancemock.platforms.altinn.domain.changes import (
    apply_substatus,
    confirm_complete,
    deletion_prevented,
    mark_deleted,
    substatus_problem,
)
from instancemock.platforms.altinn.domain.data import finish_file_scans
from instancemock.platforms.altinn.domain.instances import INSTANCES, guid_of, mutable
from instancemock.platforms.altinn.domain.world import App, World, world_for
from instancemock.settings import Settings


async def authenticate(request: web.Request, c: Ctx) -> web.StreamResponse | None:
    """Storage's token check, the antiforgery check of cookie sessions (400, as ASP.NET's
    AntiforgeryValidationFailedResult), then the app's own API scopes when it declares them."""
    refused = await auth.authenticate(request, c)
    if refused is not None or not c.state.settings.auth:
        return refused
    if not auth.antiforgery_holds(request, c.state):
        return errors.problem(400, "Bad Request")
    params = c.route.params
    app = world(c).app(f"{params.get('org', '')}/{params.get('app', '')}")
    principal = c.principal
    if app is None or not isinstance(principal, auth.Principal):
        return None
    if scopes.allows(app, request.method, principal.is_service_owner, principal.scopes):
        return None
    path = request.path[len(c.route.base) :] if request.path.lower().startswith(c.route.base.lower()) else request.path
    return errors.problem(403, "Forbidden", scopes.failure_text(app), instance=path)


# --- one instance ---------------------------------------------------------------------------


async def get_instance(request: web.Request) -> web.Response:
    c = ctx(request)
    principal = principal_of(request)
    _, doc = await permitted_instance(c, principal, "read")
    scanned = finish_file_scans(doc)
    if scanned is not None or (not is_app_owner(principal, doc) and doc["status"].get("readStatus") != "Read"):
        doc = mutable(scanned or doc)
        if not is_app_owner(principal, doc):
            doc["status"]["readStatus"] = "Read"  # Storage's readstatus: lastChanged stays
        await c.store.put(INSTANCES, guid_of(doc), doc)
    return response_of(c, doc, principal)


async def delete_instance(request: web.Request) -> web.Response:
    c = ctx(request)
    principal = principal_of(request)
    app, doc = await permitted_instance(c, principal, "delete")
    now = c.now()
    if deletion_prevented(doc, app.prevent_deletion_days, now):
        return errors.json_string(403, "Instance cannot be deleted yet due to application restrictions.")
    new = mark_deleted(mutable(doc), bool(c.args.query.get("hard")), now, principal.actor)
    await c.store.put(INSTANCES, guid_of(new), new)
    return plain_of(c, new, principal)


async def complete_instance(request: web.Request) -> web.Response:
    c = ctx(request)
    principal = principal_of(request)
    _, doc = await permitted_instance(c, principal, "complete")
    if principal.org is None:
        return errors.empty(403)
    new = mutable(doc)
    if confirm_complete(new, principal.org, c.now(), principal.actor):
        await c.store.put(INSTANCES, guid_of(new), new)
        doc = new
    return plain_of(c, doc, principal)


async def update_substatus(request: web.Request) -> web.Response:
    """The label is checked before anything else, as app-lib's controller does."""
    c = ctx(request)
    principal = principal_of(request)
    body = c.args.body
    problem = substatus_problem(body)
    if problem is not None:
        return errors.json_string(400, problem)
    app = app_of(c)
    doc = await instance_of(c, app)
    if not is_app_owner(principal, doc):
        return errors.empty(403)
    new = apply_substatus(mutable(doc), body, c.now(), principal.org_number or principal.actor)
    await c.store.put(INSTANCES, guid_of(new), new)
    return plain_of(c, new, principal)


# --- active instances -----------------------------------------------------------------------


async def get_active_instances(request: web.Request) -> web.Response:
    """Storage's query `appId, instanceOwner.partyId, status.isArchived=false, status.isSoftDeleted=false`."""
    c = ctx(request)
    principal = principal_of(request)
    app = app_of(c)
    party = int(c.args.path["instanceOwnerPartyId"])
    query = q.Query(app_id=app.app_id, party_id=party, is_archived=False, is_soft_deleted=False)
    docs = [s.doc for s in await c.store.list(INSTANCES) if query.matches(s.doc)]
    readable = [d for d in docs if authorize_quietly(c, principal, app, d)]
    w = world(c)
    return json_response([simple_instance(d, display_name(w, d.get("lastChangedBy"))) for d in query.order(readable)])


def authorize_quietly(c: Ctx, principal: auth.Principal, app: App, doc: dict[str, Any]) -> bool:
    try:
        authorize(c, principal, "read", app, doc)
    except Refusal:
        return False
    return True


def display_name(w: World, changed_by: Any) -> str | None:
    """app-lib's lookup: 9 characters = an organisation number, digits = a user id; else as is."""
    if changed_by is None:
        return None
    text = str(changed_by)
    if len(text) == 9:
        org = w.org_by_number(text)
        party = w.party_by_organisation_number(text)
        name = org.name if org else party.name if party else None
        return name or text
    if text.isdigit():
        user = w.users.get(int(text))
        party = w.party(user.party_id) if user else None
        return party.name if party and party.name else text
    return text


# --- the index ------------------------------------------------------------------------------


def credentials(settings: Settings, origin: str) -> dict[str, Any]:
    """Storage's token recipe, plus an app and a party to try the App API with."""
    base = auth.credentials(settings, origin)
    w = world_for(settings)
    app = next(a for a in w.apps.values() if not a.metadata.get("apiScopes"))
    party = base["person"]["partyId"]
    instances = f"{origin}/altinn/{app.org}/{app.name}/instances"
    return {
        **base,
        "app": app.app_id,
        "instances_url": instances,
        "try": f"POST {instances}?instanceOwnerPartyId={party} (person token), then GET the Location",
    }


OPERATIONS = {
    "createInstance": create_instance,
    "createInstanceSimplified": create_simplified,
    "getActiveInstances": get_active_instances,
    "getInstance": get_instance,
    "deleteInstance": delete_instance,
    "updateSubstatus": update_substatus,
    "completeInstance": complete_instance,
    "getProcessState": get_process_state,
    "nextProcessStep": next_process_step,
    "getProcessHistory": get_process_history,
    "startProcess": start_process,
    "completeProcess": complete_process,
    "createDataElement": create_data_element,
    "postDataElement": post_data_element,
    "postDataElementByType": post_data_element,
    "getDataElement": get_data_element,
    "putDataElement": put_data_element,
    "patchFormData": patch_form_data,
    "patchFormDataMultiple": patch_form_data_multiple,
    "deleteDataElement": delete_data_element,
    "getAppIndex": frontend.get_index,
    "getApplicationMetadata": frontend.get_application_metadata,
    "getApplicationSettings": frontend.get_application_settings,
    "getApplicationLanguages": frontend.get_application_languages,
    "getTexts": frontend.get_texts,
    "getLayoutSets": frontend.get_layout_sets,
    "getLayouts": frontend.get_layouts,
    "getLayoutSettings": frontend.get_layout_settings,
    "getRuleConfiguration": frontend.get_rule_configuration,
    "getRuleHandler": frontend.get_rule_handler,
    "getJsonSchema": frontend.get_json_schema,
    "getValidationConfig": frontend.get_validation_config,
    "getFooter": frontend.get_footer,
    "getUserProfile": frontend.get_profile,
    "getCurrentParty": frontend.get_current_party,
    "getParties": frontend.get_parties,
    "selectParty": frontend.select_party,
    "keepAlive": frontend.keep_alive,
    "validateInstance": frontend.validate_instance,
}
