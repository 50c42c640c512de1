"""Route matching as ASP.NET does it: ASCII-only case folding, and route constraints that also decide `Allow`."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from instancemock.core.routing import Miss, Route, Router, fold

from support import ALTINN_APP, APIS, BARIUM, assert_conforms, barium_headers, kari_headers

APP = "/altinn/ttd/soknad-tilskudd/instances"
GUID = "6f1c2a9e-3b7d-4c52-9a1e-2d8f0b7c4e11"
ROUTER = Router(list(APIS.values()))


def test_case_is_folded_for_ascii_letters_only() -> None:
    assert fold("KiAnDa") == "kianda"
    assert fold("\u212aianda") == "\u212aianda"  # the Kelvin sign; str.lower() makes it "k"
    assert fold("ÅRSAK") == "Årsak"


def test_a_unicode_case_variant_of_a_route_is_no_route() -> None:
    found = ROUTER.resolve("GET", "/\u212aianda/api/instances")
    assert isinstance(found, Miss) and found.api is None and not found.allowed


async def test_the_kelvin_sign_does_not_reach_kianda(client: TestClient) -> None:
    assert (await client.get("/KIANDA/api/instances")).status == 401  # ASCII case still folds: Kianda's auth
    response = await client.get("/%E2%84%AAianda/api/instances")
    assert response.status == 404
    assert "Message" not in await response.json()  # not Kianda's shape: no API owns the path


async def test_a_path_aiohttps_router_cannot_match_is_answered_in_the_apis_shape(client: TestClient) -> None:
    """aiohttp's catch-all route does not match a path with a newline in it; its own 404 route then
    passes the pipeline (the app's one middleware), which answers as the owning API answers
    (here Kianda's 401: no token), never with aiohttp's `404: Not Found` text."""
    response = await client.get("/kianda/api/instances/a%0Ab")
    assert response.status == 401
    assert response.content_type == "application/json"
    assert "Message" in await response.json()  # Kianda's error shape, as any other 404 of its paths


@pytest.mark.parametrize(
    ("segment", "matches"),
    [("50001001", True), ("+5", True), ("-1", True), ("2147483648", False), ("5x", False), ("active", False)],
)
def test_int_constraint(segment: str, matches: bool) -> None:
    found = ROUTER.resolve("DELETE", f"{APP}/{segment}/{GUID}")
    assert isinstance(found, Route) is matches


@pytest.mark.parametrize(
    ("segment", "matches"),
    [(GUID, True), (GUID.upper(), True), (GUID.replace("-", ""), False), ("{" + GUID + "}", False)],
)
def test_guid_constraint(segment: str, matches: bool) -> None:
    found = ROUTER.resolve("GET", f"{APP}/50001001/{segment}")
    assert isinstance(found, Route) is matches


async def test_allow_names_only_methods_whose_routes_match(client: TestClient) -> None:
    """`.../{partyId}/active` is GET only: DELETE's route needs a GUID there, so it is no DELETE route."""
    user = await kari_headers(client)
    options = await client.options(f"{APP}/50001001/active", headers=user)
    assert options.status == 405
    assert options.headers["Allow"] == "GET"
    deleted = await client.delete(f"{APP}/50001001/active", headers=user)
    assert deleted.status == 405 and deleted.headers["Allow"] == "GET"
    for method in options.headers["Allow"].split(", "):
        answered = await client.request(method, f"{APP}/50001001/active", headers=user)
        assert answered.status not in (404, 405), method
        await assert_conforms(ALTINN_APP, answered)


async def test_a_segment_breaking_a_constraint_is_a_404_before_auth(client: TestClient) -> None:
    response = await client.get(f"{APP}/abc/{GUID}")
    assert response.status == 404
    assert response.content_type == "application/problem+json"


async def test_a_repeated_ticket_query_parameter_is_refused(client: TestClient) -> None:
    ticket = (await barium_headers(client))["ticket"]
    once = await client.get("/barium/api/v1.1/Apps", params={"ticket": ticket})
    assert once.status == 200
    twice = await client.get(f"/barium/api/v1.1/Apps?ticket={ticket}&Ticket={ticket}")
    assert twice.status == 400
    body = await twice.json()
    assert body["errorData"]["Violations"][0]["field"] == "ticket"
    await assert_conforms(BARIUM, twice)
    both = await client.get(f"/barium/api/v1.1/Apps?ticket={ticket}&ticket=other", headers={"ticket": ticket})
    assert both.status == 400
