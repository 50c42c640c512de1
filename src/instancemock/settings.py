"""Run-time settings: one frozen object built from config file, environment and flags."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

ENV_PREFIX = "INSTANCEMOCK_"


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
    webhooks: tuple[str, ...] = ()
    kianda_token_lifetime: int = 299
    barium_ticket_minutes: int = 50
    simulate: float = 0.0  # speed factor of the living processes (simulate.py); 0 = off

    def api_enabled(self, name: str) -> bool:
        return bool(self.apis.get(name, {}).get("enabled", True))

    def api_option(self, name: str, key: str, default: Any) -> Any:
        return self.apis.get(name, {}).get(key, default)


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
    "kianda_token_lifetime",
    "barium_ticket_minutes",
}


def _coerce(name: str, value: Any) -> Any:
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
    if name in {"cors_origins", "webhooks"}:
        return tuple(value.split(",")) if isinstance(value, str) else tuple(value)
    if name == "faults":
        return tuple(value)
    return value


KNOWN = {f.name for f in fields(Settings)}
ALIASES = {"fixtures_dir": "fixtures", "state": "state_file"}


def load_config(path: Path) -> dict[str, Any]:
    """Read the YAML config file; an unknown key is an error, not something silently ignored."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: the config file must be a mapping of keys to values")
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = ALIASES.get(key.replace("-", "_"), key.replace("-", "_"))
        if name not in KNOWN:
            raise ValueError(f"{path}: unknown key {key!r} (known: {', '.join(sorted(KNOWN))})")
        out[name] = value
    return out


def from_env(environ: dict[str, str] | None = None) -> dict[str, Any]:
    environ = dict(os.environ if environ is None else environ)
    out: dict[str, Any] = {}
    for key, value in environ.items():
        if key.startswith(ENV_PREFIX):
            name = key.removeprefix(ENV_PREFIX).lower()
            if name in KNOWN and name not in {"apis", "faults"}:
                out[name] = value
    return out


def build(*layers: dict[str, Any]) -> Settings:
    """Later layers win: config file, then environment, then command-line flags."""
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update({k: v for k, v in layer.items() if v is not None})
    return replace(Settings(), **{k: _coerce(k, v) for k, v in merged.items()})
