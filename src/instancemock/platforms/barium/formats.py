"""Barium's global query strings: every JSON answer in the representation the client asks for.

The platform documents three query strings valid on every call (openapi/barium.yaml, info):
`format=json|xml` sets the output format, `jsonp={callback}` wraps the JSON in a call, and
`jsontext=true` serves JSON as `text/json` instead of `application/json`. Names and `json`/`xml`/
`true` match case-insensitively, as ASP.NET binds them. When several are sent, `format=xml` wins,
then `jsonp`, then `jsontext`. Binary answers (images), downloads (files, even JSON ones) and
the bare login ticket (`text/plain`) are left as they are.

`present` runs in the pipeline for every answer of a routed request (core/pipeline.py,
`present_answers`), errors included, before `--strict` checks it. `declare_representations`
adds the same three parameters and the three extra media types to every operation of the spec,
with examples made by the same functions, so the served spec says exactly what is sent.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from enum import Enum
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import orjson
from aiohttp import web

from instancemock.core.encoding import JSON, dumps

XML = "application/xml"
JAVASCRIPT = "application/javascript"
TEXT_JSON = "text/json"
CALLBACK = re.compile(r"^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$")
CALLBACK_MAX = 128
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XML_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")  # XML 1.0's Char
REPLACEMENT = "\ufffd"
EXAMPLE_CALLBACK = "handleAnswer"
GLOBAL_PARAMETERS = ("Format", "JsonP", "JsonText")


class Form(Enum):
    JSON = "json"
    XML = "xml"
    JSONP = "jsonp"
    JSON_TEXT = "jsontext"


ASKING = ("format", "jsonp", "jsontext")  # the names `chosen` reads (a value may hold them too: then it reads)


def _query(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The first value of each name, names lower-cased (ASP.NET binds query names case-insensitively)."""
    found: dict[str, str] = {}
    for key, value in pairs:
        found.setdefault(key.lower(), value.strip())
    return found


def callback_of(pairs: Iterable[tuple[str, str]]) -> str | None:
    """The `jsonp` callback when it is a JavaScript name (dotted names allowed); else None."""
    name = _query(pairs).get("jsonp", "")
    return name if name and len(name) <= CALLBACK_MAX and CALLBACK.match(name) else None


def chosen(pairs: Iterable[tuple[str, str]]) -> Form:
    """The representation the query strings ask for; values the spec refuses count as absent."""
    query = _query(pairs)
    if query.get("format", "").lower() == "xml":
        return Form.XML
    if callback_of(query.items()) is not None:
        return Form.JSONP
    if query.get("jsontext", "").lower() == "true":
        return Form.JSON_TEXT
    return Form.JSON


def wants_envelope(pairs: Iterable[tuple[str, str]]) -> bool:
    """`format=json` or `format=xml` in the query string: the login answers its JSON object."""
    return _query(pairs).get("format", "").lower() in ("json", "xml")


# --- XML ----------------------------------------------------------------------------------------


def _text(value: str) -> str:
    """Text an XML 1.0 document may hold: characters it cannot (control characters, lone
    surrogates) become U+FFFD, so an answer echoing hostile input is still well-formed."""
    return NOT_XML.sub(REPLACEMENT, value)


def _scalar(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return escape(_text(str(value)))


def _element(name: str, value: Any, out: list[str], attributes: str = "") -> None:
    """One value as an element: objects as child elements, arrays as `Item`s, null as `xsi:nil`.

    A key that is not an XML name (list columns may hold anything) becomes
    `<Property Name="...">` so that no answer is ever malformed.
    """
    tag = name
    if not XML_NAME.match(name):
        tag, attributes = "Property", f"{attributes} Name={quoteattr(_text(name))}"
    if value is None:
        out.append(f'<{tag}{attributes} xsi:nil="true"/>')
    elif isinstance(value, dict):
        out.append(f"<{tag}{attributes}>")
        for key, item in value.items():
            _element(str(key), item, out)
        out.append(f"</{tag}>")
    elif isinstance(value, list):
        out.append(f"<{tag}{attributes}>")
        for item in value:
            _element("Item", item, out)
        out.append(f"</{tag}>")
    else:
        out.append(f"<{tag}{attributes}>{_scalar(value)}</{tag}>")


def to_xml(value: Any) -> str:
    """The JSON answer as `<Response>` with the same fields as elements, in the same order."""
    out = ['<?xml version="1.0" encoding="utf-8"?>']
    _element("Response", value, out, f' xmlns:xsi="{XSI}"')
    return "".join(out)


def to_jsonp(callback: str, json_text: str) -> str:
    """`callback(json);`. U+2028 and U+2029 are escaped: JSON allows them raw, older JavaScript not."""
    safe = json_text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return f"{callback}({safe});"


# --- the pipeline hook --------------------------------------------------------------------------


def present(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    """A JSON answer in the representation the query strings ask for; anything else unchanged.

    A download (`Content-Disposition`) is a file, whatever its content type: never rewritten.
    """
    asked = request.rel_url.query_string.lower()
    if not any(name in asked for name in ASKING):  # most answers: nothing to do (checked first: it is the cheapest)
        return response
    if type(response) is not web.Response or response.content_type != JSON or not isinstance(response.body, bytes):
        return response
    if "Content-Disposition" in response.headers:
        return response
    query = request.rel_url.query
    pairs = query.items()
    form = chosen(pairs)
    if form is Form.JSON:
        return response
    headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-type", "content-length")}
    if form is Form.JSON_TEXT:
        body, media_type = response.body, TEXT_JSON
    elif form is Form.JSONP:
        body, media_type = to_jsonp(str(callback_of(pairs)), response.body.decode()).encode(), JAVASCRIPT
    else:
        body, media_type = to_xml(orjson.loads(response.body)).encode(), XML
    return web.Response(body=body, status=response.status, headers=headers, content_type=media_type, charset="utf-8")


# --- the served spec ----------------------------------------------------------------------------


def _alternatives(media: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The `text/json`, XML and JSON-P entries of one `application/json` body, examples converted."""
    xml: dict[str, Any] = {"schema": {"$ref": "#/components/schemas/XmlDocument"}}
    script: dict[str, Any] = {"schema": {"$ref": "#/components/schemas/JsonpScript"}}
    if "example" in media:
        xml["example"] = to_xml(media["example"])
        script["example"] = to_jsonp(EXAMPLE_CALLBACK, dumps(media["example"]).decode())
    if "examples" in media:
        named = {name: example for name, example in media["examples"].items() if "value" in example}
        xml["examples"] = {n: {**e, "value": to_xml(e["value"])} for n, e in named.items()}
        script["examples"] = {
            n: {**e, "value": to_jsonp(EXAMPLE_CALLBACK, dumps(e["value"]).decode())} for n, e in named.items()
        }
    return {TEXT_JSON: copy.deepcopy(media), XML: xml, JAVASCRIPT: script}


def _offer_everywhere(response: dict[str, Any]) -> None:
    content = response.get("content", {})
    if JSON in content:
        for media_type, media in _alternatives(content[JSON]).items():
            content.setdefault(media_type, media)


def declare_representations(spec: dict[str, Any]) -> dict[str, Any]:
    """A copy of the spec in which every operation takes the global query strings and every JSON
    response is also declared as `text/json`, `application/xml` and `application/javascript`."""
    served = copy.deepcopy(spec)
    for response in served.get("components", {}).get("responses", {}).values():
        _offer_everywhere(response)
    refs = [{"$ref": f"#/components/parameters/{name}"} for name in GLOBAL_PARAMETERS]
    for item in served.get("paths", {}).values():
        for method, operation in item.items():
            if method == "parameters" or not isinstance(operation, dict):
                continue
            own = operation.get("parameters", [])
            declared = {p.get("$ref") for p in own}
            operation["parameters"] = [*own, *(r for r in refs if r["$ref"] not in declared)]
            for response in operation.get("responses", {}).values():
                if "$ref" not in response:
                    _offer_everywhere(response)
    return served
