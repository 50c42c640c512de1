"""Every operation of a spec compiled into a plan when the spec is loaded (issue 13).

A plan holds what openapi-core would look up on every request: each parameter's location, style,
casting, enum and name maps and compiled schema (`core/schemas.py`), each request body's media
types with their key maps and schemas, and each response's schemas for `--strict`. A request then
costs work in proportion to what it sent, plus one pass over the declared parameters for the
required ones and the defaults.

The rules are openapi-core 0.23's, applied to plain dicts: `core/oracle.py` keeps openapi-core
itself, the differential test (tests/core/test_compiled_vs_openapi_core.py) holds the two to the
same answers, and what a plan does not compile (multipart bodies, `content` parameters, styles the
specs do not use) it hands to the oracle, flagged by `delegate`.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode
from uuid import UUID

import orjson

from instancemock.core.casting import CastFailed
from instancemock.core.document import Operation, escape, operations_of, parameter_pointers, resolve_at
from instancemock.core.schemas import NotDirect, Reader, SchemaSet, Shape, canonical, cast, direct_reader, unmarshal
from instancemock.core.violations import ResponseProblem, Violation, schema_details, schema_places, surrogate_message
from instancemock.world import text
from instancemock.world.text import LoneSurrogate

FORM = "application/x-www-form-urlencoded"
JSON_TYPES = ("application/json", "application/problem+json")  # read by core/media.py's safe_json_loads
SCALARS = ("string", "integer", "number", "boolean")
LOCATIONS = ("path", "query", "header", "cookie")


class Unreadable(Exception):
    """What openapi-core would have crashed on (its request step gave up): the request cannot be read."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass(slots=True)
class ParamPlan:
    name: str
    location: str
    required: bool
    array: bool  # the schema's type is array: every value of a repeated query name, or a split list
    explode: bool
    shape: Shape
    allow_empty: bool
    # What earlier requests' values became, by what was sent (`_parameter`): clients send the same
    # few values again and again, and casting, checking and unmarshalling them was most of a query
    # operation's check. Only values that pass, and only immutable ones (a list is kept as a tuple).
    known: dict[Any, tuple[bool, Any]] = field(default_factory=dict)
    silent_when_absent: bool = False  # neither required nor defaulted: nothing to do when not sent

    def __post_init__(self) -> None:
        self.silent_when_absent = not self.required and not self.shape.has_default


KNOWN_VALUES = 256  # per parameter (a client writing each of a hundred instances in turn); beyond that, started afresh
_ABSENT = object()  # the memory's key for a parameter the request did not send (its default, if any)
IMMUTABLE = (str, int, float, bool, bytes, type(None), datetime, date, UUID)


@dataclass(slots=True)
class MediaPlan:
    key: str  # as the spec writes it
    shape: Shape | None  # None: no schema, the value is taken as it is
    direct: Reader | None = None  # a JSON request body sent as declared, read in one pass (`_read_directly`)


@dataclass(slots=True)
class BodyPlan:
    required: bool
    media: dict[str, MediaPlan]


@dataclass(slots=True)
class HeaderPlan:
    name: str
    required: bool
    shape: Shape | None  # None: not compiled (`content`), the oracle checks this response


@dataclass(slots=True)
class ResponsePlan:
    media: dict[str, MediaPlan]
    headers: list[HeaderPlan]
    has_content: bool


@dataclass(slots=True)
class RequestResult:
    """What a plan made of a request; `body_delegated`: the body is the oracle's to read."""

    # LOCATIONS, written out: a comprehension is a call of its own, on every request
    values: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {"path": {}, "query": {}, "header": {}, "cookie": {}}
    )
    body: Any = None
    raw_body: bytes = b""
    violations: list[Violation] = field(default_factory=list)
    body_delegated: bool = False


@dataclass(slots=True)
class OperationPlan:
    operation: Operation
    params: list[ParamPlan]
    query_names: dict[str, str]  # lowered -> declared
    query_enums: dict[str, dict[str, str]]  # declared name -> lowered value -> declared value
    single: frozenset[str]  # query names that take one value
    body: BodyPlan | None
    responses: dict[str, ResponsePlan]
    delegate: bool  # something the plans do not compile: the oracle checks every request
    # What `core/validation.py` remembers of body-less requests (its `check_bodiless`), and the
    # names (lowered) of the headers and cookies the plan reads, which that memory is keyed on.
    # ... and how each caller gets its own copy of the values (`dict`, or `_own` where a value is a list)
    remembered: dict[tuple[Any, ...], tuple[Any, tuple[Violation, ...], Callable[[dict[str, Any]], dict[str, Any]]]] = (
        field(default_factory=dict)
    )
    header_names: tuple[str, ...] = ()
    reads_cookies: bool = False

    # --- requests ---------------------------------------------------------------------------

    def check_request(
        self,
        path_params: Mapping[str, str],
        query: Iterable[tuple[str, str]],
        headers: Iterable[tuple[str, str]],
        cookies: Mapping[str, str],
        body: bytes,
        content_type: str,
    ) -> RequestResult:
        result = RequestResult(raw_body=body)
        canonical_query = self._canonical_query(query)
        result.violations += [
            Violation("query", name, f"the query parameter '{name}' takes one value, got {len(values)}")
            for name, values in canonical_query.items()
            if name in self.single and len(values) > 1
        ]
        header_values: dict[str, str] | None = None
        for param in self.params:
            if param.location == "query":
                present = param.name in canonical_query
                if not present and param.silent_when_absent:  # most of a query operation's parameters
                    continue
                raw: Any = canonical_query[param.name] if present else None
            elif param.location == "path":
                present = param.name in path_params
                raw = path_params.get(param.name)
            elif param.location == "header":
                if header_values is None:
                    header_values = {}
                    for name, value in headers:
                        header_values.setdefault(name.lower(), value)
                present = param.name.lower() in header_values
                raw = header_values.get(param.name.lower())
            else:
                present = param.name in cookies
                raw = cookies.get(param.name)
            self._parameter(param, present, raw, result)
        if self.body is not None:
            self._body(self.body, body, content_type, result)
        return result

    def _canonical_query(self, query: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
        """`processname=` bound to a declared `processName`, `Status=Active` to an enum's `active`.

        ASP.NET binds query names, and enum values, case-insensitively; the spec declares one casing.
        """
        found: dict[str, list[str]] = {}
        names, enums = self.query_names, self.query_enums
        for key, value in query:
            name = names.get(key.lower(), key)
            values = enums.get(name)
            found.setdefault(name, []).append(values.get(value.lower(), value) if values else value)
        return found

    def _parameter(self, param: ParamPlan, present: bool, raw: Any, result: RequestResult) -> None:
        key = (tuple(raw) if isinstance(raw, list) else raw) if present else _ABSENT
        known = param.known.get(key)
        if known is not None:
            result.values[param.location][param.name] = list(known[1]) if known[0] else known[1]
            return
        shape, name, where = param.shape, param.name, param.location
        if not present:
            if shape.has_default:
                value: Any = shape.default
            else:
                if param.required:
                    result.violations.append(Violation(where, name, f"the {where} parameter {name!r} is required"))
                return
        else:
            if where == "query":
                loaded: Any = raw if param.array and param.explode else raw[0]
                if param.array and not param.explode:
                    loaded = loaded.split(",")
            else:
                loaded = raw.split(",") if param.array else raw
            try:
                value = cast(shape, loaded)
            except CastFailed as failed:
                message = f"the {where} parameter {name!r} must be of type {failed.type}, got {failed.value!r}"
                result.violations.append(Violation(where, name, message))
                return
            if where == "query" and value == "" and not param.allow_empty:
                message = f"the {where} parameter {name!r} is invalid: Value of {name} query parameter cannot be empty"
                result.violations.append(Violation(where, name, message))
                return
        errors = shape.check.errors(value)
        if errors:
            result.violations += [Violation(where, name, message) for _, message in schema_details(errors)]
            return
        value = result.values[where][name] = unmarshal(shape, value)
        _remember(param, key, value)

    def _body(self, plan: BodyPlan, body: bytes, content_type: str, result: RequestResult) -> None:
        stripped = content_type.split(";")[0].strip().lower()
        canonical_media = plan.media.get(stripped)
        if not body:
            if plan.required:
                result.violations.append(Violation("body", "", "a request body is required"))
            return
        media_type, _ = parse_media_type(content_type)
        media = plan.media.get(content_type) or plan.media.get(media_type)
        reader = media_type
        if media is None and media_type:
            for key, candidate in plan.media.items():
                if fnmatch.fnmatch(media_type, key):
                    media, reader = candidate, key
                    break
        if media is None:
            allowed = ", ".join(plan.media)
            message = f"content type {content_type or '(none)'!r} is not supported; use {allowed}"
            result.violations.append(Violation("header", "Content-Type", message, 415))
            return
        if reader in JSON_TYPES:
            try:
                value = read_json(body)
            except LoneSurrogate as lone:  # refused naming the field, as ASP.NET's JSON reader does (world/text.py)
                result.violations.append(Violation("body", lone.path, surrogate_message(lone)))
                return
            except ValueError:
                result.violations.append(Violation("body", "", f"the body is not valid {reader}"))
                return
            keys = canonical_media.shape if canonical_media is not None and _is_json(stripped) else None
            direct = media.direct is not None and (keys is None or keys is media.shape)
            if direct and _read_directly(media, value, result):
                return
            value = self._json_keys(value, body, keys, result)
        elif reader == FORM and media.shape is not None and _simple_form(media.shape):
            value = self._form_body(body, canonical_media, media.shape, result)
        else:
            result.body_delegated = True
            return
        if value is _UNREAD or media.shape is None:
            result.body = None if value is _UNREAD else value
            return
        try:
            errors = media.shape.check.errors(value)
        except RecursionError as error:
            raise Unreadable(type(error).__name__) from error
        if errors:
            result.violations += [Violation("body", f, m) for f, m in schema_details(errors)]
            return
        result.body = unmarshal(media.shape, value)

    def _json_keys(self, value: Any, body: bytes, keys: Shape | None, result: RequestResult) -> Any:
        """Keys renamed to the declared casing; then the body as validated is the renamed one."""
        if keys is not None:
            renamed = [False]
            value = canonical(keys, value, renamed)
            if renamed[0]:  # the body as validated, as before compiled plans; a large one in steps (world/text.py)
                result.raw_body = text.dumps(value, in_steps=len(body) >= text.LARGE_JSON)
        return value

    def _form_body(self, body: bytes, canonical_media: MediaPlan | None, shape: Shape, result: RequestResult) -> Any:
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            result.violations.append(Violation("body", "", f"the body is not valid {FORM}"))
            return _UNREAD
        if canonical_media is not None and canonical_media.shape is not None:
            by_lower = canonical_media.shape.by_lower
            pairs = [(by_lower.get(k.lower(), k), v) for k, v in pairs]
            result.raw_body = urlencode(pairs).encode()
        values: dict[str, list[str]] = {}
        for key, item in pairs:
            values.setdefault(key, []).append(item)
        decoded: dict[str, Any] = {}
        for name, sub in shape.properties.items():
            if name not in values:
                if sub.has_default:
                    decoded[name] = sub.default
                continue
            try:
                decoded[name] = cast(sub, values[name] if sub.type == "array" else values[name][0])
            except CastFailed as failed:
                result.violations.append(Violation("body", "", str(failed)))
                return _UNREAD
        return decoded

    # --- responses (--strict) --------------------------------------------------------------

    def response_problems(
        self, status: int, body: bytes, header_value: Callable[[str], str | None], mimetype: str
    ) -> list[ResponseProblem] | None:
        """Why a response breaks its operation (empty: it does not); None: the oracle must judge it."""
        code = str(status)
        response = self.responses.get(code) or self.responses.get(f"{code[0]}XX") or self.responses.get("default")
        if response is None:
            return [ResponseProblem(f"Unknown response http status: {code}", kind="status", name=code)]
        problems: list[ResponseProblem] = []
        if response.has_content:
            if not body:
                problems.append(ResponseProblem("Missing response data"))
            else:
                media_type, _ = parse_media_type(mimetype)
                media = response.media.get(mimetype) or response.media.get(media_type)
                reader = media_type
                if media is None:
                    for key, candidate in response.media.items():
                        if media_type and fnmatch.fnmatch(media_type, key):
                            media, reader = candidate, key
                            break
                if media is None:
                    error = f"Content for the following mimetype not found: {mimetype or '(none)'}"
                    problems.append(ResponseProblem(error, kind="media-type"))
                elif reader not in JSON_TYPES:
                    return None
                else:
                    try:
                        value = read_json(body)
                    except ValueError:
                        problems.append(ResponseProblem(f"Failed to deserialize value with {reader} mimetype"))
                    else:
                        if media.shape is not None:
                            errors = media.shape.check.errors(value)
                            problems += [
                                ResponseProblem("Response data validation error", path, message, "schema")
                                for path, message in schema_places(errors)
                            ]
        for header in response.headers:
            if header.name.lower() == "content-type":
                continue
            if header.shape is None:
                return None
            raw = header_value(header.name)
            if raw is None:
                if header.required:
                    error = f"Missing required header: {header.name}"
                    problems.append(ResponseProblem(error, kind="header", name=header.name))
                continue
            try:
                value = cast(header.shape, raw.split(",") if header.shape.type == "array" else raw)
            except CastFailed as failed:
                error = f"Invalid header {header.name}: {failed}"
                problems.append(ResponseProblem(error, kind="header", name=header.name))
                continue
            errors = header.shape.check.errors(value)
            if errors:
                details = "; ".join(m for _, m in schema_places(errors))
                error = f"Invalid header {header.name}: {details}"
                problems.append(ResponseProblem(error, kind="header", name=header.name))
        return problems


_UNREAD = object()  # the body could not be read; its violation is recorded
# A run of 19 digits, found in C at ~1 ns a byte (a regular expression took ~50).
DIGITS_AS_ZERO = bytes.maketrans(b"0123456789", b"0" * 10)
LONG_NUMBER = b"0" * 19


def _read_directly(media: MediaPlan, value: Any, result: RequestResult) -> bool:
    """The body read by the media's direct reader (`core/schemas.py`), when the schema's verdict
    is yes and every key is declared as sent: the general path would rename nothing, find nothing
    to say, and unmarshal to the same value. False: the general path reads it."""
    assert media.direct is not None and media.shape is not None
    if not media.shape.check.vouches(value):
        return False
    try:
        result.body = media.direct(value)
    except NotDirect:
        return False
    return True


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


def _simple_form(shape: Shape) -> bool:
    """A form schema the plan decodes itself: declared properties of one type each, no combinators."""
    if shape.one_of or shape.any_of or shape.all_of:
        return False
    return all(sub.type is None or isinstance(sub.type, str) for sub in shape.properties.values())


def read_json(body: bytes) -> Any:
    """`json.loads`, as openapi-core reads bodies (`core/media.py`), through orjson where it can.

    orjson refuses some of what `json.loads` takes (NaN, infinities, lone surrogates, a BOM,
    UTF-16) and gives the same values for the rest, except integers beyond 64 bits, which it reads
    as floats: a body with a run of 19 digits, and anything orjson refuses, is read by
    `world.text.loads`, which refuses NaN and infinities (not JSON) and, from `check_text`, a lone
    surrogate (`LoneSurrogate`, naming the field).
    """
    if LONG_NUMBER not in body.translate(DIGITS_AS_ZERO):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
    try:
        value = text.loads(body)
    except RecursionError as error:
        raise ValueError("JSON nested too deeply") from error
    text.check_text(body, value)
    return value


def parse_media_type(content_type: str) -> tuple[str, dict[str, str]]:
    """openapi-core's `MediaTypeFinder._parse_mimetype`; a parameter without one `=` cannot be read."""
    parts = content_type.split(";")
    parameters: dict[str, str] = {}
    for part in parts[1:]:
        pieces = part.split("=")
        if len(pieces) != 2:
            raise Unreadable("ValueError")
        name, value = pieces[0].lower().lstrip(), pieces[1]
        if value.startswith('"') and value.endswith('"') and len(value) >= 2:
            value = value[1:-1]
        parameters[name] = (value.lower() if name == "charset" else value).rstrip()
    return parts[0].lower().rstrip(), parameters


# --- compiling ------------------------------------------------------------------------------------


@dataclass(slots=True)
class CompiledSpec:
    """The plans of every operation of one spec, by operationId."""

    schemas: SchemaSet
    plans: dict[str, OperationPlan]


def compile_spec(document: dict[str, Any]) -> CompiledSpec:
    """`document`: the spec as it is validated (core/spec.py's `validation_document`)."""
    schemas = SchemaSet(document)
    plans = {op.id: _compile_operation(schemas, document, op) for op in operations_of(document)}
    schemas.finish()
    for plan in plans.values():  # once every node's flags are known (`finish`)
        for media in plan.body.media.values() if plan.body is not None else ():
            if media.shape is not None and media.key in JSON_TYPES:
                media.direct = direct_reader(media.shape)
    return CompiledSpec(schemas, plans)


def _compile_operation(schemas: SchemaSet, document: dict[str, Any], op: Operation) -> OperationPlan:
    method = op.method.lower()
    delegate = False
    params: list[ParamPlan] = []
    query_names: dict[str, str] = {}
    query_enums: dict[str, dict[str, str]] = {}
    single: set[str] = set()
    for param, at in parameter_pointers(document, op.template, method):
        name, where = str(param["name"]), str(param["in"])
        if "content" in param or "schema" not in param or where not in LOCATIONS:
            delegate = True
            continue
        shape = schemas.shape(param["schema"], f"{at}/schema")
        default_style = "simple" if where in ("path", "header") else "form"
        style = param.get("style", default_style)
        explode = bool(param.get("explode", style == "form"))
        kind = shape.type
        if style != default_style or not (kind is None or isinstance(kind, str)) or kind == "object":
            delegate = True
        if where == "query":
            query_names[name.lower()] = name
            enum_schema = shape.items.schema if kind == "array" and shape.items is not None else shape.schema
            values = [v for v in enum_schema.get("enum", []) if isinstance(v, str)]
            if values:
                query_enums[name] = {v.lower(): v for v in values}
            if kind in SCALARS:
                single.add(name)
        params.append(
            ParamPlan(
                name=name,
                location=where,
                required=bool(param.get("required", False)),
                array=kind == "array",
                explode=explode,
                shape=shape,
                allow_empty=bool(param.get("allowEmptyValue", False)),
            )
        )
    body: BodyPlan | None = None
    base = f"/paths/{escape(op.template)}/{method}"
    if "requestBody" in op.spec:
        request_body, body_at = resolve_at(document, op.spec["requestBody"], f"{base}/requestBody")
        body = BodyPlan(
            required=bool(request_body.get("required", False)),
            media=_media(schemas, document, request_body.get("content", {}), f"{body_at}/content"),
        )
    responses: dict[str, ResponsePlan] = {}
    for code, response in op.spec.get("responses", {}).items():
        found, at = resolve_at(document, response, f"{base}/responses/{escape(str(code))}")
        headers = []
        for name, header in found.get("headers", {}).items():
            header, header_at = resolve_at(document, header, f"{at}/headers/{escape(name)}")
            usable = "schema" in header and "content" not in header
            header_shape = schemas.shape(header["schema"], f"{header_at}/schema") if usable else None
            headers.append(HeaderPlan(str(name), bool(header.get("required", False)), header_shape))
        responses[str(code)] = ResponsePlan(
            media=_media(schemas, document, found.get("content", {}), f"{at}/content"),
            headers=headers,
            has_content="content" in found,
        )
    return OperationPlan(
        op,
        params,
        query_names,
        query_enums,
        frozenset(single),
        body,
        responses,
        delegate,
        header_names=tuple(p.name.lower() for p in params if p.location == "header"),
        reads_cookies=any(p.location == "cookie" for p in params),
    )


def _media(schemas: SchemaSet, document: dict[str, Any], content: dict[str, Any], at: str) -> dict[str, MediaPlan]:
    found: dict[str, MediaPlan] = {}
    for key, media in content.items():
        media_at = f"{at}/{escape(key)}"
        shape = schemas.shape(media["schema"], f"{media_at}/schema") if "schema" in media else None
        found[key] = MediaPlan(key, shape)
    return found


def _remember(param: ParamPlan, key: Any, value: Any) -> None:
    """Keep a parameter's accepted value for the next request that sends the same (see `ParamPlan.known`)."""
    if isinstance(value, list):
        if not all(isinstance(item, IMMUTABLE) for item in value):
            return
        kept: tuple[bool, Any] = (True, tuple(value))
    elif isinstance(value, IMMUTABLE):
        kept = (False, value)
    else:
        return
    if len(param.known) >= KNOWN_VALUES:
        param.known.clear()
    param.known[key] = kept
