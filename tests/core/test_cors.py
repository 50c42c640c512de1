"""A browser front end on another origin can call every API: preflights pass, headers are exposed."""

from __future__ import annotations

from support import MakeClient

ORIGIN = "http://localhost:5173"


async def test_preflight_is_answered_without_credentials(make_client: MakeClient) -> None:
    client = await make_client()
    response = await client.options(
        "/kianda/api/instances/create",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert response.status == 204
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert response.headers["Access-Control-Allow-Headers"] == "authorization, content-type"


async def test_answers_carry_cors_headers_and_expose_paging_headers(make_client: MakeClient) -> None:
    client = await make_client()
    response = await client.get("/kianda/api/instances", headers={"Origin": ORIGIN})
    assert response.status == 401  # still the platform's own auth
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Total-Items" in response.headers["Access-Control-Expose-Headers"]


async def test_an_origin_outside_the_list_gets_no_cors_headers(make_client: MakeClient) -> None:
    client = await make_client(cors_origins=("https://app.example",))
    response = await client.get("/barium/api/v1.1/Apps", headers={"Origin": ORIGIN})
    assert "Access-Control-Allow-Origin" not in response.headers
    allowed = await client.get("/barium/api/v1.1/Apps", headers={"Origin": "https://app.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example"
