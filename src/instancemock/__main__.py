"""CLI: YAML config, INSTANCEMOCK_* environment, flags -> Settings -> serve."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

from aiohttp import web

from instancemock import registry
from instancemock.settings import ENV_PREFIX, Settings, build, check_keys, coerce, from_env, load_config


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(prog="instancemock", description=__doc__)
    commands = cli.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="start the mock server with seeded data for every API")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8080; 0 = any free port)")
    serve.add_argument("--seed", type=int, help="seed of the generated data (default 1)")
    serve.add_argument("--now", help="ISO 8601 instant the world is seeded at (default: now)")
    serve.add_argument("--config", type=Path, help="YAML config file")
    serve.add_argument("--auth", choices=["on", "off"], help="enforce each platform's auth (default on)")
    serve.add_argument("--strict", action="store_true", default=None, help="validate every response too")
    serve.add_argument("--fixtures", type=Path, help="directory of fixture files adding to or replacing fixtures/")
    serve.add_argument("--state-file", type=Path, dest="state_file", help="load state at start, save it on exit")
    serve.add_argument(
        "--idle-timeout", type=int, dest="idle_timeout", help="seconds before an idle connection is closed (default 75)"
    )
    serve.add_argument(
        "--simulate", type=float, metavar="FACTOR", help="instances move on by themselves at this speed (0: off)"
    )
    serve.add_argument(
        "--platform", action="append", dest="platforms", metavar="MODULE", help="load a further platform's module"
    )
    serve.add_argument("--admin-token", dest="admin_token", help="token /__admin needs off loopback")
    serve.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    return cli


def settings_from(args: argparse.Namespace) -> Settings:
    """Config file, then environment, then flags; the platforms say which further keys they read."""
    file_layer: dict[str, Any] = load_config(args.config) if args.config else {}
    flags = {k: v for k, v in vars(args).items() if k not in {"command", "config", "log_level"}}
    modules = flags.get("platforms") or os.environ.get(ENV_PREFIX + "PLATFORMS") or file_layer.get("platforms") or ()
    declared = registry.declared_settings(registry.discover(coerce("platforms", modules)))
    check_keys(file_layer, str(args.config), declared)
    return build(file_layer, from_env(declared=declared), flags, declared=declared)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        settings = settings_from(args)
    except (OSError, ValueError) as error:
        print(f"instancemock: {error}", file=sys.stderr)
        return 2
    from instancemock.app import AccessLogger, create_app
    from instancemock.core.pipeline import PARSER_CEILING

    try:
        app = create_app(settings)
    except (OSError, ValueError) as error:
        print(f"instancemock: cannot start: {error}", file=sys.stderr)
        return 2

    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        access_log_class=AccessLogger,
        access_log=logging.getLogger("instancemock.access"),
        print=lambda message: print(message, flush=True),
        shutdown_timeout=5,
        keepalive_timeout=settings.idle_timeout,
        max_line_size=PARSER_CEILING,  # the pipeline's `limits` step refuses long URLs and headers itself
        max_field_size=PARSER_CEILING,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
