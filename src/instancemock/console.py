"""What the server says on the console: seeding progress, the start-up banner, the access log.

Start-up can take seconds (a world of 100,000 instances per API); connections are refused
meanwhile, so the user must see that something is happening (`SeedingProgress`: a live line on a
terminal, one plain line per platform otherwise) and, once the port answers, everything needed to
use it (`banner`): where each API is, where its demo login is, the seed and clock, how much was
seeded and how long it took, and the admin token when one is needed.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TextIO
from urllib.parse import unquote_plus

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from instancemock import package_version
from instancemock.app import PLATFORMS, is_loopback
from instancemock.core.context import APIS, STATE, facts
from instancemock.core.journal import JOURNAL_NOTE, REDACTED, SECRET_QUERY
from instancemock.core.spec import ADMIN
from instancemock.world.clock import iso
from instancemock.world.snapshot import is_json_file
from instancemock.world.state import DEFAULT_SANDBOX, SeedEvent

INSTANCES = "instances"  # the collection the banner counts in each world (every platform has one)
BAR_WIDTH = 24
REDRAW_SECONDS = 0.2


# --- seeding progress -----------------------------------------------------------------------


@dataclass
class SeedingProgress:
    """`State.progress`: each world's start and end, with its size and timing.

    On a terminal a live line (bar, platforms done, the ones still seeding, seconds) is redrawn by
    a thread while seeding holds the main thread; it writes with `os.write`, so a process forked
    for parallel seeding never inherits a held stream lock. Elsewhere (a log, CI) each platform
    gets one plain line as it is ready.
    """

    platforms: Sequence[str]
    stream: TextIO = field(default_factory=lambda: sys.stderr)
    live: bool | None = None  # None: live when the stream is a terminal
    started: float | None = None
    finished: float | None = None
    seeding: dict[str, float] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _ticker: threading.Thread | None = None

    def __post_init__(self) -> None:
        if self.live is None:
            self.live = self.stream.isatty()

    def __call__(self, event: SeedEvent) -> None:
        now = time.monotonic()
        platform = event.platform
        with self._lock:
            if self.finished is not None:  # start-up is over: later worlds (new sandboxes) are not news
                return
            if self.started is None:
                self.started = now
                self._begin()
            if not event.done:
                self.seeding[platform] = now
                return
            self.seeding.pop(platform, None)
            self.seconds[platform] = event.seconds
            done = f"({len(self.seconds)}/{self._total()})"
            line = f"instancemock: seeded {platform} in {event.seconds:.2f} s, {event.documents:,} documents {done}"
            if self.live:
                self._write("\r\x1b[2K" + line + "\n")
            else:
                print(line, file=self.stream, flush=True)

    def close(self) -> None:
        """Seeding is over (or failed): stop redrawing and clear the live line."""
        self.finished = time.monotonic()
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
            self._ticker = None
            self._write("\r\x1b[2K")

    @property
    def total_seconds(self) -> float | None:
        if self.started is None:
            return None
        return (self.finished or time.monotonic()) - self.started

    def _total(self) -> int:
        return max(len(self.platforms), len(self.seconds) + len(self.seeding))

    def _begin(self) -> None:
        names = ", ".join(self.platforms)
        if not self.live:
            print(f"instancemock: seeding {self._total()} worlds ({names})", file=self.stream, flush=True)
            return
        self._ticker = threading.Thread(target=self._redraw, name="instancemock-progress", daemon=True)
        self._ticker.start()

    def _redraw(self) -> None:
        while not self._stop.wait(REDRAW_SECONDS):
            with self._lock:
                self._write("\r\x1b[2K" + self.live_line(time.monotonic()))

    def live_line(self, now: float) -> str:
        """`seeding [#####.....] 1/3 barium, altinn 4.2 s`: what the terminal shows while seeding."""
        done, total = len(self.seconds), self._total()
        filled = BAR_WIDTH * done // total if total else BAR_WIDTH
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        busy = ", ".join(self.seeding) or "-"
        return f"seeding [{bar}] {done}/{total} {busy} {now - (self.started or now):.1f} s"

    def _write(self, text: str) -> None:
        try:
            os.write(self.stream.fileno(), text.encode())
        except (OSError, ValueError):  # no file descriptor (a test's StringIO): the plain way
            self.stream.write(text)
            self.stream.flush()


# --- the banner -----------------------------------------------------------------------------


def shown_host(host: str) -> str:
    """A host a user can paste: the wildcard addresses are reached through loopback."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


async def world_sizes(app: web.Application) -> dict[str, int]:
    """Instances in each platform's world of the default sandbox: the banner's counts, once each
    world is in (the CLI seeds them in the background while it listens)."""
    state = app[STATE]
    return {p.name: await (await state.ready(DEFAULT_SANDBOX, p.name)).count(INSTANCES) for p in app[PLATFORMS]}


def banner(
    app: web.Application, origin: str, sizes: dict[str, int], seeding: SeedingProgress | None, started: float
) -> list[str]:
    """The lines printed once the port answers."""
    state = app[STATE]
    settings = state.settings
    apis = app[APIS]
    clock = "fixed by --now, then ticking" if settings.now is not None else "the real time at start-up"
    seeded = seeding.total_seconds if seeding is not None else None
    how = f"seeded in {seeded:.1f} s" if seeded is not None else f"state loaded from {settings.state_file}"
    lines = [
        f"instancemock {package_version()} ready in {time.monotonic() - started:.1f} s ({how})",
        f"  seed {settings.seed}, clock {iso(state.clock.start)} ({clock})",
        "",
    ]
    rows: list[tuple[str, str, str]] = []
    for platform in app[PLATFORMS]:
        count = sizes.get(platform.name, 0)
        for plugin in platform.apis:
            api = apis.get(plugin.name)
            if api is None or not settings.api_enabled(plugin.name):
                continue
            shared = len([a for a in platform.apis if a.name in apis]) > 1
            counted = f"{count:,} instances" + (f" ({platform.name} world)" if shared else "")
            if plugin.name in settings.proxy:  # proxy mode (core/proxy.py): answered by the real service
                counted = f"proxied to {settings.proxy[plugin.name]}"
            rows.append((api.name, origin + api.bases[0], counted))
    width = max((len(name) for name, _, _ in rows), default=0)
    url_width = max((len(url) for _, url, _ in rows), default=0)
    lines += [f"  {name:<{width}}  {url:<{url_width}}  {counted}" for name, url, counted in rows]
    lines += [
        "",
        f"  demo logins   GET {origin}/  (base URL, spec URL and login of each API)",
        f"  specs         {origin}/__admin/specs/{{api}}  ({', '.join(n for n in apis if n != ADMIN)})",
        f"  admin         {origin}/__admin",
    ]
    if settings.admin_token is not None and not is_loopback(settings.host):
        lines.append(f"  admin token   send 'Authorization: Bearer {settings.admin_token}' to /__admin")
    if settings.simulate > 0:
        lines.append(f"  simulation    on, speed {settings.simulate:g} (GET {origin}/__admin/simulate)")
    if settings.proxy:
        lines.append(f"  drift         GET {origin}/__admin/drift (?format=md for Markdown)")
    if settings.record is not None:
        lines.append(f"  recording     {settings.record / 'state.json'} (serve it later with --state-file)")
    if settings.state_file is not None:
        if is_json_file(settings.state_file):
            kept = f"saved every {settings.state_save_seconds} s and on exit"
        else:
            kept = "SQLite: every write committed before it is answered"
        lines.append(f"  state file    {settings.state_file} ({kept})")
    lines.append("Ctrl-C stops the server.")
    return lines


# --- the access log -------------------------------------------------------------------------

_QUERY_PART = re.compile(r"([^&=]*)(=?)([^&]*)")


def redacted_path(request: web.BaseRequest) -> str:
    """The path and query as sent, with credential parameters (`?ticket=`) shown as [redacted]."""
    raw = request.raw_path
    path, mark, query = raw.partition("?")
    if not mark:
        return raw
    parts = []
    for part in query.split("&"):
        name, equals, _ = _QUERY_PART.match(part).groups()  # type: ignore[union-attr]
        secret = unquote_plus(name).lower() in SECRET_QUERY
        parts.append(f"{name}{equals or '='}{REDACTED}" if secret else part)
    return f"{path}?{'&'.join(parts)}"


def fault_note(note: dict[str, object] | None) -> str:
    """What the mock controls applied: `rule-1: status 503`, `header: delay 250ms`."""
    if not note:
        return ""
    effects = []
    if note.get("status") is not None:
        effects.append(f"status {note['status']}")
    if note.get("fault"):
        effects.append(f"fault {note['fault']}")
    if note.get("delayMs"):
        effects.append(f"delay {note['delayMs']}ms")
    source = str(note.get("rule") or note.get("source") or "")
    return f"{source}: {', '.join(effects)}"


class AccessLogger(AbstractAccessLogger):
    """One line per request: method, path (credentials redacted), status, ms, sandbox, fault."""

    @property
    def enabled(self) -> bool:
        """aiohttp asks once per connection; below INFO it then skips timing and calling `log`,
        which took ~10% of a Barium list's time at --log-level WARNING (bench/README.md)."""
        return self.logger.isEnabledFor(logging.INFO)

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        found = facts(request)  # type: ignore[arg-type]  # the same request object the pipeline saw
        extra = []
        if found is not None and found.sandbox != DEFAULT_SANDBOX:
            extra.append(f"sandbox={found.sandbox}")
        applied = fault_note(request.get(JOURNAL_NOTE))
        if applied:
            extra.append(f"[{applied}]")
        line = f"{request.method} {redacted_path(request)} {response.status} {time * 1000:.1f}ms"
        self.logger.info("%s", " ".join([line, *extra]))


def access_logger() -> logging.Logger:
    return logging.getLogger("instancemock.access")
