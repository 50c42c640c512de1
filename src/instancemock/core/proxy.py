"""Proxy mode: requests to a proxied API go to the real service, checked both ways against the spec.

`--proxy API=URL` (config `proxy: {api: url}`) names an API whose requests are forwarded instead
of answered by the mock. The step sits after `apply_mock_controls` in the pipeline
(core/pipeline.py), so a fault rule or control header still applies first, and in place of
authentication, validation and the handler: the real service decides. A stub (core/stubs.py) that
matches the request answers instead of the real service, as it would instead of a handler. Other
APIs stay mocked in the same server.

What is forwarded: method, the path after the mount base (`/barium/api/v1.1/Instances` ->
`URL/Instances`), the query string and body as sent, and every header but the hop-by-hop ones,
`Host` (the upstream's own) and `X-Mock-*` (addressed to this server). A URL may hold path
parameters of the route, e.g. `https://{org}.apps.tt02.altinn.no` for Altinn's App API.

What comes back is returned unchanged (status, reason, headers, bytes), but for links: a
`Location` and any URL of a proxied upstream inside a JSON or text body are rewritten to this
server, so a client keeps talking to the proxy. Redirects are passed on, not followed. A body
that is not JSON or text (Barium's process image, files) is streamed through as it arrives.

Both directions are checked (core/drift.py): a request the spec refuses is still forwarded but
flagged; an answer that breaks the spec is flagged with its violations. Flags go to the journal
(`drift`), the drift log (`GET /__admin/drift`) and, once per new kind, the log. Under `--strict`
a drifting answer becomes a 502 in the platform's error shape naming the violations. An upstream
that cannot be reached is a 502, one that does not answer within `proxy_timeout` seconds a 504,
both in the platform's shape and marked `X-Mock-Source: proxy`.

With `--record DIR`, what passed through is kept as a world (world/recording.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import zlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from werkzeug.datastructures import Headers
from yarl import URL

from instancemock.core import errors
from instancemock.core.bodies import read_body
from instancemock.core.context import STATE, Facts, facts, origin_of
from instancemock.core.drift import RESPONSE, DriftLog, Flag, Seen, request_flags, response_flags, undeclared_operation
from instancemock.core.journal import ENTRY_ID, PROXY_NOTE, SECRET_QUERY, redacted_query
from instancemock.core.offload import checked
from instancemock.core.plugin import ApiPlugin
from instancemock.core.routing import Route
from instancemock.core.spec import ADMIN, Api
from instancemock.core.stubs import answer_from_stubs
from instancemock.core.validation import check_request
from instancemock.settings import Settings
from instancemock.world.clock import iso
from instancemock.world.recording import Exchange, Recording
from instancemock.world.redact import REDACTED, Redactor

log = logging.getLogger("instancemock.proxy")

HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "trailers",
     "transfer-encoding", "upgrade"}
)  # fmt: skip
NOT_FORWARDED = HOP_BY_HOP | {"host", "content-length"}
NOT_RETURNED = HOP_BY_HOP | {"content-length"}
CONTROL_PREFIX = "x-mock-"
CHUNK_BYTES = 64 * 1024
MAX_CHECKED_BYTES = 32 * 1024 * 1024  # a larger answer is streamed through, its body unchecked
SAVE_EVERY_S = 1.0  # a recording is written at most this often while it changes, and on exit
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.-]*)\}")
SOURCE_HEADER = "X-Mock-Source"


class ForwardError(Exception):
    """The request cannot be forwarded (a URL placeholder the path does not fill)."""


@dataclass(frozen=True, slots=True)
class Upstream:
    """Where one API's requests go; `base` may hold `{name}` placeholders of the route's path parameters."""

    api: str
    base: str

    def url(self, params: Mapping[str, str]) -> str:
        def fill(match: re.Match[str]) -> str:
            if match.group(1) not in params:
                raise ForwardError(f"the upstream URL {self.base} needs the path parameter {{{match.group(1)}}}")
            return params[match.group(1)]

        return PLACEHOLDER.sub(fill, self.base)

    @property
    def pattern(self) -> re.Pattern[str]:
        """Any URL this base stands for (placeholders match one host label or path segment)."""
        parts = PLACEHOLDER.split(self.base)
        literal = [re.escape(p) if i % 2 == 0 else r"[A-Za-z0-9_~-]+" for i, p in enumerate(parts)]
        return re.compile("".join(literal) + r"(?=[/?#\"'\s<]|$)", re.IGNORECASE)


def upstreams(settings: Settings, apis: Mapping[str, Api]) -> dict[str, Upstream]:
    """The `proxy` setting, checked: a name the server does not mount, or a URL that is not http(s), stops start-up."""
    found: dict[str, Upstream] = {}
    for name, url in settings.proxy.items():
        if name == ADMIN or name not in apis:
            known = ", ".join(n for n in apis if n != ADMIN)
            raise ValueError(f"proxy: no API named {name!r} to forward (known: {known})")
        parts = urlsplit(PLACEHOLDER.sub("x", url))
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise ValueError(f"proxy: {name}={url!r} must be an http(s) base URL without query or fragment")
        found[name] = Upstream(name, url.rstrip("/"))
    return found


class Proxy:
    """The forwarding step's state: upstreams, one client session, the drift log and the recording."""

    def __init__(
        self, settings: Settings, apis: Mapping[str, Api], plugins: Mapping[str, ApiPlugin], now: str = ""
    ) -> None:
        self.settings = settings
        self.upstreams = upstreams(settings, apis)
        self.apis = apis
        self.plugins = plugins
        self.redactor = Redactor(settings.seed, settings.record_personal)
        self.drift = DriftLog(self.redactor)
        self.session: aiohttp.ClientSession | None = None
        self.recording: Recording | None = None
        if settings.record is not None:
            if not self.upstreams:
                raise ValueError("record: --record keeps what the proxy forwards; name an API with --proxy API=URL")
            self.recording = Recording(settings.record, self.redactor, settings.seed, now)
            if self.recording.resume(sorted({api.platform for name, api in apis.items() if name != ADMIN})):
                log.info("recording: carrying on from %s", settings.record)

    def rewrites(self, request: web.Request, own: Upstream, own_base: str) -> list[tuple[re.Pattern[str], str]]:
        """Each proxied upstream's URLs -> this server's mount base of that API (the request's own first)."""
        origin = origin_of(request)
        found = [(own.pattern, origin + own_base)]
        for name, upstream in self.upstreams.items():
            if upstream is not own:
                found.append((upstream.pattern, origin + self.apis[name].bases[0]))
        return found

    async def run(self, app: web.Application) -> AsyncIterator[None]:
        """For `app.cleanup_ctx`: one client session while serving; the recording saved as it grows and at exit."""
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self.settings.proxy_timeout,
                                        sock_read=self.settings.proxy_timeout)  # fmt: skip
        self.session = aiohttp.ClientSession(
            timeout=timeout,
            auto_decompress=False,  # bytes pass through as the upstream encoded them
            cookie_jar=aiohttp.DummyCookieJar(),  # one client's cookies must never reach another's requests
            skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent"),  # only what the client sent
        )
        saver = asyncio.create_task(self._keep_recording()) if self.recording is not None else None
        try:
            yield
        finally:
            if saver is not None:
                saver.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await saver
                try:
                    await self.save()
                except OSError:
                    log.exception("could not write the recording to %s", self.settings.record)
            await self.session.close()

    async def _keep_recording(self) -> None:
        while True:
            await asyncio.sleep(SAVE_EVERY_S)
            if self.recording is not None and self.recording.dirty:
                try:
                    await self.save()
                except OSError:
                    log.exception("could not write the recording to %s", self.recording.directory)

    async def save(self) -> None:
        if self.recording is not None:
            await asyncio.to_thread(self.recording.save, self.drift.report())

    def record(self, request: web.Request, found: Facts, route: Route, body: bytes, status: int, answer: Any) -> None:
        """Hand the exchange to the API's recorder; a recorder's mistake costs the recording, never the answer."""
        recording = self.recording
        plugin = self.plugins.get(route.api.name)
        if recording is None or plugin is None or plugin.recorder is None or not 200 <= status < 300:
            return  # a refusal or a failure says nothing about the world
        exchange = Exchange(
            operation=route.op.id,
            method=request.method,
            path=route.params,
            query={k: request.rel_url.query.getall(k) for k in request.rel_url.query},
            request=_parsed_request(body, request.headers.get("Content-Type", "")),
            status=status,
            response=answer,
            settings=self.settings,
            recorded=recording.lookup(found.sandbox, route.api.platform),
        )
        try:
            recording.apply(found.sandbox, route.api.platform, list(plugin.recorder(exchange)))
        except Exception:
            log.exception("recording %s %s failed; the answer was returned unchanged", request.method, request.path)


PROXY = web.AppKey("proxy", Proxy)
PROXYING = web.AppKey("proxying", bool)  # PROXY is in the app: set either way, read per request without a KeyError


async def forward_to_upstream(request: web.Request) -> web.StreamResponse | None:
    """The answer of a proxied API's upstream (or of a matching stub); None for every other request."""
    proxy = request.app.get(PROXY)
    found = facts(request)
    if proxy is None or found is None or found.owner is None:
        return None
    upstream = proxy.upstreams.get(found.owner.name)
    if upstream is None:
        return None
    stubbed = await answer_from_stubs(request)  # a matching stub stands in for the real service
    if stubbed is not None:
        return stubbed
    return await _forward(request, proxy, found, found.owner, upstream)


async def _forward(
    request: web.Request, proxy: Proxy, found: Facts, api: Api, upstream: Upstream
) -> web.StreamResponse:
    route = found.found if isinstance(found.found, Route) else None
    base = route.base if route is not None else _base_of(api, request.rel_url.raw_path)
    try:
        body = await read_body(request, api.errors, proxy.settings.body_timeout) if request.can_read_body else b""
    except errors.Refusal as refusal:  # a body that never arrives is this server's 408, not the upstream's
        return refusal.render(api.errors)
    flags = await _request_flags(request, api, route, found, body)
    try:
        target = _target(request, upstream, route, base)
    except ForwardError as error:
        return _unanswered(request, api, upstream.base, 502, f"instancemock proxy: {error}.")
    shown = _shown_url(target)
    assert proxy.session is not None, "the proxy's session lives while the app serves (Proxy.run)"
    try:
        upstream_response = await proxy.session.request(
            request.method, target, headers=_forwarded_headers(request), data=body or None, allow_redirects=False
        )
    except TimeoutError:
        limit = proxy.settings.proxy_timeout
        message = f"instancemock proxy: {shown} did not answer within {limit:g} s."
        return _unanswered(request, api, shown, 504, message)
    except (aiohttp.ClientError, OSError) as error:
        reason = str(error) or type(error).__name__
        return _unanswered(request, api, shown, 502, f"instancemock proxy: {shown} could not be reached: {reason}.")
    async with upstream_response:
        try:
            return await _answer(request, proxy, found, api, upstream, route, base, body, flags, upstream_response)
        except TimeoutError:
            limit = proxy.settings.proxy_timeout
            return _unanswered(request, api, shown, 504, f"instancemock proxy: {shown} stalled for {limit:g} s.")
        except aiohttp.ClientError as error:
            reason = str(error) or type(error).__name__
            return _unanswered(request, api, shown, 502, f"instancemock proxy: {shown} broke off: {reason}.")


async def _answer(
    request: web.Request,
    proxy: Proxy,
    found: Facts,
    api: Api,
    upstream: Upstream,
    route: Route | None,
    base: str,
    body: bytes,
    flags: list[Flag],
    answer: aiohttp.ClientResponse,
) -> web.StreamResponse:
    shown = _shown_url(answer.url)
    headers = CIMultiDict((k, v) for k, v in answer.headers.items() if k.lower() not in NOT_RETURNED)
    rewrites = proxy.rewrites(request, upstream, base)
    for name in ("Location", "Content-Location"):
        if name in headers:
            headers[name] = _rewritten_location(headers[name], upstream.url(route.params if route else {}), rewrites)
    mimetype = answer.content_type
    encoding = answer.headers.get("Content-Encoding", "")
    if not _buffered(mimetype, answer.content_length):
        return await _stream(request, proxy, found, api, route, flags, answer, headers, shown)
    raw = await answer.read()
    plain, out = await checked(len(raw), _readable, raw, encoding, answer.charset, rewrites)
    if out is not raw:
        headers.popall("Content-Encoding", None)  # rewritten links: the body goes back decoded
    if route is not None:
        seen_body = plain if plain is not None else b""
        flags += await checked(
            len(seen_body),
            response_flags,
            api,
            route.op,
            answer.status,
            seen_body,
            _werkzeug(answer.headers),
            mimetype,
            checked_body=plain is not None,
        )
    strict = _note(request, proxy, found, route, shown, flags, answer.status)
    if strict is not None:
        return strict
    if route is not None and plain is not None and proxy.recording is not None:
        parsed = await checked(len(plain), _json, plain, mimetype, answer.charset)
        proxy.record(request, found, route, body, answer.status, parsed)
    return web.Response(status=answer.status, reason=answer.reason, body=out, headers=headers)


def _readable(
    raw: bytes, encoding: str, charset: str | None, rewrites: list[tuple[re.Pattern[str], str]]
) -> tuple[bytes | None, bytes]:
    """(the body as it can be checked, or None if its encoding cannot be undone; the body to send on).

    The body sent on is `raw` itself unless links in it were rewritten (then it is the decoded,
    rewritten text). Pure, so a large body is handled beside the loop (core/offload.py).
    """
    plain = _decoded(raw, encoding)
    if plain is None or not rewrites:
        return plain, raw
    text = plain.decode(charset or "utf-8", errors="surrogateescape")
    changed = _rewrite(text, rewrites)
    if changed == text:
        return plain, raw
    out = changed.encode(charset or "utf-8", errors="surrogateescape")
    return out, out


async def _stream(
    request: web.Request,
    proxy: Proxy,
    found: Facts,
    api: Api,
    route: Route | None,
    flags: list[Flag],
    answer: aiohttp.ClientResponse,
    headers: CIMultiDict[str],
    shown: str,
) -> web.StreamResponse:
    """Pass a binary body on as it arrives; status, headers and media type are checked before it starts."""
    first = await answer.content.readany()
    if route is not None:
        flags += response_flags(
            api, route.op, answer.status, first, _werkzeug(answer.headers), answer.content_type, checked_body=False
        )
    strict = _note(request, proxy, found, route, shown, flags, answer.status)
    if strict is not None:
        return strict
    response = web.StreamResponse(status=answer.status, reason=answer.reason, headers=headers)
    if answer.content_length is not None:
        response.content_length = answer.content_length  # the client can tell a cut-off body
    await response.prepare(request)
    try:
        if first:
            await response.write(first)
        async for chunk in answer.content.iter_chunked(CHUNK_BYTES):
            await response.write(chunk)
    except (aiohttp.ClientError, TimeoutError) as error:
        log.warning("proxy: %s broke off while streaming: %s", shown, error or type(error).__name__)
        if request.transport is not None:
            request.transport.abort()  # the status is sent: only a broken connection says the body is not whole
        return response
    await response.write_eof()
    return response


def _note(
    request: web.Request,
    proxy: Proxy,
    found: Facts,
    route: Route | None,
    shown: str,
    flags: list[Flag],
    status: int,
) -> web.Response | None:
    """Flags to the journal and the drift log; under --strict, the 502 a drifting answer becomes."""
    request[PROXY_NOTE] = {"upstream": shown, "drift": [f.as_json() for f in flags]}
    assert found.owner is not None
    operation = route.op.id if route is not None else next((f.where for f in flags if f.kind == "operation"), "")
    seen = Seen(request.get(ENTRY_ID, 0), request.method, request.path, redacted_query(request), status, shown)
    proxy.drift.add(found.owner.name, operation, flags, seen, request.app[STATE].clock.now())
    drifting = [f for f in flags if f.direction == RESPONSE]
    if not proxy.settings.strict or not drifting:
        return None
    named = "; ".join(f"{f.kind} {f.where + ': ' if f.where else ''}{f.message}" for f in drifting)
    message = f"instancemock --strict: the upstream's {status} answer to {operation} breaks the spec: {named}"
    response = errors.error(found.owner.errors, 502, message)
    response.headers[SOURCE_HEADER] = "proxy"
    return response


def _unanswered(request: web.Request, api: Api, shown: str, status: int, message: str) -> web.Response:
    log.warning("%s (%s %s)", message, request.method, request.path)
    request[PROXY_NOTE] = {"upstream": shown, "drift": []}
    response = errors.error(api.errors, status, message)
    response.headers[SOURCE_HEADER] = "proxy"
    return response


async def _request_flags(request: web.Request, api: Api, route: Route | None, found: Facts, body: bytes) -> list[Flag]:
    """The request's violations, as the mock's own validation finds them (a large body beside the loop)."""
    if route is None:
        return [undeclared_operation(request.method, found.api_path)]
    _, violations = await checked(
        len(body),
        check_request,
        api,
        route.op,
        route.params,
        request.rel_url.query.items(),
        request.headers.items(),
        dict(request.cookies),
        body,
        (request.headers.get("Content-Type") or "").lower(),
    )
    return request_flags(violations)


def _base_of(api: Api, raw_path: str) -> str:
    lowered = raw_path.lower()
    for base in sorted(api.bases, key=len, reverse=True):
        if lowered == base.lower() or lowered.startswith(base.lower() + "/"):
            return base
    return api.bases[0]


def _target(request: web.Request, upstream: Upstream, route: Route | None, base: str) -> URL:
    raw = request.rel_url.raw_path
    rest = raw[len(base) :] if raw.lower().startswith(base.lower()) else raw
    query = request.rel_url.raw_query_string
    return URL(upstream.url(route.params if route else {}) + rest + (f"?{query}" if query else ""), encoded=True)


def _forwarded_headers(request: web.Request) -> CIMultiDict[str]:
    listed = {name.strip().lower() for name in request.headers.get("Connection", "").split(",")}
    return CIMultiDict(
        (name, value)
        for name, value in request.headers.items()
        if name.lower() not in NOT_FORWARDED
        and name.lower() not in listed
        and not name.lower().startswith(CONTROL_PREFIX)
    )


def _buffered(mimetype: str, length: int | None) -> bool:
    """JSON and text are read whole (to check and rewrite them); anything else is streamed."""
    if length is not None and length > MAX_CHECKED_BYTES:
        return False
    kind = mimetype.lower()
    return (
        kind in ("", "application/json", "application/xml", "application/x-www-form-urlencoded")
        or kind.startswith("text/")
        or kind.endswith(("+json", "+xml"))
    )


def _decoded(raw: bytes, encoding: str) -> bytes | None:
    """The body without its Content-Encoding (gzip, deflate), or None where it cannot be undone here."""
    name = encoding.strip().lower()
    if name in ("", "identity"):
        return raw
    try:
        if name in ("gzip", "x-gzip"):
            return _inflate(raw, 16 + zlib.MAX_WBITS)
        if name == "deflate":
            try:
                return _inflate(raw, zlib.MAX_WBITS)
            except zlib.error:
                return _inflate(raw, -zlib.MAX_WBITS)  # raw deflate, as some servers send it
    except zlib.error:
        return None
    return None


def _inflate(raw: bytes, bits: int) -> bytes | None:
    inflater = zlib.decompressobj(bits)
    plain = inflater.decompress(raw, MAX_CHECKED_BYTES)
    return None if inflater.unconsumed_tail else plain


def _rewrite(text: str, rewrites: list[tuple[re.Pattern[str], str]]) -> str:
    for pattern, replacement in rewrites:
        text = pattern.sub(replacement.replace("\\", "\\\\"), text)  # the replacement is literal text
    return text


def _rewritten_location(location: str, upstream_base: str, rewrites: list[tuple[re.Pattern[str], str]]) -> str:
    """An absolute URL of an upstream becomes this server's; a path under the upstream's base path, too."""
    changed = _rewrite(location, rewrites)
    if changed != location or not location.startswith("/"):
        return changed
    upstream_path = urlsplit(upstream_base).path.rstrip("/")
    if upstream_path and (location == upstream_path or location.startswith(upstream_path + "/")):
        own = urlsplit(rewrites[0][1]).path
        return own + location[len(upstream_path) :]
    return location if upstream_path else urlsplit(rewrites[0][1]).path + location


def _werkzeug(headers: Mapping[str, str]) -> Headers:
    return Headers(list(headers.items()))


def _json(plain: bytes, mimetype: str, charset: str | None) -> Any:
    if not (mimetype == "application/json" or mimetype.endswith("+json")) or not plain:
        return None
    try:
        return json.loads(plain.decode(charset or "utf-8"))
    except (ValueError, RecursionError):
        return None


def _parsed_request(body: bytes, content_type: str) -> Any:
    media = content_type.split(";")[0].strip().lower()
    if not body:
        return None
    try:
        if media == "application/json" or media.endswith("+json"):
            return json.loads(body)
        if media == "application/x-www-form-urlencoded":
            return parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    except (ValueError, RecursionError, UnicodeDecodeError):
        return None
    return None


def _shown_url(url: URL) -> str:
    """The upstream URL for the journal and the report: credential query values redacted."""
    if not url.query:
        return str(url.with_query(None))
    pairs = [(k, REDACTED if k.lower() in SECRET_QUERY else v) for k, v in url.query.items()]
    return str(url.with_query(pairs))


def install(
    app: web.Application, settings: Settings, apis: Mapping[str, Api], plugins: Mapping[str, ApiPlugin]
) -> None:
    """Wire proxy mode into the app (app.py): nothing but `PROXYING` when no API is proxied."""
    app[PROXYING] = bool(settings.proxy) or settings.record is not None
    if not app[PROXYING]:
        return
    proxy = Proxy(settings, apis, plugins, iso(app[STATE].clock.start))
    app[PROXY] = proxy
    app.cleanup_ctx.append(proxy.run)


def drift_log(app: web.Application) -> DriftLog | None:
    """The drift the proxy found (None: nothing is proxied, so there is none)."""
    proxy = app.get(PROXY)
    return proxy.drift if proxy is not None else None
