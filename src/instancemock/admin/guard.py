"""Who may drive /__admin: no web page unless allowed, no Host the server is not bound as.

The admin API can read, replace and reset the state, add faults and register webhooks the server
then calls. On loopback it needs no token, so before this guard any page a developer opened could
drive it: CORS answered every origin, and a "simple" cross-origin POST (`/__admin/reset`) needs no
CORS at all; DNS rebinding (a page whose own name resolves to 127.0.0.1) even made it same-origin.

- A request that a browser marks as cross-origin (`Origin` of another origin, or
  `Sec-Fetch-Site: cross-site`/`same-site`) is refused with 403 unless its origin is listed in
  `admin_origins` (none by default). Clients that are not browsers send neither header.
- The `Host` header must name the server as bound: a loopback name (`localhost`, `127.0.0.1`,
  `[::1]`), the `--host` address itself when it is a specific one, or a name in `admin_hosts`.
  A rebinding page's requests carry its own name, and are refused.

Operations that are open anyway (`security: []`: health and the specs) are not guarded, so
container probes that address the server by its IP keep working.
"""

from __future__ import annotations

import ipaddress

from aiohttp import web

from instancemock.core.context import Ctx, origin_of
from instancemock.core.errors import Refusal
from instancemock.settings import Settings

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})


def host_name(host_header: str) -> str:
    """`Localhost:8080` -> `localhost`, `[::1]:8080` -> `::1`."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def allowed_hosts(settings: Settings) -> frozenset[str]:
    names = set(LOOPBACK_NAMES) | {host_name(h) for h in settings.admin_hosts}
    if settings.host.lower() not in WILDCARD_HOSTS:
        names.add(host_name(settings.host) if not _is_ipv6(settings.host) else settings.host.lower())
    return frozenset(names)


def _is_ipv6(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).version == 6
    except ValueError:
        return False


def check(request: web.Request, context: Ctx) -> None:
    """Raise a 403 Refusal for a foreign Host or a cross-origin page; nothing for anyone else."""
    settings = context.state.settings
    host = host_name(request.headers.get("Host", ""))
    if host not in allowed_hosts(settings):
        raise Refusal(
            403,
            f"/__admin does not answer to the host name {host!r}; "
            "add it to admin_hosts if that name really is this server",
        )
    origin = request.headers.get("Origin")
    site = request.headers.get("Sec-Fetch-Site", "").lower()
    pages = settings.admin_origins
    if origin is not None and origin != origin_of(request) and origin not in pages and "*" not in pages:
        raise Refusal(403, f"/__admin refuses requests from the web origin {origin!r}; allow it with admin_origins")
    if origin is None and site in ("cross-site", "same-site") and "*" not in pages:
        raise Refusal(403, "/__admin refuses requests from other web sites; allow their origin with admin_origins")
