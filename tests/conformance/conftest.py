"""The session's running server (see conformance_support.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conformance_support import Server, start_server, stop_server


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    """One strict server for the whole session; tests keep apart by sandbox (X-Mock-Sandbox)."""
    running = start_server()
    try:
        yield running
    finally:
        stop_server(running)
