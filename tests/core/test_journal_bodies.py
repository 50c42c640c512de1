"""Bodies in the journal: kept for verify, redacted, cut per entry, bounded in total, binary summarised."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient

from instancemock.app import create_app
from instancemock.core.journal import BODY_BYTES, JOURNAL, Answered, Filter, Journal, JournalEntry, KeptBody

from support import BARIUM_LOGIN, MakeClient, altinn_token, settings

LOGIN = "/barium/api/v1.1/Authenticate"


async def entries(client: TestClient, **filters: str) -> list[dict[str, Any]]:
    return list((await (await client.get("/__admin/requests", params=filters)).json())["requests"])


async def test_json_bodies_of_request_and_response_are_kept(make_client: MakeClient) -> None:
    client = await make_client(auth=False)
    sent = {"processName": "training-approval-request", "FieldsMappings": [{"fieldname": "reason", "text": "x"}]}
    created = await client.post("/kianda/api/instances/create", json=sent)
    journal = client.app[JOURNAL]
    if type(journal) is Journal:  # in memory, a body no longer than the journal keeps waits unmade
        assert isinstance(journal._main.entries[-1], Answered)
        assert journal._main._kept == journal._main.entries[-1].kept_bytes > len(await created.read())
    [entry] = await entries(client, method="POST")
    assert entry["operation"] == "createInstance"
    assert entry["requestBody"] == {
        "kind": "json",
        "size": entry["bodySize"],
        "contentType": "application/json",
        "truncated": False,
        "value": sent,
    }
    assert entry["responseBody"]["value"] == await created.json()
    assert entry["bodiesDropped"] is False


async def test_credentials_in_bodies_are_redacted(make_client: MakeClient) -> None:
    client = await make_client()
    login = await client.post(LOGIN, params={"format": "json"}, data=BARIUM_LOGIN)
    ticket = (await login.json())["Ticket"]
    bare = await (await client.post(LOGIN, data=BARIUM_LOGIN)).text()
    as_xml = await (await client.post(LOGIN, params={"format": "xml"}, data=BARIUM_LOGIN)).text()
    in_xml = re.search(r"<Ticket>([^<]+)</Ticket>", as_xml)
    assert in_xml is not None
    token = await altinn_token(
        client, "GetEnterpriseToken", org="ttd", orgNo="991825827", scopes="altinn:serviceowner/instances.read"
    )
    listed = await client.get("/__admin/requests")
    text = await listed.text()
    for secret in (BARIUM_LOGIN["Password"], BARIUM_LOGIN["APIKey"], ticket, bare, in_xml.group(1), token):
        assert secret not in text
    xml_login, bare_login, form = [e for e in (await listed.json())["requests"] if e["operation"] == "authenticate"]
    assert xml_login["responseBody"]["value"] == "[redacted]"  # XML: the journal cannot redact by field name
    assert bare_login["responseBody"]["value"] == "[redacted]"  # the bare ticket, as text
    assert form["requestBody"]["kind"] == "form"
    assert form["requestBody"]["value"] == {
        "APIKey": "[redacted]",
        "Username": BARIUM_LOGIN["Username"],
        "Password": "[redacted]",
    }
    assert form["responseBody"]["value"]["Ticket"] == "[redacted]"


async def test_a_long_body_is_cut_and_marked_and_a_binary_one_summarised(make_client: MakeClient) -> None:
    client = await make_client(auth=False)
    long_text = "a" * (BODY_BYTES + 100)
    create = "/kianda/api/instances/create"  # validation reads the body (and refuses the content type)
    await client.post(create, data=long_text, headers={"Content-Type": "text/plain"})
    await client.post(create, data=bytes(range(256)) * 4, headers={"Content-Type": "application/octet-stream"})
    await client.post("/nowhere", data=b"never read", headers={"Content-Type": "text/plain"})
    unread, binary, long = await entries(client, method="POST")
    assert unread["requestBody"] is None and unread["bodySize"] == 10  # a body nobody read is not waited for
    assert long["requestBody"]["truncated"] is True and long["requestBody"]["size"] == len(long_text)
    assert len(long["requestBody"]["value"]) == BODY_BYTES
    assert binary["requestBody"] == {
        "kind": "binary",
        "size": 1024,
        "contentType": "application/octet-stream",
        "truncated": False,
    }


def entry_with_body(number: int, size: int) -> JournalEntry:
    entry = JournalEntry(
        number, datetime(2026, 1, 1, tzinfo=UTC), "kianda", "default", "POST", "/p", "/p", {}, {}, size
    )
    entry.request_body = KeptBody.of(b"x" * size, "text/plain")
    return entry


def test_the_total_bound_drops_the_oldest_bodies_first_and_keeps_the_entries() -> None:
    journal = Journal(size=10, body_bytes=2500)
    for number in range(1, 6):
        journal.add(entry_with_body(number, 1000))
    listed = {entry.id: entry for entry in journal.find(Filter())}
    assert sorted(listed) == [1, 2, 3, 4, 5]
    assert [listed[n].request_body is not None for n in range(1, 6)] == [False, False, False, True, True]
    assert listed[1].bodies_dropped and listed[1].as_json()["bodiesDropped"]


def test_entries_pushed_out_by_the_size_bound_free_their_bodies() -> None:
    journal = Journal(size=3, body_bytes=10_000)
    for number in range(1, 50):
        journal.add(entry_with_body(number, 1000))
    assert journal._main._kept == 3000 and len(journal._main._holding) <= 4


async def test_answers_kept_unmade_count_against_the_bound_and_list_as_made_ones(aiohttp_client: Any) -> None:
    """In memory, a request with no body read is kept unmade (`journal.Answered`) until listed: its
    answer's body counts against the total bound from the start, and it lists as a made entry would."""
    client = await aiohttp_client(create_app(settings()))
    journal = client.app[JOURNAL]
    ring = journal._main
    ring.body_bytes = 400
    for number in range(12):
        assert (await client.get(f"/nowhere/{number}")).status == 404
    assert all(isinstance(entry, Answered) for entry in ring.entries)  # none made yet
    kept = ring._kept
    listed = await entries(client, path="/nowhere/*")
    assert [entry["path"] for entry in listed] == [f"/nowhere/{n}" for n in range(11, -1, -1)]
    with_bodies = [entry for entry in listed if entry["responseBody"] is not None]
    assert 0 < len(with_bodies) < 12 and with_bodies == listed[: len(with_bodies)]  # the newest keep theirs
    assert all(entry["bodiesDropped"] for entry in listed[len(with_bodies) :])
    assert all(entry["status"] == 404 and entry["responseBody"]["value"]["status"] == 404 for entry in with_bodies)
    assert kept == ring._kept == sum(entry.kept_bytes for entry in ring.entries) <= 400
