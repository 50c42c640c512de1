"""The shortcuts `unmarshal` and `canonical` take for flat objects and format-less strings
(core/schemas.py) give what the general path gives: same keys, same order, same values."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from instancemock.core.schemas import SchemaSet, _properties, canonical, unmarshal

FLAT = {"type": "object", "properties": {"b": {"type": "string"}, "a": {"type": ["string", "null"]}}}
CLOSED = {**FLAT, "additionalProperties": False}
SPECS: dict[str, dict[str, Any]] = {"Flat": FLAT, "Closed": CLOSED}


def shape_of(name: str) -> Any:
    return compiled({"components": {"schemas": SPECS}}, SPECS[name], f"/components/schemas/{name}")


def compiled(document: dict[str, Any], node: dict[str, Any], pointer: str) -> Any:
    schemas = SchemaSet(document)
    shape = schemas.shape(node, pointer)
    schemas.finish()
    return shape


@pytest.mark.parametrize("name", SPECS)
@pytest.mark.parametrize(
    "value", [{}, {"a": "1"}, {"a": None, "b": "2"}, {"c": 3, "a": "1", "b": "2"}, {"b": "x", "z": 1}]
)
def test_a_flat_object_unmarshals_as_the_general_path_does(name: str, value: dict[str, Any]) -> None:
    shape = shape_of(name)
    assert shape.flat_object
    flat = unmarshal(shape, dict(value))
    general = _properties(shape, dict(value), schema_only=False)
    assert list(flat.items()) == list(general.items())


def test_canonical_keeps_a_dict_whose_keys_are_all_declared_and_renames_the_rest() -> None:
    shape = shape_of("Flat")
    value = {"a": "1", "b": "2"}
    renamed = [False]
    assert canonical(shape, value, renamed) is value and not renamed[0]
    assert canonical(shape, {"A": "1", "b": "2"}, renamed) == {"a": "1", "b": "2"} and renamed[0]


def test_a_format_under_a_branch_is_still_unmarshalled() -> None:
    schema: dict[str, Any] = {"oneOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]}
    without: dict[str, Any] = {"oneOf": [{"type": "string", "pattern": "^[0-9]+$"}, {"type": "null"}]}
    with_format = compiled({"x": schema}, schema, "/x")
    plain_branches = compiled({"y": without}, without, "/y")
    assert with_format.string_formats and not plain_branches.string_formats
    assert isinstance(unmarshal(with_format, "2026-01-01T00:00:00Z"), datetime)
    assert unmarshal(plain_branches, "12") == "12"
