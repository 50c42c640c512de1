"""How query, header and form values become booleans: the way ASP.NET binds them.

openapi-core reads `1`, `yes`, `on`, `t` (and their opposites) as booleans. The platforms are all
ASP.NET, whose model binding uses `bool.Parse`: `true` or `false` in any case, nothing else, so
`?test=1` or `webTicket=0` is a 400 there and must be one here too.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from openapi_core.casting.schemas import oas31_casters_dict
from openapi_core.casting.schemas.casters import AnyCaster, BooleanCaster, PrimitiveCaster, TypesCaster
from openapi_core.casting.schemas.factories import SchemaCastersFactory
from openapi_core.validation.schemas import oas31_schema_validators_factory

DOTNET_BOOLEANS = {"true": True, "false": False}


class DotNetBooleanCaster(BooleanCaster):
    def validate(self, value: Any) -> None:
        if isinstance(value, bool):
            return
        if not isinstance(value, str) or value.strip().lower() not in DOTNET_BOOLEANS:
            raise ValueError("not a boolean: 'true' or 'false' only")

    def cast(self, value: str | bytes) -> bool:
        return value if isinstance(value, bool) else DOTNET_BOOLEANS[str(value).strip().lower()]


SCHEMA_CASTERS = SchemaCastersFactory(
    oas31_schema_validators_factory,
    TypesCaster(OrderedDict({**oas31_casters_dict, "boolean": DotNetBooleanCaster}), AnyCaster, multi=PrimitiveCaster),
)
