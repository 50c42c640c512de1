"""How three real Barium clients turn an HTTP answer into a value, re-stated in Python for the replays.

Each function follows the client's own parsing, read from its source (cited in prose: the
repository cannot hold it), so a replay fails where the real client would:

- node-rest-client 3.1 (used by barium-feeder): lib/nrc-parser-manager.js at commit 3117aed —
  the content type, spaces removed, compared case-insensitively with exact strings; JSON only for
  `application/json` and `application/json;charset=utf-8`, XML for `application/xml`/`text/xml`
  (same two forms), anything else is the raw Buffer.
- Windows PowerShell's Invoke-RestMethod (used by Barium.psm1): a content type containing `json`
  is read as JSON, anything else as XML and then JSON; what neither reads is the raw string.
- Json.NET's JsonConvert.DeserializeObject<T> (used by InRule's BariumLiveHelper): properties
  bound case-insensitively, unknown ones ignored, and `null` (or a wrong type) for a value-type
  property (`bool`, `int`, `DateTime`) throws.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from xml.etree import ElementTree

from aiohttp import ClientResponse

NRC_JSON = ("application/json", "application/json;charset=utf-8")
NRC_XML = ("application/xml", "application/xml;charset=utf-8", "text/xml", "text/xml;charset=utf-8")


class XmlObject(dict[str, Any]):
    """What xml2js hands node-rest-client for an XML answer: a JavaScript object."""


async def node_rest_client_data(response: ClientResponse) -> Any:
    """The `data` argument node-rest-client passes to the feeder's callback."""
    content_type = response.headers.get("Content-Type", "").replace(" ", "").lower()
    body = await response.read()
    if content_type in NRC_JSON:
        text = body.decode()
        return json.loads(text) if text else text  # a parse error would be an 'error' event: let it raise
    if content_type in NRC_XML:
        return XmlObject(root=ElementTree.fromstring(body))
    return body  # a Buffer


def javascript_string(value: Any) -> str:
    """`String(value)` / `value.toString()` in JavaScript, for the values the parser can give."""
    if isinstance(value, bytes):
        return value.decode()  # Buffer.toString(): UTF-8
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "[object Object]"
    if isinstance(value, list):
        return ",".join(javascript_string(v) for v in value)
    return str(value)


async def invoke_rest_method(response: ClientResponse) -> Any:
    """What Invoke-RestMethod returns: parsed JSON, an XML document, or the raw string."""
    text = (await response.read()).decode()
    readers = (_json, _xml) if "json" in response.headers.get("Content-Type", "").lower() else (_xml, _json)
    for reader in readers:
        try:
            return reader(text)
        except ValueError:
            continue
    return text


def _json(text: str) -> Any:
    return json.loads(text)


def _xml(text: str) -> Any:
    try:
        return ElementTree.fromstring(text)
    except ElementTree.ParseError as error:
        raise ValueError(str(error)) from error


def powershell_member(value: Any, name: str) -> Any:
    """`$value.'name'`: a property of an object, or member enumeration over an array (one → scalar)."""
    if isinstance(value, list):
        found = [item[name] for item in value if isinstance(item, dict) and name in item]
        return found[0] if len(found) == 1 else found
    return value.get(name) if isinstance(value, dict) else None


def powershell_string(value: Any) -> str:
    """A value bound to a `[string]` parameter: arrays are joined with spaces ($OFS), null is ''."""
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(powershell_string(v) for v in value)
    return str(value)


# --- Json.NET, for InRule's models (Models/BariumLive.cs at commit a033914) ----------------------

Model = dict[str, Any]  # property name -> "bool" | "int" | "string" | "object" | "DateTime" | Model | [Model]

AUTHENTICATE: Model = {"success": "bool", "ticket": "string", "webTicket": "string", "Error": "string"}
DATA_LIST: Model = {
    "Id": "string",
    "Name": "string",
    "Description": "string",
    "Status": "string",
    "InstancesCount": "int",
    "ProcessId": "string",
    "DomainObjectId": "string",
}
APPS_GET_APP_ID: Model = {"TotalCount": "int", "Data": [DATA_LIST], "Error": "string"}
APP_GET_PROCESS_ID: Model = {
    "success": "bool",
    "InstanceId": "string",
    "errorCode": "int",
    "errorMessage": "string",
    "errorLogId": "string",
    "errorData": {"ErrorId": "string"},
}
OBJECT: Model = {
    "Id": "string",
    "ReferenceId": "object",
    "Name": "string",
    "Description": "string",
    "Type": "string",
    "ObjectClass": "string",
    "Container": "bool",
    "ReadOnly": "bool",
    "TypeNamespace": "object",
    "TemplateId": "string",
    "FileType": "string",
    "SortIndex": "object",
    "State": "string",
    "CreatedDate": "DateTime",
    "UpdatedDate": "DateTime",
    "DataId": "string",
}
OBJECTS: Model = {"TotalCount": "int", "Data": [OBJECT]}


class JsonNetError(ValueError):
    """Json.NET's JsonSerializationException / JsonReaderException."""


def json_net(text: str, model: Model) -> dict[str, Any]:
    """JsonConvert.DeserializeObject<T>(text) for a class `model`, as a dict of its properties."""
    try:
        value = json.loads(text)
    except ValueError as error:
        raise JsonNetError(f"not JSON: {error}") from error
    return _object(value, model, "$")


def _object(value: Any, model: Model, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise JsonNetError(f"{path}: cannot deserialize {type(value).__name__} into an object")
    by_lower = {key.lower(): key for key in value}
    bound: dict[str, Any] = {}
    for name, kind in model.items():
        key = by_lower.get(name.lower())
        bound[name] = _value(value[key], kind, f"{path}.{name}") if key is not None else _default(kind)
    return bound


def _default(kind: Any) -> Any:
    return {"bool": False, "int": 0, "DateTime": datetime.min}.get(kind) if isinstance(kind, str) else None


def _value(value: Any, kind: Any, path: str) -> Any:
    if isinstance(kind, list):
        if value is None:
            return None
        if not isinstance(value, list):
            raise JsonNetError(f"{path}: cannot deserialize into a List")
        return [_object(item, kind[0], f"{path}[{n}]") for n, item in enumerate(value)]
    if isinstance(kind, dict):
        return None if value is None else _object(value, kind, path)
    if kind in ("string", "object"):
        if isinstance(value, dict | list) and kind == "string":
            raise JsonNetError(f"{path}: cannot read a string from {type(value).__name__}")
        return value
    if value is None:
        raise JsonNetError(f"{path}: Error converting value {{null}} to type '{kind}'")
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind == "DateTime" and isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as error:
            raise JsonNetError(f"{path}: could not convert string to DateTime: {value}") from error
    raise JsonNetError(f"{path}: Error converting value {value!r} to type '{kind}'")
