"""The Storage query's cached wire forms (domain/serialize.py `WireForms`) are what rendering gives.

The query assembles its page from each instance's encoded form, cached per stored document; a
stale form would show a client an instance as it was before a write, so these tests write and
then compare the query's instances with the single-instance GET, which renders afresh.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient

from instancemock.core.encoding import dumps
from instancemock.platforms.altinn.domain.index import InstanceIndex
from instancemock.platforms.altinn.domain.instances import INSTANCES, mutable
from instancemock.platforms.altinn.domain.serialize import WireForms, storage_view
from instancemock.platforms.altinn.seed import seed_altinn
from instancemock.world.clock import Clock
from instancemock.world.state import SeedContext
from instancemock.world.store import Document, MemoryStore

from support import ALTINN_STORAGE, NOW, OWNER_SCOPES, MakeClient, assert_conforms, settings, ttd_headers

STORAGE = "/altinn/storage/api/v1/instances"
ORIGINS = ("http://127.0.0.1:8080", "https://mock.example")


def seeded(count: int) -> dict[str, dict[str, Document]]:
    options = settings(apis={"altinn-storage": {"instances": count}})
    return seed_altinn(SeedContext(options, Clock(NOW), "altinn"))


def test_every_cached_form_is_the_rendered_view_in_every_variant() -> None:
    docs = list(seeded(60)[INSTANCES].values())
    wire = WireForms()
    for _ in range(2):  # the second pass answers from the cache
        for doc in docs:
            for origin in ORIGINS:
                for strip in (False, True):
                    for include in (False, True):
                        expected = dumps(storage_view(doc, origin, strip_deleted_data=strip, include_data=include))
                        found = wire.encoded(doc, origin, strip_deleted_data=strip, include_data=include)
                        assert found == expected
    assert len(wire) == len(docs)


def test_a_page_is_each_document_s_form_cached_or_not() -> None:
    docs = list(seeded(20)[INSTANCES].values())
    wire = WireForms()
    wire.encoded(docs[3], ORIGINS[0], strip_deleted_data=True, include_data=True)  # one cached, the rest not
    for origin in ORIGINS:
        for strip in (False, True):
            expected = [dumps(storage_view(d, origin, strip_deleted_data=strip, include_data=True)) for d in docs]
            for _ in range(2):
                assert wire.page(docs, origin, strip_deleted_data=strip, include_data=True) == expected
    changed = mutable(docs[0])
    changed["lastChangedBy"] = "someone-else"
    assert (
        orjson.loads(wire.page([changed], ORIGINS[0], strip_deleted_data=False, include_data=True)[0])["lastChangedBy"]
        == "someone-else"
    )  # filed under a reused id or not: never the form of another document


def test_a_replaced_document_is_rendered_again_and_a_forgotten_one_released() -> None:
    doc = next(iter(seeded(5)[INSTANCES].values()))
    wire = WireForms()
    before = wire.encoded(doc, ORIGINS[0], strip_deleted_data=False, include_data=True)
    changed = mutable(doc)
    changed["lastChangedBy"] = "someone-else"
    after = wire.encoded(changed, ORIGINS[0], strip_deleted_data=False, include_data=True)
    assert orjson.loads(before)["lastChangedBy"] != "someone-else"
    assert orjson.loads(after)["lastChangedBy"] == "someone-else"
    wire.forget(doc)  # no longer the one filed: nothing to drop
    assert len(wire) == 1
    wire.forget(changed)
    assert len(wire) == 0


def test_the_cache_holds_at_most_its_limit_of_documents_and_a_few_variants_each() -> None:
    docs = list(seeded(12)[INSTANCES].values())
    wire = WireForms(limit=5)
    for doc in docs:
        wire.encoded(doc, ORIGINS[0], strip_deleted_data=False, include_data=True)
    assert len(wire) == 5
    doc = docs[-1]
    for port in range(20):  # a client cycling through Host headers
        origin = f"http://host:{port}"
        assert wire.encoded(doc, origin, strip_deleted_data=False, include_data=True) == dumps(
            storage_view(doc, origin)
        )
    assert len(wire._forms[id(doc)][1]) <= 4


async def test_the_index_drops_the_forms_of_a_document_the_store_replaces_or_deletes() -> None:
    data = seeded(8)
    store = MemoryStore(data)
    index = await store.index(INSTANCES, InstanceIndex)
    key, doc = next(iter(data[INSTANCES].items()))
    index.wire.encoded(doc, ORIGINS[0], strip_deleted_data=False, include_data=True)
    assert len(index.wire) == 1
    await store.put(INSTANCES, key, mutable(doc))
    assert len(index.wire) == 0
    replaced = index.docs[key]
    index.wire.encoded(replaced, ORIGINS[0], strip_deleted_data=False, include_data=True)
    await store.delete(INSTANCES, key)
    assert len(index.wire) == 0


async def page(client: TestClient, headers: dict[str, str], **params: str) -> list[dict[str, Any]]:
    response = await client.get(STORAGE, params={"org": "ttd", "size": "20", **params}, headers=headers)
    assert response.status == 200, await response.text()
    await assert_conforms(ALTINN_STORAGE, response)
    instances: list[dict[str, Any]] = (await response.json())["instances"]
    return instances


async def single(client: TestClient, headers: dict[str, str], instance_id: str) -> dict[str, Any]:
    response = await client.get(f"{STORAGE}/{instance_id}", headers=headers)
    assert response.status == 200, await response.text()
    found: dict[str, Any] = await response.json()
    return found


@pytest.mark.parametrize("kept_in", ["the store", "sqlite"])
async def test_after_writes_the_query_shows_each_instance_as_its_own_get_does(
    make_client: MakeClient, tmp_path: Path, kept_in: str
) -> None:
    """On the test's store (memory or Redis), and on a SQLite state file (which replaces it)."""
    client = await make_client(**({"state_file": tmp_path / "state.db"} if kept_in == "sqlite" else {}))
    headers = await ttd_headers(client, OWNER_SCOPES)
    first = await page(client, headers)  # every form of the page is cached now
    written = first[3]["id"]
    response = await client.put(f"{STORAGE}/{written}/substatus", json={"label": "cached?"}, headers=headers)
    assert response.status == 200, await response.text()
    response = await client.put(f"{STORAGE}/{first[5]['id']}/readstatus?status=Read", headers=headers)
    assert response.status == 200, await response.text()
    newest = {i["id"]: i for i in await page(client, headers)}
    assert newest[written]["status"]["substatus"]["label"] == "cached?"  # moved to the front by its write
    for params in ({}, {"order": "asc:lastChanged"}, {"includeDataElements": "false"}):
        listed = await page(client, headers, **params)
        for instance in listed:
            alone = await single(client, headers, instance["id"])
            if params.get("includeDataElements") == "false":
                alone["data"] = []
            assert instance == alone


async def test_sandboxes_keep_their_own_forms(client: TestClient) -> None:
    headers = await ttd_headers(client, OWNER_SCOPES)
    other = headers | {"X-Mock-Sandbox": "team-a"}
    await page(client, other)
    default_page = await page(client, headers)
    written = default_page[0]["id"]
    response = await client.put(f"{STORAGE}/{written}/substatus", json={"label": "default only"}, headers=headers)
    assert response.status == 200, await response.text()
    in_default = {i["id"]: i for i in await page(client, headers)}
    in_team = {i["id"]: i for i in await page(client, other)}
    assert in_default[written]["status"]["substatus"]["label"] == "default only"
    assert "substatus" not in in_team[written]["status"] or in_team[written]["status"]["substatus"] != {
        "label": "default only"
    }
