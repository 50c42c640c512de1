"""openapi-core is loaded when the oracle is first needed, not when the server starts (issue 13).

Importing any part of openapi-core loads all of it (~0.25 s of CPU, before the first answer and
before a large world can be made), and the compiled plans answer every request but the few they
leave to the oracle (core/oracle.py). What the plans took from openapi-core at import time, the
format unmarshallers, is written out in core/schemas.py: these tests hold it to openapi-core's own
table, and check that starting the server no longer imports openapi-core.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from typing import Any

import pytest
from openapi_core.unmarshalling.schemas import oas31_format_unmarshallers

from instancemock.core.schemas import FORMAT_UNMARSHALLERS

VALUES: dict[str, list[Any]] = {
    "date": ["2025-01-31", "2025-1-5", "2025-02-30", "31.01.2025", "", "2025-01-31T00:00:00Z"],
    "date-time": [
        "2025-01-31T10:20:30Z",
        "2025-01-31T10:20:30.123456+02:00",
        "2025-01-31T10:20:30",
        "2025-01-31",
        "not a date",
        "",
    ],
    "binary": ["text", ""],
    "uuid": [
        "0f8fad5b-d9cb-469f-a165-70867728950e",
        "0F8FAD5BD9CB469FA16570867728950E",
        "{0f8fad5b-d9cb-469f-a165-70867728950e}",
        uuid.UUID("0f8fad5b-d9cb-469f-a165-70867728950e"),
        "0f8fad5b",
        "",
    ],
    "byte": ["aGVsbG8=", "aGVsbG8", "", "////", "w6k="],
}


def outcome(unmarshal: Any, value: Any) -> tuple[str, Any]:
    try:
        return "value", unmarshal(value)
    except Exception as error:  # both must fail alike: the plans fall back to the string on these
        return "error", type(error).__name__


def test_the_format_unmarshallers_are_openapi_cores() -> None:
    assert set(FORMAT_UNMARSHALLERS) == set(oas31_format_unmarshallers)
    for name, values in VALUES.items():
        for value in values:
            ours, theirs = outcome(FORMAT_UNMARSHALLERS[name], value), outcome(oas31_format_unmarshallers[name], value)
            assert ours == theirs, (name, value)


@pytest.mark.parametrize("module", ["instancemock.app", "instancemock.core.validation", "instancemock.core.stubs"])
def test_starting_the_server_does_not_import_openapi_core(module: str) -> None:
    code = f"import sys, {module}; print(sorted(m for m in sys.modules if m.startswith('openapi_core')))"
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]"


SERVE = """
import asyncio, sys
from aiohttp.test_utils import TestClient, TestServer
from instancemock.app import create_app
from instancemock.settings import Settings

async def main():
    async with TestClient(TestServer(create_app(Settings(seed=1)))) as client:
        for path in ("/__admin/health", "/kianda/api/instances", "/altinn/storage/api/v1/instances?org=ttd"):
            response = await client.get(path)
            assert response.status < 500, (path, response.status)
    print(sorted(m for m in sys.modules if m.startswith("openapi_core")))

asyncio.run(main())
"""


def test_requests_the_plans_answer_do_not_import_openapi_core() -> None:
    """A request whose checks the plans compile (every one above, valid or refused) never loads
    the oracle: only a delegated request does (core/validation.py)."""
    found = subprocess.run([sys.executable, "-c", SERVE], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]"
