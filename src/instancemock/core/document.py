"""A spec as a plain document: its operations, and `$ref`s followed with the JSON pointer they reach.

Kept apart from `spec.py` so that the compiled operations (`operations.py`) can read documents
without importing the API table that holds them.
"""

from __future__ import annotations

import hashlib
import marshal
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

METHODS = ("get", "put", "post", "patch", "delete", "head", "options")


@dataclass(frozen=True, slots=True)
class Operation:
    id: str
    method: str  # upper case
    template: str  # the spec's path, e.g. /Instances/{Id}
    spec: dict[str, Any] = field(repr=False, compare=False)

    @property
    def parameters(self) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = self.spec.get("parameters", [])
        return parameters


def resolve_refs(spec: dict[str, Any], node: Any) -> Any:
    """Follow local `$ref`s (only `#/...`), so handlers and the router can read parameters directly."""
    return resolve_at(spec, node, "")[0]


def resolve_at(spec: dict[str, Any], node: Any, pointer: str) -> tuple[Any, str]:
    """`node` (found at JSON pointer `pointer`) with local `$ref`s followed, and the pointer it ends at."""
    while isinstance(node, dict) and "$ref" in node:
        pointer = str(node["$ref"]).removeprefix("#")
        target: Any = spec
        for part in pointer.removeprefix("/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node, pointer


def escape(token: str) -> str:
    """One JSON pointer token (RFC 6901)."""
    return token.replace("~", "~0").replace("/", "~1")


def operations_of(spec: dict[str, Any]) -> list[Operation]:
    found: list[Operation] = []
    for template, item in spec.get("paths", {}).items():
        shared = [resolve_refs(spec, p) for p in item.get("parameters", [])]
        for method in METHODS:
            if method not in item:
                continue
            op = dict(item[method])
            own = [resolve_refs(spec, p) for p in op.get("parameters", [])]
            names = {(p["name"], p["in"]) for p in own}
            op["parameters"] = own + [p for p in shared if (p["name"], p["in"]) not in names]
            found.append(Operation(op["operationId"], method.upper(), template, op))
    return found


def parameter_pointers(spec: dict[str, Any], template: str, method: str) -> list[tuple[dict[str, Any], str]]:
    """The operation's parameters as `operations_of` lists them, each with the pointer it resolves to."""
    item_at = f"/paths/{escape(template)}"
    item = spec["paths"][template]
    own = [
        resolve_at(spec, p, f"{item_at}/{method}/parameters/{i}")
        for i, p in enumerate(item[method].get("parameters", []))
    ]
    shared = [resolve_at(spec, p, f"{item_at}/parameters/{i}") for i, p in enumerate(item.get("parameters", []))]
    names = {(p["name"], p["in"]) for p, _ in own}
    return own + [(p, at) for p, at in shared if (p["name"], p["in"]) not in names]


# libyaml's loader where PyYAML was built with it: the five specs load in ~0.2 s instead of ~2 s.
SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@cache
def read_spec(path: Path) -> dict[str, Any]:
    """The spec at `path`, parsed; from the parsed-spec cache when its text was parsed before.

    Parsing the five specs' YAML is ~0.25 s of every start-up (libyaml parses, PyYAML's Python
    constructor builds); their parsed form, marshalled, loads in a few milliseconds. The cache
    (`spec_cache_dir`) is keyed by the text's SHA-256, so an edited spec is parsed again, and a
    cache that cannot be read or written is passed over: the spec is parsed as before.
    """
    raw = path.read_bytes()
    kept = _cached_spec(raw)
    if kept is not None:
        return kept
    parsed: dict[str, Any] = yaml.load(raw.decode("utf-8"), Loader=SAFE_LOADER)
    _keep_spec(raw, parsed)
    return parsed


# What the cached form depends on besides the text: the format of marshal and of this module's
# reading (bumped should the loader change what it makes of a spec).
_CACHE_FORMAT = f"v1-marshal{marshal.version}-{SAFE_LOADER.__name__}"


def spec_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/instancemock`, else `~/.cache/instancemock` (the XDG base directory rule)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "instancemock"


def _cache_file(raw: bytes) -> Path:
    digest = hashlib.sha256(_CACHE_FORMAT.encode() + b"\0" + raw).hexdigest()
    return spec_cache_dir() / "specs" / f"{digest}.marshal"


def _cached_spec(raw: bytes) -> dict[str, Any] | None:
    try:
        loaded = marshal.loads(_cache_file(raw).read_bytes())
    except (OSError, ValueError, EOFError, TypeError):  # none yet, unreadable, or cut short
        return None
    return loaded if isinstance(loaded, dict) else None


def _keep_spec(raw: bytes, parsed: dict[str, Any]) -> None:
    """Write the parsed spec for the next start-up (atomically: a reader sees all of it or none);
    a spec marshal cannot hold (a YAML date in it) or a cache that cannot be written is skipped."""
    try:
        data = marshal.dumps(parsed)
        target = _cache_file(raw)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f"{target.name}.{os.getpid()}.part")
        partial.write_bytes(data)
        os.replace(partial, target)
    except (OSError, ValueError):
        return
