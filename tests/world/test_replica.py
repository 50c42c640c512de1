"""Large worlds made from a sample (world/replica.py), at a small scale: the thresholds lowered.

What must hold of every large world: the same world for the same seed, keys and GUIDs of their
own, nothing after the seed instant, each platform's numbering intact (Barium's names per app,
Kianda's names and counters, Altinn's `_seq`), the documents a store makes on first read (`Lazy`,
`Later`) the same as those made at once, and every answer still valid against its spec.
"""

from __future__ import annotations

import json
import random
import re
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from aiohttp.test_utils import TestClient, TestServer

from instancemock.app import create_app
from instancemock.core.context import STATE
from instancemock.platforms.altinn.domain import query as q
from instancemock.platforms.altinn.domain.index import InstanceIndex
from instancemock.platforms.altinn.seed import seed_altinn
from instancemock.platforms.barium.order import InstanceOrder
from instancemock.platforms.barium.seed import seed_barium
from instancemock.platforms.kianda.seed import seed as seed_kianda
from instancemock.settings import Settings
from instancemock.world import replica
from instancemock.world.clock import Clock
from instancemock.world.seeding import can_fork
from instancemock.world.state import SeedContext
from instancemock.world.store import Later, Lazy, MemoryStore, Stored

from support import (
    ALTINN_STORAGE,
    BARIUM,
    KIANDA,
    MakeClient,
    assert_conforms,
    barium_headers,
    kianda_headers,
    settings,
    ttd_headers,
)

NOW = datetime.fromisoformat("2026-01-01T00:00:00+00:00")
SIZE = 163  # no other test seeds this size: the seed cache never mixes these worlds with others
GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


@pytest.fixture(autouse=True)
def small_large_worlds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Worlds of `SIZE` instances are large ones, made from 40 samples."""
    monkeypatch.setattr(replica, "LARGE", 100)
    monkeypatch.setattr(replica, "SAMPLE", 40)
    monkeypatch.setattr(seed_barium, "lazy_from", 100)
    monkeypatch.setattr(seed_kianda, "lazy_from", 100)
    monkeypatch.setattr(seed_altinn, "lazy_from", 100)


def seeded(platform: str, seed: int = 7, size: int = SIZE) -> dict[str, dict[str, Any]]:
    settings = Settings(
        seed=seed, now=NOW, apis={name: {"instances": size} for name in ("kianda", "barium", "altinn-storage")}
    )
    seeder = {"kianda": seed_kianda, "barium": seed_barium, "altinn": seed_altinn}[platform]
    return seeder(SeedContext(settings, Clock(NOW), platform))


def documents(world: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The world as plain documents, each `Lazy` made and each `Later` collection laid out."""
    store = MemoryStore(world)
    return {name: {key: stored.doc for key, stored in items} for name, items in store.items()}


def instants(value: Any) -> list[str]:
    """The instants in `value`, but those in form fields (values people entered: dates ahead too)."""
    if isinstance(value, str):
        return [value] if re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+Z", value) else []
    if isinstance(value, dict):
        return [found for key, item in value.items() if key not in ("fields", "Fields") for found in instants(item)]
    if isinstance(value, list):
        return [found for item in value for found in instants(item)]
    return []


@pytest.mark.parametrize("platform", ["kianda", "barium", "altinn"])
def test_a_large_world_is_a_function_of_the_seed(platform: str) -> None:
    first = documents(seeded(platform))
    assert first == documents(seeded(platform))
    assert first != documents(seeded(platform, seed=8))


@pytest.mark.parametrize("platform", ["kianda", "barium", "altinn"])
def test_a_large_world_has_its_size_and_nothing_after_the_seed_instant(platform: str) -> None:
    world = documents(seeded(platform))
    assert len(world["instances"]) == SIZE
    stamps = instants(world)
    assert stamps and max(stamps) <= "2026-01-01T00:00:00Z"
    assert min(stamps) >= "2024-01-01"  # the copies go back no further than the oldest sample


def test_barium_copies_have_guids_names_and_references_of_their_own() -> None:
    world = documents(seeded("barium"))
    instances, tasks, objects = world["instances"], world["tasks"], world["objects"]
    assert all(GUID.fullmatch(key) and doc["Id"] == key for key, doc in instances.items())
    # each task and form object belongs to an instance of this world, under that instance's name
    assert tasks and all(doc["Id"] == key for key, doc in tasks.items())
    assert all(tasks[key]["InstanceName"] == instances[tasks[key]["InstanceId"]]["Name"] for key in tasks)
    assert all(doc["InstanceId"] in instances for doc in objects.values())
    assert all(objects[doc["FormId"]]["InstanceId"] == key for key, doc in instances.items())
    # names are numbered per app from 1 in the order instances started, and the apps' counters follow
    names = Counter(doc["ApplicationId"] for doc in instances.values())
    for app_id, count in names.items():
        started = sorted(
            (doc["StartDate"], doc["Name"]) for doc in instances.values() if doc["ApplicationId"] == app_id
        )
        numbers = [int(name.rsplit("-", 1)[1]) for _, name in started]
        assert numbers == list(range(1, count + 1))
        assert all(name.split("-")[-2] == start[:4] for start, name in started)  # the year it started
        assert world["apps"][app_id]["NextNumber"] == count + 1


def test_barium_leaves_its_documents_to_the_store_until_read() -> None:
    world = seeded("barium")
    assert isinstance(world["tasks"], Later) and isinstance(world["objects"], Later)
    assert all(isinstance(doc, Lazy) for doc in world["instances"].values())
    store = MemoryStore(world)
    assert store.documents() == sum(len(items) for items in world.values())
    # counted without being laid out; laid out (keys in order) on first read
    assert store._later.keys() == {"tasks", "objects"}


async def test_a_later_collection_is_laid_out_on_first_use_and_takes_writes() -> None:
    world = seeded("barium")
    plain = documents(seeded("barium"))
    store = MemoryStore(world)
    count = await store.count("tasks")
    assert count == len(plain["tasks"]) and "tasks" in store._later
    key = next(iter(plain["tasks"]))
    first = await store.get("tasks", key)
    assert first is not None and first.version == 1 and first.doc == plain["tasks"][key]
    assert "tasks" not in store._later
    written = await store.put("tasks", key, {**first.doc, "Locked": True}, expect=1)
    assert written.version == 2 and type(written) is Stored
    assert [s.doc["Id"] for s in await store.list("tasks")] == list(plain["tasks"])  # its place kept
    assert await store.delete("objects", next(iter(plain["objects"])))
    assert await store.count("objects") == len(plain["objects"]) - 1
    dumped = await store.dump()
    assert dumped["instances"] == plain["instances"]


def test_kianda_copies_are_numbered_per_process_with_their_own_unique_ids() -> None:
    world = documents(seeded("kianda"))
    instances = world["instances"]
    assert "training-approval-request-1" in instances  # the fixture's example stays
    assert all(doc["id"] == key for key, doc in instances.items())
    assert len({doc["uniqueId"] for doc in instances.values()}) == SIZE
    for process, counter in world["counters"].items():
        numbers = [
            int(key.rsplit("-", 1)[1]) for key, doc in instances.items() if doc["processName"].lower() == process
        ]
        assert numbers and max(numbers) == counter["last"]
    assert all(doc["created"] <= doc["modified"] for doc in instances.values())


def test_altinn_copies_keep_their_parts_together() -> None:
    world = documents(seeded("altinn"))
    instances = world["instances"]
    assert sorted(doc["_seq"] for doc in instances.values()) == list(range(1, SIZE + 1))
    assert world["meta"]["instanceSequence"]["value"] == SIZE
    for key, doc in instances.items():
        assert doc["id"].endswith("/" + key) and GUID.fullmatch(key)
        for element in doc["data"]:
            assert element["instanceGuid"] == key and f"/{key}/data/{element['id']}" in element["blobStoragePath"]
        if "dataValues" in doc:
            assert doc["dataValues"]["caseNumber"] == f"{doc['created'][:4]}/{doc['_seq']:04d}"
    elements = [element["id"] for doc in instances.values() for element in doc["data"]]
    assert len(set(elements)) == len(elements)


def test_small_worlds_are_seeded_as_before() -> None:
    """Below `LARGE` nothing comes from the sample: the world is the seeder's own walk."""
    world = seeded("barium", size=30)
    assert not any(isinstance(items, Later) for items in world.values())
    assert not any(isinstance(doc, Lazy) for items in world.values() for doc in items.values())


async def test_large_worlds_answer_as_their_specs_say(make_client: MakeClient) -> None:
    client = await make_client(
        seed=41,
        apis={"barium": {"instances": SIZE}, "altinn-storage": {"instances": SIZE}, "kianda": {"instances": SIZE}},
    )
    listed = await client.get(
        "/barium/api/v1.1/Instances", params={"Status": "active", "Max": "10"}, headers=await barium_headers(client)
    )
    assert listed.status == 200
    await assert_conforms(BARIUM, listed)
    rows = await listed.json()
    assert rows["Data"] if isinstance(rows, dict) else rows
    query = await client.get(
        "/altinn/storage/api/v1/instances", params={"org": "ttd", "size": "10"}, headers=await ttd_headers(client)
    )
    assert query.status == 200
    await assert_conforms(ALTINN_STORAGE, query)
    assert len((await query.json())["instances"]) == 10
    kianda = await client.get("/kianda/api/instances", params={"pageSize": "5"})
    assert kianda.status in (200, 401)
    await assert_conforms(KIANDA, kianda)


async def test_a_large_world_is_kept_whole_in_a_sqlite_state_file(tmp_path: Path) -> None:
    """SQLite writes every document of a new world (the `Lazy` ones made there and then), so a
    restart serves the same world from the file."""
    sizes = {"barium": {"instances": SIZE}, "kianda": {"instances": SIZE}, "altinn-storage": {"instances": SIZE}}
    db = tmp_path / "state.db"
    exports = []
    for _ in range(2):
        app = create_app(settings(seed=43, state_file=db, apis=sizes))
        async with TestClient(TestServer(app)) as client:
            response = await client.get("/__admin/state")
            assert response.status == 200
            exports.append(await response.json())
    assert exports[0] == exports[1]
    worlds = exports[0]["sandboxes"]["default"]
    assert len(worlds["barium"]["instances"]) == len(worlds["kianda"]["instances"]) == SIZE
    assert worlds["barium"]["tasks"] and worlds["barium"]["objects"]


def made_and_lazy(platform: str, index: type[Any]) -> tuple[MemoryStore, Any, MemoryStore, Any]:
    """The same world twice: as seeded (copies left as `Lazy`) and as plain documents, each with `index` attached."""
    lazy = MemoryStore(seeded(platform))
    made = MemoryStore(documents(seeded(platform)))
    return lazy, lazy.attach("instances", index), made, made.attach("instances", index)


def unmade(store: MemoryStore) -> int:
    return sum(isinstance(s, Lazy) and not s.made for s in store._data["instances"].values())


def test_barium_files_its_copies_without_making_them_where_made_documents_would_go() -> None:
    lazy, order, _, reference = made_and_lazy("barium", InstanceOrder)
    assert unmade(lazy) == SIZE  # filing read no copy's document
    assert order._filed == reference._filed
    for status in (None, "active", "completed", "cancelled", "aborted"):
        for start, limit in ((0, 10), (7, 3), (SIZE - 2, 10)):
            total, page = order.newest_first(status, start, limit)
            assert (total, page) == reference.newest_first(status, start, limit)
    assert unmade(lazy) >= SIZE - 60  # only the pages were made


async def test_the_storage_query_answers_from_unmade_copies_as_from_made_documents() -> None:
    lazy, index, made, reference = made_and_lazy("altinn", InstanceIndex)
    assert unmade(lazy) == SIZE
    assert index._entries == reference._entries
    rng = random.Random(5)
    docs = [s.doc for s in await made.list("instances")]

    def compare(rounds: int) -> None:
        for _ in range(rounds):
            some = rng.choice(docs)
            query = q.Query(
                org=rng.choice([None, "ttd", some["org"]]),
                app_id=rng.choice([None, some["appId"]]),
                party_id=rng.choice([None, int(some["instanceOwner"]["partyId"])]),
                descending=rng.random() < 0.6,
                size=rng.choice([1, 7, 50]),
            )
            query.dates += q.date_filters("lastChanged", [f"gt:{rng.choice(docs)['lastChanged']}"])
            allowed = rng.choice([None, lambda d: d["status"]["isArchived"]])
            while True:
                page, total, cursor = query.select(index, allowed)
                expected = query.select(reference, allowed)
                assert ([d["id"] for d in page], total, cursor) == ([d["id"] for d in expected[0]], *expected[1:])
                assert page == expected[0]
                if cursor is None:
                    break
                query.after = cursor

    compare(40)
    # writes on copies not made yet: a replaced one, a deleted one, a new one
    keys = [key for key, s in lazy._data["instances"].items() if not s.made][:2]
    for store in (lazy, made):
        first = await store.get("instances", keys[0])
        assert first is not None
        changed = {**first.doc, "lastChanged": "2025-12-31T23:59:59Z", "status": {"isArchived": True}}
        await store.put("instances", keys[0], changed, expect=1)
        assert await store.delete("instances", keys[1])
        await store.put("instances", "new", {**changed, "id": "1/new", "_seq": SIZE + 1}, expect=0)
    docs = [s.doc for s in await made.list("instances")]
    compare(40)


async def test_a_lazy_world_answers_as_the_same_world_imported_as_plain_documents(make_client: MakeClient) -> None:
    """Lists, queries with continuation tokens and gets from a world whose copies are made on
    first read, against the same world exported and imported (plain documents, indexes filed from them)."""
    sizes = {"barium": {"instances": SIZE}, "altinn-storage": {"instances": SIZE}, "kianda": {"instances": SIZE}}
    lazy = await make_client(seed=44, apis=sizes)
    plain = await make_client(seed=44, apis=sizes)
    exported = await (await plain.get("/__admin/state")).json()
    assert (await plain.put("/__admin/state", json=exported)).status == 200

    async def both(path: str, params: dict[str, str], headers: dict[str, dict[str, str]]) -> Any:
        answers = []
        for client in (lazy, plain):
            response = await client.get(path, params=params, headers=headers["lazy" if client is lazy else "plain"])
            assert response.status == 200, await response.text()
            host = f"{client.host}:{client.port}"  # links name the server they came from
            answers.append(json.loads((await response.text()).replace(host, "HOST")))
        assert answers[0] == answers[1], path
        return answers[0]

    barium = {"lazy": await barium_headers(lazy), "plain": await barium_headers(plain)}
    lists = ({"Max": "10"}, {"Status": "active", "Max": "5", "Start": "3"}, {"Status": "completed", "Max": "1000"})
    for params in lists:
        listed = await both("/barium/api/v1.1/Instances", params, barium)
    for row in listed["Data"][:3]:
        await both(f"/barium/api/v1.1/Instances/{row['Id']}", {}, barium)
    storage = {"lazy": await ttd_headers(lazy), "plain": await ttd_headers(plain)}
    await both("/altinn/storage/api/v1/instances", {"org": "ttd", "lastChanged": "gt:2025-01-01T00:00:00Z"}, storage)
    params, pages = {"org": "ttd", "size": "30"}, 0
    while True:
        page = await both("/altinn/storage/api/v1/instances", params, storage)
        pages += 1
        if not page["next"]:
            break
        params = {**params, "continuationToken": unquote(page["next"].split("continuationToken=")[1])}
    assert pages > 1
    owner, guid = page["instances"][0]["id"].split("/")
    await both(f"/altinn/storage/api/v1/instances/{owner}/{guid}", {}, storage)
    headers = {"lazy": await kianda_headers(lazy), "plain": await kianda_headers(plain)}
    kianda = await both("/kianda/api/instances", {"pageSize": "20"}, headers)
    assert kianda


@pytest.mark.skipif(not can_fork(), reason="the draw is forked")
async def test_large_worlds_drawn_in_a_forked_process_are_those_seeded_here(
    aiohttp_client: Any, make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In the background a forked process draws each large world (`prepare`) and the server makes
    its copies of that (`assemble`): the same worlds as seeding them all in the server."""
    made: list[str] = []
    for seeder in (seed_kianda, seed_barium, seed_altinn):
        assemble = seeder.assemble  # type: ignore[attr-defined]

        def recorded(ctx: SeedContext, drawn: Any, assemble: Any = assemble) -> Any:
            made.append(ctx.platform)
            return assemble(ctx, drawn)

        monkeypatch.setattr(seeder, "assemble", recorded)
    sizes = {"barium": {"instances": SIZE}, "altinn-storage": {"instances": SIZE}, "kianda": {"instances": SIZE}}
    app = create_app(settings(seed=45, apis=sizes), background=True)
    drawn = await aiohttp_client(app)
    await app[STATE].ready_all()
    assert sorted(made) == ["altinn", "barium", "kianda"]  # each made of what the child drew
    here = await make_client(seed=45, apis=sizes)
    exports = [await (await client.get("/__admin/state")).json() for client in (drawn, here)]
    assert exports[0]["sandboxes"] == exports[1]["sandboxes"]
    assert len(exports[0]["sandboxes"]["default"]["barium"]["instances"]) == SIZE


def test_keys_formatted_at_once_are_those_formatted_one_by_one() -> None:
    """`replica.guids` (a drawn world's keys, all at once) gives what `_guid` gives each: version 4, variant 10."""
    pool = random.Random(3).randbytes(16 * 300)
    starts = sorted(random.Random(4).sample(range(0, 16 * 300, 16), 120))
    assert replica.guids(pool, starts) == [replica._guid(pool, at) for at in starts]
    assert all(GUID.fullmatch(key) for key in replica.guids(pool, starts))
    assert replica.guids(pool, []) == []


def test_barium_files_copies_whose_sample_it_cannot_read_once_as_it_files_them_made() -> None:
    """Filing a whole world reads each sample's `StartDate` and `Status` once; where copying would
    change them (a `Status` that is an instant, a `StartDate` that is not one) or the `Id` is not
    the key, it reads them off each copy, and files each copy as it would file it made."""
    rng = random.Random(8)
    g1, g2, g3, g4 = (str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(4))
    samples = [
        {"Id": g1, "StartDate": "2025-03-04T05:06:07Z", "Status": "active", "Name": "x"},
        {"Id": g2, "StartDate": "soon", "Status": "2025-03-01T00:00:00Z"},  # a Status copies move
        {"Id": 7, "StartDate": 12, "Status": None, "Ref": g3},  # not keyed by a GUID: made at once
        {"Id": g4, "Status": f"waiting on {g4} and more"},  # a Status with a GUID born here
    ]
    shaped = replica.shapes([[("instances", doc)] for doc in samples])
    starts = [datetime.fromisoformat("2025-03-04T05:06:07+00:00")] * len(shaped)
    plan = replica.copies(shaped, starts, 60, rng)
    replica.draw(plan, rng, lambda copy: None)
    out: dict[str, dict[str, Any]] = {"instances": {}}
    key_of = lambda collection, doc: str(doc["Id"])  # noqa: E731
    replica.place(plan, out, key_of, lambda collection, doc, copy: None, lazy=True)
    lazy = MemoryStore(out)
    order = lazy.attach("instances", InstanceOrder)
    made = MemoryStore({"instances": {key: s.doc for key, s in lazy._data["instances"].items()}})
    assert order._filed == made.attach("instances", InstanceOrder)._filed
