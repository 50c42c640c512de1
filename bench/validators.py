"""Which schema engine the compiled operations use, by measurement (bench/README.md has the figures).

For a few requests of the real specs, the time of one request check three ways: openapi-core as
the server used it before compiled plans (`core/oracle.py`), the compiled plan
(`core/validation.py`), and the schema step alone with each candidate engine compiled once:
jsonschema-rs, jsonschema (the validator class openapi-core uses, built once) and fastjsonschema
(which compiles Draft 7 only: it does not know 2020-12's `dependentRequired`, `prefixItems`,
`$defs` or `unevaluated*`, so it could not be the engine whatever its speed).

    .venv/bin/python bench/validators.py            # about 30 s
"""

from __future__ import annotations

import json
import sys
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import fastjsonschema
import jsonschema_rs
from openapi_schema_validator import OAS30ReadValidator, OAS31Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from instancemock.core import oracle, validation

from support import APIS

SPEC = "urn:instancemock:spec"


def per_call(function: Callable[[], Any], budget: float = 1.0) -> float:
    """Microseconds per call: the best of 3 runs sized to about `budget` seconds."""
    function()
    number = max(1, int(budget / max(timeit.timeit(function, number=1), 1e-7) / 3))
    return min(timeit.repeat(function, number=number, repeat=3)) / number * 1e6


def fields_mappings(count: int) -> bytes:
    mappings = [{"fieldname": f"field{i}", "text": f"value {i}", "value": f"value {i}"} for i in range(count)]
    return json.dumps({"processName": "training-approval-request", "FieldsMappings": mappings}).encode()


def request_cases() -> list[tuple[str, str, str, dict[str, Any]]]:
    query = [("org", "ttd"), ("size", "10"), ("lastChanged", "gt:2025-01-01T00:00:00Z")]
    return [
        ("barium-list", "barium", "listInstances", {"query": [("Status", "active"), ("Max", "10")]}),
        ("invalid-barium", "barium", "listInstances", {"query": [("Status", "active"), ("Max", "abc")]}),
        ("storage-query", "altinn-storage", "queryInstances", {"query": query}),
        ("kianda-create, 10 FieldsMappings", "kianda", "createInstance", {"body": fields_mappings(10)}),
        ("kianda-create, 1,000 FieldsMappings", "kianda", "createInstance", {"body": fields_mappings(1000)}),
        (
            "app-create",
            "altinn-app",
            "createInstanceSimplified",
            {
                "path_params": {"org": "ttd", "app": "soknad-tilskudd"},
                "body": b'{"instanceOwner":{"partyId":"50001001"}}',
            },
        ),
    ]


def main() -> None:
    print("| request | openapi-core (before) µs | compiled plan µs | speed-up |")
    print("|---|---:|---:|---:|")
    for label, api_name, operation_id, given in request_cases():
        api = APIS[api_name]
        op = api.operation(operation_id)
        request = {
            "path_params": given.get("path_params", {}),
            "query": given.get("query", []),
            "headers": [],
            "cookies": {},
            "body": given.get("body", b""),
            "content_type": "application/json" if "body" in given else "",
        }
        before = per_call(lambda api=api, op=op, request=request: oracle.check_request(api, op, **request))
        after = per_call(lambda api=api, op=op, request=request: validation.check_request(api, op, **request))
        print(f"| {label} | {before:,.1f} | {after:,.1f} | {before / after:,.0f}x |")

    print()
    print("| schema step alone, compiled once | jsonschema-rs µs | jsonschema µs | fastjsonschema (Draft 7) µs |")
    print("|---|---:|---:|---:|")
    kianda = APIS["kianda"]
    document = json.loads(kianda.validation_text)
    pointer = "/paths/~1api~1instances~1create/post/requestBody/content/application~1json/schema"
    ref = {"$ref": f"{SPEC}#{quote(pointer, safe='/~')}"}
    fast = jsonschema_rs.validator_for(ref, registry=jsonschema_rs.Registry([(SPEC, document)]))
    registry: Registry[Any] = Registry().with_resource(SPEC, Resource.from_contents(document, DRAFT202012)).crawl()
    full = OAS31Validator(ref, registry=registry, format_checker=OAS30ReadValidator.FORMAT_CHECKER)
    draft7 = fastjsonschema.compile({"$ref": f"#{pointer}", **{k: document[k] for k in ("paths", "components")}})
    for count in (10, 1000):
        value = json.loads(fields_mappings(count))
        figures = [per_call(lambda v=value: fast.is_valid(v)), per_call(lambda v=value: full.is_valid(v))]
        figures.append(per_call(lambda v=value: draft7(v)))
        print(f"| Kianda create body, {count:,} FieldsMappings | " + " | ".join(f"{f:,.1f}" for f in figures) + " |")


if __name__ == "__main__":
    main()
