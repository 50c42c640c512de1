"""/__admin/docs (Swagger UI for every API) and /__admin/ui (the dashboard): pages for a browser.

Everything is served from installed packages, never a CDN, so both work offline: Swagger UI's
files come from the `swagger-ui-bundle-v2` package (Swagger UI 5, which reads OpenAPI 3.1), the
dashboard's small vanilla script and stylesheet from `admin/static/` beside this module. The
pages are server-rendered shells; the scripts read the admin API like any other client.
"""

from __future__ import annotations

import html
import mimetypes
from functools import cache
from pathlib import Path
from typing import Any

from aiohttp import web

from instancemock.core.context import APIS, STATE, Handler, ctx
from instancemock.core.encoding import dumps
from instancemock.core.errors import Refusal
from instancemock.core.pipeline import API_PLUGINS
from instancemock.core.spec import ADMIN

STATIC = Path(__file__).resolve().parent / "static"
SWAGGER_FILES = (
    "swagger-ui.css",
    "swagger-ui-bundle.js",
    "swagger-ui-standalone-preset.js",
    "favicon-32x32.png",
    "favicon-16x16.png",
)
CACHED = {"Cache-Control": "public, max-age=3600"}


def swagger_dir() -> Path:
    from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

    return Path(str(swagger_ui_path))


@cache
def _read(path: Path) -> bytes:
    return path.read_bytes()


def _asset(folder: Path, name: str, allowed: tuple[str, ...]) -> web.Response:
    if name not in allowed:
        raise Refusal(404, f"No file {name!r} here.")
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    kind = "application/javascript" if name.endswith(".js") else kind
    return web.Response(body=_read(folder / name), content_type=kind, headers=CACHED)


async def get_docs_asset(request: web.Request) -> web.Response:
    return _asset(swagger_dir(), ctx(request).args.path["file"], SWAGGER_FILES)


async def get_ui_asset(request: web.Request) -> web.Response:
    names = tuple(sorted(path.name for path in STATIC.iterdir() if path.is_file()))
    return _asset(STATIC, ctx(request).args.path["file"], names)


def _json_script(element_id: str, data: Any) -> str:
    """JSON for a script to read; `</` is escaped so no value can end the element."""
    text = dumps(data).decode("utf-8").replace("</", "<\\/")
    return f'<script id="{element_id}" type="application/json">{text}</script>'


def _page(title: str, body: str, *, styles: tuple[str, ...], scripts: tuple[str, ...]) -> web.Response:
    links = "".join(f'<link rel="stylesheet" href="{href}">' for href in styles)
    tags = "".join(f'<script src="{src}"></script>' for src in scripts)
    text = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{html.escape(title)}</title>'
        f'<link rel="icon" href="/__admin/docs/assets/favicon-32x32.png">{links}</head><body>{body}{tags}</body></html>'
    )
    return web.Response(text=text, content_type="text/html", charset="utf-8")


def _nav(current: str) -> str:
    links = [("/__admin/ui", "dashboard"), ("/__admin/docs", "API docs")]
    items = " ".join(
        f'<a href="{href}"{" aria-current=page" if label == current else ""}>{label}</a>' for href, label in links
    )
    return f'<header class="bar"><strong>instancemock</strong><nav>{items}</nav></header>'


def logins(request: web.Request) -> list[dict[str, Any]]:
    """Each mounted API with its demo login, as `GET /` describes it."""
    context = ctx(request)
    state = request.app[STATE]
    plugins = request.app[API_PLUGINS]
    found = []
    for name, api in request.app[APIS].items():
        if name == ADMIN or not state.settings.api_enabled(name):
            continue
        plugin = plugins.get(name)
        credentials = plugin.credentials(state.settings, context.origin) if plugin and plugin.credentials else {}
        found.append(
            {"name": name, "title": api.title, "base": context.origin + api.bases[0], "credentials": credentials}
        )
    return found


async def get_docs(request: web.Request) -> web.Response:
    """Swagger UI over every mounted spec; "try it out" calls this server (each spec's `servers` says so)."""
    apis = logins(request)
    chosen = ctx(request).args.query.get("api")
    urls = [{"url": f"/__admin/specs/{api['name']}", "name": f"{api['name']}: {api['title']}"} for api in apis]
    urls.append({"url": f"/__admin/specs/{ADMIN}", "name": f"{ADMIN}: instancemock admin API"})
    primary = next((u["name"] for u in urls if u["url"].endswith(f"/{chosen}")), urls[0]["name"])
    sections = []
    for api in apis:
        rows = "".join(
            f"<dt>{html.escape(str(key))}</dt><dd><code>{html.escape(str(value))}</code></dd>"
            for key, value in api["credentials"].items()
        )
        sections.append(
            f'<details class="login" data-api="{html.escape(api["name"])}"><summary>{html.escape(api["name"])}: '
            f"{html.escape(api['title'])} <small>{html.escape(api['base'])}</small></summary><dl>{rows}</dl></details>"
        )
    body = (
        _nav("API docs")
        + '<section class="logins"><h2>Demo logins</h2><p>Log in with these in the API\'s own way, then use '
        "<em>Authorize</em> with the token or ticket; <em>Try it out</em> calls this server (sandbox "
        "<code>default</code>; send <code>X-Mock-Sandbox</code> for another).</p>"
        + "".join(sections)
        + '</section><div id="swagger-ui"></div>'
        + _json_script("docs-config", {"urls": urls, "primary": primary})
    )
    swagger = "/__admin/docs/assets/"
    return _page(
        "instancemock API docs",
        body,
        styles=(swagger + "swagger-ui.css", "/__admin/ui/assets/ui.css"),
        scripts=(
            swagger + "swagger-ui-bundle.js",
            swagger + "swagger-ui-standalone-preset.js",
            "/__admin/ui/assets/docs.js",
        ),
    )


async def get_dashboard(request: web.Request) -> web.Response:
    """The dashboard's shell; ui.js fills it from the admin API."""
    config = {"apis": [{"name": api["name"], "title": api["title"], "base": api["base"]} for api in logins(request)]}
    body = _nav("dashboard") + '<main id="app" aria-live="polite">Loading...</main>' + _json_script("ui-config", config)
    return _page(
        "instancemock dashboard", body, styles=("/__admin/ui/assets/ui.css",), scripts=("/__admin/ui/assets/ui.js",)
    )


OPERATIONS: dict[str, Handler] = {
    "getDocs": get_docs,
    "getDocsAsset": get_docs_asset,
    "getDashboard": get_dashboard,
    "getDashboardAsset": get_ui_asset,
}
