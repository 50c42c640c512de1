"""/__admin is open on loopback and needs a token anywhere else (given, or generated and printed)."""

from __future__ import annotations

from typing import Any

import pytest

from instancemock.app import create_app, is_loopback
from instancemock.core.context import STATE
from instancemock.settings import build, from_env

from support import ADMIN, assert_conforms, settings

SECRET = "s3cret-admin-token-42"

GUARDED = [
    ("GET", "/__admin/faults"),
    ("POST", "/__admin/faults"),
    ("DELETE", "/__admin/faults"),
    ("GET", "/__admin/requests"),
    ("GET", "/__admin/requests/count"),
    ("DELETE", "/__admin/requests"),
    ("POST", "/__admin/reset"),
]


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "127.0.0.2"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "", "192.168.1.20", "mock.example.com"])
def test_other_hosts_are_not_loopback(host: str) -> None:
    assert not is_loopback(host)


async def test_on_loopback_the_admin_api_is_open(aiohttp_client: Any) -> None:
    client = await aiohttp_client(create_app(settings(host="127.0.0.1")))
    assert client.app[STATE].settings.admin_token is None
    response = await client.get("/__admin/faults")
    assert response.status == 200


async def test_off_loopback_a_token_is_generated_printed_and_required(
    aiohttp_client: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    app = create_app(settings(host="0.0.0.0"))
    token = app[STATE].settings.admin_token
    assert token and token in capsys.readouterr().out
    client = await aiohttp_client(app)
    rule = {"status": 503, "api": "barium"}
    for method, path in GUARDED:
        refused = await client.request(method, path, json=rule if method == "POST" and "faults" in path else None)
        assert refused.status == 401, (method, path)
        await assert_conforms(ADMIN, refused)
    wrong = await client.get("/__admin/requests", headers={"Authorization": "Bearer nope"})
    assert wrong.status == 401
    bearer = await client.post("/__admin/faults", json=rule, headers={"Authorization": f"Bearer {token}"})
    assert bearer.status == 201
    header = await client.get("/__admin/faults", headers={"X-Admin-Token": token})
    assert header.status == 200 and len((await header.json())["rules"]) == 1
    # health and specs stay open (their operations declare `security: []`): probes need no secret
    assert (await client.get("/__admin/health")).status == 200
    assert (await client.get("/__admin/specs/barium")).status == 200


async def test_a_given_admin_token_is_used_as_is(aiohttp_client: Any, capsys: pytest.CaptureFixture[str]) -> None:
    client = await aiohttp_client(create_app(settings(host="0.0.0.0", admin_token=SECRET)))
    assert SECRET not in capsys.readouterr().out
    assert (await client.get("/__admin/requests")).status == 401
    response = await client.get("/__admin/requests", headers={"Authorization": f"Bearer {SECRET}"})
    assert response.status == 200


async def test_the_admin_token_is_never_journaled(aiohttp_client: Any) -> None:
    client = await aiohttp_client(create_app(settings(host="0.0.0.0", admin_token=SECRET)))
    auth = {"Authorization": f"Bearer {SECRET}"}
    await client.get("/__admin/faults", headers={"X-Admin-Token": SECRET})
    text = await (await client.get("/__admin/requests", params={"api": "admin"}, headers=auth)).text()
    assert SECRET not in text and "[redacted]" in text


@pytest.mark.parametrize("token", ["", "   ", "short-token"])
def test_an_empty_or_short_admin_token_stops_start_up(token: str) -> None:
    """`--admin-token ''` used to leave /__admin open on every interface, without a word."""
    with pytest.raises(ValueError, match="at least 16 characters"):
        create_app(settings(host="0.0.0.0", admin_token=token))
    with pytest.raises(ValueError, match="at least 16 characters"):
        create_app(settings(host="127.0.0.1", admin_token=token))


async def test_an_empty_admin_token_from_the_environment_leaves_admin_closed(
    aiohttp_client: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """`INSTANCEMOCK_ADMIN_TOKEN=` is unset, as every empty variable (docker-compose.yml passes it
    so): off loopback a token is generated and required, the API is never left open."""
    configured = build(from_env({"INSTANCEMOCK_ADMIN_TOKEN": "", "INSTANCEMOCK_HOST": "0.0.0.0"}))
    app = create_app(configured)
    token = app[STATE].settings.admin_token
    assert token is not None and len(token) >= 16 and token in capsys.readouterr().out
    client = await aiohttp_client(app)
    assert (await client.get("/__admin/faults")).status == 401
