"""The Storage query's kept answers (domain/answers.py): a repeated query is answered from the
answer made for it, and never once the instances changed, nor for another caller, host or owner.

Each test makes an answer kept first, then changes one thing the answer depends on and checks the
next answer shows it: a cache keyed on too little, or not dropped on a write, fails here.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from instancemock.core.context import STATE
from instancemock.platforms.altinn.domain.answers import Answers
from instancemock.platforms.altinn.domain.index import InstanceIndex
from instancemock.platforms.altinn.domain.instances import INSTANCES

from support import ALTINN_STORAGE, OWNER_SCOPES, assert_conforms, kari_headers, ttd_headers

STORAGE = "/altinn/storage/api/v1/instances"
WINDOW = {"org": "ttd", "size": "5", "lastChanged": "gt:2020-01-01T00:00:00Z"}


def test_an_answer_is_handed_out_only_for_the_count_of_changes_it_was_made_at() -> None:
    answers = Answers()
    answers.put(3, "q", b"three")
    assert answers.get(3, "q") == b"three"
    assert answers.get(3, "other") is None
    assert answers.get(4, "q") is None  # a write came between: everything kept is dropped
    assert len(answers) == 0
    answers.put(3, "q", b"late")  # made before the write, filed after it: dropped at once
    assert answers.get(4, "q") is None


def test_answers_are_bounded_in_number_and_in_size() -> None:
    answers = Answers(limit=3, byte_limit=10)
    for n in range(5):
        answers.put(1, n, b"x")
    assert len(answers) == 3
    assert answers.get(1, 0) is None and answers.get(1, 4) == b"x"  # the oldest made way
    answers.put(1, "large", b"y" * 11)
    assert answers.get(1, "large") is None


async def kept_answers(client: TestClient) -> Answers:
    store = client.server.app[STATE].store("default", "altinn")
    return (await store.index(INSTANCES, InstanceIndex)).answers


async def ask(client: TestClient, headers: dict[str, str], params: dict[str, str] | str) -> tuple[bytes, Any]:
    """The answer's bytes and JSON; `params` as a dict, or a link the server gave (`next`)."""
    if isinstance(params, str):
        link = urlsplit(params)
        response: ClientResponse = await client.get(f"{link.path}?{link.query}", headers=headers)
    else:
        response = await client.get(STORAGE, params=params, headers=headers)
    assert response.status == 200, await response.text()
    await assert_conforms(ALTINN_STORAGE, response)
    return await response.read(), await response.json()


async def test_a_repeated_query_gets_the_same_bytes_from_the_kept_answer(client: TestClient) -> None:
    headers = await ttd_headers(client, OWNER_SCOPES)
    first, body = await ask(client, headers, WINDOW)
    assert body["count"] == 5
    answers = await kept_answers(client)
    assert len(answers) == 1
    again, _ = await ask(client, headers, WINDOW)
    assert again == first
    following, _ = await ask(client, headers, body["next"])
    assert following != first and len(answers) == 2  # the next page is a query of its own


async def test_a_write_drops_the_kept_answers(client: TestClient) -> None:
    headers = await ttd_headers(client, OWNER_SCOPES)
    _, before = await ask(client, headers, WINDOW)
    oldest = before["instances"][-1]["id"]
    response = await client.put(f"{STORAGE}/{oldest}/substatus", json={"label": "moved"}, headers=headers)
    assert response.status == 200, await response.text()
    _, after = await ask(client, headers, WINDOW)
    assert after["instances"][0]["id"] == oldest  # changed last: now first
    assert after["instances"][0]["status"]["substatus"] == {"label": "moved"}
    response = await client.post(
        f"{STORAGE}?appId=ttd/soknad-tilskudd", json={"instanceOwner": {"partyId": "50001001"}}, headers=headers
    )
    assert response.status == 201, await response.text()
    _, newest = await ask(client, headers, WINDOW)
    assert newest["totalHits"] == after["totalHits"] + 1
    assert newest["instances"][0]["id"] == (await response.json())["id"]


async def test_callers_who_may_read_different_instances_do_not_share_answers(client: TestClient) -> None:
    own = {"instanceOwner.partyId": "50001001", "size": "5"}
    kari = await kari_headers(client, "altinn:instances.read")
    _, allowed = await ask(client, kari, own)
    assert allowed["totalHits"] > 0
    low_level = await kari_headers(client, "altinn:instances.read", authLvl="1")  # below every app's level 2
    _, refused = await ask(client, low_level, own)
    assert refused["totalHits"] == 0 and refused["instances"] == []
    stranger = await kari_headers(client, "altinn:instances.read", userId="20009999", partyId="50009999")
    _, theirs = await ask(client, stranger, own)
    assert theirs["totalHits"] == 0
    _, again = await ask(client, kari, own)
    assert again == allowed


async def test_the_owner_header_and_the_host_are_part_of_the_question(client: TestClient) -> None:
    kari = await kari_headers(client, "altinn:instances.read")
    params = {"size": "5"}
    _, by_person = await ask(client, kari | {"X-Ai-InstanceOwnerIdentifier": "Person:12038522157"}, params)
    _, nobody = await ask(client, kari | {"X-Ai-InstanceOwnerIdentifier": "Person:01010199999"}, params)
    assert by_person["totalHits"] > 0 and nobody["totalHits"] == 0
    headers = await ttd_headers(client, OWNER_SCOPES)
    _, here = await ask(client, headers, WINDOW)
    _, there = await ask(client, headers | {"Host": "mock.example"}, WINDOW)
    assert here["self"].startswith("http://127.0.0.1") and there["self"].startswith("http://mock.example/")
    assert there["instances"][0]["selfLinks"]["platform"].startswith("http://mock.example/")
