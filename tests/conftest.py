from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from instancemock.app import create_app

from support import MakeClient, settings

pytest_plugins = ["pytester"]  # the pytest plugin's own tests (tests/test_pytest_plugin.py)


@pytest.fixture
def make_client(aiohttp_client: Any) -> MakeClient:
    """make_client(**settings overrides) -> a client of a fresh, strict, seeded server."""

    async def make(**overrides: Any) -> TestClient:
        return await aiohttp_client(create_app(settings(**overrides)))

    return make


@pytest.fixture
async def client(make_client: MakeClient) -> TestClient:
    """A fresh strict server with the default settings (seed 7, clock at support.NOW)."""
    return await make_client()
