"""Process designs: the Processes API, and the rules a design sets for its instances' data.

A design's fields decide which `FieldsMappings` a create, PUT or PATCH may name, and its forms
which `Status` an instance may take (a form title, or `Completed`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiohttp import web

from instancemock.core.context import ctx
from instancemock.core.encoding import json_response
from instancemock.core.errors import Refusal
from instancemock.core.violations import Violation
from instancemock.world.store import Document, Store

PROCESSES = "processes"
COMPLETED = "Completed"
PUBLIC_FIELD_KEYS = ("name", "type", "form", "title", "required")

FieldValues = dict[str, tuple[str, str]]  # design field name -> (text, value)


async def find_design(store: Store, name: str) -> Document | None:
    found = await store.get(PROCESSES, name.strip().lower())
    return found.doc if found else None


def summary(design: Document) -> Document:
    return {key: design[key] for key in ("name", "title", "version", "forms")}


def public(design: Document) -> Document:
    fields = [{k: f[k] for k in PUBLIC_FIELD_KEYS if k in f} for f in design["fields"]]
    return {**summary(design), "fields": fields}


def as_text(value: Any) -> str:
    """What Json.NET stores in a string property: true -> "true", 450 -> "450", null -> ""."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_FIELD_NAMES: dict[int, tuple[Document, dict[str, str]]] = {}  # id(design) -> (design, lowered -> name)
_FIELD_NAMES_MAX = 256


def field_names(design: Document) -> dict[str, str]:
    """The design's field names by their lowered spelling, made once per stored design: a stored
    document never changes in place (world/store.py), and every write of an instance asks."""
    kept = _FIELD_NAMES.get(id(design))
    if kept is None or kept[0] is not design:  # the design is kept with it: its id is not reused meanwhile
        if len(_FIELD_NAMES) >= _FIELD_NAMES_MAX:
            _FIELD_NAMES.clear()
        kept = _FIELD_NAMES[id(design)] = (design, {f["name"].lower(): f["name"] for f in design["fields"]})
    return kept[1]


def resolve_mappings(design: Document, mappings: Sequence[Any] | None) -> tuple[FieldValues, list[Violation]]:
    """Mappings by the design's spelling of each field; unknown names are violations."""
    by_lower = field_names(design)
    values: FieldValues = {}
    problems: list[Violation] = []
    for index, mapping in enumerate(mappings or ()):
        sent = str(mapping.get("fieldname", ""))
        name = by_lower.get(sent.strip().lower())
        if name is None:
            message = f"Field '{sent}' does not exist in process '{design['name']}'."
            problems.append(Violation("body", f"FieldsMappings[{index}].fieldname", message))
            continue
        text = mapping.get("text", mapping.get("value"))
        value = mapping.get("value", mapping.get("text"))
        values[name] = (text if type(text) is str else as_text(text), value if type(value) is str else as_text(value))
    return values, problems


def resolve_status(design: Document, status: Any) -> tuple[str | None, list[Violation]]:
    """None: keep (or start at the first form); otherwise the design's spelling of the status."""
    if status is None or str(status).strip() == "":
        return None, []
    allowed = [*design["forms"], COMPLETED]
    for candidate in allowed:
        if candidate.lower() == str(status).strip().lower():
            return candidate, []
    message = f"Status '{status}' is not a form of process '{design['name']}' (use one of: {', '.join(allowed)})."
    return None, [Violation("body", "Status", message)]


def not_found(name: str) -> Refusal:
    return Refusal(404, f"Process '{name}' not found.")


async def list_processes(request: web.Request) -> web.Response:
    designs = sorted((s.doc for s in await ctx(request).store.list(PROCESSES)), key=lambda d: d["name"])
    return json_response([summary(d) for d in designs], headers={"Total-Items": str(len(designs))})


async def get_process(request: web.Request) -> web.Response:
    c = ctx(request)
    name = str(c.args.path["name"])
    design = await find_design(c.store, name)
    if not design:
        raise not_found(name)
    return json_response(public(design))
