"""Two replicas, each a server on its own port, sharing one real Redis (`--store redis://...`).

What one replica acknowledged, the other serves: create on A, read, update and delete on B; the
Kianda version race has exactly one winner across both; a reset on one is a reset for both; a
token, ticket or continuation token from one works on the other; a `times: 2` rule fires twice in
all, and so does a `times: 2` stub; the journal is one; the sandboxes evicted are the least
recently used by any replica.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

from aiohttp.test_utils import TestClient, TestServer

from instancemock.app import create_app
from instancemock.core.stubs import STUBS, SharedStubs

from support import BARIUM, KIANDA, assert_conforms, barium_headers, kianda_headers, settings, ttd_headers

CREATE = "/kianda/api/instances/create"
PROCESS = "equipment-request"
STORAGE = "/altinn/storage/api/v1/instances"
SANDBOX = "X-Mock-Sandbox"


@asynccontextmanager
async def replicas(url: str, count: int = 2, **overrides: Any) -> AsyncIterator[list[TestClient]]:
    """`count` servers on their own ports, one Redis; each closed (its client too) on exit."""
    clients = [TestClient(TestServer(create_app(settings(store=url, **overrides)))) for _ in range(count)]
    for client in clients:
        await client.start_server()
    try:
        yield clients
    finally:
        for client in clients:
            await client.close()


async def test_create_on_one_replica_read_update_and_delete_on_the_other(redis_url: str) -> None:
    async with replicas(redis_url) as (a, b):
        assert a.port != b.port
        on_a, on_b = await kianda_headers(a), await kianda_headers(b)
        created = await a.post(CREATE, json={"processName": PROCESS}, headers=on_a)
        assert created.status == 200, await created.text()
        name = (await created.json())["instanceID"]

        read = await b.get(f"/kianda/api/instances/{name}", headers=on_b)
        assert read.status == 200
        await assert_conforms(KIANDA, read)
        version = (await read.json())["Version"]

        text = "changed on B"
        body = {"Version": version, "FieldsMappings": [{"fieldname": "justification", "text": text, "value": text}]}
        updated = await b.put(f"/kianda/api/instances/{name}", json=body, headers=on_b)
        assert updated.status == 200, await updated.text()
        seen = await (await a.get(f"/kianda/api/instances/{name}", headers=on_a)).json()
        assert seen["Version"] != version
        assert next(f for f in seen["fields"] if f["name"] == "justification")["value"] == text

        stale = await a.put(f"/kianda/api/instances/{name}", json=body, headers=on_a)
        assert stale.status == 409  # A sends the version B already wrote over

        deleted = await b.delete(f"/kianda/api/instances/{name}", headers=on_b)
        assert deleted.status == 200
        assert (await a.get(f"/kianda/api/instances/{name}", headers=on_a)).status == 404


async def test_ids_handed_out_by_two_replicas_never_collide(redis_url: str) -> None:
    async with replicas(redis_url) as (a, b):
        headers = {a: await kianda_headers(a), b: await kianda_headers(b)}

        async def create(client: TestClient) -> str:
            response = await client.post(CREATE, json={"processName": PROCESS}, headers=headers[client])
            assert response.status == 200, await response.text()
            return str((await response.json())["instanceID"])

        names = await asyncio.gather(*(create(client) for client in [a, b] * 16))
        assert len(set(names)) == 32


async def test_32_writers_with_one_version_across_two_replicas_one_wins(redis_url: str) -> None:
    async with replicas(redis_url) as (a, b):
        headers = {a: await kianda_headers(a), b: await kianda_headers(b)}
        name = "training-approval-request-1"
        version = (await (await a.get(f"/kianda/api/instances/{name}", headers=headers[a])).json())["Version"]

        async def write(index: int) -> tuple[int, Any]:
            client = (a, b)[index % 2]
            text = f"writer {index}"
            body = {"Version": version, "FieldsMappings": [{"fieldname": "reason", "text": text, "value": text}]}
            response = await client.put(f"/kianda/api/instances/{name}", json=body, headers=headers[client])
            return response.status, await response.json()

        answers = await asyncio.gather(*(write(i) for i in range(32)))
        statuses = sorted(status for status, _ in answers)
        assert statuses == [200] + [409] * 31, statuses
        winner = next(i for i, (status, _) in enumerate(answers) if status == 200)
        final = await (await b.get(f"/kianda/api/instances/{name}", headers=headers[b])).json()
        assert final["Version"] == answers[winner][1]["Version"] != version
        reason = next(f for f in final["fields"] if f["name"] == "reason")
        assert reason["value"] == f"writer {winner}"


async def test_a_reset_on_one_replica_resets_the_world_for_both(redis_url: str) -> None:
    async with replicas(redis_url) as (a, b):
        on_a, on_b = await kianda_headers(a), await kianda_headers(b)
        sandbox = {"X-Mock-Sandbox": "team-b"}
        created = await b.post(CREATE, json={"processName": PROCESS}, headers={**on_b, **sandbox})
        name = (await created.json())["instanceID"]
        assert (await a.get(f"/kianda/api/instances/{name}", headers={**on_a, **sandbox})).status == 200
        reset = await a.post("/__admin/reset")  # every sandbox, team-b too though A never served it
        assert reset.status == 200
        assert (await b.get(f"/kianda/api/instances/{name}", headers={**on_b, **sandbox})).status == 404


async def test_tokens_and_tickets_from_one_replica_work_on_the_other(redis_url: str) -> None:
    async with replicas(redis_url) as (a, b):
        kianda = await kianda_headers(a)
        assert (await b.get("/kianda/api/instances/training-approval-request-1", headers=kianda)).status == 200
        barium = await barium_headers(b)
        listed = await a.get("/barium/api/v1.1/Instances?Max=1", headers=barium)
        assert listed.status == 200
        await assert_conforms(BARIUM, listed)
        altinn = await ttd_headers(a)
        found = await b.get(f"{STORAGE}?org=ttd&size=1", headers=altinn)
        assert found.status == 200, await found.text()
        assert (await b.get("/barium/api/v1.1/Instances?Max=1", headers={"ticket": "not-a-ticket"})).status == 401


async def test_continuation_paging_that_hops_between_replicas_visits_every_match_once(redis_url: str) -> None:
    async with replicas(redis_url) as (a, b):
        headers = await ttd_headers(a)
        total = (await (await a.get(f"{STORAGE}?org=ttd&size=10000", headers=headers)).json())["count"]
        page = await (await a.get(f"{STORAGE}?org=ttd&size=50", headers=headers)).json()
        seen: list[str] = []
        for hop in range(1000):
            seen += [i["id"] for i in page["instances"]]
            if page["next"] is None:
                break
            response = await (a, b)[hop % 2].get(f"{STORAGE}?{urlsplit(page['next']).query}", headers=headers)
            assert response.status == 200
            page = await response.json()
        assert len(seen) == len(set(seen)) == total > 50

        barium = await barium_headers(a)
        pages = []
        for start, client in zip(range(0, 30, 10), (a, b, a), strict=True):
            answer = await client.get(f"/barium/api/v1.1/Instances?Start={start}&Max=10", headers=barium)
            pages += [i["Id"] for i in (await answer.json())["Data"]]
        whole = await (await b.get("/barium/api/v1.1/Instances?Start=0&Max=30", headers=barium)).json()
        assert pages == [i["Id"] for i in whole["Data"]]


async def test_a_rule_with_times_2_fails_exactly_two_requests_across_both_replicas(redis_url: str) -> None:
    async with replicas(redis_url) as (a, b):
        headers = {a: await kianda_headers(a), b: await kianda_headers(b)}
        rule = {"api": "kianda", "method": "GET", "path": "/api/instances/*", "times": 2, "status": 503}
        added = await a.post("/__admin/faults", json=rule)
        assert added.status == 201, await added.text()
        url = "/kianda/api/instances/training-approval-request-1"

        async def get(index: int) -> int:
            client = (a, b)[index % 2]
            return (await client.get(url, headers=headers[client])).status

        assert await get(1) == 503  # B fires the rule A added ...
        assert await get(0) == 503  # ... and A counts B's firing: this is the second and last
        statuses = await asyncio.gather(*(get(i) for i in range(10)))
        assert statuses == [200] * 10, statuses
        listed = await (await b.get("/__admin/faults")).json()
        assert [(r["fired"], r["remaining"]) for r in listed["rules"]] == [(2, 0)]
        assert (await b.delete("/__admin/faults")).status == 200
        assert (await (await a.get("/__admin/faults")).json())["rules"] == []


def create_stub(instance_id: str, **extra: Any) -> dict[str, Any]:
    """A stub answering Kianda's create with `instance_id`, as the stub tests add it."""
    created = {"success": True, "instanceID": instance_id}
    return {
        "request": {"api": "kianda", "operation": "createInstance"},
        "response": {"status": 200, "body": created},
        **extra,
    }


async def test_a_stub_with_times_2_added_on_one_replica_answers_exactly_two_requests_across_both(
    redis_url: str,
) -> None:
    async with replicas(redis_url) as (a, b):
        headers = {a: await kianda_headers(a), b: await kianda_headers(b)}
        stub = create_stub("stubbed-1", times=2)
        created = stub["response"]["body"]
        added = await a.post("/__admin/stubs", json=stub)
        assert added.status == 201, await added.text()
        stub_id = (await added.json())["id"]

        async def create(index: int) -> tuple[str | None, Any]:
            client = (a, b)[index % 2]
            answer = await client.post(CREATE, json={"processName": PROCESS}, headers=headers[client])
            assert answer.status == 200, await answer.text()
            await assert_conforms(KIANDA, answer)
            return answer.headers.get("X-Mock-Source"), await answer.json()

        first = await create(1)  # B answers with the stub A added ...
        assert first == ("stub", created)
        answers = [first, *await asyncio.gather(*(create(i) for i in range(12)))]
        stubbed = [body for source, body in answers if source == "stub"]
        assert stubbed == [created, created]  # ... and the two replicas answer with it twice in all
        assert all(body["instanceID"] != "stubbed-1" for source, body in answers if source != "stub")
        for client in (a, b):
            [listed] = (await (await client.get("/__admin/stubs")).json())["stubs"]
            assert (listed["id"], listed["answered"], listed["remaining"]) == (stub_id, 2, 0)


async def test_stubs_are_read_again_only_after_a_change_costing_no_round_trip_per_request(redis_url: str) -> None:
    async with replicas(redis_url) as (a, b):
        stubs = b.app[STUBS]
        assert isinstance(stubs, SharedStubs)
        reads = 0
        read_version = stubs.versions.read_version

        async def counted() -> int:
            nonlocal reads
            reads += 1
            return await read_version()

        stubs.versions.read_version = counted  # type: ignore[method-assign]
        headers = await kianda_headers(b)
        url = "/kianda/api/instances/training-approval-request-1"
        for _ in range(5):
            assert (await b.get(url, headers=headers)).status == 200
        assert reads == 0  # the version the fault rules read for each request said: unchanged
        stub = {"request": {"api": "kianda", "operation": "createInstance"}}
        stub["response"] = {"status": 200, "body": {"success": True, "instanceID": "stubbed-3"}}
        assert (await a.post("/__admin/stubs", json=stub)).status == 201
        for _ in range(3):
            assert (await b.get(url, headers=headers)).status == 200
        assert reads == 1  # read once, on the first request after A's change


async def test_stubs_deleted_or_cleared_on_one_replica_are_gone_on_the_other(redis_url: str) -> None:
    async with replicas(redis_url) as (a, b):
        headers = {a: await kianda_headers(a), b: await kianda_headers(b)}
        stub = create_stub("stubbed-2")
        first = await (await a.post("/__admin/stubs", json=stub)).json()
        second = await b.post("/__admin/stubs", json={**stub, "request": {**stub["request"], "sandbox": "t"}})
        assert second.status == 201, await second.text()
        ids = [first["id"], (await second.json())["id"]]
        assert ids == ["stub-1", "stub-2"]  # default ids count across replicas
        duplicate = await a.post("/__admin/stubs", json={**stub, "id": "stub-2"})
        assert duplicate.status == 409
        listed = (await (await a.get("/__admin/stubs")).json())["stubs"]
        assert [s["id"] for s in listed] == ["stub-2", "stub-1"]  # newest first, wherever added

        answer = await a.post(CREATE, json={"processName": PROCESS}, headers=headers[a])
        assert answer.headers.get("X-Mock-Source") == "stub"
        assert (await b.delete("/__admin/stubs/stub-1")).status == 200
        assert (await a.delete("/__admin/stubs/stub-1")).status == 404
        answer = await a.post(CREATE, json={"processName": PROCESS}, headers=headers[a])
        assert answer.status == 200 and answer.headers.get("X-Mock-Source") is None

        cleared = await (await a.delete("/__admin/stubs", params={"sandbox": "t"})).json()
        assert cleared == {"deleted": 1}
        assert (await (await b.get("/__admin/stubs")).json())["stubs"] == []
        sandboxed = {**headers[b], "X-Mock-Sandbox": "t"}
        answer = await b.post(CREATE, json={"processName": PROCESS}, headers=sandboxed)
        assert answer.status == 200 and answer.headers.get("X-Mock-Source") is None


async def test_the_config_files_stubs_are_shared_once_by_replicas_that_start_with_them(redis_url: str) -> None:
    stub = create_stub("from-config", times=1)
    async with replicas(redis_url, stubs=[stub]) as (a, b):
        listed = (await (await b.get("/__admin/stubs")).json())["stubs"]
        assert [(s["id"], s["times"]) for s in listed] == [("stub-1", 1)]  # one stub, not one per replica
        headers = {a: await kianda_headers(a), b: await kianda_headers(b)}
        sources = []
        for client in (a, b, a, b):
            answer = await client.post(CREATE, json={"processName": PROCESS}, headers=headers[client])
            sources.append(answer.headers.get("X-Mock-Source"))
        assert sources == ["stub", None, None, None]
        added = await (await b.post("/__admin/stubs", json=stub)).json()
        assert added["id"] == "stub-2"  # the counter goes on from the config file's stubs


async def test_the_sandbox_evicted_is_the_one_least_recently_used_by_any_replica(redis_url: str) -> None:
    async with replicas(redis_url, sandboxes=2) as (a, b):
        headers = {a: await kianda_headers(a), b: await kianda_headers(b)}

        async def create(client: TestClient, sandbox: str) -> str:
            made = await client.post(
                CREATE, json={"processName": PROCESS}, headers={**headers[client], SANDBOX: sandbox}
            )
            assert made.status == 200, await made.text()
            return str((await made.json())["instanceID"])

        async def read(client: TestClient, sandbox: str, name: str) -> int:
            found = await client.get(f"/kianda/api/instances/{name}", headers={**headers[client], SANDBOX: sandbox})
            return found.status

        kept = await create(a, "kept")
        dropped = await create(a, "dropped")
        assert await read(b, "kept", kept) == 200  # B's use makes "kept" the most recent, A never hears of it
        await create(a, "third")  # one sandbox too many: A alone would evict "kept", its oldest
        exported = await (await b.get("/__admin/state")).json()
        assert set(exported["sandboxes"]) == {"default", "kept", "third"}
        assert await read(a, "kept", kept) == 200
        assert await read(b, "dropped", dropped) == 404  # seeded again, without the instance


async def test_the_journal_lists_what_every_replica_served(redis_url: str) -> None:
    async with replicas(redis_url, journal_size=5) as (a, b):
        assert (await a.delete("/__admin/requests")).status == 200
        headers = await kianda_headers(a)
        for index in range(4):
            client = (a, b)[index % 2]
            await client.get(f"/kianda/api/instances/missing-{index}", headers=headers)
        listed = await (await b.get("/__admin/requests?api=kianda&path=/api/instances/*")).json()
        assert [r["path"] for r in listed["requests"]] == [f"/kianda/api/instances/missing-{i}" for i in (3, 2, 1, 0)]
        ids = [r["id"] for r in listed["requests"]]
        assert ids == sorted(ids, reverse=True) and len(set(ids)) == 4
        for index in range(10):
            await b.get(f"/kianda/api/instances/more-{index}", headers=headers)
        bounded = await (await a.get("/__admin/requests")).json()
        assert bounded["total"] == 5  # one bounded stream, MAXLEN journal_size, whoever appended
        assert (await (await a.get("/__admin/requests/count?path=/kianda/api/instances/more-9")).json())["count"] == 1


async def test_the_state_export_of_one_replica_holds_the_sandboxes_the_other_made(redis_url: str) -> None:
    async with replicas(redis_url) as (a, b):
        headers = await kianda_headers(b)
        sandbox = {"X-Mock-Sandbox": "only-on-b"}
        created = await b.post(CREATE, json={"processName": PROCESS}, headers={**headers, **sandbox})
        name = (await created.json())["instanceID"]
        exported = await (await a.get("/__admin/state")).json()
        assert any(doc["id"] == name for doc in exported["sandboxes"]["only-on-b"]["kianda"]["instances"].values())


async def test_verify_and_the_journal_see_the_bodies_another_replica_recorded(redis_url: str) -> None:
    async with replicas(redis_url) as (a, b):
        assert (await a.delete("/__admin/requests")).status == 200
        sent = {"processName": PROCESS}
        created = await a.post(CREATE, json=sent, headers=await kianda_headers(a))
        assert created.status == 200, await created.text()
        listed = await (await b.get(f"/__admin/requests?method=POST&path={CREATE}")).json()
        [entry] = listed["requests"]
        assert entry["requestBody"]["value"] == sent
        assert entry["responseBody"]["value"] == await created.json()
        criteria = {"operation": "createInstance", "body": sent, "status": "2xx"}
        verified = await b.post("/__admin/requests/verify", json={"request": criteria, "count": 1})
        assert (await verified.json())["verified"] is True
        other = {"operation": "createInstance", "body": {"processName": "leave-request"}}
        missed = await (await b.post("/__admin/requests/verify", json={"request": other})).json()
        assert missed["verified"] is False
        assert missed["nearMisses"][0]["differences"] == [
            {"field": "body.processName", "expected": "leave-request", "actual": PROCESS}
        ]
