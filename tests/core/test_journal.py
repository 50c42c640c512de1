"""The request journal: what it records, its filters, its bound, and what it never shows."""

from __future__ import annotations

import asyncio
import tracemalloc
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from multidict import CIMultiDict, CIMultiDictProxy, MultiDict, MultiDictProxy

from instancemock.app import create_app
from instancemock.core.context import STATE
from instancemock.core.journal import Filter, Journal, JournalEntry
from instancemock.core.pipeline import API_PLUGINS

from support import ADMIN, NOW, MakeClient, assert_conforms, settings

UNKNOWN = "/barium/api/v1.1/Instances/no-such-id/Nothing"


async def listed(client: TestClient, **filters: Any) -> dict[str, Any]:
    response = await client.get("/__admin/requests", params={k: str(v) for k, v in filters.items()})
    assert response.status == 200, await response.text()
    await assert_conforms(ADMIN, response)
    return await response.json()


async def count(client: TestClient, **filters: Any) -> int:
    response = await client.get("/__admin/requests/count", params={k: str(v) for k, v in filters.items()})
    assert response.status == 200, await response.text()
    await assert_conforms(ADMIN, response)
    return int((await response.json())["count"])


async def test_an_entry_records_the_request_and_its_outcome(make_client: MakeClient) -> None:
    client = await make_client()
    await client.post(
        "/kianda/api/instances/x/y/z?a=1&a=2&b=3",
        data=b'{"hello": "world"}',
        headers={"Content-Type": "application/json", "X-Mock-Sandbox": "qa"},
    )
    [entry] = (await listed(client))["requests"]
    assert entry["api"] == "kianda" and entry["sandbox"] == "qa"
    assert entry["method"] == "POST"
    assert entry["path"] == "/kianda/api/instances/x/y/z" and entry["apiPath"] == "/api/instances/x/y/z"
    assert entry["query"] == {"a": ["1", "2"], "b": ["3"]}
    assert entry["headers"]["Content-Type"] == "application/json"
    assert entry["bodySize"] == 18
    assert entry["status"] == 404 and entry["fault"] is None
    assert entry["durationMs"] >= 0
    assert datetime.fromisoformat(entry["time"]) >= NOW


async def test_credentials_are_redacted(make_client: MakeClient) -> None:
    client = await make_client()
    await client.get(
        UNKNOWN,
        params={"ticket": "T-123", "Max": "2"},
        headers={"Authorization": "Bearer eyJsecret", "Ticket": "T-123", "Cookie": "session=abc"},
    )
    [entry] = (await listed(client))["requests"]
    assert entry["headers"]["Authorization"] == "[redacted]"
    assert entry["headers"]["Ticket"] == "[redacted]"
    assert entry["headers"]["Cookie"] == "[redacted]"
    assert entry["query"] == {"ticket": ["[redacted]"], "Max": ["2"]}
    text = await (await client.get("/__admin/requests")).text()
    assert "T-123" not in text and "eyJsecret" not in text and "abc" not in text


async def test_filters_by_api_method_path_status_and_sandbox(make_client: MakeClient) -> None:
    client = await make_client()
    await client.get(UNKNOWN)
    await client.get(UNKNOWN, headers={"X-Mock-Status": "503", "X-Mock-Sandbox": "s1"})
    await client.delete("/kianda/api/instances/a/b/c", headers={"X-Mock-Status": "502"})
    await client.get("/altinn/nothing/here/at/all/really")
    await client.get("/nowhere")
    assert await count(client) == 5
    assert await count(client, api="barium") == 2
    assert await count(client, api="kianda", method="delete") == 1
    assert await count(client, method="GET") == 4
    assert await count(client, status=503) == 1
    assert await count(client, status="5xx") == 2
    assert await count(client, status="4xx") == 3
    assert await count(client, sandbox="s1") == 1
    assert await count(client, sandbox="default") == 4
    assert await count(client, path="/barium/api/v1.1/instances/*") == 2  # the path as sent
    assert await count(client, path="/Instances/*/Nothing") == 2  # or the API's own path
    assert await count(client, path="/nowhere") == 1
    assert await count(client, path="/no") == 0  # without a wildcard the whole path must match
    assert await count(client, api="barium", status=503, sandbox="s1") == 1
    body = await listed(client, status="5xx")
    assert body["total"] == 2 and [e["status"] for e in body["requests"]] == [502, 503]  # newest first


async def test_since_and_limit(make_client: MakeClient) -> None:
    client = await make_client()
    state_clock = client.app[STATE].clock
    for _ in range(3):
        await client.get(UNKNOWN)
    state_clock.advance(3600)
    later = state_clock.now()
    for _ in range(2):
        await client.get("/nowhere")
    since = later.astimezone(UTC).isoformat().replace("+00:00", "Z")
    assert await count(client, since=since) == 2
    assert await count(client, since=(later + timedelta(hours=1)).isoformat()) == 0
    body = await listed(client, limit=2)
    assert body["total"] == 5 and len(body["requests"]) == 2
    assert [e["path"] for e in body["requests"]] == ["/nowhere", "/nowhere"]
    bad = await client.get("/__admin/requests", params={"since": "yesterday"})
    assert bad.status == 400
    bad = await client.get("/__admin/requests", params={"limit": "0"})
    assert bad.status == 400
    bad = await client.get("/__admin/requests/count", params={"status": "5x"})
    assert bad.status == 400


async def test_delete_clears_the_journal(make_client: MakeClient) -> None:
    client = await make_client()
    await client.get(UNKNOWN)
    await client.get(UNKNOWN)
    response = await client.delete("/__admin/requests")
    assert response.status == 200 and (await response.json())["deleted"] >= 2
    await assert_conforms(ADMIN, response)
    assert await count(client) == 0


async def test_admin_calls_are_kept_apart_and_listed_only_when_asked(make_client: MakeClient) -> None:
    client = await make_client()
    await client.get(UNKNOWN)
    for _ in range(3):
        await client.get("/__admin/health")
    assert await count(client) == 1
    admin = await listed(client, api="admin")
    assert admin["total"] >= 3 and all(e["path"].startswith("/__admin") for e in admin["requests"])


async def test_the_journal_keeps_only_the_newest_entries(make_client: MakeClient) -> None:
    client = await make_client(journal_size=5)
    for i in range(12):
        await client.get(f"/nowhere/{i}")
    body = await listed(client)
    assert body["total"] == 5
    assert [e["path"] for e in body["requests"]] == [f"/nowhere/{i}" for i in range(11, 6, -1)]


async def test_a_crash_is_journaled_as_the_500_the_client_got(aiohttp_client: Any) -> None:
    app = create_app(settings(auth=False))

    async def crash(request: web.Request) -> web.Response:
        raise RuntimeError("boom")

    plugins = dict(app[API_PLUGINS])
    plugins["kianda"] = replace(plugins["kianda"], operations={"deleteInstance": crash})
    app[API_PLUGINS] = plugins
    client = await aiohttp_client(app)
    assert (await client.delete("/kianda/api/instances/anything-1")).status == 500
    [entry] = (await listed(client))["requests"]
    assert entry["status"] == 500 and entry["api"] == "kianda"


def test_memory_stays_flat_under_any_load() -> None:
    def entry(journal: Journal, i: int) -> JournalEntry:
        return JournalEntry(
            journal.next_id(), NOW, "barium", "default", "GET", f"/p/{i}", f"/p/{i}",
            {"q": [str(i)]}, {"Host": "h", "X-N": str(i)}, 0, 200,
        )  # fmt: skip

    tracemalloc.start()
    journal = Journal(size=1000)
    for i in range(2000):
        journal.add(entry(journal, i))
    baseline = tracemalloc.take_snapshot()
    for i in range(50_000):
        journal.add(entry(journal, i))
    grown = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(baseline, "filename"))
    tracemalloc.stop()
    assert len(journal) == 1000
    assert grown < 50_000  # 50,000 more entries cost no more than ~100 of them would
    assert len(journal.find(Filter(path="/p/4999?"))) == 10  # the newest survive


async def test_concurrent_requests_are_all_recorded(make_client: MakeClient) -> None:
    client = await make_client()
    await asyncio.gather(*(client.get(f"/nowhere/{i}") for i in range(40)))
    assert await count(client, path="/nowhere/*") == 40


def test_an_entry_keeps_what_arrived_and_redacts_it_when_read() -> None:
    """Recording costs no redaction: the entry holds aiohttp's multidicts, and every reading (the
    listing, `verify`, a shared journal's stored form and its reading back) shows them redacted."""
    sent_headers = CIMultiDictProxy(CIMultiDict([("Ticket", "t-1"), ("X-N", "1"), ("x-n", "2")]))
    sent_query = MultiDictProxy(MultiDict([("TICKET", "t-1"), ("Max", "2"), ("Max", "3")]))
    entry = JournalEntry(1, NOW, "barium", "default", "GET", "/p", "/p", sent_query, sent_headers, 0, 200)
    assert entry.sent_headers is sent_headers  # kept as it arrived
    shown = entry.as_json()
    assert shown["headers"] == {"Ticket": "[redacted]", "X-N": "1", "x-n": "2"}
    assert shown["query"] == {"TICKET": ["[redacted]"], "Max": ["2", "3"]}
    assert entry.seen().headers == {"ticket": "[redacted]", "x-n": "2"}
    assert JournalEntry.from_kept(entry.kept_json()).as_json() == shown
