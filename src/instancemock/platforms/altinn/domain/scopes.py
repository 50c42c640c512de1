"""App-specific API scopes (app-lib's scope authorization).

Only apps whose metadata declares `apiScopes` check scopes, before any policy decision: reading
(GET/HEAD/OPTIONS) needs the read scope, anything else the write scope; users may instead hold the
portal scope. `[app]` in a configured scope stands for the app's name.
"""

from __future__ import annotations

from instancemock.platforms.altinn.domain.world import App

PORTAL_SCOPE = "altinn:portal/enduser"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def required_scope(app: App, method: str, service_owner: bool) -> str | None:
    """The scope this call needs, or None when the app configures none for this caller."""
    configured = app.metadata.get("apiScopes") or {}
    group = configured.get("serviceOwners" if service_owner else "users") or {}
    scope = group.get("read" if method.upper() in READ_METHODS else "write")
    return str(scope).replace("[app]", app.name) if scope else None


def allows(app: App, method: str, service_owner: bool, scopes: list[str]) -> bool:
    wanted = required_scope(app, method, service_owner)
    if wanted is None:
        return True
    return wanted in scopes or (not service_owner and PORTAL_SCOPE in scopes)


def failure_text(app: App) -> str:
    """The 403 detail: the app's own text resource key when it names one."""
    key = (app.metadata.get("apiScopes") or {}).get("errorMessageTextResourceKey")
    return str(key) if key else "Insufficient scope"
