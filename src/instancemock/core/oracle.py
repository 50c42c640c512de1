"""openapi-core, kept as the reference: the request and response checks as they were before plans.

The compiled plans (`core/operations.py`) answer requests; this module is what they are held to
(tests/core/test_compiled_vs_openapi_core.py sends both the same requests), and what reads the
few things the plans do not compile (multipart bodies, `content` parameters, non-JSON responses).

The router has already chosen the operation (case-insensitively), so this module hands
openapi-core that operation directly instead of letting it search the paths again: its own path
finder is case-sensitive and would pick `/instances/{name}` over `/instances/create` at random.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import parse_qsl, urlencode

from jsonschema_path import SchemaPath
from openapi_core import OpenAPI
from openapi_core.configurations import Config
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.media_types.exceptions import MediaTypeFinderError
from openapi_core.templating.responses.exceptions import ResponseFinderError
from openapi_core.validation.request.exceptions import MissingRequestBody, RequestBodyValidationError
from openapi_core.validation.response.exceptions import HeaderValidationError, MissingHeader, MissingRequiredHeader
from werkzeug.datastructures import Headers, ImmutableMultiDict

from instancemock.core.casting import schema_casters
from instancemock.core.context import Args
from instancemock.core.media import JSON_DESERIALIZERS
from instancemock.core.spec import Api, Operation, resolve_refs
from instancemock.core.violations import ResponseProblem, Violation, response_lines, violations_from


@cache  # one per validation document; building it takes a moment, and nothing in it is per server
def _openapi(text: str) -> OpenAPI:
    """openapi-core on the validation document; the specs themselves are checked by tests/core/test_specs.py."""
    config = Config(
        extra_media_type_deserializers=JSON_DESERIALIZERS,
        schema_casters_factory=schema_casters(),
        spec_validator_cls=None,  # type: ignore[arg-type]  # None: openapi-core skips the spec check
    )
    return OpenAPI(SchemaPath.from_dict(json.loads(text)), config=config)


def openapi_of(api: Api) -> OpenAPI:
    return _openapi(api.validation_text)


@dataclass(slots=True)
class SpecRequest:
    """The openapi-core Request protocol, built from what aiohttp read."""

    method: str
    path: str
    parameters: RequestParameters
    body: bytes | None
    content_type: str
    host_url: str = "http://instancemock"
    full_url_pattern: str = field(default="")


def _op_paths(api: Api, op: Operation) -> tuple[SchemaPath, SchemaPath]:
    path = openapi_of(api).spec / "paths" / op.template
    return path, path / op.method.lower()


def canonical_query(api: Api, op: Operation, query: Iterable[tuple[str, str]]) -> ImmutableMultiDict[str, str]:
    """Map `processname=` onto a declared `processName`, and `Status=Active` onto an enum's `active`.

    ASP.NET binds query names, and enum values, case-insensitively; the spec declares one casing.
    """
    declared = [p for p in op.parameters if p.get("in") == "query"]
    names = {p["name"].lower(): p["name"] for p in declared}
    enums: dict[str, dict[str, str]] = {}
    for p in declared:
        schema = resolve_refs(api.spec, p.get("schema", {}))
        schema = resolve_refs(api.spec, schema.get("items", {})) if schema.get("type") == "array" else schema
        values = [v for v in schema.get("enum", []) if isinstance(v, str)]
        if values:
            enums[p["name"]] = {v.lower(): v for v in values}
    pairs = []
    for key, value in query:
        name = names.get(key.lower(), key)
        pairs.append((name, enums.get(name, {}).get(value.lower(), value)))
    return ImmutableMultiDict(pairs)


def _properties(spec: dict[str, Any], schema: Any, depth: int = 0) -> dict[str, Any]:
    """Declared properties of a schema, looking through $ref and allOf/anyOf/oneOf."""
    schema = resolve_refs(spec, schema)
    if not isinstance(schema, dict) or depth > 8:
        return {}
    props = dict(schema.get("properties", {}))
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(key, []):
            for name, sub_schema in _properties(spec, sub, depth + 1).items():
                props.setdefault(name, sub_schema)
    return props


def canonical_keys(spec: dict[str, Any], schema: Any, value: Any, depth: int = 0) -> Any:
    """Rename JSON keys to the schema's casing (`ProcessName` -> `processName`), recursively.

    Json.NET and System.Text.Json (as ASP.NET configures it) bind property names
    case-insensitively, so a client may send either; validation must see the declared name.
    """
    if depth > 32:
        return value
    schema = resolve_refs(spec, schema)
    if isinstance(value, dict):
        props = _properties(spec, schema)
        by_lower = {name.lower(): name for name in props}
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = key if key in props else by_lower.get(key.lower(), key) if isinstance(key, str) else key
            if name in out and name != key:
                name = key  # both spellings sent: keep both, let validation complain
            out[name] = canonical_keys(spec, props.get(name, {}), item, depth + 1)
        return out
    if isinstance(value, list) and isinstance(schema, dict):
        items = schema.get("items", {})
        return [canonical_keys(spec, items, item, depth + 1) for item in value]
    return value


def _body_schema(api: Api, op: Operation, media_type: str) -> Any:
    content = resolve_refs(api.spec, op.spec.get("requestBody", {})).get("content", {})
    return content.get(media_type, {}).get("schema")


def canonical_body(api: Api, op: Operation, body: bytes, content_type: str) -> bytes:
    media_type = content_type.split(";")[0].strip().lower()
    schema = _body_schema(api, op, media_type)
    if schema is None or not body:
        return body
    if media_type == "application/json" or media_type.endswith("+json"):
        try:
            value = json.loads(body)
        except (ValueError, RecursionError):
            return body  # let the validator report it
        return json.dumps(canonical_keys(api.spec, schema, value)).encode()
    if media_type == "application/x-www-form-urlencoded":
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            return body
        by_lower = {name.lower(): name for name in _properties(api.spec, schema)}
        return urlencode([(by_lower.get(k.lower(), k), v) for k, v in pairs]).encode()
    return body


def read_body(api: Api, op: Operation, body: bytes, content_type: str) -> tuple[Any, list[Violation]]:
    """openapi-core's body step alone: for the media types the compiled plans hand over."""
    _, operation = _op_paths(api, op)
    try:
        return openapi_of(api).request_unmarshaller._get_body(body or None, content_type, operation), []  # type: ignore[attr-defined]
    except MissingRequestBody:
        return None, []
    except RequestBodyValidationError as error:
        return None, violations_from([error])


def check_request(
    api: Api,
    op: Operation,
    path_params: dict[str, str],
    query: Iterable[tuple[str, str]],
    headers: Iterable[tuple[str, str]],
    cookies: dict[str, str],
    body: bytes,
    content_type: str,
) -> tuple[Args, list[Violation]]:
    body = canonical_body(api, op, body, content_type)
    canonical = canonical_query(api, op, query)
    request = SpecRequest(
        method=op.method.lower(),
        path=op.template,
        parameters=RequestParameters(
            query=canonical,
            header=Headers(list(headers)),
            cookie=ImmutableMultiDict(cookies),
            path=path_params,
        ),
        body=body or None,
        content_type=content_type,
    )
    path, operation = _op_paths(api, op)
    try:
        result = openapi_of(api).request_unmarshaller._unmarshal(request, operation, path)  # type: ignore[attr-defined]
    except Exception as error:  # a parser inside openapi-core gave up on hostile input
        return Args(raw_body=body, content_type=content_type), [
            Violation("body", "", f"the request could not be read: {type(error).__name__}")
        ]
    params = result.parameters
    args = Args(
        path=dict(params.path) if params else {},
        query=dict(params.query) if params else {},
        header=dict(params.header) if params else {},
        cookie=dict(params.cookie) if params else {},
        body=result.body,
        raw_body=body,
        content_type=content_type,
    )
    return args, repeated_query(api, op, canonical) + violations_from(result.errors)


SCALARS = ("string", "integer", "number", "boolean")


def repeated_query(api: Api, op: Operation, query: ImmutableMultiDict[str, str]) -> list[Violation]:
    """`?size=1&size=2` for a parameter that takes one value: refused, rather than silently picking one."""
    single = {
        p["name"]
        for p in op.parameters
        if p.get("in") == "query" and resolve_refs(api.spec, p.get("schema", {})).get("type") in SCALARS
    }
    return [
        Violation("query", name, f"the query parameter '{name}' takes one value, got {len(values)}")
        for name, values in query.lists()
        if name in single and len(values) > 1
    ]


def response_problems(
    api: Api, op: Operation, status: int, body: bytes, headers: Headers, mimetype: str
) -> list[ResponseProblem]:
    """Why a response does not conform to its operation (empty: it does), one problem per violation.

    Stubs use this (core/stubs.py): a placeholder's position in a stub's body is judged per answer,
    so problems there must be told apart by `path`.
    """
    _, operation = _op_paths(api, op)
    validator = openapi_of(api).response_validator
    problems: list[ResponseProblem] = []
    try:
        for error in validator._iter_errors(status, body or None, headers, mimetype, operation):  # type: ignore[attr-defined]
            problems += _problems_of(error, status)
    except Exception as error:
        problems.append(ResponseProblem(f"response could not be checked: {error}"))
    return problems


def _problems_of(error: Exception, status: int) -> list[ResponseProblem]:
    cause = error.__cause__
    text = f"{error}: {cause}" if cause is not None else str(error)
    if isinstance(error, MissingRequiredHeader | MissingHeader | HeaderValidationError):
        return [ResponseProblem(text, kind="header", name=str(getattr(error, "name", "")))]
    if cause is not None and hasattr(cause, "schema_errors"):
        schema_errors = cause.schema_errors
        return [ResponseProblem(str(error), tuple(e.absolute_path), e.message, "schema") for e in schema_errors] or [
            ResponseProblem(str(error), kind="schema")
        ]
    if isinstance(error, ResponseFinderError):
        return [ResponseProblem(text, kind="status", name=str(status))]
    return [ResponseProblem(text, kind="media-type" if isinstance(cause, MediaTypeFinderError) else "body")]


def check_response(api: Api, op: Operation, status: int, body: bytes, headers: Headers, mimetype: str) -> list[str]:
    """Why a response does not conform to its operation (empty: it does), one line per openapi-core error."""
    return response_lines(response_problems(api, op, status, body, headers, mimetype))
