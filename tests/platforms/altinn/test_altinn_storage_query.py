"""Altinn Storage's instance query as real clients use it: caller rules, every filter, paging."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestClient

from instancemock.core.context import STATE
from instancemock.platforms.altinn.domain.query import ticks

from support import (
    ALTINN_STORAGE,
    OWNER_SCOPES,
    MakeClient,
    altinn_headers,
    assert_conforms,
    kari_headers,
    ttd_headers,
)

STORAGE = "/altinn/storage/api/v1/instances"
TOOLS = "/altinn/testtools/api"
KARI_PARTIES = {"50001001", "51001001", "51001004"}


async def ttd(client: TestClient, scopes: str = OWNER_SCOPES) -> dict[str, str]:
    return await ttd_headers(client, scopes)


async def kari(client: TestClient, **extra: str) -> dict[str, str]:
    return await kari_headers(client, "altinn:instances.read", **extra)


async def query(client: TestClient, headers: dict[str, str], params: Any, status: int = 200) -> Any:
    response = await client.get(STORAGE, params=params, headers=headers)
    assert response.status == status, await response.text()
    await assert_conforms(ALTINN_STORAGE, response)
    return await response.json() if response.content_length else None


async def everything(client: TestClient, headers: dict[str, str], org: str = "ttd") -> list[dict[str, Any]]:
    body = await query(client, headers, {"org": org, "size": "10000"})
    assert body["next"] is None and body["count"] == body["totalHits"]
    return body["instances"]


def ids(body: dict[str, Any]) -> set[str]:
    return {i["id"] for i in body["instances"]}


# --- caller rules ---------------------------------------------------------------------------


async def test_without_a_valid_token_the_answer_is_an_empty_401(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer not.a.token"}):
        response = await client.get(STORAGE, params={"org": "ttd"}, headers=headers)
        assert response.status == 401
        assert await response.read() == b""
        assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_an_expired_token_is_refused(client: TestClient) -> None:
    params = {"org": "ttd", "orgNo": "991825827", "scopes": OWNER_SCOPES, "ttl": "60"}
    headers = await altinn_headers(client, "GetEnterpriseToken", **params)
    await query(client, headers, {"org": "ttd", "size": "1"})
    client.server.app[STATE].clock.advance(61)
    await query(client, headers, {"org": "ttd"}, status=401)


async def test_a_token_checked_by_one_server_is_refused_by_another(make_client: MakeClient) -> None:
    """Signatures already checked are remembered per key (auth.py): another server's key checks again."""
    first, second = await make_client(), await make_client(store=None)  # not a replica: a key of its own
    headers = await ttd(first)
    await query(first, headers, {"org": "ttd", "size": "1"})
    await query(first, headers, {"org": "ttd", "size": "1"})  # the remembered check
    await query(second, headers, {"org": "ttd"}, status=401)


async def test_service_owner_needs_the_read_scope_then_org_or_app(client: TestClient) -> None:
    no_scope = await ttd(client, scopes="altinn:serviceowner/instances.write")
    response = await client.get(STORAGE, params={"org": "ttd"}, headers=no_scope)
    assert response.status == 403 and await response.read() == b""
    headers = await ttd(client)
    assert await query(client, headers, {}, 400) == "Org or AppId must be defined."
    assert await query(client, headers, {"instanceOwner.partyId": "50001001"}, 400) == ("Org or AppId must be defined.")
    by_app = await query(client, headers, {"appId": "ttd/melding", "size": "1000"})
    assert by_app["count"] > 0 and {i["appId"] for i in by_app["instances"]} == {"ttd/melding"}


async def test_service_owner_asking_for_another_org_needs_app_and_permission(client: TestClient) -> None:
    headers = await ttd(client)
    assert await query(client, headers, {"org": "brg"}, 400) == "AppId must be defined."
    response = await client.get(STORAGE, params={"appId": "brg/endringsmelding"}, headers=headers)
    assert response.status == 403 and await response.read() == b""
    allowed = await query(client, headers, {"appId": "brg/registrering"})  # fixtures: ttd readsApps
    assert {i["org"] for i in allowed["instances"]} == {"brg"}


async def test_an_enterprise_token_without_org_is_a_bad_request(client: TestClient) -> None:
    headers = await altinn_headers(client, "GetEnterpriseToken", orgNo="974760673", scopes=OWNER_SCOPES)
    response = await client.get(STORAGE, params={"org": "ttd"}, headers=headers)
    assert response.status == 400
    assert response.content_type == "application/problem+json"
    await assert_conforms(ALTINN_STORAGE, response)


async def test_end_user_needs_exactly_one_owner_selector(client: TestClient) -> None:
    headers = await kari(client)
    assert await query(client, headers, {}, 400) == (
        "Either InstanceOwnerPartyId or InstanceOwnerIdentifier need to be defined."
    )
    both = {**headers, "X-Ai-InstanceOwnerIdentifier": "Person:12038522157"}
    assert await query(client, both, {"instanceOwner.partyId": "50001001"}, 400) == (
        "Both InstanceOwner.PartyId and InstanceOwnerIdentifier cannot be present at the same time."
    )


async def test_malformed_owner_identifier(client: TestClient) -> None:
    user = await kari(client)
    for identifier, message in [
        ("Passport:123", "Invalid InstanceOwnerIdentifier."),
        ("12038522157", "Invalid InstanceOwnerIdentifier."),
        ("Person:1203852215", "Person number needs to be exactly 11 digits."),
        ("Organisation:39074833", "Organization number needs to be exactly 9 digits."),
    ]:
        headers = {**user, "X-Ai-InstanceOwnerIdentifier": identifier}
        assert await query(client, headers, {}, 400) == message


async def test_owner_identifier_resolves_like_a_party_id(client: TestClient) -> None:
    headers = await kari(client)
    by_party = await query(client, headers, {"instanceOwner.partyId": "51001001"})
    by_number = await query(client, {**headers, "X-Ai-InstanceOwnerIdentifier": "organisation: 390748337"}, {})
    assert by_party["count"] > 0 and ids(by_party) == ids(by_number)
    unknown = await query(client, {**headers, "X-Ai-InstanceOwnerIdentifier": "Person:01010112345"}, {})
    assert unknown == {"totalHits": 0, "count": 0, "self": None, "next": None, "instances": []}


async def test_end_users_see_only_parties_they_may_read_and_never_hard_deleted(client: TestClient) -> None:
    headers = await kari(client)
    owner = await ttd(client)
    for party in sorted(KARI_PARTIES):
        mine = await query(client, headers, {"instanceOwner.partyId": party, "size": "1000"})
        assert mine["count"] == mine["totalHits"] > 0
        assert all(i["instanceOwner"]["partyId"] == party for i in mine["instances"])
        assert not any(i["status"]["isHardDeleted"] for i in mine["instances"])
    stranger = await query(client, headers, {"instanceOwner.partyId": "50001005"})
    assert stranger["count"] == 0 and stranger["instances"] == []
    as_owner = await query(client, owner, {"org": "ttd", "instanceOwner.partyId": "50001005", "size": "999"})
    assert as_owner["count"] > 0
    explicit = await query(client, headers, {"instanceOwner.partyId": "50001001", "status.isHardDeleted": "true"})
    assert explicit["instances"] == [] and explicit["self"] and explicit["next"] is None


async def test_hard_deleted_instances_and_data_are_for_service_owners_only(client: TestClient) -> None:
    owner = await ttd(client)
    hard = await query(client, owner, {"org": "ttd", "status.isHardDeleted": "true", "size": "999"})
    assert hard["count"] > 0 and all(i["status"]["isHardDeleted"] for i in hard["instances"])
    brg = await altinn_headers(client, "GetEnterpriseToken", org="brg", orgNo="974760673", scopes=OWNER_SCOPES)
    every = await everything(client, owner) + await everything(client, brg, "brg")
    with_deleted_data = [
        i
        for i in every
        if str(i["instanceOwner"]["partyId"]) in KARI_PARTIES
        and not i["status"]["isHardDeleted"]
        and any(d.get("deleteStatus", {}).get("isHardDeleted") for d in i["data"])
    ]
    assert with_deleted_data, "the seed has hard-deleted data elements in Kari's instances"
    seen = await query(
        client, await kari(client), {"instanceOwner.partyId": with_deleted_data[0]["instanceOwner"]["partyId"]}
    )
    listed = next(i for i in seen["instances"] if i["id"] == with_deleted_data[0]["id"])
    assert len(listed["data"]) < len(with_deleted_data[0]["data"])
    assert not any(d.get("deleteStatus", {}).get("isHardDeleted") for d in listed["data"])


# --- filters --------------------------------------------------------------------------------


def _ended(i: dict[str, Any]) -> str | None:
    return i.get("process", {}).get("ended")


def _task(i: dict[str, Any]) -> str | None:
    return i.get("process", {}).get("currentTask", {}).get("elementId")


def _confirmers(i: dict[str, Any]) -> list[str]:
    return [c["stakeholderId"] for c in i.get("completeConfirmations", [])]


def _texts(i: dict[str, Any]) -> str:
    return " ".join(i.get("presentationTexts", {}).values()).lower()


FILTERS: list[tuple[dict[str, Any], Any]] = [
    ({"appId": "ttd/arsrapport"}, lambda i: i["appId"] == "ttd/arsrapport"),
    ({"instanceOwner.partyId": "51001003"}, lambda i: i["instanceOwner"]["partyId"] == "51001003"),
    ({"process.currentTask": "Task_2"}, lambda i: _task(i) == "Task_2"),
    ({"process.isComplete": "true"}, lambda i: _ended(i) is not None),
    ({"process.isComplete": "false"}, lambda i: "currentTask" in i.get("process", {})),
    ({"process.ended": "gt:2025-10"}, lambda i: (_ended(i) or "") > "2025-10"),
    ({"process.ended": ["gte:2025-06", "lt:2025-09-01"]}, lambda i: "2025-06" <= (_ended(i) or "") < "2025-09-01"),
    ({"process.endEvent": "EndEvent_1"}, lambda i: True),
    ({"lastChanged": "gt:2025-12-01"}, lambda i: ticks(i["lastChanged"]) > ticks("2025-12-01")),
    ({"lastChanged": ["gte:2025-03-01T00:00:00+01:00", "lte:2025-06-30"]},
     lambda i: ticks("2025-02-28T23:00:00Z") <= ticks(i["lastChanged"]) <= ticks("2025-06-30")),
    ({"created": "lt:2025-01-15"}, lambda i: ticks(i["created"]) < ticks("2025-01-15")),
    ({"visibleAfter": "lte:2025-04"}, lambda i: i["visibleAfter"] <= "2025-04"),
    ({"dueBefore": ["gt:2025-05", "lt:2025-09-01"]}, lambda i: "2025-05" < i.get("dueBefore", "") < "2025-09-01"),
    ({"lastChanged": "GT:2025-12-01"}, lambda i: True),  # unknown (case-sensitive) operator: ignored
    ({"excludeConfirmedBy": "ttd"}, lambda i: "ttd" not in _confirmers(i)),
    ({"confirmed": "true"}, lambda i: i["org"] in _confirmers(i)),
    ({"status.isArchived": "true"}, lambda i: i["status"]["isArchived"]),
    ({"status.isSoftDeleted": "false"}, lambda i: not i["status"]["isSoftDeleted"]),
    ({"status.isHardDeleted": "false"}, lambda i: not i["status"]["isHardDeleted"]),
    ({"searchString": "ÅRSRAPPORT"}, lambda i: "årsrapport" in _texts(i)),
    ({"mainVersionInclude": "3"}, lambda i: True),
    ({"mainVersionInclude": "2"}, lambda i: False),
    ({"mainVersionExclude": "3"}, lambda i: False),
    ({"status.IsArchived": "false", "Process.CurrentTask": "Task_1"},
     lambda i: not i["status"]["isArchived"] and _task(i) == "Task_1"),
]  # fmt: skip


async def test_each_filter_selects_exactly_what_it_says(client: TestClient) -> None:
    headers = await ttd(client)
    every = await everything(client, headers)
    narrowing = 0
    for params, expected in FILTERS:
        wanted = {i["id"] for i in every if expected(i)}
        body = await query(client, headers, [("org", "ttd"), ("size", "10000"), *_pairs(params)])
        assert ids(body) == wanted, params
        assert body["count"] == body["totalHits"] == len(wanted), params
        narrowing += 0 < len(wanted) < len(every)
    assert narrowing >= len(FILTERS) - 5, "most filters must select a proper, non-empty subset of the seed"


def _pairs(params: dict[str, Any]) -> list[tuple[str, str]]:
    return [(k, v) for k, values in params.items() for v in (values if isinstance(values, list) else [values])]


async def test_a3_reference_and_archive_reference(client: TestClient) -> None:
    headers = await ttd(client)
    one = (await everything(client, headers))[17]
    found = await query(client, headers, {"org": "ttd", "A3Ref": one["id"][-12:].upper()})
    assert ids(found) == {one["id"]}
    assert await query(client, headers, {"org": "ttd", "A3Ref": "abc"}, 400) == (
        "The A3 reference needs to be exactly 12 characters long."
    )
    party, guid = one["id"].split("/")
    response = await client.put(
        f"{STORAGE}/{party}/{guid}/datavalues", json={"values": {"A2ArchRef": "AR4711"}}, headers=headers
    )
    assert response.status == 200
    assert ids(await query(client, headers, {"org": "ttd", "dataValues.A2ArchRef": "AR4711"})) == {one["id"]}


async def test_include_data_elements_false_empties_data(client: TestClient) -> None:
    headers = await ttd(client)
    body = await query(client, headers, {"org": "ttd", "includeDataElements": "false", "size": "50"})
    assert body["count"] == 50 and all(i["data"] == [] for i in body["instances"])
    assert any(i["data"] for i in (await query(client, headers, {"org": "ttd", "size": "50"}))["instances"])


MALFORMED: list[tuple[dict[str, Any], str]] = [
    ({"lastChanged": "2025-01-01"}, "Invalid date expression: 2025-01-01 for query key: lastChanged"),
    ({"created": "gt:yesterday"}, "Invalid date expression: gt:yesterday for query key: created"),
    ({"dueBefore": ["gt:2025-01", "gt:2025-02"]}, "Invalid date expression: gt:2025-02 for query key: dueBefore"),
    ({"continuationToken": "abc"}, "Invalid continuationToken: abc"),
    ({"continuationToken": "12%3bx"}, "Invalid continuationToken: 12%3bx"),
]


async def test_malformed_expressions_and_tokens_are_400_naming_them(client: TestClient) -> None:
    headers = await ttd(client)
    for params, message in MALFORMED:
        assert await query(client, headers, [("org", "ttd"), *_pairs(params)], 400) == message


async def test_non_boolean_or_non_integer_values_are_400_naming_the_parameter(client: TestClient) -> None:
    headers = await ttd(client)
    for name in ["status.isArchived", "process.isComplete", "size", "instanceOwner.partyId", "confirmed"]:
        response = await client.get(STORAGE, params={"org": "ttd", name: "maybe"}, headers=headers)
        assert response.status == 400
        await assert_conforms(ALTINN_STORAGE, response)
        assert any(key.endswith(name) for key in (await response.json())["errors"]), name


# --- order and paging -----------------------------------------------------------------------


async def test_default_page_is_100_newest_first_and_order_asc_flips_it(client: TestClient) -> None:
    headers = await ttd(client)
    first = await query(client, headers, {"org": "ttd"})
    assert first["count"] == 100 and first["next"] and first["totalHits"] > 100
    changed = [ticks(i["lastChanged"]) for i in first["instances"]]
    assert changed == sorted(changed, reverse=True)
    oldest = await query(client, headers, {"org": "ttd", "order": "asc:lastChanged", "size": "20"})
    changed = [ticks(i["lastChanged"]) for i in oldest["instances"]]
    assert changed == sorted(changed)
    every = await everything(client, headers)
    assert changed[0] == min(ticks(i["lastChanged"]) for i in every)


@pytest.mark.parametrize("order", [None, "asc:lastChanged"])
async def test_paging_returns_every_match_once(client: TestClient, order: str | None) -> None:
    headers = await ttd(client)
    params = {"org": "ttd", "status.isHardDeleted": "false", "size": "7"} | ({"order": order} if order else {})
    body = await query(client, headers, params)
    total, seen, pages = body["totalHits"], [], 0
    while True:
        seen += [i["id"] for i in body["instances"]]
        pages += 1
        if body["next"] is None:
            break
        assert body["count"] == 7
        assert "%253b" in body["next"] and body["next"].endswith(body["next"].split("continuationToken=")[1])
        url = urlsplit(body["next"])
        response = await client.get(f"{url.path}?{url.query}", headers=headers)
        await assert_conforms(ALTINN_STORAGE, response)
        previous, body = body, await response.json()
        assert body["self"] == previous["next"]
    assert len(seen) == len(set(seen)) == total
    assert pages == total // 7 + 1


async def test_tied_last_changed_does_not_lose_rows_at_a_page_boundary(client: TestClient) -> None:
    headers = await ttd(client)
    every = await everything(client, headers)
    stamps = [i["lastChanged"] for i in every]
    assert len(stamps) > len(set(stamps)), "the seed has instances sharing a lastChanged"
    for size in (2,):
        body, seen = await query(client, headers, {"org": "ttd", "size": str(size)}), []
        while True:
            seen += [i["id"] for i in body["instances"]]
            if not body["next"]:
                break
            url = urlsplit(body["next"])
            body = await (await client.get(f"{url.path}?{url.query}", headers=headers)).json()
        assert sorted(seen) == sorted(i["id"] for i in every)


async def test_continuation_token_accepted_single_encoded_and_echoed_in_self(client: TestClient) -> None:
    headers = await ttd(client)
    first = await query(client, headers, {"org": "ttd", "size": "5"})
    raw = first["next"].split("continuationToken=")[1].replace("%253b", ";")
    response = await client.get(
        f"{STORAGE}?continuationToken={raw.replace(';', '%3b')}&org=ttd&size=5", headers=headers
    )
    second = await response.json()
    assert second["self"].endswith("?org=ttd&size=5&continuationToken=" + raw.replace(";", "%253b"))
    again = await query(client, headers, {"org": "ttd", "size": "5", "continuationToken": raw})
    assert ids(again) == ids(second) and not ids(second) & ids(first)


async def test_last_full_page_has_a_next_that_leads_to_an_empty_page(client: TestClient) -> None:
    headers = await ttd(client)
    total = (await query(client, headers, {"appId": "ttd/melding", "size": "1"}))["totalHits"]
    full = await query(client, headers, {"appId": "ttd/melding", "size": str(total)})
    assert full["count"] == total and full["next"]
    url = urlsplit(full["next"])
    empty = await (await client.get(f"{url.path}?{url.query}", headers=headers)).json()
    assert empty["count"] == 0 and empty["next"] is None
    zero = await query(client, headers, {"appId": "ttd/melding", "size": "0"})
    assert zero["count"] == 0 and zero["next"] is None and zero["totalHits"] == total


async def test_a_change_moves_an_instance_to_the_front(client: TestClient) -> None:
    headers = await ttd(client)
    last = (await query(client, headers, {"org": "ttd", "order": "asc:x", "size": "1"}))["instances"][0]
    party, guid = last["id"].split("/")
    client.server.app[STATE].clock.advance(timedelta(minutes=1).total_seconds())
    response = await client.put(
        f"{STORAGE}/{party}/{guid}/substatus", json={"label": "substatus.moved"}, headers=headers
    )
    assert response.status == 200
    newest = await query(client, headers, {"org": "ttd", "size": "1"})
    assert newest["instances"][0]["id"] == last["id"]
