"""The API table: which specs exist, where they are mounted, and the operations they declare.

The spec is the single source of truth: mount bases come from each spec's `servers`, routes from
its `paths`. Nothing here knows a platform's paths by heart.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema_path import SchemaPath
from openapi_core import OpenAPI
from openapi_core.configurations import Config

from instancemock.core.casting import SCHEMA_CASTERS
from instancemock.core.errors import ErrorShape
from instancemock.core.media import JSON_DESERIALIZERS

SPEC_DIR = Path(__file__).resolve().parent.parent / "openapi"
METHODS = ("get", "put", "post", "patch", "delete", "head", "options")


ADMIN = "admin"  # the admin API's name, and its platform's: the mock itself


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


@dataclass(slots=True)
class Api:
    """One spec as the server uses it: where it is mounted, its operations, its error shape."""

    name: str
    platform: str  # the platform it belongs to, whose world it reads and writes (both Altinn APIs: "altinn")
    spec: dict[str, Any]  # the document as written (resolved parameters, original servers)
    bases: tuple[str, ...]
    operations: list[Operation]
    openapi: OpenAPI  # built once at start-up, never per request
    errors: ErrorShape

    @property
    def title(self) -> str:
        return str(self.spec["info"]["title"])

    def operation(self, operation_id: str) -> Operation:
        for op in self.operations:
            if op.id == operation_id:
                return op
        raise KeyError(operation_id)


def resolve_refs(spec: dict[str, Any], node: Any) -> Any:
    """Follow local `$ref`s (only `#/...`), so handlers and the router can read parameters directly."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


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


def validation_document(spec: dict[str, Any]) -> dict[str, Any]:
    """The copy openapi-core validates against.

    `security` is dropped because the auth step enforces each platform's scheme itself (and
    `--auth off` must turn it off); `servers` becomes one root server because the router has
    already taken the mount base off the path.
    """
    doc = copy.deepcopy(spec)
    doc.pop("security", None)
    doc["servers"] = [{"url": "/"}]
    for item in doc.get("paths", {}).values():
        if "parameters" in item:
            item["parameters"] = [inline_refs(doc, p) for p in item["parameters"]]
        for method in METHODS:
            if method in item:
                item[method].pop("security", None)
                if "parameters" in item[method]:
                    item[method]["parameters"] = [inline_refs(doc, p) for p in item[method]["parameters"]]
    return doc


def inline_refs(spec: dict[str, Any], node: Any, depth: int = 0) -> Any:
    """A copy of `node` with local `$ref`s replaced by their targets.

    openapi-core resolves every `$ref` of every declared parameter on every request, which made
    an operation with 26 parameters (the Storage query) spend 30 ms per request on lookups.
    Parameters are small and never recursive, so they are inlined once here.
    """
    if depth > 16:
        return node
    node = resolve_refs(spec, node)
    if isinstance(node, dict):
        return {k: inline_refs(spec, v, depth + 1) for k, v in node.items()}
    if isinstance(node, list):
        return [inline_refs(spec, v, depth + 1) for v in node]
    return node


@cache
def read_spec(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)  # type: ignore[no-any-return]


@cache  # checking a spec takes ~0.5 s and holds no per-server state, so servers share it
def _openapi(text: str) -> OpenAPI:
    config = Config(extra_media_type_deserializers=JSON_DESERIALIZERS, schema_casters_factory=SCHEMA_CASTERS)
    return OpenAPI(SchemaPath.from_dict(validation_document(json.loads(text))), config=config)


def load_api(
    name: str,
    platform: str,
    source: Path | dict[str, Any],
    errors: ErrorShape,
    only: frozenset[str] | None = None,
) -> Api:
    """The API of a spec (a file, or a document built at start-up); `only`: mount just these operations."""
    spec = read_spec(source) if isinstance(source, Path) else source
    bases = tuple(server["url"].rstrip("/") for server in spec.get("servers", [{"url": ""}]))
    operations = [op for op in operations_of(spec) if only is None or op.id in only]
    return Api(name, platform, spec, bases, operations, _openapi(json.dumps(spec, sort_keys=True)), errors)
