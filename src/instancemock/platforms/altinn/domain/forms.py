"""Form data (data types with `appLogic.classRef`): how the mock keeps a data model and its wire forms.

A model is kept as flat text values by dotted path (`{"adresse.gate": "Storgata 1"}`) in the
collection `formData`, keyed by the data element's GUID; prefill and copies write it that way.
Clients see it as a document: XML whose root element is the class name (what app-lib serialises
for `application/xml`) or nested JSON (for `application/json`, and what JSON Patch works on).
[I] Values are text: the mock's data models declare string fields only, so a number or boolean a
client sends is kept as its text.
"""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from instancemock.core.encoding import dumps

FORM_DATA = "formData"  # collection: data element GUID -> {"instanceGuid", "values"}


class FormError(ValueError):
    """A body that is no readable data model; the message says why."""


def is_form(data_type: dict[str, Any]) -> bool:
    return bool((data_type.get("appLogic") or {}).get("classRef"))


def root_name(data_type: dict[str, Any]) -> str:
    return str((data_type.get("appLogic") or {}).get("classRef") or "model").rsplit(".", 1)[-1]


def nest(values: dict[str, str]) -> dict[str, Any]:
    """`{"a.b": "x"}` -> `{"a": {"b": "x"}}`."""
    model: dict[str, Any] = {}
    for path, value in values.items():
        node = model
        *parents, leaf = path.split(".")
        for name in parents:
            child = node.get(name)
            if not isinstance(child, dict):
                child = node[name] = {}
            node = child
        node[leaf] = value
    return model


def flatten(model: Any, prefix: str = "") -> dict[str, str]:
    """The inverse of `nest`; list items are numbered path segments, nulls are dropped."""
    if isinstance(model, dict):
        items: list[tuple[str, Any]] = [(str(k), v) for k, v in model.items()]
    elif isinstance(model, list):
        items = [(str(i), v) for i, v in enumerate(model)]
    else:
        return {prefix: _text(model)} if prefix and model is not None else {}
    flat: dict[str, str] = {}
    for name, value in items:
        flat |= flatten(value, f"{prefix}.{name}" if prefix else name)
    return flat


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def form_bytes(values: dict[str, str], content_type: str, root: str) -> bytes:
    """The stored form data of a data model as XML (root element = class name) or JSON."""
    if "json" in content_type:
        return dumps(nest(values))
    return f'<?xml version="1.0" encoding="utf-8"?>{_xml(root, nest(values))}'.encode()


def _xml(tag: str, value: Any) -> str:
    name = _tag(tag)
    if isinstance(value, dict):
        return f"<{name}>{''.join(_xml(k, v) for k, v in value.items())}</{name}>"
    return f"<{name}>{escape(str(value))}</{name}>"


def _tag(path: str) -> str:
    text = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in path) or "field"
    return text if text[0].isalpha() or text[0] == "_" else f"_{text}"


def parse_form(body: bytes, content_type: str) -> dict[str, str]:
    """A data model sent as XML or JSON, as flat values; FormError when it cannot be read."""
    kind = content_type.split(";")[0].strip().lower()
    if "json" in kind:
        try:
            value = json.loads(body) if body.strip() else {}
        except (ValueError, RecursionError) as error:
            raise FormError(f"The JSON data model could not be read: {error}") from error
        if not isinstance(value, dict):
            raise FormError("The JSON data model must be an object.")
        return flatten(value)
    if "xml" in kind:
        try:
            root = ElementTree.fromstring(body)
        except (ElementTree.ParseError, ValueError) as error:
            raise FormError(f"The XML data model could not be read: {error}") from error
        return _flatten_xml(root, "")
    raise FormError(f"Unsupported content type {content_type or '(none)'}: send application/xml or application/json.")


def _flatten_xml(element: ElementTree.Element, prefix: str) -> dict[str, str]:
    flat: dict[str, str] = {}
    for child in element:
        tag = child.tag.rsplit("}", 1)[-1]
        path = f"{prefix}.{tag}" if prefix else tag
        if len(child):
            flat |= _flatten_xml(child, path)
        elif child.text is not None and child.text.strip():
            flat[path] = child.text.strip()
    return flat


# --- JSON Patch (RFC 6902), as app-lib's PatchService applies it to a model -------------------


class PatchConflict(Exception):
    """A `test` operation failed: the model is not what the client last saw (app-lib: 409)."""


class PatchInvalid(Exception):
    """An operation that cannot be applied to the model (app-lib: 422)."""


def apply_patch(model: dict[str, Any], operations: list[dict[str, Any]]) -> dict[str, Any]:
    document: Any = json.loads(json.dumps(model))
    for operation in operations:
        document = _apply(document, operation)
    if not isinstance(document, dict):
        raise PatchInvalid("The patched data model is not an object.")
    return document


def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise PatchInvalid(f"Invalid JSON pointer {path!r}.")
    return [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]] if path else []


def _parent(document: Any, parts: list[str]) -> tuple[Any, str]:
    if not parts:
        raise PatchInvalid("The root of the data model cannot be the target.")
    node = document
    for part in parts[:-1]:
        node = _child(node, part)
    return node, parts[-1]


def _child(node: Any, part: str) -> Any:
    if isinstance(node, dict) and part in node:
        return node[part]
    if isinstance(node, list) and part.isdigit() and int(part) < len(node):
        return node[int(part)]
    raise PatchInvalid(f"The path segment {part!r} does not exist.")


def _get(document: Any, parts: list[str]) -> Any:
    node = document
    for part in parts:
        node = _child(node, part)
    return node


def _apply(document: Any, operation: dict[str, Any]) -> Any:
    op = operation.get("op")
    parts = _pointer(operation.get("path"))
    if op == "test":
        if _get(document, parts) != operation.get("value"):
            raise PatchConflict(f"Test failed at {operation.get('path')}.")
        return document
    if op in ("move", "copy"):
        source = _pointer(operation.get("from"))
        value = json.loads(json.dumps(_get(document, source)))
        if op == "move":
            document = _remove(document, source)
        return _add(document, parts, value)
    if op == "remove":
        return _remove(document, parts)
    if op == "replace":
        _get(document, parts)
        return _add(_remove(document, parts), parts, operation.get("value"))
    if op == "add":
        return _add(document, parts, operation.get("value"))
    raise PatchInvalid(f"Unknown patch operation {op!r}.")


def _add(document: Any, parts: list[str], value: Any) -> Any:
    if not parts:
        return value
    parent, last = _parent(document, parts)
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list) and (last == "-" or (last.isdigit() and int(last) <= len(parent))):
        parent.insert(len(parent) if last == "-" else int(last), value)
    else:
        raise PatchInvalid(f"Cannot add at {'/'.join(parts)}.")
    return document


def _remove(document: Any, parts: list[str]) -> Any:
    parent, last = _parent(document, parts)
    _child(parent, last)
    if isinstance(parent, dict):
        del parent[last]
    else:
        del parent[int(last)]
    return document
