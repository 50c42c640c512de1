"""The API table: which specs exist, where they are mounted, and the operations they declare.

The spec is the single source of truth: mount bases come from each spec's `servers`, routes from
its `paths`. Nothing here knows a platform's paths by heart.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from instancemock.core.document import METHODS, Operation, operations_of, read_spec, resolve_refs
from instancemock.core.errors import ErrorShape
from instancemock.core.operations import CompiledSpec, compile_spec

__all__ = ["ADMIN", "METHODS", "SPEC_DIR", "Api", "Operation", "load_api", "read_spec", "resolve_refs"]

SPEC_DIR = Path(__file__).resolve().parent.parent / "openapi"


ADMIN = "admin"  # the admin API's name, and its platform's: the mock itself


@dataclass(slots=True)
class Api:
    """One spec as the server uses it: where it is mounted, its operations, its error shape."""

    name: str
    platform: str  # the platform it belongs to, whose world it reads and writes (both Altinn APIs: "altinn")
    spec: dict[str, Any]  # the document as written (resolved parameters, original servers)
    bases: tuple[str, ...]
    operations: list[Operation]
    compiled: CompiledSpec  # every operation's plan, compiled once at start-up (core/operations.py)
    errors: ErrorShape
    validation_text: str  # the validation document as JSON: the key core/oracle.py builds openapi-core by

    @property
    def title(self) -> str:
        return str(self.spec["info"]["title"])

    def operation(self, operation_id: str) -> Operation:
        for op in self.operations:
            if op.id == operation_id:
                return op
        raise KeyError(operation_id)


def validation_document(spec: dict[str, Any]) -> dict[str, Any]:
    """The copy requests are validated against (by the compiled plans and by openapi-core alike).

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


@cache  # compiling takes a moment and holds no per-server state, so servers (and tests) share it
def _compiled(text: str) -> tuple[CompiledSpec, str]:
    document = validation_document(json.loads(text))
    return compile_spec(document), json.dumps(document, sort_keys=True)


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
    compiled, validation_text = _compiled(json.dumps(spec, sort_keys=True))
    return Api(name, platform, spec, bases, operations, compiled, errors, validation_text)
