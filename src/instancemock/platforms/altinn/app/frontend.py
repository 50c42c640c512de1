"""What app-frontend-react asks an app for before and while it shows an instance.

Its query layer (`src/queries/queries.ts`) loads, in provider order: the application metadata,
layout sets, the user's profile, texts, application settings, the parties the user may act for
and the current one, a keep-alive; then, for an instance, its layouts, layout settings, rule
configuration and handler, JSON schemas, validation configuration and the instance's validation
issues. Each answer here has the shape app-lib gives it (`openapi/altinn-app.yaml`, tag Frontend);
the documents themselves are made from the app's fixture entry by `../domain/frontend.py`.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from instancemock.core.context import Ctx, ctx
from instancemock.core.encoding import json_response
from instancemock.core.errors import Refusal
from instancemock.platforms.altinn import auth, errors
from instancemock.platforms.altinn.app.common import app_of, authorize, instance_of, world
from instancemock.platforms.altinn.auth import Principal, principal_of
from instancemock.platforms.altinn.domain import frontend
from instancemock.platforms.altinn.domain.forms import is_form
from instancemock.platforms.altinn.domain.process import ProcessConflict, current_task, task_issues
from instancemock.platforms.altinn.domain.world import App, Party

PARTY_COOKIE = "AltinnPartyId"  # the party the user chose to act for (app-lib's PartiesController)


def _no_content() -> web.Response:
    return web.Response(status=204)


def _text(body: str, status: int = 200) -> web.Response:
    return web.Response(text=body, status=status, content_type="text/plain", charset="utf-8")


# --- the start page and the app's own documents ----------------------------------------------


async def get_index(request: web.Request) -> web.Response:
    """The start page; it hands out the antiforgery pair the front end sends back (HomeController)."""
    c = ctx(request)
    app = app_of(c)
    response = web.Response(text=frontend.index_page(app), content_type="text/html", charset="utf-8")
    auth.set_antiforgery_cookies(response, c.state, secure=request.secure)
    return response


async def get_application_metadata(request: web.Request) -> web.Response:
    return json_response(frontend.application_metadata(app_of(ctx(request))))


async def get_application_settings(request: web.Request) -> web.Response:
    """app-lib's FrontEndSettings: nothing configured for the mock's apps."""
    app_of(ctx(request))
    return json_response({})


async def get_application_languages(request: web.Request) -> web.Response:
    app_of(ctx(request))
    return json_response([{"language": language} for language in frontend.LANGUAGES])


async def get_texts(request: web.Request) -> web.Response:
    """[I] A language the app has no texts in gets its Norwegian (bokmål) texts."""
    c = ctx(request)
    language = str(c.args.path["language"]).lower()
    return json_response(frontend.texts(app_of(c), language if language in frontend.LANGUAGES else "nb"))


async def get_layout_sets(request: web.Request) -> web.Response:
    return json_response(frontend.layout_sets(app_of(ctx(request))))


def _set_task(c: Ctx) -> tuple[App, Any]:
    app = app_of(c)
    set_id = str(c.args.path["id"])
    task = frontend.layout_set(app, set_id)
    if task is None:
        raise Refusal.answer(errors.problem(404, detail=f"No layout set {set_id} in {app.app_id}."))
    return app, task


async def get_layouts(request: web.Request) -> web.Response:
    app, task = _set_task(ctx(request))
    return json_response(frontend.layouts(app, task))


async def get_layout_settings(request: web.Request) -> web.Response:
    app, task = _set_task(ctx(request))
    return json_response(frontend.layout_settings(app, task))


async def get_rule_configuration(request: web.Request) -> web.Response:
    """No `RuleConfiguration.json` in the mock's apps: 204, as app-lib answers a missing file."""
    _set_task(ctx(request))
    return _no_content()


async def get_rule_handler(request: web.Request) -> web.Response:
    """No `RuleHandler.js` in the mock's apps: 204."""
    _set_task(ctx(request))
    return _no_content()


async def get_footer(request: web.Request) -> web.Response:
    app_of(ctx(request))
    return _no_content()


def _form_type(c: Ctx, name: str) -> dict[str, Any]:
    app = app_of(c)
    type_id = str(c.args.path[name])
    found = next((t for t in app.data_types if t.get("id") == type_id and is_form(t)), None)
    if found is None:
        raise Refusal.answer(errors.problem(404, detail=f"No data model {type_id} in {app.app_id}."))
    return found


async def get_json_schema(request: web.Request) -> web.Response:
    c = ctx(request)
    return json_response(frontend.json_schema(app_of(c), _form_type(c, "id")))


async def get_validation_config(request: web.Request) -> web.Response:
    """No `*.validation.json` for the mock's data models: 204."""
    _form_type(ctx(request), "dataTypeId")
    return _no_content()


# --- the caller ------------------------------------------------------------------------------


def own_party(c: Ctx, principal: Principal) -> Party | None:
    """The caller's own party: a user's, a system user's or an organisation's organisation."""
    w = world(c)
    if principal.is_user:
        user = w.users.get(principal.user_id or 0)
        return w.party(principal.party_id or (user.party_id if user else None))
    number = principal.system_user_org or principal.org_number
    return w.party_by_organisation_number(number) if number else None


def _kind(principal: Principal) -> str:
    if principal.is_system_user:
        return "SystemUser"
    if principal.is_service_owner:
        return "ServiceOwner"
    return "User" if principal.is_user else "Org"


async def get_profile(request: web.Request) -> web.Response:
    """A user's profile; any other caller is 400 text (app-lib's ProfileController)."""
    c = ctx(request)
    app_of(c)
    principal = principal_of(request)
    party = own_party(c, principal)
    if not principal.is_user or party is None:
        return _text(f"Unknown authentication context: {_kind(principal)}", 400)
    user = world(c).users.get(principal.user_id or 0)
    return json_response(frontend.user_profile(int(principal.user_id or 0), party, user.username if user else None))


def _representable(c: Ctx, principal: Principal) -> list[Party]:
    """The parties the caller may act for: a user's own and delegated ones; others only their own."""
    w = world(c)
    own = own_party(c, principal)
    if not principal.is_user:
        return [own] if own is not None else []
    ids = w.parties_of_user(principal.user_id, own.party_id if own else None)
    found = [w.parties[i] for i in sorted(ids) if i in w.parties]
    return sorted(found, key=lambda p: (own is None or p.party_id != own.party_id, p.party_id))


async def get_parties(request: web.Request) -> web.Response:
    """`GET api/v1/parties?allowedToInstantiateFilter=`: the filter keeps the app's party types."""
    c = ctx(request)
    app = app_of(c)
    principal = principal_of(request)
    parties = _representable(c, principal)
    if c.args.query.get("allowedToInstantiateFilter"):
        parties = [p for p in parties if frontend.may_instantiate_as(app, p)]
    return json_response([frontend.register_party(p) for p in parties])


async def get_current_party(request: web.Request) -> web.Response:
    """The chosen party (cookie) when the caller may act for it, else the caller's own party."""
    c = ctx(request)
    app_of(c)
    principal = principal_of(request)
    parties = _representable(c, principal)
    chosen = request.cookies.get(PARTY_COOKIE, "")
    party = next((p for p in parties if str(p.party_id) == chosen), None) or own_party(c, principal)
    if party is None:
        return errors.json_string(400, "The caller has no party in the register.")
    if c.args.query.get("returnPartyObject"):
        return json_response(frontend.register_party(party))
    return json_response(party.party_id)


async def select_party(request: web.Request) -> web.Response:
    """`PUT api/v1/parties/{partyId}`: the literal text the front end compares, and the cookie."""
    c = ctx(request)
    app = app_of(c)
    principal = principal_of(request)
    wanted = int(c.args.path["partyId"])
    party = next((p for p in _representable(c, principal) if p.party_id == wanted), None)
    if party is None:
        return _text(f"User {principal.actor} is not allowed to represent party {wanted}", 400)
    if not frontend.may_instantiate_as(app, party):
        return _text(f"Party {wanted} is not allowed to instantiate this application {app.app_id}", 400)
    response = _text("Party successfully updated")
    response.set_cookie(PARTY_COOKIE, str(wanted), path="/", httponly=True, samesite="Lax", secure=request.secure)
    return response


async def keep_alive(request: web.Request) -> web.Response:
    """A fresh token for the same caller in the runtime cookie (app-lib's AuthenticationController)."""
    c = ctx(request)
    app_of(c)
    principal = principal_of(request)
    claims = {k: v for k, v in principal.claims.items() if k not in ("iat", "nbf", "exp", "iss")}
    token = auth.issue(c.state, c.origin, claims, auth.EXCHANGE_TTL)
    response = web.Response(status=200)
    response.set_cookie(auth.COOKIE, token, path="/", httponly=True, samesite="Lax", secure=request.secure)
    return response


# --- validation ------------------------------------------------------------------------------


async def validate_instance(request: web.Request) -> web.Response:
    """The current task's issues (DefaultTaskValidator). [I] It is the mock's only validator and
    it is not incremental, so `onlyIncrementalValidators=true` gets none."""
    c = ctx(request)
    principal = principal_of(request)
    app = app_of(c)
    doc = await instance_of(c, app)
    authorize(c, principal, "read", app, doc)
    try:
        task = current_task(app, doc)
    except ProcessConflict:
        return errors.problem(409, detail="Unable to validate instance without a started process.")
    if c.args.query.get("onlyIncrementalValidators"):
        return json_response([])
    return json_response(task_issues(app, doc, task))
