"""The specs say what the server accepts: a request valid under the schema is not refused for its shape.

Schemathesis (issue 14) found requests the schemas allowed and the server refused: a Kianda expiry
`When condition` without `condition`, a Barium object `Type` outside form/file/folder, an admin
fault rule with no effect or with both `status` and `fault`; and empty `status=`/`elementId=`
that the validator refused where the spec documents the handler's answer.
"""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from support import (
    ADMIN,
    ALTINN_APP,
    ALTINN_STORAGE,
    APIS,
    KIANDA,
    MakeClient,
    assert_conforms,
    kari_headers,
    ttd_headers,
)


def valid(api: str, schema: str, value: Any) -> bool:
    spec = APIS[api].spec
    root = {**spec["components"]["schemas"][schema], "components": spec["components"]}
    validator = Draft202012Validator(root, format_checker=FormatChecker())
    return validator.is_valid(value)


@pytest.mark.parametrize(
    ("expire", "accepted"),
    [
        ({"type": "When condition"}, False),
        ({"type": "When condition", "condition": ""}, False),
        ({"type": "When condition", "condition": "status = Approved"}, True),
        ({"type": "By date"}, False),
        ({"type": "By date", "date": "2026-02-01T00:00:00Z"}, True),
        ({"type": "After occurrences"}, False),
        ({"type": "After occurrences", "occurrences": 3}, True),
    ],
)
async def test_kianda_expiry_needs_the_value_of_its_type(make_client: MakeClient, expire: Any, accepted: bool) -> None:
    assert valid(KIANDA, "Expire", expire) is accepted
    client = await make_client(auth=False)
    task = {"name": "Expiring", "schedule": {"type": "On demand"}, "processName": "equipment-request", "expire": expire}
    response = await client.post("/kianda/api/tasks", json=task)
    assert (response.status == 201) is accepted, await response.text()
    await assert_conforms(KIANDA, response)


@pytest.mark.parametrize(
    ("kind", "accepted"), [("form", True), (" FOLDER ", True), ("File", True), ("widget", False), ("", False)]
)
def test_barium_object_type(kind: str, accepted: bool) -> None:
    assert valid("barium", "CreateObjectForm", {"Type": kind, "Name": "x"}) is accepted
    assert valid("barium", "CreateObjectMultipart", {"Type": kind}) is accepted


@pytest.mark.parametrize(
    ("rule", "accepted"),
    [
        ({}, False),
        ({"api": "kianda"}, False),
        ({"status": 503, "fault": "reset"}, False),
        ({"status": None, "fault": "reset"}, True),
        ({"status": 503}, True),
        ({"delay": {"fixed": 5}}, True),
        ({"fault": "timeout", "delay": {"fixed": 5}}, True),
    ],
)
async def test_admin_fault_rules_need_one_effect_and_not_both(
    make_client: MakeClient, rule: dict[str, Any], accepted: bool
) -> None:
    assert valid(ADMIN, "FaultRule", rule) is accepted
    client = await make_client()
    response = await client.post("/__admin/faults", json=rule)
    assert (response.status == 201) is accepted, await response.text()
    await assert_conforms(ADMIN, response)
    if not accepted:
        message = (await response.json())["error"]
        assert "at least one effect" in message or "either a status or a fault, not both" in message


async def test_an_empty_read_status_gets_the_documented_bare_string(make_client: MakeClient) -> None:
    client = await make_client()
    owner = await ttd_headers(client)
    created = await client.post(
        "/altinn/storage/api/v1/instances",
        params={"appId": "ttd/soknad-tilskudd"},
        json={"instanceOwner": {"partyId": "50001001"}},
        headers=owner,
    )
    instance = (await created.json())["id"]
    response = await client.put(f"/altinn/storage/api/v1/instances/{instance}/readstatus?status=", headers=owner)
    assert response.status == 400
    await assert_conforms(ALTINN_STORAGE, response)
    assert (
        await response.json() == "Invalid read status: . Accepted types include: Unread, Read, UpdatedSinceLastReview"
    )


async def test_an_empty_element_id_is_no_element_id(make_client: MakeClient) -> None:
    client = await make_client()
    owner, user = await ttd_headers(client), await kari_headers(client)
    created = await client.post(
        "/altinn/ttd/soknad-tilskudd/instances", params={"instanceOwnerPartyId": "50001001"}, headers=owner
    )
    instance = (await created.json())["id"]
    response = await client.put(
        f"/altinn/ttd/soknad-tilskudd/instances/{instance}/process/next?elementId=", headers=user
    )
    assert response.status == 200, await response.text()
    await assert_conforms(ALTINN_APP, response)
