"""Run-time settings: one frozen object built from config file, environment and flags.

The server's own settings are the fields of `Settings`. A platform declares the few it reads
itself (`kianda_token_lifetime`, `barium_ticket_minutes`, `webhooks`) as `PlatformSetting`s in its
plugin, and each API the keys it takes under `apis: {name: {...}}` (`instances`); they are set
with the same keys in every source and read with `settings.option(name)` and
`settings.api_option(api, key, default)`.

Configuration fails closed: a CI contract test must never go green because `auth: enabled` was
quietly read as "off". Every value is checked where it comes from: the config file against one
JSON Schema covering every level (`config_schema`), an `INSTANCEMOCK_*` variable by the same
schema after its text is read, a flag likewise; anything else stops start-up with one line naming
the source, the key and the value (`SettingsError`).
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, get_type_hints

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

ENV_PREFIX = "INSTANCEMOCK_"
FILE_ALIASES = {"fixtures_dir": "fixtures", "state": "state_file"}  # older names the config file still takes


class SettingsError(ValueError):
    """A setting that cannot be used; the message is one line per problem: source, key, value, why."""


@dataclass(frozen=True, slots=True)
class PlatformSetting:
    """A setting a platform reads: its default and how a value from a file, the environment or a flag is read.

    `parse` turns any source's value (YAML's, or the environment's text) into what the platform
    reads, raising ValueError for anything else; it must accept its own output again. `schema`
    (JSON Schema) is what the config file may hold, checked before `parse`.
    """

    default: Any
    parse: Callable[[Any], Any]
    help: str = ""
    schema: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    seed: int = 1
    now: datetime | None = None  # None: the real time of start-up (demos look current)
    auth: bool = True
    strict: bool = False
    fixtures: Path | None = None  # a user's directory that adds to or replaces the packaged fixtures
    state_file: Path | None = None
    store: str | None = None  # None: each process keeps its own worlds; redis://HOST:PORT/DB: shared
    workers: int = 1  # processes serving the one port (__main__.py); more than 1 needs a shared store
    state_save_seconds: int = 30  # with a state file: also saved this often, not only on exit
    journal_size: int = 1000
    max_body_bytes: int = 10 * 1024 * 1024
    max_state_bytes: int = 256 * 1024 * 1024  # PUT /__admin/state: the server's own export must fit
    body_timeout: int = 30  # seconds to receive a request's body (then 408 and the connection is closed)
    max_connections: int = 1000  # open at once; more are answered 503 and closed
    idle_timeout: int = 75  # seconds an idle keep-alive connection stays open
    sandboxes: int = 32  # kept at once, least recently used evicted
    admin_token: str | None = None
    cors_origins: tuple[str, ...] = ("*",)
    admin_origins: tuple[str, ...] = ()  # web origins allowed to call /__admin (none: no page can)
    admin_hosts: tuple[str, ...] = ()  # Host names /__admin answers besides loopback and the bound host
    apis: dict[str, dict[str, Any]] = field(default_factory=dict)  # per-API enable/size/options
    faults: tuple[dict[str, Any], ...] = ()
    stubs: tuple[dict[str, Any], ...] = ()  # canned answers, each checked against the spec (core/stubs.py)
    allow_off_contract_stubs: bool = False  # keep a stub the spec does not allow (marked in the journal)
    simulate: float = 0.0  # speed factor of the living processes (world/simulate.py); 0 = off
    platforms: tuple[str, ...] = ()  # modules of further platforms to load beside the built-in ones
    options: Mapping[str, Any] = field(default_factory=dict)  # settings platforms declare, by name
    # Proxy mode (core/proxy.py): API name -> the real service's base URL, forwarded instead of mocked.
    proxy: dict[str, str] = field(default_factory=dict)
    proxy_timeout: float = 30.0  # seconds to connect to, and between reads from, a proxied upstream
    record: Path | None = None  # directory a proxied session is recorded into, as a world (world/recording.py)
    record_personal: str = "fake"  # personal numbers in a recording: "fake" (seeded stand-ins) or "redact"

    def api_enabled(self, name: str) -> bool:
        return bool(self.apis.get(name, {}).get("enabled", True))

    def api_option(self, name: str, key: str, default: Any) -> Any:
        return self.apis.get(name, {}).get(key, default)

    def option(self, name: str, default: Any = None) -> Any:
        """A platform's setting (already parsed), or `default` where it was not given."""
        return self.options.get(name, default)


@dataclass(frozen=True, slots=True)
class Declared:
    """What the platforms add: top-level keys (`options`) and, per API name, its keys under `apis:`."""

    options: Mapping[str, PlatformSetting] = field(default_factory=dict)
    apis: Mapping[str, Mapping[str, PlatformSetting]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Layer:
    """One source's settings, checked and typed: `source` names it in messages ("environment")."""

    source: str
    values: Mapping[str, Any]
    warnings: tuple[str, ...] = ()


# --- parsers platforms use for their settings -------------------------------------------------


def positive_int(value: Any) -> int:
    """A whole number of at least 1, from YAML, the environment or a flag."""
    return whole_number(value, minimum=1)


def whole_number(value: Any, minimum: int = 0) -> int:
    """A whole number of at least `minimum`; `True`, `2.5` and `"lots"` are refused, `"12"` is read."""
    if isinstance(value, bool | float) or value is None:
        raise ValueError(f"must be a whole number of at least {minimum}, got {value!r}")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ValueError(f"must be a whole number of at least {minimum}, got {value!r}") from None
    if number < minimum:
        raise ValueError(f"must be a whole number of at least {minimum}, got {value!r}")
    return number


def instances(default: int) -> PlatformSetting:
    """`apis.<name>.instances`: how many instances an API's world is seeded with."""
    schema = {"type": "integer", "minimum": 0}
    return PlatformSetting(default, whole_number, "instances seeded (100,000 start in seconds)", schema)


def url_list(value: Any) -> tuple[str, ...]:
    """A list of URLs, or one comma-separated string of them (the environment's form)."""
    items = value.split(",") if isinstance(value, str) else list(value)
    return tuple(str(item).strip() for item in items if str(item).strip())


def name_value_map(value: Any) -> dict[str, str]:
    """`{name: value}` as the config file writes it, or `NAME=VALUE` items (the flags' repeats, the
    environment's comma-separated text), e.g. `proxy`'s `barium=https://live.barium.se/api/v1.1`."""
    if isinstance(value, Mapping):
        items = [(str(name), str(text)) for name, text in value.items()]
    else:
        texts = value.split(",") if isinstance(value, str) else [str(item) for item in value]
        items = []
        for text in (t.strip() for t in texts if t.strip()):
            name, equals, given = text.partition("=")
            if not equals or not name.strip() or not given.strip():
                raise ValueError(f"must be NAME=VALUE items (API=URL), got {text!r}")
            items.append((name.strip(), given.strip()))
    return {name: text.rstrip("/") for name, text in items}


def boolean(value: Any) -> bool:
    """A real boolean: YAML's `true`/`false`, or in text `true/false/1/0/yes/no/on/off` (any case)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS | FALSE_WORDS:
        return value.strip().lower() in TRUE_WORDS
    raise ValueError(f"must be true or false ({', '.join(BOOLEAN_WORDS)}), got {value!r}")


TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})
BOOLEAN_WORDS = ("true", "false", "1", "0", "yes", "no", "on", "off")


def parse_now(value: str | datetime | None) -> datetime | None:
    """`--now` accepts ISO 8601; a naive time is read as UTC so a seed means the same everywhere."""
    if value is None or value == "":
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- how each of the server's own settings is written -------------------------------------------


@dataclass(frozen=True, slots=True)
class Kind:
    """How one setting is written: its schema, how the environment's text is read, what it becomes."""

    schema: Mapping[str, Any]
    from_text: Callable[[str], Any] | None  # None: not settable from the environment (structured)
    finish: Callable[[Any], Any] = lambda value: value


def _text_number(text: str) -> Any:
    try:
        number = float(text)
    except ValueError:
        return text  # the schema then says what it must be
    return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number


def _finite(value: Any) -> float:
    if not math.isfinite(float(value)):
        raise ValueError(f"must be a finite number, got {value!r}")
    return float(value)


def _instant(value: Any) -> datetime | None:
    try:
        return parse_now(value)
    except ValueError:
        raise ValueError(f"must be an ISO 8601 instant such as 2026-01-01T00:00:00Z, got {value!r}") from None


def _comma_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _name_value_text(text: str) -> Any:
    try:
        return name_value_map(text)
    except ValueError:
        return text  # the schema then says what it must be


def _boolean_text(text: str) -> Any:
    lowered = text.strip().lower()
    return lowered in TRUE_WORDS if lowered in TRUE_WORDS | FALSE_WORDS else text


# Bounds of numeric settings; a setting added to `Settings` gets its kind from its type alone.
LIMITS: dict[str, dict[str, float]] = {
    "port": {"minimum": 0, "maximum": 65535},
    "journal_size": {"minimum": 1},
    "max_body_bytes": {"minimum": 1},
    "max_state_bytes": {"minimum": 1},
    "body_timeout": {"minimum": 1},
    "max_connections": {"minimum": 1},
    "idle_timeout": {"minimum": 0},  # 0: no keep-alive
    "sandboxes": {"minimum": 1},
    "state_save_seconds": {"minimum": 0},
    "simulate": {"minimum": 0},
    "proxy_timeout": {"exclusiveMinimum": 0},
    "workers": {"minimum": 1, "maximum": 64},
}
WORDS = {  # what a value must be, where a type says too little
    "simulate": "a speed factor (a number, 0 = off)",
    "proxy": "API=URL items (in the config file, a mapping of API names to URLs)",
}
CHOICES: dict[str, list[str]] = {"record_personal": ["fake", "redact"]}  # text settings that take one of a few words


def _kind_of(name: str, hint: Any) -> Kind:
    limits = LIMITS.get(name, {})
    if hint is bool:
        return Kind({"type": "boolean"}, _boolean_text)
    if hint is int:
        return Kind({"type": "integer", **limits}, _text_number, int)
    if hint is float:
        return Kind({"type": "number", **limits}, _text_number, _finite)
    if hint is str:
        choices = {"enum": CHOICES[name]} if name in CHOICES else {}
        return Kind({"type": "string", "minLength": 1, **choices}, str)
    if hint == str | None:
        return Kind({"type": ["string", "null"], "minLength": 1}, str)
    if hint == Path | None:
        return Kind({"type": ["string", "null"], "minLength": 1}, str, lambda v: None if v is None else Path(v))
    if hint == datetime | None:
        return Kind({"type": ["string", "null"]}, str, _instant)
    if hint == tuple[str, ...]:
        strings = {"type": "array", "items": {"type": "string", "minLength": 1}}
        return Kind(strings, _comma_list, tuple)
    if hint == tuple[dict[str, Any], ...]:
        return Kind({"type": "array", "items": {"type": "object"}}, None, tuple)
    if hint == dict[str, str]:
        texts = {"type": "object", "additionalProperties": {"type": "string", "minLength": 1}}
        return Kind(texts, _name_value_text, name_value_map)
    if hint == dict[str, dict[str, Any]]:
        return Kind({"type": "object", "additionalProperties": {"type": "object"}}, None, dict)
    raise TypeError(f"settings.py: say how the setting {name!r} of type {hint} is written (_kind_of)")


STORE_URL = re.compile(r"redis://(?P<host>[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\]):(?P<port>[0-9]{1,5})/(?P<db>[0-9]{1,2})")


def store_url(value: Any) -> str | None:
    """`memory` (or nothing): each process alone; else exactly `redis://HOST:PORT/DB`.

    Fails closed: a typo such as `redis:/host` or a missing port would otherwise start a server
    that quietly keeps its world to itself while its siblings think it shares theirs."""
    if value is None or str(value).strip().lower() == "memory":
        return None
    found = STORE_URL.fullmatch(str(value).strip())
    if found is None or not 0 < int(found["port"]) < 65536 or int(found["db"]) > 15:
        raise ValueError(f"must be memory or redis://HOST:PORT/DB (port 1-65535, DB 0-15), got {value!r}")
    return found.group(0)


OWN: dict[str, Kind] = {
    f.name: _kind_of(f.name, get_type_hints(Settings)[f.name]) for f in fields(Settings) if f.name != "options"
}
OWN["store"] = Kind(OWN["store"].schema, str, store_url)
KNOWN = set(OWN)

ENABLED = PlatformSetting(True, boolean, "false: not mounted", {"type": "boolean"})


def config_schema(declared: Declared | None = None) -> dict[str, Any]:
    """The JSON Schema of the config file: the server's keys, the platforms' keys, and under `apis`
    each mounted API's keys (`enabled` for all). With no declared APIs (a library caller's
    `build()`), `apis` is checked only for its shape; `create_app` checks the names later."""
    declared = declared or Declared()
    properties: dict[str, Any] = {name: dict(kind.schema) for name, kind in OWN.items()}
    for name, setting in declared.options.items():
        properties[name] = dict(setting.schema or {})
    if declared.apis:
        properties["apis"] = {"type": "object", "properties": {}, "additionalProperties": False}
        for api, keys in declared.apis.items():
            every = {"enabled": ENABLED, **keys}
            properties["apis"]["properties"][api] = {
                "type": "object",
                "properties": {key: dict(setting.schema or {}) for key, setting in every.items()},
                "additionalProperties": False,
            }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "instancemock config file",
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }


# --- sources --------------------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """YAML that refuses a key given twice in one mapping (PyYAML keeps the last, silently)."""


def _mapping_without_duplicates(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(None, None, f"the key {key!r} is given twice", mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def yaml_problem(path: Path, error: yaml.YAMLError) -> str:
    """One line for a YAML error: `file:line:column: reason` (PyYAML's own message spans many lines)."""
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        reason = " ".join(str(part) for part in (error.problem, error.context) if part) or "syntax error"
        return f"{path}:{mark.line + 1}:{mark.column + 1}: not valid YAML: {reason}"
    return f"{path}: not valid YAML: {' '.join(str(error).split())}"


def read_yaml(path: Path) -> Any:
    """A YAML file, or SettingsError with one line naming the file (and where in it)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SettingsError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise SettingsError(f"{path}: cannot be read: {error}") from None
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader
    except yaml.YAMLError as error:
        raise SettingsError(yaml_problem(path, error)) from None


def load_config(path: Path, declared: Declared | None = None) -> Layer:
    """The config file as a checked layer; every problem names the file and the key's path in it."""
    data = read_yaml(path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SettingsError(f"{path}: the config file must be a mapping of keys to values, not {type(data).__name__}")
    values = {FILE_ALIASES.get(_key(name), _key(name)): value for name, value in data.items()}
    return _checked(str(path), values, declared, label=lambda name: name)


def from_env(environ: Mapping[str, str] | None = None, declared: Declared | None = None) -> Layer:
    """`INSTANCEMOCK_<KEY>` for every key but the structured ones; an empty variable counts as unset.

    A variable with the prefix that names no setting is reported as a warning, not an error:
    a shell may hold client-side variables of the same prefix."""
    environ = dict(os.environ if environ is None else environ)
    declared = declared or Declared()
    values: dict[str, Any] = {}
    warnings: list[str] = []
    settable = {name for name, kind in OWN.items() if kind.from_text is not None} | set(declared.options)
    for variable, text in sorted(environ.items()):
        if not variable.startswith(ENV_PREFIX):
            continue
        name = variable.removeprefix(ENV_PREFIX).lower()
        if name not in settable:
            hint = _did_you_mean(name, settable, prefix=ENV_PREFIX, upper=True)
            warnings.append(f"environment: ignoring {variable}: not a setting{hint}")
            continue
        if not text.strip():
            continue
        kind = OWN.get(name)
        if kind is not None and kind.from_text is not None:
            values[name] = kind.from_text(text)
            continue
        try:  # a platform's setting: its own parser reads the text, the schema then checks the result
            values[name] = declared.options[name].parse(text)
        except (TypeError, ValueError) as error:
            raise SettingsError(f"environment: {variable}: {error}") from None
    layer = _checked("environment", values, declared, label=lambda name: ENV_PREFIX + name.upper())
    return replace(layer, warnings=tuple(warnings))


def from_flags(flags: Mapping[str, Any], declared: Declared | None = None) -> Layer:
    """Command-line flags (argparse has typed them); None means the flag was not given."""
    given = {name: value for name, value in flags.items() if value is not None}
    return _checked("command line", given, declared, label=lambda name: "--" + name.replace("_", "-"))


def build(
    *layers: Layer | Mapping[str, Any], declared: Declared | Mapping[str, PlatformSetting] | None = None
) -> Settings:
    """Later layers win: config file, then environment, then command-line flags.

    A plain mapping is checked as a layer of its own (library callers and tests pass dicts)."""
    known = _declared(declared)
    merged: dict[str, Any] = {}
    for layer in layers:
        checked = layer if isinstance(layer, Layer) else _checked("settings", dict(layer), known, label=str)
        merged.update(checked.values)
    own = {name: value for name, value in merged.items() if name in KNOWN}
    options = {name: value for name, value in merged.items() if name not in KNOWN}
    return with_options(replace(Settings(), **own), options, known.options)


def with_options(settings: Settings, given: Mapping[str, Any], declared: Mapping[str, PlatformSetting]) -> Settings:
    """Every declared platform setting, parsed, with its default where none was given."""
    options: dict[str, Any] = {}
    for name, setting in declared.items():
        value = given.get(name, settings.options.get(name, setting.default))
        try:
            options[name] = setting.parse(value)
        except (TypeError, ValueError) as error:
            raise SettingsError(f"{name}: {error}") from None
    options.update({k: v for k, v in {**settings.options, **given}.items() if k not in declared})
    return replace(settings, options=options)


def check_apis(apis: Mapping[str, Any], declared: Mapping[str, Mapping[str, PlatformSetting]]) -> dict[str, Any]:
    """`apis:` against the APIs being served: unknown names and keys refused, values parsed."""
    problems = _problems(apis, config_schema(Declared(apis=declared))["properties"]["apis"], "apis")
    if problems:
        raise SettingsError("settings: " + "; ".join(problems))
    return _parsed_apis(apis, declared, "settings", lambda name: name)


# --- checking -------------------------------------------------------------------------------


def _declared(declared: Declared | Mapping[str, PlatformSetting] | None) -> Declared:
    if declared is None:
        return Declared()
    return declared if isinstance(declared, Declared) else Declared(options=declared)


def _key(name: Any) -> str:
    return str(name).replace("-", "_")


def _plain(value: Any) -> Any:
    """What the schema checks: YAML's datetimes (`now: 2026-01-01T00:00:00Z`) and flags' paths as
    text, tuples as lists."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _checked(source: str, values: dict[str, Any], declared: Declared | None, label: Callable[[str], str]) -> Layer:
    """Check one source's values against the schema, then parse them; all problems in one error."""
    declared = declared or Declared()
    values = {name: _plain(value) for name, value in values.items()}
    problems = [f"{source}: {problem}" for problem in _problems(values, config_schema(declared), "", label)]
    if problems:
        raise SettingsError("\n".join(problems))
    typed: dict[str, Any] = {}
    for name, value in values.items():
        try:
            if name in OWN:
                typed[name] = OWN[name].finish(value)
            else:
                typed[name] = declared.options[name].parse(value)
        except (TypeError, ValueError) as error:
            words = str(error) if str(error).startswith("must") else f"cannot be used: {error}"
            raise SettingsError(f"{source}: {label(name)}: {words}") from None
    if isinstance(typed.get("apis"), dict) and declared.apis:
        typed["apis"] = _parsed_apis(typed["apis"], declared.apis, source, label)
    return Layer(source, typed)


def _parsed_apis(
    apis: Mapping[str, Any],
    declared: Mapping[str, Mapping[str, PlatformSetting]],
    source: str,
    label: Callable[[str], str],
) -> dict[str, Any]:
    parsed: dict[str, Any] = {}
    for api, keys in apis.items():
        every = {"enabled": ENABLED, **declared.get(api, {})}
        parsed[api] = {}
        for key, value in (keys or {}).items():
            try:
                parsed[api][key] = every[key].parse(value)
            except (TypeError, ValueError) as error:
                raise SettingsError(f"{source}: {label('apis')}.{api}.{key}: {error}") from None
    return parsed


def _problems(values: Any, schema: Mapping[str, Any], where: str, label: Callable[[str], str] = str) -> list[str]:
    """Each schema violation as `key.path: what it must be, got VALUE`, in the order of the keys."""
    validator = Draft202012Validator(schema)
    found = sorted(validator.iter_errors(values), key=lambda e: [str(p) for p in e.absolute_path])
    return [_describe(error, where, label) for error in found[:20]]


def _where(path: Iterable[Any], where: str, label: Callable[[str], str]) -> str:
    parts = list(path)
    text = where
    for index, part in enumerate(parts):
        if isinstance(part, int):
            text += f"[{part}]"
        elif index == 0 and not where:
            text = label(str(part))
        else:
            text += f".{part}"
    return text or "(top level)"


TYPE_WORDS = {
    "boolean": "true or false",
    "integer": "a whole number",
    "number": "a number",
    "string": "text",
    "array": "a list",
    "object": "a mapping of keys to values",
    "null": "empty",
}


def _describe(error: ValidationError, where: str, label: Callable[[str], str]) -> str:
    at = _where(error.absolute_path, where, label)
    key = str(error.absolute_path[-1]) if error.absolute_path else ""
    got = f"got {error.instance!r}"
    schema: Any = error.schema
    instance: Any = error.instance
    value: Any = error.validator_value
    match error.validator:
        case "additionalProperties":
            known = sorted(schema.get("properties", {}))
            unknown = sorted(set(instance) - set(known))
            inside = "" if at == "(top level)" else f"{at}: "
            hint = _did_you_mean(unknown[0], known) if unknown else ""
            return f"{inside}unknown key {', '.join(map(repr, unknown))}{hint} (known: {', '.join(known)})"
        case "type":
            expected: list[str] = value if isinstance(value, list) else [value]
            words = WORDS.get(key) or " or ".join(TYPE_WORDS.get(t, t) for t in expected if t != "null")
            return f"{at}: must be {words}, {got}"
        case "minimum":
            return f"{at}: must be at least {value}, {got}"
        case "exclusiveMinimum":
            return f"{at}: must be more than {value}, {got}"
        case "maximum" | "exclusiveMaximum":
            return f"{at}: must be at most {value}, {got}"
        case "minLength":
            return f"{at}: must not be empty"
        case "enum":
            return f"{at}: must be one of {', '.join(map(str, value))}, {got}"
    return f"{at}: {error.message}"


def _did_you_mean(name: str, known: Iterable[str], prefix: str = "", upper: bool = False) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.75)
    if not close:
        return ""
    guess = prefix + (close[0].upper() if upper else close[0])
    return f"; did you mean {guess!r}?" if not upper else f"; did you mean {guess}?"
