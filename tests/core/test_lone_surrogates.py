"""A lone surrogate in JSON text is refused at the door (400 naming the field), wherever it is sent.

Before, `"\\ud800"` was stored, and every later answer holding it, and every save of the state
file, failed with UnicodeEncodeError.
"""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from instancemock.world.text import LoneSurrogate, find_lone_surrogate

from support import ALTINN_APP, ALTINN_STORAGE, KIANDA, assert_conforms, kari_headers, kianda_headers, ttd_headers

APP = "/altinn/ttd/soknad-tilskudd/instances"
LONE = "\\ud800"  # as it appears in JSON text
RAW_LONE = b"\xed\xa0\x80"  # the same surrogate as (invalid) UTF-8 bytes, which json.loads also accepts


def test_find_lone_surrogate_names_the_path() -> None:
    found = find_lone_surrogate({"a": [{"b": "ok"}, {"c": "x\udc00"}]})
    assert isinstance(found, LoneSurrogate) and found.path == "a.1.c" and found.code == 0xDC00
    assert find_lone_surrogate({"emoji": "\U0001f600", "text": "Årsak"}) is None


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"processName": "equipment-request' + LONE.encode() + b'"}', "request.processName"),
        (b'{"processName": "equipment-request' + RAW_LONE + b'"}', "request.processName"),
        (
            b'{"processName": "equipment-request", "FieldsMappings": [{"fieldname": "reason", "value": "'
            + LONE.encode()
            + b'"}]}',
            "request.FieldsMappings[0].value",  # Web API 2's model-state key (platforms/kianda/errors.py)
        ),
    ],
)
async def test_kianda_create(client: TestClient, raw: bytes, field: str) -> None:
    headers = await kianda_headers(client)
    response = await client.post(
        "/kianda/api/instances/create", data=raw, headers={**headers, "Content-Type": "application/json"}
    )
    assert response.status == 400
    await assert_conforms(KIANDA, response)
    model_state = (await response.json())["ModelState"]
    assert list(model_state) == [field] and "lone surrogate" in model_state[field][0]


async def test_altinn_prefill_and_party_id(client: TestClient) -> None:
    user = await kari_headers(client)
    raw = b'{"instanceOwner": {"partyId": "50001001"}, "prefill": {"name": "Kari' + LONE.encode() + b'"}}'
    response = await client.post(f"{APP}/create", data=raw, headers={**user, "Content-Type": "application/json"})
    assert response.status == 400
    await assert_conforms(ALTINN_APP, response)
    assert list((await response.json())["errors"]) == ["prefill.name"]
    raw = b'{"instanceOwner": {"partyId": "5000' + LONE.encode() + b'1"}}'
    response = await client.post(f"{APP}/create", data=raw, headers={**user, "Content-Type": "application/json"})
    assert response.status == 400
    assert list((await response.json())["errors"]) == ["instanceOwner.partyId"]


async def test_altinn_substatus_description(client: TestClient) -> None:
    owner = await ttd_headers(client)
    created = await client.post(APP, params={"instanceOwnerPartyId": "50001001"}, headers=owner)
    assert created.status == 201
    instance = (await created.json())["id"]
    path = f"/altinn/storage/api/v1/instances/{instance}/substatus"
    raw = b'{"label": "received", "description": "Mottatt ' + LONE.encode() + b'"}'
    response = await client.put(path, data=raw, headers={**owner, "Content-Type": "application/json"})
    assert response.status == 400
    await assert_conforms(ALTINN_STORAGE, response)
    # and what was stored is still readable: the refused write changed nothing
    read = await client.get(f"/altinn/storage/api/v1/instances/{instance}", headers=owner)
    assert read.status == 200 and "substatus" not in (await read.json())["status"]


async def test_a_valid_surrogate_pair_is_text(client: TestClient) -> None:
    headers = await kianda_headers(client)
    mapping = b'{"fieldname": "justification", "value": "\\ud83d\\ude00"}'
    raw = b'{"processName": "equipment-request", "FieldsMappings": [' + mapping + b"]}"
    response = await client.post(
        "/kianda/api/instances/create", data=raw, headers={**headers, "Content-Type": "application/json"}
    )
    assert response.status == 200, await response.text()
