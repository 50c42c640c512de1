"""A spec as a plain document: its operations, and `$ref`s followed with the JSON pointer they reach.

Kept apart from `spec.py` so that the compiled operations (`operations.py`) can read documents
without importing the API table that holds them.
"""

from __future__ import annotations

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
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=SAFE_LOADER)  # type: ignore[no-any-return]
