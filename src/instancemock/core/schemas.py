"""The schemas of one spec, compiled once: a verdict, the messages, and openapi-core's value rules.

openapi-core (kept as the reference, `core/oracle.py`) rebuilds a validator, a caster and an
unmarshaller for every parameter of every request, resolving `$ref`s through `SchemaPath`
accessors each time. Here each schema is compiled when the spec is loaded:

- `Check`: the verdict comes from jsonschema-rs (a Rust validator compiled once per schema, ~1 µs
  for a small value); when it says no, jsonschema (the library openapi-core itself validates with,
  same validator class and format checker) decides and words the messages, so a rejection always
  reads as it did, and a value jsonschema-rs is stricter about (Python's `$` before a final newline,
  NaN) is still accepted. Formats are checked by jsonschema's own checkers in both.
- `Shape`: one schema node with its `$ref`s resolved, for the three things openapi-core does to
  values besides validating them: casting query and form strings (`cast`), renaming JSON keys to
  the declared casing (`canonical`), and unmarshalling (`unmarshal`: `date-time` strings become
  datetimes, `uuid` strings UUIDs, missing properties take their defaults, objects list their
  declared properties first). These follow openapi-core 0.23's casting/unmarshalling modules rule
  for rule; the differential test (tests/core/test_compiled_vs_openapi_core.py) holds them to it.
  A node under which none of that changes anything is `plain`, and its values pass untouched.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import uuid
from collections.abc import Callable, Iterator
from datetime import date, datetime
from functools import cache
from typing import Any
from urllib.parse import quote

import jsonschema_rs
from isodate import parse_datetime  # type: ignore[import-untyped]
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaError
from jsonschema.protocols import Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from instancemock.core.casting import CastFailed, dotnet_boolean
from instancemock.core.document import resolve_at

SPEC_URI = "urn:instancemock:spec"


@cache
def _oas() -> tuple[Any, Any, Any]:
    """openapi-schema-validator's 3.1 validator, format checker and type checker, imported when the
    first spec is compiled: the import (with jsonschema's and pydantic-settings') is ~0.2 s, and
    the server forks its world-drawing child before it (world/state.py `seed_in_background`),
    which has no use for it. openapi-core checks 3.1 formats with the 3.0 checker
    (openapi_core/validation/schemas/__init__.py), and so does this module."""
    from openapi_schema_validator import OAS30ReadValidator, OAS31Validator

    return OAS31Validator, OAS30ReadValidator.FORMAT_CHECKER, OAS31Validator.TYPE_CHECKER


def _validator(schema: Any, **options: Any) -> Any:
    return _oas()[0](schema, **options)


def __getattr__(name: str) -> Any:
    """`FORMATS` and `TYPES`, made on first use (`_oas`)."""
    if name == "FORMATS":
        return _oas()[1]
    if name == "TYPES":
        return _oas()[2]
    raise AttributeError(name)


def _date(value: str) -> date:
    return datetime.strptime(value, "%Y-%m-%d").date()


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(value)


def _byte(value: str) -> str:
    return str(base64.b64decode(value), "utf8")


# What openapi-core makes of a string of each format (its `oas31_format_unmarshallers`, the 3.0
# ones), written out here: importing anything of openapi-core loads all of it (~0.25 s of CPU at
# start-up), and the server needs it only for what the plans do not compile (`core/oracle.py`,
# imported on first use). tests/core/test_format_unmarshallers.py holds the two tables together.
FORMAT_UNMARSHALLERS: dict[str, Callable[[Any], Any]] = {
    "date": _date,
    "date-time": parse_datetime,
    "binary": bytes,
    "uuid": _uuid,
    "byte": _byte,
}
ANY_TYPE = ("array", "boolean", "integer", "null", "number", "object", "string")  # the order openapi-core tries


class _Format:
    """`format` for jsonschema-rs, judged by jsonschema's checkers, so both engines agree on formats."""

    __slots__ = ("name",)

    def __init__(self, parent: dict[str, Any], value: Any, schema_path: list[str | int]) -> None:
        self.name = str(value)

    def validate(self, instance: Any) -> None:
        if not _oas()[1].conforms(instance, self.name):
            raise ValueError(f"{instance!r} is not a {self.name!r}")


class Check:
    """Does a value validate against one schema; if not, jsonschema's errors."""

    __slots__ = ("_fast", "_full")

    def __init__(self, fast: Any, full: Validator) -> None:
        self._fast = fast
        self._full = full

    def _fast_says_yes(self, value: Any) -> bool:
        try:
            return bool(self._fast.is_valid(value))
        except (ValueError, TypeError, OverflowError):  # a value jsonschema-rs cannot take: jsonschema decides
            return False

    def is_valid(self, value: Any) -> bool:
        return self._fast_says_yes(value) or bool(self._full.is_valid(value))

    def vouches(self, value: Any) -> bool:
        """jsonschema-rs alone says the value is valid (so `errors` would be empty); False: it is not,
        or jsonschema-rs cannot tell, and only `errors` can."""
        return self._fast_says_yes(value)

    def errors(self, value: Any) -> list[SchemaError]:
        """Empty when the value is valid; jsonschema runs only when jsonschema-rs refuses."""
        if self._fast_says_yes(value):
            return []
        return list(self._full.iter_errors(value))


class Shape:
    """One schema node, `$ref`s resolved, with what casting, key renaming and unmarshalling need."""

    __slots__ = (
        "additional",
        "all_of",
        "any_of",
        "by_lower",
        "check",
        "default",
        "flat_keys",
        "flat_object",
        "format",
        "has_default",
        "has_type",
        "item_keys",
        "items",
        "key_props",
        "keys_plain",
        "one_of",
        "plain",
        "pointer",
        "properties",
        "schema",
        "string_formats",
        "type",
    )

    def __init__(self, schema: dict[str, Any], pointer: str, check: Check) -> None:
        self.schema = schema
        self.pointer = pointer
        self.check = check
        self.type: Any = schema.get("type")
        self.has_type = "type" in schema
        self.format: str | None = schema.get("format") if isinstance(schema.get("format"), str) else None
        self.has_default = "default" in schema
        self.default = schema.get("default")
        self.properties: dict[str, Shape] = {}
        self.additional: Shape | None = None  # None: additionalProperties is false
        self.items: Shape | None = None
        self.one_of: list[Shape] = []
        self.any_of: list[Shape] = []
        self.all_of: list[Shape] = []
        self.key_props: dict[str, Shape] = {}  # properties for key renaming, allOf/anyOf/oneOf included
        self.by_lower: dict[str, str] = {}
        self.item_keys: Shape | None = None
        self.plain = False  # unmarshalling changes nothing below this node
        self.keys_plain = False  # key renaming changes nothing below this node
        self.string_formats = True  # a string's format may be unmarshalled (this node's or a branch's)
        self.flat_keys = False  # key renaming below this node's own keys changes nothing
        self.flat_object = False  # an object whose unmarshalling only orders its keys (`_flat`)


class SchemaSet:
    """Every schema of one spec document, compiled on first use and kept by JSON pointer."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self._fast_registry = jsonschema_rs.Registry([(SPEC_URI, document)])
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        # Crawled once here: an uncrawled registry looks the document up again on every `$ref`.
        self._full_registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource).crawl()
        self._checks: dict[str, Check] = {}
        self._shapes: dict[str, Shape] = {}
        self._unfinished: list[Shape] = []
        self.empty = self._new_shape({}, "")  # no schema: anything, untouched
        self.any_value = self._new_shape({"nullable": True}, "")  # openapi-core's free-form property
        self._finish([self.empty, self.any_value])

    def check(self, pointer: str) -> Check:
        found = self._checks.get(pointer)
        if found is None:
            ref = {"$ref": f"{SPEC_URI}#{quote(pointer, safe='/~')}"}
            fast = jsonschema_rs.validator_for(
                ref, registry=self._fast_registry, validate_formats=False, keywords={"format": _Format}
            )
            full = _validator(ref, registry=self._full_registry, format_checker=_oas()[1])
            found = self._checks[pointer] = Check(fast, full)
        return found

    def shape(self, node: Any, pointer: str) -> Shape:
        """The compiled node for the schema `node` found at `pointer` (its `$ref`s followed).

        Call `finish` once every shape is made: it works out key maps and `plain` flags.
        """
        return self._shape(node, pointer, self._unfinished)

    def finish(self) -> None:
        self._finish(self._unfinished)
        self._unfinished = []

    def _new_shape(self, schema: dict[str, Any], pointer: str) -> Shape:
        if pointer:
            return Shape(schema, pointer, self.check(pointer))
        fast = jsonschema_rs.validator_for(schema, validate_formats=False, keywords={"format": _Format})
        return Shape(schema, pointer, Check(fast, _validator(schema, format_checker=_oas()[1])))

    def _shape(self, node: Any, pointer: str, made: list[Shape]) -> Shape:
        schema, pointer = resolve_at(self.document, node, pointer)
        if not isinstance(schema, dict):
            return self.empty  # a boolean schema: nothing to cast, rename or unmarshal
        found = self._shapes.get(pointer)
        if found is not None:
            return found
        shape = self._shapes[pointer] = self._new_shape(schema, pointer)
        made.append(shape)
        for name, sub in schema.get("properties", {}).items():
            shape.properties[name] = self._shape(sub, f"{pointer}/properties/{_escape(name)}", made)
        additional = schema.get("additionalProperties", True)
        if additional is True:
            shape.additional = self.any_value
        elif isinstance(additional, dict):
            shape.additional = self._shape(additional, f"{pointer}/additionalProperties", made)
        if "items" in schema:
            shape.items = self._shape(schema["items"], f"{pointer}/items", made)
        for key, into in (("oneOf", shape.one_of), ("anyOf", shape.any_of), ("allOf", shape.all_of)):
            into += [self._shape(sub, f"{pointer}/{key}/{i}", made) for i, sub in enumerate(schema.get(key, []))]
        return shape

    def _finish(self, made: list[Shape]) -> None:
        """Key maps and the `plain` flags, once the new nodes and everything they reach exist."""
        for shape in made:
            shape.key_props = self._key_props(shape, 0)
            shape.by_lower = {name.lower(): name for name in shape.key_props}
            shape.item_keys = shape.items if shape.items is not None else self.empty
        everything = [*self._shapes.values(), self.empty, self.any_value]
        for shape in everything:
            shape.plain = not (
                (shape.format in FORMAT_UNMARSHALLERS)
                or shape.properties
                or shape.one_of
                or shape.any_of
                or shape.all_of
            )
            shape.keys_plain = not shape.key_props
            shape.string_formats = any(
                s.format in FORMAT_UNMARSHALLERS for s in (shape, *shape.one_of, *shape.any_of, *shape.all_of)
            )
        changed = True
        while changed:  # a fixed point: a node is plain only if everything it reaches is
            changed = False
            for shape in everything:
                below = [*shape.properties.values(), *shape.one_of, *shape.any_of, *shape.all_of]
                below += [s for s in (shape.additional, shape.items) if s is not None]
                if shape.plain and not all(s.plain for s in below):
                    shape.plain = False
                    changed = True
                keys_below = [*shape.key_props.values(), shape.item_keys or self.empty]
                if shape.keys_plain and not all(s.keys_plain for s in keys_below):
                    shape.keys_plain = False
                    changed = True
        for shape in everything:
            shape.flat_keys = all(s.keys_plain for s in shape.key_props.values())
            shape.flat_object = (
                shape.type == "object"
                and not (shape.one_of or shape.any_of or shape.all_of)
                and all(s.plain and not s.has_default for s in shape.properties.values())
                and (shape.additional is None or shape.additional.plain)
            )

    def _key_props(self, shape: Shape, depth: int) -> dict[str, Shape]:
        """Declared properties, looking through allOf/anyOf/oneOf (as `canonical_keys` always did)."""
        if depth > 8:
            return {}
        props = dict(shape.properties)
        for branches in (shape.all_of, shape.any_of, shape.one_of):
            for branch in branches:
                for name, sub in self._key_props(branch, depth + 1).items():
                    props.setdefault(name, sub)
        return props


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


# --- casting: strings from the query, headers, path and forms -------------------------------------


def cast(shape: Shape, value: Any) -> Any:
    """openapi-core's `SchemaCaster.cast`, with ASP.NET's booleans (`core/casting.py`)."""
    if value is None:
        return None
    kind = shape.type
    try:
        if kind is None:
            return _cast_any(shape, value)
        if not isinstance(kind, str) or kind in ("string", "null"):
            return value
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value)
        if kind == "boolean":
            return dotnet_boolean(value)
        if kind == "array":
            if isinstance(value, str | bytes) or not hasattr(value, "__iter__"):
                raise ValueError("not an array format")
            return [cast(shape.items or EMPTY, item) for item in value]
        if kind == "object":
            if not isinstance(value, dict):
                raise ValueError("not an object format")
            for name, sub in shape.properties.items():
                if name in value:
                    value[name] = cast(sub, value[name])
            return value
        return value
    except (ValueError, TypeError) as error:
        raise CastFailed(value, kind) from error


def _cast_any(shape: Shape, value: Any) -> Any:
    for branch in shape.all_of:
        with contextlib.suppress(ValueError, TypeError, CastFailed):
            value = cast(branch, value)
    for branches in (shape.one_of, shape.any_of):
        for branch in branches:
            try:
                return cast(branch, value)
            except (ValueError, TypeError, CastFailed):
                pass
    return value


def _empty() -> Shape:
    # The empty schema accepts everything: jsonschema-rs says yes to every value, and the full
    # validator behind it (any draft's, for `{}`) is never asked; not openapi-schema-validator's,
    # which is imported only when the first spec is compiled (`_oas`).
    shape = Shape({}, "", Check(jsonschema_rs.validator_for({}), Draft202012Validator({})))
    shape.plain = shape.keys_plain = True
    shape.string_formats = False
    return shape


EMPTY = _empty()  # no schema (an array without `items`): anything, untouched


# --- key renaming: JSON bodies ---------------------------------------------------------------------


def canonical(shape: Shape, value: Any, renamed: list[bool], depth: int = 0) -> Any:
    """Keys renamed to the schema's casing (`ProcessName` -> `processName`), recursively.

    Json.NET and System.Text.Json (as ASP.NET configures it) bind property names
    case-insensitively, so a client may send either; validation must see the declared name.
    `renamed[0]` becomes True when a key changed.
    """
    if depth > 32 or shape.keys_plain:
        return value
    if isinstance(value, dict):
        props = shape.key_props
        if shape.flat_keys and value.keys() <= props.keys():
            return value  # every key as declared, nothing below to rename: the value as it is
        out: dict[Any, Any] = {}
        for key, item in value.items():
            name = key if key in props or not isinstance(key, str) else shape.by_lower.get(key.lower(), key)
            if name in out and name != key:
                name = key  # both spellings sent: keep both, let validation complain
            if name != key:
                renamed[0] = True
            sub = props.get(name)
            out[name] = item if sub is None or sub.keys_plain else canonical(sub, item, renamed, depth + 1)
        return out
    if isinstance(value, list):
        items = shape.item_keys
        if items is None or items.keys_plain:
            return value
        return [canonical(items, item, renamed, depth + 1) for item in value]
    return value


# --- unmarshalling ---------------------------------------------------------------------------------


def _format_fits(shape: Shape, value: Any) -> bool:
    formats = _oas()[1]
    return shape.format is None or shape.format not in formats.checkers or formats.conforms(value, shape.format)


# The one JSON type a value of these Python types has (bool is no integer, None only null): for
# them, the first of a schema's types the value has is that one, or none. Ints and floats may be
# "integer" and "number" both, so they go through the type checker in the schema's order.
SOLE_TYPE: dict[type, str] = {str: "string", bool: "boolean", type(None): "null", list: "array", dict: "object"}


def primitive_type(shape: Shape, value: Any) -> str | None:
    """openapi-core's `SchemaValidator.get_primitive_type`."""
    kind = shape.type
    if isinstance(kind, str):
        return kind
    candidates = kind if isinstance(kind, list) else ANY_TYPE
    sole = SOLE_TYPE.get(type(value)) if shape.format is None else None
    if sole is not None:  # a value per request per listed-type node (Kianda's field values): no checker calls
        return sole if sole in candidates else None
    for candidate in candidates:
        if _oas()[2].is_type(value, candidate) and _format_fits(shape, value):
            return str(candidate)
    return None


def _valid_schemas(shape: Shape, value: Any) -> Iterator[Shape]:
    yield shape
    for branch in shape.one_of:
        if branch.check.is_valid(value):
            yield branch
            break
    yield from (branch for branch in shape.any_of if branch.check.is_valid(value))
    yield from (branch for branch in shape.all_of if branch.has_type and branch.check.is_valid(value))


def unmarshal(shape: Shape, value: Any) -> Any:
    """openapi-core's `SchemaUnmarshaller.unmarshal` of a value already found valid."""
    if shape.plain:
        return value
    kind = shape.type if isinstance(shape.type, str) else primitive_type(shape, value)
    if kind is None:
        return None
    if kind == "object":
        typed: Any = _flat(shape, value) if shape.flat_object else _properties(shape, value, schema_only=False)
    elif kind == "array":
        items = shape.items or EMPTY
        typed = value if items.plain else [unmarshal(items, item) for item in value]
    else:
        typed = value
    if typed is None or not shape.string_formats or not isinstance(value, str | bytes):
        return typed  # without a format unmarshaller among the schemas, finding the valid ones changes nothing
    found = next(
        (s.format for s in _valid_schemas(shape, value) if primitive_type(s, value) == "string" and s.format), None
    )
    if found is None or (isinstance(value, bytes) and found not in ("binary", "byte")):
        return typed
    unmarshaller = FORMAT_UNMARSHALLERS.get(found)
    if unmarshaller is None:
        return typed
    try:
        return unmarshaller(typed)
    except (AttributeError, ValueError, TypeError):
        return typed


def _flat(shape: Shape, value: Any) -> dict[str, Any]:
    """`_properties` of a `flat_object`: the declared properties sent, in declared order, then the rest
    (if allowed), all untouched (Kianda's `FieldMapping`, one per field written)."""
    properties = {name: value[name] for name in shape.properties if name in value}
    if shape.additional is not None and len(properties) < len(value):
        for name, item in value.items():
            if name not in properties:
                properties[name] = item
    return properties


def _properties(shape: Shape, value: Any, schema_only: bool) -> dict[str, Any]:
    """openapi-core's `ObjectUnmarshaller._unmarshal_properties`: branches, declared, then the rest."""
    properties: dict[str, Any] = {}
    for branch in shape.one_of:
        if branch.check.is_valid(value):
            properties.update(_properties(branch, value, schema_only=True))
            break
    for branch in shape.any_of:
        if branch.check.is_valid(value):
            properties.update(_properties(branch, value, schema_only=True))
    for branch in shape.all_of:
        if branch.has_type and branch.check.is_valid(value):
            properties.update(_properties(branch, value, schema_only=True))
    for name, sub in shape.properties.items():
        if name in value:
            properties[name] = value[name] if sub.plain else unmarshal(sub, value[name])
        elif sub.has_default:
            properties[name] = unmarshal(sub, copy.deepcopy(sub.default))
    if schema_only or shape.additional is None:
        return properties
    additional = shape.additional
    for name, item in value.items():
        if name not in properties:
            properties[name] = item if additional.plain else unmarshal(additional, item)
    return properties


# --- direct readers: JSON bodies sent as declared ----------------------------------------------------


class NotDirect(Exception):
    """A value a direct reader does not take as it is (a key not declared in that casing): the
    general path (`canonical`, `Check.errors`, `unmarshal`) reads it instead."""


Reader = Callable[[Any], Any]


def direct_reader(shape: Shape) -> Reader | None:
    """`unmarshal(shape, canonical(shape, value))` in one pass, for a value the schema accepts whose
    every key is declared in the casing sent; None: the schema has something it does not compile.

    A client that writes a body as the spec declares it (Kianda's PUT: `Version` and three
    `FieldsMappings`) paid for three walks of it besides the verdict: renaming keys that need no
    renaming, and unmarshalling, which here only puts each object's declared properties in their
    declared order. A direct reader does both at once, for schemas of objects and arrays of
    primitives: no property with a default, no `format` on a container, combinators only where
    they change no value (`inert`: Kianda's `Version`, a pattern or null). It does not validate:
    `Check.vouches` must say yes first (jsonschema-rs's verdict, which the general path trusts
    too), and a key it does not know raises `NotDirect`. The differential test
    (tests/core/test_compiled_vs_openapi_core.py) holds it to the general path and to openapi-core.
    """
    return _DirectCompiler().reader(shape)


def _same(value: Any) -> Any:
    return value


class _DirectCompiler:
    """Compiles `direct_reader`s, each node once; a node met again while its own answer is being
    worked out (a recursive schema) is not compiled, which leaves that body to the general path."""

    def __init__(self) -> None:
        self._inert: dict[int, bool] = {}
        self._readers: dict[int, Reader | None] = {}

    def reader(self, shape: Shape) -> Reader | None:
        return _same if self.inert(shape) else self.container(shape)

    def inert(self, shape: Shape) -> bool:
        """Renaming and unmarshalling give back every valid value as it is (a plain node, or one
        whose combinators declare no properties and no format openapi-core unmarshals)."""
        if shape.plain:
            return True
        key = id(shape)
        if key not in self._inert:
            self._inert[key] = False  # while it is worked out
            below = [*shape.one_of, *shape.any_of, *shape.all_of, *(s for s in (shape.items, shape.additional) if s)]
            self._inert[key] = (
                shape.keys_plain
                and not shape.properties
                and shape.format is None
                and not shape.string_formats
                and all(self.inert(sub) for sub in below)
            )
        return self._inert[key]

    def container(self, shape: Shape) -> Reader | None:
        key = id(shape)
        if key not in self._readers:
            self._readers[key] = None  # while it is worked out
            self._readers[key] = self._compile(shape)
        return self._readers[key]

    def _compile(self, shape: Shape) -> Reader | None:
        """An object's declared properties in declared order (each read by its own reader), an
        array's items read by theirs, anything else as it is."""
        if shape.one_of or shape.any_of or shape.all_of or shape.format is not None:
            return None
        properties: list[tuple[str, Reader | None]] = []
        for name, sub in shape.properties.items():
            if sub.has_default:  # unmarshalling would add it: left to the general path
                return None
            sub_reader = None if self.inert(sub) else self.container(sub)
            if sub_reader is None and not self.inert(sub):
                return None
            properties.append((name, sub_reader))
        items: Reader | None = None
        if shape.items is not None and not self.inert(shape.items):
            items = self.container(shape.items)
            if items is None:
                return None
        declared = frozenset(shape.properties)
        order = tuple(shape.properties)
        untouched = all(sub is None for _, sub in properties)  # the declared order is all there is to do

        def read(value: Any) -> Any:
            # Loops, not comprehensions: a comprehension is a function call of its own (Python 3.11).
            kind = type(value)
            if kind is dict:
                if not value.keys() <= declared:
                    raise NotDirect
                if untouched and (len(value) < 2 or tuple(value) == order):
                    return value  # already what unmarshalling would make of it
                out = {}
                for name, sub in properties:
                    if name in value:
                        out[name] = value[name] if sub is None else sub(value[name])
                return out
            if kind is list and items is not None:
                found = []
                for item in value:
                    found.append(items(item))
                return found
            return value

        return read
