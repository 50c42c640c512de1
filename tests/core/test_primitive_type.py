"""`primitive_type` answers as openapi-core's type checker does (core/schemas.py): its shortcut for
strings, booleans, nulls, lists and dicts gives the checker's first match in the schema's order."""

from __future__ import annotations

from typing import Any

import pytest

from instancemock.core.schemas import ANY_TYPE, TYPES, SchemaSet, primitive_type

TYPE_LISTS: list[Any] = [
    ["string", "number", "boolean", "null"],
    ["integer", "number"],
    ["number", "integer", "null"],
    ["array", "null"],
    ["object", "string"],
    ["boolean"],
    None,  # no type: every type, in openapi-core's order
]
VALUES: list[Any] = ["x", "", True, False, None, 0, 3, 2.0, 2.5, [], [1], {}, {"a": 1}]


def by_checker(types: list[str] | None, value: Any) -> str | None:
    return next((t for t in (types if types is not None else ANY_TYPE) if TYPES.is_type(value, t)), None)


@pytest.mark.parametrize("types", TYPE_LISTS, ids=str)
def test_the_shortcut_agrees_with_the_type_checker(types: list[str] | None) -> None:
    schema: dict[str, Any] = {"components": {"schemas": {"S": {} if types is None else {"type": types}}}}
    shape = SchemaSet(schema).shape(schema["components"]["schemas"]["S"], "/components/schemas/S")
    for value in VALUES:
        assert primitive_type(shape, value) == by_checker(types, value), value
