"""Run-time settings: one frozen object built from config file, environment and flags.

The server's own settings are the fields of `Settings`. A platform declares the few it reads
itself (`kianda_token_lifetime`, `barium_ticket_minutes`, `webhooks`) as `PlatformSetting`s in its
plugin; they are set with the same keys in every source and read with `settings.option(name)`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

ENV_PREFIX = "INSTANCEMOCK_"


@dataclass(frozen=True, slots=True)
class PlatformSetting:
    """A setting a platform reads: its default and how a value from a file, the environment or a flag is read."""

    default: Any
    parse: Callable[[Any], Any]
    help: str = ""


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    seed: int = 1
    now: datetime | None = None  # None: the real time of start-up (demos look current)
    auth: bool = True
    strict: bool = False
    fixtures: Path | None = None  # a user's directory that adds to or replaces fixtures/
    state_file: Path | None = None
    state_save_seconds: int = 30  # with a state file: also saved this often, not only on exit
    journal_size: int = 1000
    max_body_bytes: int = 10 * 1024 * 1024
    idle_timeout: int = 75  # seconds an idle keep-alive connection stays open
    sandboxes: int = 32  # kept at once, least recently used evicted
    admin_token: str | None = None
    cors_origins: tuple[str, ...] = ("*",)
    apis: dict[str, dict[str, Any]] = field(default_factory=dict)  # per-API enable/size/options
    faults: tuple[dict[str, Any], ...] = ()
    simulate: float = 0.0  # speed factor of the living processes (world/simulate.py); 0 = off
    platforms: tuple[str, ...] = ()  # modules of further platforms to load beside the built-in ones
    options: Mapping[str, Any] = field(default_factory=dict)  # settings platforms declare, by name

    def api_enabled(self, name: str) -> bool:
        return bool(self.apis.get(name, {}).get("enabled", True))

    def api_option(self, name: str, key: str, default: Any) -> Any:
        return self.apis.get(name, {}).get(key, default)

    def option(self, name: str, default: Any = None) -> Any:
        """A platform's setting (already parsed), or `default` where it was not given."""
        return self.options.get(name, default)


def positive_int(value: Any) -> int:
    """A whole number of at least 1, from YAML, the environment or a flag."""
    number = int(value) if not isinstance(value, bool) else -1
    if number < 1:
        raise ValueError(f"must be a whole number of at least 1, got {value!r}")
    return number


def url_list(value: Any) -> tuple[str, ...]:
    """A list of URLs, or one comma-separated string of them (the environment's form)."""
    items = value.split(",") if isinstance(value, str) else list(value)
    return tuple(str(item).strip() for item in items if str(item).strip())


def parse_now(value: str | datetime | None) -> datetime | None:
    """`--now` accepts ISO 8601; a naive time is read as UTC so a seed means the same everywhere."""
    if value is None or value == "":
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


INTEGERS = {
    "port",
    "seed",
    "journal_size",
    "max_body_bytes",
    "idle_timeout",
    "sandboxes",
}


def coerce(name: str, value: Any) -> Any:
    if name == "now":
        return parse_now(value)
    if name in {"fixtures", "state_file"}:
        return Path(value) if value not in (None, "") else None
    if name in {"auth", "strict"}:
        return value if isinstance(value, bool) else str(value).lower() in {"on", "true", "1", "yes"}
    if name in INTEGERS:
        return int(value)
    if name == "simulate":
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValueError(f"simulate must be a speed factor (a number, 0 = off), not {value!r}") from None
    if name in {"cors_origins", "platforms"}:
        return tuple(value.split(",")) if isinstance(value, str) else tuple(value)
    if name == "faults":
        return tuple(value)
    return value


KNOWN = {f.name for f in fields(Settings)} - {"options"}
ALIASES = {"fixtures_dir": "fixtures", "state": "state_file"}


def load_config(path: Path) -> dict[str, Any]:
    """Read the YAML config file into a layer (keys normalised); `check_keys` refuses unknown ones."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: the config file must be a mapping of keys to values")
    return {ALIASES.get(str(key).replace("-", "_"), str(key).replace("-", "_")): value for key, value in data.items()}


def check_keys(layer: Mapping[str, Any], source: str, declared: Mapping[str, PlatformSetting] | None = None) -> None:
    """An unknown key is an error, not something silently ignored."""
    known = KNOWN | set(declared or {})
    for name in layer:
        if name not in known:
            raise ValueError(f"{source}: unknown key {name!r} (known: {', '.join(sorted(known))})")


def from_env(
    environ: Mapping[str, str] | None = None, declared: Mapping[str, PlatformSetting] | None = None
) -> dict[str, Any]:
    environ = dict(os.environ if environ is None else environ)
    known = (KNOWN - {"apis", "faults"}) | set(declared or {})
    out: dict[str, Any] = {}
    for key, value in environ.items():
        if key.startswith(ENV_PREFIX):
            name = key.removeprefix(ENV_PREFIX).lower()
            if name in known:
                out[name] = value
    return out


def build(*layers: Mapping[str, Any], declared: Mapping[str, PlatformSetting] | None = None) -> Settings:
    """Later layers win: config file, then environment, then command-line flags."""
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update({k: v for k, v in layer.items() if v is not None})
    own = {k: coerce(k, v) for k, v in merged.items() if k in KNOWN}
    options = {k: v for k, v in merged.items() if k not in KNOWN}
    check_keys(options, "settings", declared)
    return with_options(replace(Settings(), **own), options, declared or {})


def with_options(settings: Settings, given: Mapping[str, Any], declared: Mapping[str, PlatformSetting]) -> Settings:
    """Every declared platform setting, parsed, with its default where none was given."""
    options: dict[str, Any] = {}
    for name, setting in declared.items():
        value = given.get(name, settings.options.get(name, setting.default))
        try:
            options[name] = setting.parse(value)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{name}: {error}") from None
    options.update({k: v for k, v in {**settings.options, **given}.items() if k not in declared})
    return replace(settings, options=options)
