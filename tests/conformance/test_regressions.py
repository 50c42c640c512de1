"""Problems schemathesis and the hostile-input tables found, each pinned by the request that showed it."""

from __future__ import annotations

import pytest

from support import ALTINN_STORAGE, BARIUM, BARIUM_LOGIN, KIANDA, MakeClient, assert_conforms, ttd_headers


@pytest.mark.parametrize("value", ["0", "1", "yes", "on", "t", "null"])
async def test_a_boolean_is_true_or_false_only_as_asp_net_binds_it(make_client: MakeClient, value: str) -> None:
    """schemathesis: `webTicket=0` was read as false (openapi-core's lenient casting) and logged in."""
    client = await make_client()
    response = await client.post("/barium/api/v1.1/Authenticate", data={**BARIUM_LOGIN, "webTicket": value})
    assert response.status == 400, await response.text()
    body = await response.json()
    assert body["success"] is False and body["errorCode"] == 400
    await assert_conforms(BARIUM, response)


@pytest.mark.parametrize("value", ["true", "False", " TRUE "])
async def test_true_and_false_bind_in_any_case(make_client: MakeClient, value: str) -> None:
    client = await make_client()
    response = await client.post("/barium/api/v1.1/Authenticate", data={**BARIUM_LOGIN, "webTicket": value})
    assert response.status == 200, await response.text()
    asked = value.strip().lower() == "true"
    assert response.content_type == ("application/json" if asked else "text/plain")
    assert asked is ("WebTicket" in (await response.json() if asked else {}))


async def test_an_unbindable_query_on_token_exchange_is_a_documented_problem(make_client: MakeClient) -> None:
    """schemathesis: the 400 ProblemDetails of `?test=null` was sent but not in the spec."""
    client = await make_client()
    response = await client.get(
        "/altinn/authentication/api/v1/exchange/maskinporten",
        params={"test": "null"},
        headers={"Authorization": "Bearer x.y.z"},
    )
    assert response.status == 400
    assert response.content_type == "application/problem+json"
    await assert_conforms(ALTINN_STORAGE, response)


async def test_a_one_value_query_parameter_given_twice_is_refused(make_client: MakeClient) -> None:
    """Hostile table: `?Max=1&max=2` was answered with one of them picked silently."""
    client = await make_client()
    login = await client.post("/barium/api/v1.1/Authenticate", data=BARIUM_LOGIN)
    ticket = {"ticket": await login.text()}
    response = await client.get("/barium/api/v1.1/Instances?Max=1&max=2", headers=ticket)
    assert response.status == 400
    assert "Max" in (await response.json())["errorMessage"]
    single = await client.get("/barium/api/v1.1/Instances?Max=1", headers=ticket)
    assert single.status == 200


async def test_storage_refuses_a_party_id_no_int_can_hold(make_client: MakeClient) -> None:
    """Hostile table: a 100,000-digit `instanceOwner.partyId` created an instance (201)."""
    client = await make_client()
    headers = await ttd_headers(client)
    url = "/altinn/storage/api/v1/instances?appId=ttd/soknad-tilskudd"
    for party in ("5" * 100_000, "99999999999", 2**31):
        response = await client.post(url, json={"instanceOwner": {"partyId": party}}, headers=headers)
        assert response.status == 400, await response.text()
        await assert_conforms(ALTINN_STORAGE, response)
    fine = await client.post(url, json={"instanceOwner": {"partyId": "50001001"}}, headers=headers)
    assert fine.status == 201, await fine.text()


async def test_storage_refuses_an_owner_it_could_not_answer_with(make_client: MakeClient) -> None:
    """schemathesis: a template with personNumber '\\x1d...' was stored, then its 201 broke the spec (500)."""
    client = await make_client()
    headers = await ttd_headers(client)
    url = "/altinn/storage/api/v1/instances?appId=ttd/melding"
    owner = {"partyId": "691", "personNumber": "\U0008e009P"}
    response = await client.post(url, json={"instanceOwner": owner}, headers=headers)
    assert response.status == 400, await response.text()
    await assert_conforms(ALTINN_STORAGE, response)


async def test_a_guid_that_is_no_guid_is_a_404_in_the_platform_shape(make_client: MakeClient) -> None:
    """A segment breaking its route constraint (`x-route-constraint: guid`) matches no route, as in
    ASP.NET: a 404 before authentication, in Altinn's ProblemDetails shape, never a 500."""
    client = await make_client()
    response = await client.get("/altinn/storage/api/v1/instances/null%2Cnull", headers={"Authorization": "Bearer x"})
    assert response.status == 404
    assert response.content_type == "application/problem+json"
    assert (await response.json())["status"] == 404


async def test_a_schedule_beyond_the_calendar_is_refused_and_never_stored(make_client: MakeClient) -> None:
    """schemathesis: `every` of 10^12 days overflowed date arithmetic, and the stored task broke every list."""
    client = await make_client(auth=False)
    task = {"name": "XC", "processName": "safety-inspection", "trigger": "", "status": "Active"}
    huge = await client.post("/kianda/api/tasks", json={**task, "schedule": {"type": "Daily", "every": 10**12}})
    assert huge.status == 400
    await assert_conforms(KIANDA, huge)
    far = await client.post(
        "/kianda/api/tasks", json={**task, "schedule": {"type": "Monthly", "dayOfMonth": 1, "every": 1000}}
    )
    assert far.status == 201
    await assert_conforms(KIANDA, far)
    listed = await client.get("/kianda/api/tasks")
    assert listed.status == 200
    await assert_conforms(KIANDA, listed)
    assert [t["name"] for t in await listed.json()].count("XC") == 1
