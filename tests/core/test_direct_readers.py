"""Which schemas get a direct reader (core/schemas.py `direct_reader`), and that what it makes of a
valid body is what renaming and unmarshalling make of it: same keys, same order, same values."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from instancemock.core.schemas import NotDirect, SchemaSet, Shape, canonical, direct_reader, unmarshal

MAPPING = {
    "type": "object",
    "required": ["fieldname"],
    "properties": {
        "fieldname": {"type": "string", "minLength": 1},
        "text": {"type": ["string", "number", "boolean", "null"]},
        "value": {"type": ["string", "number", "boolean", "null"]},
    },
}
SCHEMAS: dict[str, Any] = {
    "Mapping": MAPPING,
    "Body": {
        "type": "object",
        "properties": {
            "Version": {"oneOf": [{"type": "string", "pattern": "^[0-9]+\\.[0-9]+$"}, {"type": "null"}]},
            "Status": {"type": ["string", "null"]},
            "Mappings": {"type": ["array", "null"], "items": {"$ref": "#/components/schemas/Mapping"}},
        },
    },
    "Tree": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "children": {"type": "array", "items": {"$ref": "#/components/schemas/Tree"}},
        },
    },
    "Defaulted": {"type": "object", "properties": {"size": {"type": "integer", "default": 10}}},
    "When": {"type": "object", "properties": {"at": {"type": "string", "format": "date-time"}}},
    "Branches": {
        "type": "object",
        "oneOf": [{"properties": {"a": {"type": "string"}}}, {"properties": {"b": {"type": "string"}}}],
    },
    "Free": {"type": "object"},
}


def shape(name: str) -> Shape:
    schemas = SchemaSet({"components": {"schemas": SCHEMAS}})
    found = schemas.shape(SCHEMAS[name], f"/components/schemas/{name}")
    schemas.finish()
    return found


@pytest.mark.parametrize("name", ["Mapping", "Body", "Free"])
def test_objects_and_arrays_of_primitives_are_read_directly(name: str) -> None:
    assert direct_reader(shape(name)) is not None


@pytest.mark.parametrize(
    "name",
    [
        "Tree",  # recursive: compiling it must end, and leave it to the general path
        "Defaulted",  # unmarshalling adds the default
        "When",  # a date-time becomes a datetime
        "Branches",  # the branch that fits decides the properties
    ],
)
def test_what_unmarshalling_would_change_is_left_to_the_general_path(name: str) -> None:
    assert direct_reader(shape(name)) is None


def test_a_key_not_declared_as_sent_is_not_read_directly() -> None:
    reader = direct_reader(shape("Body"))
    assert reader is not None
    for value in ({"version": "1.0"}, {"Mappings": [{"fieldname": "a", "Text": "x"}]}, {"Other": 1}):
        with pytest.raises(NotDirect):
            reader(value)


def general(found: Shape, value: Any) -> Any:
    renamed = [False]
    renamed_value = canonical(found, value, renamed)
    assert not renamed[0]
    return unmarshal(found, renamed_value)


PRIMITIVE = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=4)
MAPPINGS = st.lists(
    st.fixed_dictionaries(
        {"fieldname": st.text(min_size=1, max_size=4)}, optional={"text": PRIMITIVE, "value": PRIMITIVE}
    ),
    max_size=3,
)
BODIES = st.fixed_dictionaries(
    {},
    optional={
        "Version": st.sampled_from(["1.0", "20.0", None]),
        "Status": st.none() | st.text(max_size=4),
        "Mappings": st.none() | MAPPINGS,
    },
)


@settings(max_examples=60, deadline=None, database=None)
@given(value=BODIES, order_seed=st.randoms(use_true_random=False))
def test_a_valid_body_read_directly_is_what_the_general_path_makes_of_it(
    value: dict[str, Any], order_seed: Any
) -> None:
    found = shape("Body")
    keys = list(value)
    order_seed.shuffle(keys)  # any order sent; the declared order comes back
    sent = {key: value[key] for key in keys}
    assert found.check.vouches(sent)
    reader = direct_reader(found)
    assert reader is not None
    assert json.dumps(reader(sent)) == json.dumps(general(found, sent))
