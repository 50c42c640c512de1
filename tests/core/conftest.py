"""Fixtures of the proxy tests (tests/core/test_proxy.py, tests/core/test_record.py): the "real service"."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import AsyncIterator, Iterator

import pytest
from aiohttp.test_utils import TestServer
from upstream_support import MODULE, PLUGIN, SPEC, start_upstream


@pytest.fixture(scope="session")
def drifty_package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The test-only platform's package, importable by name for the whole session."""
    root = tmp_path_factory.mktemp("drifty")
    package = root / MODULE
    package.mkdir()
    (package / "drifty.yaml").write_text(textwrap.dedent(SPEC), encoding="utf-8")
    (package / "__init__.py").write_text(PLUGIN, encoding="utf-8")
    sys.path.insert(0, str(root))
    try:
        yield MODULE
    finally:
        sys.path.remove(str(root))
        sys.modules.pop(MODULE, None)


@pytest.fixture
async def upstream(drifty_package: str) -> AsyncIterator[TestServer]:
    """The "real service" on a port the OS chose, for one test."""
    server = await start_upstream()
    try:
        yield server
    finally:
        await server.close()
