"""How query, header and form values become booleans: the way ASP.NET binds them.

openapi-core reads `1`, `yes`, `on`, `t` (and their opposites) as booleans. The platforms are all
ASP.NET, whose model binding uses `bool.Parse`: `true` or `false` in any case, nothing else, so
`?test=1` or `webTicket=0` is a 400 there and must be one here too.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openapi_core.casting.schemas.factories import SchemaCastersFactory

DOTNET_BOOLEANS = {"true": True, "false": False}


class CastFailed(Exception):
    """A string that does not read as its schema's type (openapi-core's `CastError`, as data)."""

    def __init__(self, value: Any, kind: Any) -> None:
        super().__init__(f"Failed to cast value to {kind} type: {value}")
        self.value = value
        self.type = kind


def dotnet_boolean(value: Any) -> bool:
    """`bool.Parse`: `true` or `false` in any case, with surrounding blanks; a bool stays one."""
    if isinstance(value, bool):
        return value
    if not isinstance(value, str) or value.strip().lower() not in DOTNET_BOOLEANS:
        raise ValueError("not a boolean: 'true' or 'false' only")
    return DOTNET_BOOLEANS[value.strip().lower()]


@cache
def schema_casters() -> SchemaCastersFactory:
    """openapi-core's casters with ASP.NET's booleans, for the reference checks (`core/oracle.py`):
    made on first use, since importing openapi-core loads all of it and the server only needs it
    for what the compiled plans leave to the oracle."""
    from openapi_core.casting.schemas import oas31_casters_dict
    from openapi_core.casting.schemas.casters import AnyCaster, BooleanCaster, PrimitiveCaster, TypesCaster
    from openapi_core.casting.schemas.factories import SchemaCastersFactory
    from openapi_core.validation.schemas import oas31_schema_validators_factory

    class DotNetBooleanCaster(BooleanCaster):
        def validate(self, value: Any) -> None:
            dotnet_boolean(value)

        def cast(self, value: str | bytes) -> bool:
            return dotnet_boolean(value)

    return SchemaCastersFactory(
        oas31_schema_validators_factory,
        TypesCaster(
            OrderedDict({**oas31_casters_dict, "boolean": DotNetBooleanCaster}), AnyCaster, multi=PrimitiveCaster
        ),
    )
