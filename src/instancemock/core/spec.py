"""The API table: which specs exist, where they are mounted, and the operations they declare.

The spec is the single source of truth: mount bases come from each spec's `servers`, routes from
its `paths`. Nothing here knows a platform's paths by heart.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema_path import SchemaPath
from openapi_core import OpenAPI
from openapi_core.configurations import Config

from instancemock.core.casting import SCHEMA_CASTERS
from instancemock.core.media import JSON_DESERIALIZERS

SPEC_DIR = Path(__file__).resolve().parent.parent / "openapi"
METHODS = ("get", "put", "post", "patch", "delete", "head", "options")


class Platform(StrEnum):
    KIANDA = "kianda"
    BARIUM = "barium"
    ALTINN_STORAGE = "altinn-storage"
    ALTINN_APP = "altinn-app"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Operation:
    id: str
    method: str  # upper case
    template: str  # the spec's path, e.g. /Instances/{Id}
    spec: dict[str, Any] = field(repr=False, compare=False)

    @property
    def parameters(self) -> list[dict[str, Any]]:
        return self.spec.get("parameters", [])


@dataclass(slots=True)
class Api:
    name: str
    platform: Platform
    dataset: str  # the world it reads and writes: both Altinn APIs share "altinn"
    spec: dict[str, Any]  # the document as written (resolved parameters, original servers)
    bases: tuple[str, ...]
    operations: list[Operation]
    openapi: OpenAPI  # built once at start-up, never per request

    @property
    def title(self) -> str:
        return str(self.spec["info"]["title"])

    def operation(self, operation_id: str) -> Operation:
        for op in self.operations:
            if op.id == operation_id:
                return op
        raise KeyError(operation_id)


DATASETS = {
    Platform.KIANDA: "kianda",
    Platform.BARIUM: "barium",
    Platform.ALTINN_STORAGE: "altinn",
    Platform.ALTINN_APP: "altinn",
    Platform.ADMIN: "admin",
}
API_NAMES = ("kianda", "barium", "altinn-storage", "altinn-app")


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
def read_spec(name: str) -> dict[str, Any]:
    with (SPEC_DIR / f"{name}.yaml").open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@cache  # checking a spec takes ~0.5 s; an Api holds no per-server state, so servers share it
@cache
def load_api(name: str) -> Api:
    """Built once per process: openapi-core's spec objects are read-only and costly to build."""
    spec = read_spec(name)
    platform = Platform(name)
    config = Config(extra_media_type_deserializers=JSON_DESERIALIZERS, schema_casters_factory=SCHEMA_CASTERS)
    openapi = OpenAPI(SchemaPath.from_dict(validation_document(spec)), config=config)
    bases = tuple(server["url"].rstrip("/") for server in spec.get("servers", [{"url": ""}]))
    return Api(name, platform, DATASETS[platform], spec, bases, operations_of(spec), openapi)
