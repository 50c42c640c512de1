"""Media types the validator must understand beyond openapi-core's defaults."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from instancemock.world import text
from instancemock.world.text import check_text

PROBLEM_JSON = "application/problem+json"


def safe_json_loads(value: bytes, **parameters: str) -> Any:
    """json.loads that fails as a *value* error on hostile input.

    A 50,000-deep array makes the stdlib raise RecursionError, which openapi-core does not treat
    as a bad body; turning it into ValueError makes it a clean 400 instead of a 500. A string with
    a lone surrogate is refused here too (`LoneSurrogate`, a ValueError naming the field).
    """
    try:
        found = text.loads(value)  # a large body in small steps: it may be parsed beside the event loop
    except RecursionError as error:
        raise ValueError("JSON nested too deeply") from error
    check_text(value if isinstance(value, bytes) else str(value).encode("utf-8", "surrogatepass"), found)
    return found


def problem_json_deserializer(value: bytes, **parameters: str) -> Any:
    return safe_json_loads(value)


JSON_DESERIALIZERS: dict[str, Callable[[bytes], Any]] = {
    "application/json": safe_json_loads,
    "text/json": safe_json_loads,  # JSON under its older media type (Barium's `jsontext=true`)
    PROBLEM_JSON: problem_json_deserializer,
}
