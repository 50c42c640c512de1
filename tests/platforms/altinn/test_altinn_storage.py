"""Altinn Storage: tokens, and every single-instance operation with its error cases."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import jwt
import pytest
from aiohttp.test_utils import TestClient

from instancemock.core.context import STATE
from instancemock.platforms.altinn.auth import JWKS_PATH, KeyAhead, signing_key
from instancemock.platforms.altinn.domain.ids import (
    is_organisation_number,
    is_person_number,
    organisation_check_digit,
    person_check_digits,
)
from instancemock.platforms.altinn.domain.world import world_for
from instancemock.world.clock import iso

from support import (
    ALTINN_STORAGE,
    KARI,
    NOW,
    MakeClient,
    altinn_token,
    assert_conforms,
    kari_headers,
    settings,
    ttd_headers,
)

STORAGE = "/altinn/storage/api/v1/instances"
TOOLS = "/altinn/testtools/api"
AUTH = "/altinn/authentication/api/v1"
OWNER_SCOPES = "altinn:serviceowner/instances.read altinn:serviceowner/instances.write"  # space-separated


async def ttd(client: TestClient, org: str = "ttd", org_no: str = "991825827") -> dict[str, str]:
    return await ttd_headers(client, OWNER_SCOPES, org, org_no)


async def call(client: TestClient, method: str, path: str, headers: dict[str, str], status: int, **kwargs: Any) -> Any:
    response = await client.request(method, path, headers=headers, **kwargs)
    assert response.status == status, await response.text()
    await assert_conforms(ALTINN_STORAGE, response)
    body = await response.read()
    return json.loads(body) if body else None


async def pick(client: TestClient, headers: dict[str, str], **filters: str) -> dict[str, Any]:
    body = await call(client, "GET", STORAGE, headers, 200, params={"org": "ttd", "size": "1", **filters})
    return body["instances"][0]  # type: ignore[no-any-return]


# --- identifiers and fixtures ---------------------------------------------------------------


def test_check_digits_of_norwegian_numbers() -> None:
    assert person_check_digits("120385221") == "57" and is_person_number("12038522157")
    assert not is_person_number("12038522158") and not is_person_number("1203852215")
    assert organisation_check_digit("99182582") == "7" and is_organisation_number("991825827")
    assert not is_organisation_number("991825828") and not is_organisation_number("310123456")


def test_the_fixture_world_is_consistent() -> None:
    world = world_for(settings())
    assert {"ttd", "brg"} <= set(world.orgs)
    assert all(len([a for a in world.apps.values() if a.org == org]) >= 2 for org in world.orgs)
    kinds = {p.type for p in world.parties.values()}
    assert kinds == {"person", "organisation", "selfIdentified"}
    assert any(a.metadata.get("apiScopes") for a in world.apps.values())
    assert all(u.party_id in world.parties for u in world.users.values())


async def test_the_seed_covers_every_state(client: TestClient) -> None:
    headers = await ttd(client)
    every = []
    for org, org_no in (("ttd", "991825827"), ("brg", "974760673")):
        auth = await ttd(client, org, org_no)
        body = await call(client, "GET", STORAGE, auth, 200, params={"org": org, "size": "1000"})
        every += body["instances"]
    assert len(every) >= 200
    assert any(i.get("process", {}).get("currentTask", {}).get("elementId") == "Task_2" for i in every)
    assert any(i["status"]["isArchived"] for i in every)
    assert any(i.get("completeConfirmations") for i in every)
    assert any(i["status"]["isSoftDeleted"] and not i["status"]["isHardDeleted"] for i in every)
    assert any(i["status"]["isHardDeleted"] for i in every)
    assert any(i["data"] for i in every) and any(i["status"].get("substatus") for i in every)
    assert any(i.get("presentationTexts") for i in every) and any(i.get("dataValues") for i in every)
    assert any("username" in i["instanceOwner"] for i in every)
    assert all(i["lastChanged"] <= iso(NOW) for i in every)
    again = await call(client, "GET", STORAGE, headers, 200, params={"org": "ttd", "size": "1000"})
    assert again["instances"] == [i for i in every if i["org"] == "ttd"]


# --- tokens ---------------------------------------------------------------------------------


async def test_tokens_carry_altinn_claims_and_verify_with_the_published_key(client: TestClient) -> None:
    config = await call(client, "GET", f"{AUTH}/openid/.well-known/openid-configuration", {}, 200)
    keys = await call(client, "GET", config["jwks_uri"].split("/altinn", 1)[1].join(["/altinn", ""]), {}, 200)
    key = jwt.PyJWK(keys["keys"][0])
    text = await altinn_token(
        client, "GetEnterpriseToken", org="ttd", orgNo="991825827", scopes="a:b, c:d,e:f", ttl="600"
    )
    claims = jwt.decode(text, key.key, algorithms=["RS256"], options={"verify_exp": False, "verify_iat": False})
    assert claims["urn:altinn:org"] == "ttd" and claims["urn:altinn:orgNumber"] == "991825827"
    assert claims["scope"] == "a:b c:d e:f" and claims["exp"] - claims["iat"] == 600
    assert claims["iss"] == config["issuer"]
    personal = jwt.decode(
        await altinn_token(client, "GetPersonalToken", scopes="altinn:instances.read", authLvl="2", **KARI),
        key.key,
        algorithms=["RS256"],
        options={"verify_exp": False, "verify_iat": False},
    )
    assert personal["urn:altinn:userid"] == 20001001 and personal["urn:altinn:partyid"] == 50001001
    assert personal["urn:altinn:authlevel"] == 2 and personal["pid"] == KARI["pid"]


async def test_the_token_works_as_cookie_and_a_foreign_signature_is_refused(client: TestClient) -> None:
    headers = await ttd(client)
    cookie = {"Cookie": f"AltinnStudioRuntime={headers['Authorization'].split()[1]}"}
    await call(client, "GET", STORAGE, cookie, 200, params={"org": "ttd", "size": "1"})
    forged = jwt.encode({"urn:altinn:org": "ttd", "scope": OWNER_SCOPES}, "secret", algorithm="HS256")
    await call(client, "GET", STORAGE, {"Authorization": f"Bearer {forged}"}, 401, params={"org": "ttd"})


async def test_exchange_turns_provider_tokens_into_altinn_tokens(client: TestClient) -> None:
    now = int(NOW.timestamp())
    maskinporten = jwt.encode(
        {"consumer": {"authority": "iso6523-actorid-upis", "ID": "0192:974760673"}, "scope": OWNER_SCOPES,
         "exp": now + 600},
        "digdir", algorithm="HS256",
    )  # fmt: skip
    response = await client.get(f"{AUTH}/exchange/maskinporten", headers={"Authorization": f"Bearer {maskinporten}"})
    assert response.status == 200
    await assert_conforms(ALTINN_STORAGE, response)
    exchanged = {"Authorization": f"Bearer {await response.text()}"}
    body = await call(client, "GET", STORAGE, exchanged, 200, params={"org": "brg", "size": "1"})
    assert body["instances"][0]["org"] == "brg"
    idporten = jwt.encode({"pid": KARI["pid"], "acr": "idporten-loa-high", "exp": now + 600}, "x", algorithm="HS256")
    response = await client.get(f"{AUTH}/exchange/id-porten", headers={"Authorization": f"Bearer {idporten}"})
    claims = jwt.decode(await response.text(), options={"verify_signature": False})
    assert claims["urn:altinn:userid"] == 20001001 and claims["urn:altinn:authlevel"] == 4
    stranger = jwt.encode({"pid": "01010112345", "exp": now + 600}, "x", algorithm="HS256")
    await call(client, "GET", f"{AUTH}/exchange/id-porten", {"Authorization": f"Bearer {stranger}"}, 400)
    expired = jwt.encode({"pid": KARI["pid"], "exp": now - 1}, "x", algorithm="HS256")
    await call(client, "GET", f"{AUTH}/exchange/id-porten", {"Authorization": f"Bearer {expired}"}, 401)


async def test_auth_off_accepts_anything(make_client: MakeClient) -> None:
    client = await make_client(auth=False)
    await call(client, "GET", STORAGE, {}, 200, params={"org": "ttd", "size": "1"})


# --- get ------------------------------------------------------------------------------------


async def test_get_by_party_and_guid_or_guid_only(client: TestClient) -> None:
    headers = await ttd(client)
    listed = await pick(client, headers)
    party, guid = listed["id"].split("/")
    assert await call(client, "GET", f"{STORAGE}/{party}/{guid}", headers, 200) == listed
    assert await call(client, "GET", f"{STORAGE}/{guid}", headers, 200) == listed
    assert await call(client, "GET", f"{STORAGE}/1/{guid}", headers, 200) == listed  # party not checked
    missing = "0c7d6e5f-1a2b-4c3d-8e9f-a0b1c2d3e4f5"
    assert await call(client, "GET", f"{STORAGE}/{missing}", headers, 404) == f"Unable to find instance {missing}"


async def test_users_read_only_their_parties_at_a_sufficient_level(client: TestClient) -> None:
    owner = await ttd(client)
    mine = await pick(client, owner, **{"instanceOwner.partyId": "50001001"})
    theirs = await pick(client, owner, **{"instanceOwner.partyId": "50001005"})
    user = await kari_headers(client)
    await call(client, "GET", f"{STORAGE}/{mine['id']}", user, 200)
    assert await call(client, "GET", f"{STORAGE}/{theirs['id']}", user, 403) is None
    assert await call(client, "GET", f"{STORAGE}/{mine['id']}", await kari_headers(client, authLvl="1"), 403) is None
    brg = await ttd(client, "brg", "974760673")
    assert await call(client, "GET", f"{STORAGE}/{mine['id']}", brg, 403) is None


# --- create ---------------------------------------------------------------------------------


async def test_create_stores_the_template_with_platform_defaults(client: TestClient) -> None:
    headers = await ttd(client)
    template = {
        "instanceOwner": {"partyId": "50001002", "personNumber": "01017040320"},
        "dueBefore": "2026-03-01T12:00:00Z",
        "dataValues": {"caseNumber": "2026/1", "empty": None},
        "presentationTexts": {"ignored": "yes"},
        "org": "brg",
    }
    response = await client.post(STORAGE, params={"appId": "ttd/melding"}, json=template, headers=headers)
    assert response.status == 201, await response.text()
    await assert_conforms(ALTINN_STORAGE, response)
    created = await response.json()
    assert response.headers["Location"] == created["selfLinks"]["platform"]
    assert created["org"] == "ttd" and created["appId"] == "ttd/melding" and created["data"] == []
    assert created["status"] == {"isArchived": False, "isSoftDeleted": False, "isHardDeleted": False,
                                 "readStatus": "Unread"}  # fmt: skip
    assert created["visibleAfter"] == created["created"] == created["lastChanged"]
    assert created["createdBy"] == "991825827" and created["dataValues"] == {"caseNumber": "2026/1"}
    assert "presentationTexts" not in created and "process" not in created
    guid = created["id"].split("/")[1]
    assert await call(client, "GET", f"{STORAGE}/{guid}", headers, 200) == created
    assert (await pick(client, headers))["id"] == created["id"]  # the newest change comes first


async def test_create_errors(client: TestClient) -> None:
    headers = await ttd(client)
    body = {"instanceOwner": {"partyId": "50001001"}}
    assert await call(client, "POST", STORAGE, headers, 404, params={"appId": "ttd/finnes-ikke"}, json=body) == (
        "Did not find application with appId=ttd/finnes-ikke"
    )
    assert await call(
        client, "POST", STORAGE, headers, 400, params={"appId": "ttd/melding"}, json={"instanceOwner": {}}
    ) == ("Cannot create an instance without an instanceOwner.PartyId.")
    user = await kari_headers(client)
    stranger = {"instanceOwner": {"partyId": "50001005"}}
    await call(client, "POST", STORAGE, user, 403, params={"appId": "ttd/melding"}, json=stranger)
    own = await call(client, "POST", STORAGE, user, 201, params={"appId": "ttd/melding"}, json=body)
    assert own["createdBy"] == "20001001"


# --- delete ---------------------------------------------------------------------------------


async def test_soft_then_hard_delete(client: TestClient) -> None:
    headers = await ttd(client)
    target = await pick(client, headers, **{"status.isSoftDeleted": "false", "appId": "ttd/melding"})
    clock = client.server.app[STATE].clock
    clock.advance(60)
    soft = await call(client, "DELETE", f"{STORAGE}/{target['id']}", headers, 200)
    assert soft["status"]["isSoftDeleted"] and not soft["status"]["isHardDeleted"]
    assert soft["lastChanged"] == soft["status"]["softDeleted"] > target["lastChanged"]
    assert soft["lastChangedBy"] == "991825827"
    clock.advance(60)
    hard = await call(client, "DELETE", f"{STORAGE}/{target['id']}", headers, 200, params={"hard": "true"})
    assert hard["status"]["isHardDeleted"] and hard["status"]["softDeleted"] == soft["status"]["softDeleted"]
    assert hard["status"]["hardDeleted"] > soft["status"]["softDeleted"]
    user = await kari_headers(client)
    owner_party = target["instanceOwner"]["partyId"]
    if owner_party not in ("50001001", "51001001", "51001004"):
        await call(client, "DELETE", f"{STORAGE}/{target['id']}", user, 403)
    missing = "50001001/0c7d6e5f-1a2b-4c3d-8e9f-a0b1c2d3e4f5"
    assert await call(client, "DELETE", f"{STORAGE}/{missing}", headers, 404) == (
        f"Didn't find the object that should be deleted with instanceId={missing}"
    )


async def test_recently_archived_instances_of_a_protected_app_cannot_be_deleted(client: TestClient) -> None:
    headers = await ttd(client)
    archived = iso(NOW - timedelta(days=3))
    template = {"instanceOwner": {"partyId": "51001001"}, "status": {"isArchived": True, "archived": archived}}
    created = await call(client, "POST", STORAGE, headers, 201, params={"appId": "ttd/arsrapport"}, json=template)
    assert await call(client, "DELETE", f"{STORAGE}/{created['id']}", headers, 403) == (
        "Instance cannot be deleted yet due to application restrictions."
    )
    client.server.app[STATE].clock.advance(timedelta(days=28).total_seconds())
    await call(client, "DELETE", f"{STORAGE}/{created['id']}", await ttd(client), 200)


# --- complete, readstatus, substatus --------------------------------------------------------


async def test_complete_is_idempotent_per_org_and_for_service_owners_only(client: TestClient) -> None:
    headers = await ttd(client)
    target = await pick(client, headers, excludeConfirmedBy="ttd", **{"instanceOwner.partyId": "50001001"})
    path = f"{STORAGE}/{target['id']}/complete"
    client.server.app[STATE].clock.advance(5)
    first = await call(client, "POST", path, headers, 200)
    assert [c["stakeholderId"] for c in first["completeConfirmations"]].count("ttd") == 1
    assert first["lastChanged"] == first["completeConfirmations"][-1]["confirmedOn"]
    client.server.app[STATE].clock.advance(5)
    assert await call(client, "POST", path, headers, 200) == first
    await call(client, "POST", path, await kari_headers(client), 403)
    await call(client, "POST", f"{STORAGE}/1/0c7d6e5f-1a2b-4c3d-8e9f-a0b1c2d3e4f5/complete", headers, 404)


async def test_read_status_is_case_insensitive_and_keeps_last_changed(client: TestClient) -> None:
    headers = await ttd(client)
    target = await pick(client, headers)
    path = f"{STORAGE}/{target['id']}/readstatus"
    updated = await call(client, "PUT", path, headers, 200, params={"status": "updatedsincelastreview"})
    assert updated["status"]["readStatus"] == "UpdatedSinceLastReview"
    assert updated["lastChanged"] == target["lastChanged"]
    assert await call(client, "PUT", path, headers, 400, params={"status": "Seen"}) == (
        "Invalid read status: Seen. Accepted types include: Unread, Read, UpdatedSinceLastReview"
    )
    await call(client, "PUT", path, headers, 400)


async def test_substatus_belongs_to_the_app_owner_and_is_replaced_whole(client: TestClient) -> None:
    headers = await ttd(client)
    target = await pick(client, headers)
    path = f"{STORAGE}/{target['id']}/substatus"
    client.server.app[STATE].clock.advance(5)
    full = {"label": "substatus.received", "description": "Mottatt"}
    first = await call(client, "PUT", path, headers, 200, json=full)
    assert first["status"]["substatus"] == full and first["lastChangedBy"] == "991825827"
    assert first["lastChanged"] > target["lastChanged"]
    second = await call(client, "PUT", path, headers, 200, json={"label": "substatus.done"})
    assert second["status"]["substatus"] == {"label": "substatus.done"}
    assert await call(client, "PUT", path, headers, 400, json={"description": "x"}) == (
        'Invalid sub status: {"label":null,"description":"x"}. Substatus must be defined and include a label.'
    )
    await call(client, "PUT", path, await ttd(client, "brg", "974760673"), 403, json=full)
    await call(client, "PUT", path, await kari_headers(client), 403, json=full)


# --- presentation texts and data values -----------------------------------------------------


@pytest.mark.parametrize(("member", "key", "path"), [("presentationTexts", "texts", "presentationtexts"),
                                                       ("dataValues", "values", "datavalues")])  # fmt: skip
async def test_texts_and_values_merge_and_delete_without_touching_last_changed(
    client: TestClient, member: str, key: str, path: str
) -> None:
    headers = await ttd(client)
    target = await pick(client, headers, **{"instanceOwner.partyId": "50001001"})
    url = f"{STORAGE}/{target['id']}/{path}"
    first = await call(client, "PUT", url, headers, 200, json={key: {"A": "1", "B": "2"}})
    assert first[member] == {**target.get(member, {}), "A": "1", "B": "2"}
    second = await call(client, "PUT", url, await kari_headers(client), 200, json={key: {"A": None, "B": "", "C": "3"}})
    assert second[member] == {**target.get(member, {}), "C": "3"}
    assert second["lastChanged"] == target["lastChanged"]
    assert await call(client, "PUT", url, headers, 400, json={}) == (
        f"Missing parameter value: {member} is misformed or empty"
    )
    await call(client, "PUT", url, await ttd(client, "brg", "974760673"), 403, json={key: {"A": "1"}})


async def test_the_signing_key_begun_while_the_app_is_made_is_the_one_tokens_are_signed_with(
    client: TestClient,
) -> None:
    """`warm_up` makes the key on a thread as the app is made; `startup` takes that very key, so
    the JWKS publishes it and tokens verify with it."""
    state = client.server.app[STATE]
    ahead = state.service(KeyAhead, lambda: pytest.fail("no key was begun as the app was made"))
    made = ahead.made.result(timeout=0)  # startup has run: the key is made
    assert signing_key(state) is made
    keys = await call(client, "GET", JWKS_PATH, {}, 200)
    assert [key["kid"] for key in keys["keys"]] == [made.kid]
