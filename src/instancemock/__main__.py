"""The `instancemock` command: `serve` (settings -> port -> seeded world -> banner) and `fixtures export`.

Start-up checks the cheap things first, so a mistake costs no seconds of seeding: the settings
(settings.py: every source checked, one line per problem), then the port (bound before seeding,
so "port 8080 is in use" comes at once), then the fixtures' schemas; then the worlds are seeded
in forked processes while the specs load and while the port already listens (`/__admin/health`
answers 503 "seeding", requests wait for their world), with progress on the console
(console.py), and the banner once they are in. A world that cannot be seeded stops the server
with its reason and status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import gc
import importlib
import logging
import os
import shutil
import signal
import socket
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from instancemock import package_version, registry
from instancemock.core.plugin import Plugin
from instancemock.settings import (
    ENV_PREFIX,
    Layer,
    Settings,
    SettingsError,
    build,
    from_env,
    from_flags,
    load_config,
    name_value_map,
    read_yaml,
)

DESCRIPTION = """\
A stateful mock server for the process-instance REST APIs of Kianda, Barium Live and Altinn 3
(Platform Storage and the App API). Every request is checked against the platform's own OpenAPI
spec and answered from a seeded world in the platform's own shapes, on one port."""

EXAMPLES = """\
examples:
  instancemock serve                          every API on http://127.0.0.1:8080 (Ctrl-C stops it)
  instancemock serve --port 9000 --seed 42    another port, another generated world
  instancemock serve --config instancemock.yaml --strict
  instancemock serve --simulate 60            instances move on by themselves, about once a second
  instancemock fixtures export my-world       copy the packaged fixtures to edit them ...
  instancemock serve --fixtures my-world      ... and serve the edited ones

Flags override INSTANCEMOCK_* environment variables, which override the config file.
Once it runs, GET / lists every API with its base URL, spec URL and demo login."""

LOG_LEVELS = ("debug", "info", "warning", "error")


def parser() -> argparse.ArgumentParser:
    formatter = argparse.RawDescriptionHelpFormatter
    cli = argparse.ArgumentParser(
        prog="instancemock", description=DESCRIPTION, epilog=EXAMPLES, formatter_class=formatter
    )
    cli.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    commands = cli.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="start the mock server with seeded data for every API",
        description="Start the mock server; it keeps the terminal until Ctrl-C.",
        epilog=EXAMPLES,
        formatter_class=formatter,
    )
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)")
    serve.add_argument("--port", type=int, help="port (default 8080; 0 = any free port)")
    serve.add_argument("--seed", type=int, help="seed of the generated data (default 1)")
    serve.add_argument("--now", metavar="ISO", help="ISO 8601 instant the world is seeded at (default: now)")
    serve.add_argument("--config", type=Path, metavar="FILE", help="YAML config file")
    serve.add_argument("--auth", choices=["on", "off"], help="enforce each platform's auth (default on)")
    serve.add_argument(
        "--strict", action=argparse.BooleanOptionalAction, default=None, help="validate every response too"
    )
    serve.add_argument(
        "--allow-off-contract-stubs",
        action="store_true",
        default=None,
        dest="allow_off_contract_stubs",
        help="keep stubs whose answer the spec does not allow (marked offContract in the journal)",
    )
    serve.add_argument("--fixtures", type=Path, metavar="DIR", help="directory of fixture files replacing the packaged")
    serve.add_argument("--state-file", type=Path, dest="state_file", metavar="PATH", help="load state, save on exit")
    serve.add_argument(
        "--store", metavar="URL", help="memory (default), or redis://HOST:PORT/DB: replicas and workers share it"
    )
    serve.add_argument(
        "--workers", type=int, metavar="N", help="processes serving the port (default 1; more need --store)"
    )
    serve.add_argument(
        "--idle-timeout", type=int, dest="idle_timeout", help="seconds before an idle connection is closed (default 75)"
    )
    serve.add_argument(
        "--simulate", type=float, metavar="FACTOR", help="instances move on by themselves at this speed (0: off)"
    )
    serve.add_argument(
        "--platform", action="append", dest="platforms", metavar="MODULE", help="load a further platform's module"
    )
    serve.add_argument("--admin-token", dest="admin_token", metavar="TOKEN", help="token /__admin needs off loopback")
    serve.add_argument(
        "--log-level",
        default="info",
        type=str.lower,
        choices=LOG_LEVELS,
        help=f"logging level: {', '.join(LOG_LEVELS)} (default info; info logs every request)",
    )

    fixtures = commands.add_parser(
        "fixtures",
        help="work with the fixture files worlds are built from",
        description="The hand-written part of each platform's world (users, apps, processes) is a YAML file.",
    )
    actions = fixtures.add_subparsers(dest="action", required=True, metavar="ACTION")
    export = actions.add_parser(
        "export",
        help="write the packaged fixture files to DIR, to edit and serve with --fixtures DIR",
        description="Write each platform's packaged fixture (kianda.yaml, barium.yaml, altinn.yaml) and its "
        "JSON Schema to DIR. Edit them, then start with `instancemock serve --fixtures DIR`.",
    )
    export.add_argument("directory", type=Path, metavar="DIR")
    export.add_argument("--force", action="store_true", help="overwrite files that exist")
    export.add_argument("--platform", action="append", dest="platforms", metavar="MODULE", help="a further platform")
    add_proxy_flags(serve)
    add_drift_report(commands)
    return cli


def add_proxy_flags(serve: argparse.ArgumentParser) -> None:
    """Proxy mode (core/proxy.py): forward APIs to the real service, check both ways, record."""
    serve.add_argument(
        "--proxy", action="append", metavar="API=URL", help="forward this API to the real service (repeatable)"
    )
    serve.add_argument(
        "--proxy-timeout", type=float, dest="proxy_timeout", metavar="SECONDS", help="upstream timeout (default 30)"
    )
    serve.add_argument("--record", type=Path, metavar="DIR", help="keep what the proxy forwards as a world in DIR")
    serve.add_argument(
        "--record-personal",
        choices=["fake", "redact"],
        dest="record_personal",
        help="personal numbers in a recording: seeded stand-ins (default) or [redacted]",
    )


def add_drift_report(commands: Any) -> None:
    report = commands.add_parser(
        "drift-report",
        help="print the drift a proxy found as Markdown (for CI)",
        description="Print where proxied traffic broke the specs, as Markdown: from a running server "
        "(GET /__admin/drift) or from a saved report (DIR/drift.json of --record).",
    )
    report.add_argument("--url", default="http://127.0.0.1:8080", help="the running server (default %(default)s)")
    report.add_argument("--file", type=Path, metavar="PATH", help="a saved JSON report instead of a server")
    report.add_argument("--api", help="only this API's drift")
    report.add_argument("--admin-token", dest="admin_token", metavar="TOKEN", help="the server's admin token")
    report.add_argument("--fail-on-drift", action="store_true", help="exit 1 when any drift was found")


def drift_report(args: argparse.Namespace) -> int:
    """The report as Markdown on stdout; exit 1 with --fail-on-drift when there is drift, 2 when unreadable."""
    import json
    import urllib.error
    import urllib.parse
    import urllib.request

    from instancemock.core.drift import markdown

    try:
        if args.file is not None:
            report = json.loads(args.file.read_text(encoding="utf-8"))
        else:
            query = f"?{urllib.parse.urlencode({'api': args.api})}" if args.api else ""
            ask = urllib.request.Request(f"{args.url.rstrip('/')}/__admin/drift{query}")
            if args.admin_token:
                ask.add_header("Authorization", f"Bearer {args.admin_token}")
            with urllib.request.urlopen(ask, timeout=30) as answer:
                report = json.loads(answer.read())
    except (OSError, ValueError) as error:
        print(f"instancemock: cannot read the drift report: {error}", file=sys.stderr)
        return 2
    if not isinstance(report, dict) or not isinstance(report.get("groups"), list):
        print("instancemock: not a drift report (GET /__admin/drift's JSON)", file=sys.stderr)
        return 2
    if args.api:
        report = {**report, "groups": [g for g in report["groups"] if g.get("api") == args.api]}
    print(markdown(report), end="")
    return 1 if args.fail_on_drift and report["groups"] else 0


def settings_from(args: argparse.Namespace) -> Settings:
    """Config file, then environment, then flags; the platforms say which further keys they read."""
    given = {k: v for k, v in vars(args).items() if k not in {"command", "config", "log_level"}}
    if given.get("auth") is not None:
        given["auth"] = given["auth"] == "on"
    if given.get("proxy") is not None:  # repeated API=URL flags: one mapping, as the config file writes it
        try:
            given["proxy"] = name_value_map(given["proxy"])
        except ValueError as error:
            raise SettingsError(f"command line: --proxy: {error}") from None
    found = registry.discover(_platform_modules(args, given))
    declared = registry.declared(found)
    environment = from_env(declared=declared)
    for warning in environment.warnings:
        print(f"instancemock: {warning}", file=sys.stderr)
    file_layer: Layer | dict[str, Any] = load_config(args.config, declared) if args.config else {}
    return build(file_layer, environment, from_flags(given, declared), declared=declared)


def _platform_modules(args: argparse.Namespace, flags: dict[str, Any]) -> list[str]:
    """Which further platforms to load, before the settings can be checked (they declare keys)."""
    if flags.get("platforms"):
        return list(flags["platforms"])
    if os.environ.get(ENV_PREFIX + "PLATFORMS", "").strip():
        return [m.strip() for m in os.environ[ENV_PREFIX + "PLATFORMS"].split(",") if m.strip()]
    raw = read_yaml(args.config) if getattr(args, "config", None) else None
    listed = raw.get("platforms") if isinstance(raw, dict) else None
    return [str(m) for m in listed] if isinstance(listed, list) else []  # a bad value is reported later


class PortError(OSError):
    """The address cannot be listened on; the message says what to do."""


def bind(host: str, port: int) -> list[socket.socket]:
    """Sockets bound to every address `host` names (not yet listening: that starts once the world is ready).

    Binding first reports a taken port before seconds of seeding; listening only later means a
    client polling the port is refused, not left hanging, while the world is built."""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise PortError(f"cannot listen on {host!r}: {error.strerror}") from None
    addresses = list(dict.fromkeys((family, address) for family, _, _, _, address in infos))
    bound: list[socket.socket] = []
    try:
        for family, address in addresses:
            sock = socket.socket(family, socket.SOCK_STREAM)
            bound.append(sock)
            if os.name == "posix":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            chosen = bound[0].getsockname()[1] if port == 0 and len(bound) > 1 else port
            sock.bind((address[0], chosen, *address[2:]))
    except OSError as error:
        for sock in bound:
            sock.close()
        if error.errno == errno.EADDRINUSE:
            raise PortError(f"port {port} is in use; pass --port (0 = any free port)") from None
        raise PortError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    return bound


def use_uvloop() -> bool:
    """Serve on uvloop where it is installed (a dependency, except on Windows): ~1.25x the requests
    per second of asyncio's own loop on the same handlers (bench/README.md)."""
    try:
        import uvloop
    except ImportError:
        return False
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return True


def serve(args: argparse.Namespace) -> int:
    started = time.monotonic()
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        settings = settings_from(args)
        if settings.workers > 1 and settings.store is None:
            raise ValueError(
                f"--workers {settings.workers} needs a shared store (--store redis://HOST:PORT/DB): "
                "each worker would otherwise serve a world of its own"
            )
        sockets = bind(settings.host, settings.port)
    except (OSError, ValueError) as error:
        return _fail(error)
    if settings.workers > 1:
        return serve_workers(settings, sockets, started)
    return serve_bound(settings, sockets, started)


RESTART_WINDOW = 60.0  # seconds: more worker deaths than `_restart_budget` within this stop the server


def serve_workers(settings: Settings, sockets: list[socket.socket], started: float) -> int:
    """`--workers N`: N forked processes accept on the sockets bound here (a pre-fork server).

    Each worker builds its own app and event loop after the fork, so no connection, loop or
    thread crosses it; they share the world through the store (`--store`), which is why one is
    needed. This process keeps the sockets and only supervises: a worker that dies (a signal, a
    crash) is replaced by a new one on the same sockets, so the port keeps its N workers; one that
    could not start (exit status 2: a bad setting, Redis away at start-up) is not, since its
    replacement would fail alike; and workers that keep dying (more than `_restart_budget` in
    `RESTART_WINDOW` seconds) stop the server. SIGINT and SIGTERM are passed on; the exit status
    is the worst of the workers'."""
    if not hasattr(os, "fork"):
        return _fail(OSError("--workers needs a system that can fork (Linux, macOS)"))
    log = logging.getLogger("instancemock")

    def start(index: int) -> int:
        pid = os.fork()
        if pid == 0:  # the worker: the signals' own handling, not the supervisor's (`pass_on`)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            code = 1
            try:
                code = serve_bound(settings, sockets, started, speaks=index == 0 and not deaths)  # one banner
            finally:
                os._exit(code)
        return pid

    deaths: list[float] = []  # when workers died, within the window
    children = {start(index): index for index in range(settings.workers)}
    stopping = False

    def pass_on(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for child in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, pass_on)
    worst = 0
    while children:
        pid, status = os.wait()
        index = children.pop(pid, None)
        if index is None:
            continue
        code = os.waitstatus_to_exitcode(status)
        if stopping and code in (-signal.SIGTERM, -signal.SIGINT):  # stopped by the signal passed on
            code = 0  # (a replacement still starting has no handler of its own for it yet)
        if stopping or code in (0, 2):  # told to stop, or could not start: not replaced
            worst = max(worst, code if code >= 0 else 1)
            continue
        now = time.monotonic()
        deaths[:] = [*[t for t in deaths if now - t < RESTART_WINDOW], now]
        how = f"signal {-code}" if code < 0 else f"status {code}"
        if len(deaths) > _restart_budget(settings.workers):
            log.error("worker %d (pid %d) died (%s): workers keep dying, stopping", index, pid, how)
            worst = 1
            pass_on(signal.SIGTERM, None)
            continue
        replacement = start(index)
        children[replacement] = index
        if stopping:  # told to stop while it was being forked
            os.kill(replacement, signal.SIGTERM)
        log.warning("worker %d (pid %d) died (%s); started another in its place: pid %d", index, pid, how, replacement)
    for sock in sockets:
        sock.close()
    return worst


def _restart_budget(workers: int) -> int:
    """How many worker deaths within `RESTART_WINDOW` are replaced: a crash now and then, not a loop."""
    return max(3, 2 * workers)


def serve_bound(settings: Settings, sockets: list[socket.socket], started: float, speaks: bool = True) -> int:
    """Seed the world and serve on the bound sockets until SIGINT/SIGTERM (one process)."""
    from instancemock import server
    from instancemock.app import create_app
    from instancemock.console import AccessLogger, SeedingProgress, access_logger, banner, shown_host, world_sizes
    from instancemock.core.context import STATE
    from instancemock.core.pipeline import PARSER_CEILING

    found = registry.discover(settings.platforms)
    seeded = [p.name for p in found if p.seeder and any(settings.api_enabled(api.name) for api in p.apis)]
    progress = SeedingProgress(seeded)
    try:  # the worlds are seeded in forked processes meanwhile, and after, while the port listens
        app = create_app(settings, found, progress=progress, background=True)
    except (OSError, ValueError) as error:
        progress.close()
        for sock in sockets:
            sock.close()
        return _fail(error, "cannot start: ")
    state = app[STATE]
    state.on_failure = lambda error: signal.raise_signal(signal.SIGTERM)  # a world cannot be seeded: stop

    origin = f"http://{shown_host(settings.host)}:{sockets[0].getsockname()[1]}"
    announcing: set[asyncio.Task[None]] = set()

    async def announce() -> None:
        """The banner, once the worlds are in (`world_sizes` waits for them and counts)."""
        sizes = await world_sizes(app)
        progress.close()
        lines = banner(app, origin, sizes, progress if progress.started is not None else None, started)
        print("\n".join(lines), flush=True)

    async def load_the_oracle() -> None:
        """openapi-core, to which the compiled plans leave a few requests (core/oracle.py), imported
        in a thread once every world is in: not before, where it would delay the first answer and
        the worlds, nor by the first such request, which would hold the event loop meanwhile."""
        try:
            await state.ready_all()
        except Exception:  # a world could not be seeded: the server stops (`on_failure`)
            return
        await asyncio.to_thread(importlib.import_module, "instancemock.core.oracle")
        # Everything alive now lives as long as the server: the worlds seeded in the background
        # since `server.run` froze the rest, and the oracle's modules. Out of the collector's
        # sight, a full collection walks only what requests make, not them: unfrozen, each one
        # held the event loop for up to ~70 ms (p99 of every scenario, bench/README.md, session 6).
        gc.freeze()

    def listening(_running_on: str) -> None:  # aiohttp calls this once every socket listens
        for job, name in ((announce, "instancemock-banner"), (load_the_oracle, "instancemock-oracle")):
            if job is announce and not speaks:
                continue
            task = asyncio.get_running_loop().create_task(job(), name=name)
            announcing.add(task)
            task.add_done_callback(announcing.discard)

    use_uvloop()
    try:
        server.run(  # aiohttp's server with the guards of src/instancemock/server.py
            app,
            sock=sockets,
            access_log_class=AccessLogger,
            access_log=access_logger(),
            print=listening,
            shutdown_timeout=5,
            keepalive_timeout=settings.idle_timeout,
            max_line_size=PARSER_CEILING,  # the pipeline's `limits` step refuses long URLs and headers itself
            max_field_size=PARSER_CEILING,
        )
    except (OSError, ValueError) as error:  # a platform's start-up check failed
        progress.close()
        return _fail(error, "cannot start: ")
    progress.close()
    if state.failure is not None:  # a world could not be seeded in the background
        return _fail(state.failure, "cannot start: ")
    if not speaks:
        return 0
    if settings.store is not None:
        print(f"instancemock: stopped; the world stays in {settings.store}", flush=True)
    elif settings.state_file is not None:
        print(f"instancemock: stopped; state saved to {settings.state_file}", flush=True)
    else:
        print("instancemock: stopped; nothing to save (no --state-file: the next start seeds afresh)", flush=True)
    return 0


def export_fixtures(args: argparse.Namespace) -> int:
    """Each platform's packaged fixture and its schema, copied to DIR for a custom world."""
    plugins: Sequence[Plugin] = registry.discover(args.platforms or ())
    files = [p.fixture for p in plugins if p.fixture is not None]
    copies = [(f.packaged, args.directory / f.file_name) for f in files]
    copies += [(f.schema, args.directory / f"{f.name}.schema.yaml") for f in files if f.schema is not None]
    existing = [str(target) for _, target in copies if target.exists()]
    if existing and not args.force:
        return _fail(FileExistsError(f"{', '.join(existing)} exist(s) already; pass --force to overwrite"))
    try:
        args.directory.mkdir(parents=True, exist_ok=True)
        for source, target in copies:
            shutil.copyfile(source, target)
    except OSError as error:
        return _fail(error)
    for _, target in copies:
        print(target)
    print(f"instancemock: edit them, then: instancemock serve --fixtures {args.directory}", file=sys.stderr)
    return 0


def _fail(error: BaseException, prefix: str = "") -> int:
    text = str(error) if not isinstance(error, OSError) or not error.filename else f"{error.filename}: {error.strerror}"
    for line in text.splitlines() or [type(error).__name__]:
        print(f"instancemock: {prefix}{line}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "fixtures":
        return export_fixtures(args)
    if args.command == "drift-report":
        return drift_report(args)
    return serve(args)


if __name__ == "__main__":
    sys.exit(main())
