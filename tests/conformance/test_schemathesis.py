"""Generated conformance: schemathesis against each spec, on a real strict server.

Every phase runs (spec examples, coverage of each schema's edges, random fuzzing, stateful
chains along the specs' links and the ones schemathesis infers from `Location` headers and
ids), in both modes: valid requests must be answered as the spec says, and invalid ones must
get a 4xx. With `--strict` a response that breaks its own spec is a 500, so
`not_a_server_error` also catches any lie about the contract.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conformance_support import Server, auth_headers, start_server, stop_server

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
    ]
)
SEED = 20260101
EXAMPLES = 10  # per operation and phase: the whole default run stays near two minutes on two cores
SOAK_EXAMPLES = 300
ADMIN_TOKEN = "conformance-admin-token"  # the admin spec declares its token, so the run enforces it


def schemathesis(
    server: Server, api: str, examples: int, workdir: Path, headers: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        server.url(f"/__admin/specs/{api}"),
        "--checks",
        CHECKS,
        "--mode",
        "all",
        "--max-examples",
        str(examples),
        "--seed",
        str(SEED),
        "--workers",
        "1",  # hypothesis' lambda descriptions are not thread-safe: two workers now and then crash it
        "--request-timeout",
        "20",
        "--no-color",
        "--header",
        f"X-Mock-Sandbox: schemathesis-{api}",  # a sandbox of its own: nothing it deletes is missed elsewhere
    ]
    for name, value in headers.items():
        command += ["--header", f"{name}: {value}"]
    environment = {**os.environ, "SCHEMATHESIS_HOOKS": "", "NO_COLOR": "1"}
    return subprocess.run(command, capture_output=True, text=True, cwd=workdir, env=environment, timeout=900)


def assert_conforms(server: Server, api: str, examples: int, workdir: Path) -> None:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"} if api == "admin" else auth_headers(server, api)
    result = schemathesis(server, api, examples, workdir, headers)
    assert result.returncode == 0, f"schemathesis found problems in {api}:\n{result.stdout}\n{result.stderr}"
    assert server.healthy()


PLATFORM_APIS = [
    "barium",
    "altinn-storage",
    "kianda",
    "altinn-app",
]


@pytest.mark.parametrize("api", PLATFORM_APIS)
def test_platform_api_conforms_to_its_spec(server: Server, api: str, tmp_path: Path) -> None:
    assert_conforms(server, api, EXAMPLES, tmp_path)


def test_admin_api_conforms_to_its_spec(tmp_path: Path) -> None:
    """On a server of its own: generated resets, state loads and fault rules would upset the others."""
    own = start_server("--admin-token", ADMIN_TOKEN)
    try:
        assert_conforms(own, "admin", EXAMPLES, tmp_path)
    finally:
        stop_server(own)


@pytest.mark.soak
@pytest.mark.parametrize("api", ["barium", "altinn-storage", "kianda", "altinn-app"])
def test_soak_platform_api(server: Server, api: str, tmp_path: Path) -> None:
    assert_conforms(server, api, SOAK_EXAMPLES, tmp_path)


@pytest.mark.soak
def test_soak_admin_api(tmp_path: Path) -> None:
    own = start_server("--admin-token", ADMIN_TOKEN)
    try:
        assert_conforms(own, "admin", SOAK_EXAMPLES, tmp_path)
    finally:
        stop_server(own)
