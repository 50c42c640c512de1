"""The SQLite store (`--state-file x.db`): what a server acknowledged is there after a restart, exactly.

In-process restarts here (the app closed cleanly, or simply abandoned); kill -9 under load is in
tests/conformance/test_crash_safety.py.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from instancemock.app import create_app
from instancemock.core.context import STATE
from instancemock.platforms.altinn.domain.index import InstanceIndex
from instancemock.platforms.altinn.domain.instances import INSTANCES
from instancemock.world.sqlite_store import DatabaseError, SqlitePersistence, SqliteStore
from instancemock.world.store import VersionConflict

from support import KIANDA, assert_conforms, kianda_headers, settings

CREATE = "/kianda/api/instances/create"


@asynccontextmanager
async def serving(path: Path, **overrides: Any) -> AsyncIterator[TestClient]:
    """A server on the database at `path`; closed (every write committed, the file released) on exit."""
    async with TestClient(TestServer(create_app(settings(state_file=path, **overrides)))) as client:
        yield client


async def state_of(client: TestClient) -> Any:
    response = await client.get("/__admin/state")
    assert response.status == 200
    return await response.json()


async def create(client: TestClient, headers: dict[str, str]) -> str:
    response = await client.post(CREATE, json={"processName": "equipment-request"}, headers=headers)
    assert response.status == 200, await response.text()
    await assert_conforms(KIANDA, response)
    return str((await response.json())["instanceID"])


async def test_every_write_is_there_after_a_restart_with_its_version_and_place(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    async with serving(db) as client:
        headers = await kianda_headers(client)
        created = [await create(client, headers) for _ in range(3)]
        deleted = await client.delete(f"/kianda/api/instances/{created[0]}", headers=headers)
        assert deleted.status == 200
        store = client.app[STATE].store("default", "kianda")
        await store.put("notes", "b", {"n": 1})
        await store.put("notes", "a", {"n": 1})
        await store.update("notes", "b", lambda doc: {**doc, "n": 2})
        before = await state_of(client)
    async with serving(db) as client:
        assert await state_of(client) == before
        store = client.app[STATE].store("default", "kianda")
        assert [s.doc for s in await store.list("notes")] == [{"n": 2}, {"n": 1}]  # b first: written first
        assert (await store.get("notes", "b")).version == 2  # type: ignore[union-attr]
        with pytest.raises(VersionConflict):
            await store.put("notes", "b", {"n": 3}, expect=1)
        headers = await kianda_headers(client)
        missing = await client.get(f"/kianda/api/instances/{created[0]}", headers=headers)
        assert missing.status == 404
        # the counter came back with the instances: the next number is new, the deleted one is not reused
        number = int((await create(client, headers)).rsplit("-", 1)[1])
        assert number == int(created[-1].rsplit("-", 1)[1]) + 1


async def test_reset_eviction_and_import_are_durable(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    async with serving(db, sandboxes=1) as client:
        seeded = (await state_of(client))["sandboxes"]["default"]["kianda"]
        headers = await kianda_headers(client)
        await create(client, headers)
        assert (await client.post("/__admin/reset", params={"api": "kianda"})).status == 200
        for sandbox in ("first", "second"):  # one sandbox beside the default: "first" is evicted
            response = await client.get("/kianda/api/instances", headers={**headers, "X-Mock-Sandbox": sandbox})
            assert response.status == 200
        sandboxes = (await state_of(client))["sandboxes"]
        assert set(sandboxes) == {"default", "second"}
    async with serving(db, sandboxes=1) as client:
        after = (await state_of(client))["sandboxes"]
        assert set(after) == {"default", "second"}
        assert after["default"]["kianda"] == seeded
        document = {"format": "instancemock-state/1", "sandboxes": {"default": {"kianda": {"notes": {"x": {"y": 1}}}}}}
        assert (await client.put("/__admin/state", json=document)).status == 200
    async with serving(db, sandboxes=1) as client:
        after = (await state_of(client))["sandboxes"]
        assert set(after) == {"default"}
        assert after["default"]["kianda"] == {"notes": {"x": {"y": 1}}}  # the others are seeded again


async def test_a_write_to_a_world_reset_meanwhile_is_not_brought_back(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    async with serving(db) as client:
        state = client.app[STATE]
        stale = state.store("default", "kianda")
        state.reset("default", "kianda")
        await stale.put("notes", "ghost", {"from": "a world that is gone"})
        fresh = state.store("default", "kianda")
        assert await fresh.get("notes", "ghost") is None
    async with serving(db) as client:
        assert await client.app[STATE].store("default", "kianda").get("notes", "ghost") is None


async def test_a_write_that_cannot_be_committed_is_refused_and_not_applied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "state.db"
    async with serving(db) as client:
        store = client.app[STATE].store("default", "kianda")
        assert isinstance(store, SqliteStore)
        await store.put("notes", "kept", {"v": 1})

        def disk_full(*args: Any) -> None:
            raise sqlite3.OperationalError("database or disk is full")

        monkeypatch.setattr(SqlitePersistence, "_write", disk_full)
        with pytest.raises(sqlite3.OperationalError):
            await store.put("notes", "kept", {"v": 2})
        assert (await store.get("notes", "kept")).doc == {"v": 1}  # type: ignore[union-attr]
        headers = await kianda_headers(client)
        refused = await client.post(CREATE, json={"processName": "equipment-request"}, headers=headers)
        assert refused.status == 500  # never acknowledged
        await assert_conforms(KIANDA, refused)
        monkeypatch.undo()
    async with serving(db) as client:
        assert (await client.app[STATE].store("default", "kianda").get("notes", "kept")).doc == {"v": 1}  # type: ignore[union-attr]


async def test_a_second_server_on_the_same_database_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    async with serving(db):
        with pytest.raises(DatabaseError, match="in use by another server"):
            create_app(settings(state_file=db))


def test_a_json_state_file_named_otherwise_is_refused_with_a_hint(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    db.write_text(json.dumps({"format": "instancemock-state/1", "sandboxes": {}}))
    with pytest.raises(DatabaseError, match=r"\*\.json"):
        create_app(settings(state_file=db))


class Keys:
    """An index of a collection's keys and documents (the `Index` protocol of world/store.py)."""

    def __init__(self) -> None:
        self.docs: dict[str, Any] = {}

    def add(self, key: str, doc: Any) -> None:
        self.docs[key] = doc

    def discard(self, key: str) -> None:
        self.docs.pop(key, None)


async def test_an_index_follows_committed_writes_only_and_is_built_again_after_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "state.db"
    async with serving(db) as client:
        store = client.app[STATE].store("default", "kianda")
        assert isinstance(store, SqliteStore)
        index = await store.index("notes", Keys)
        assert await store.index("notes", Keys) is index
        await store.put("notes", "a", {"v": 1})
        await store.put("notes", "b", {"v": 1})
        await store.update("notes", "a", lambda doc: {"v": 2})
        await store.delete("notes", "b")
        assert index.docs == {"a": {"v": 2}}

        def disk_full(*args: Any) -> None:
            raise sqlite3.OperationalError("database or disk is full")

        monkeypatch.setattr(SqlitePersistence, "_write", disk_full)
        with pytest.raises(sqlite3.OperationalError):
            await store.put("notes", "lost", {"v": 1})
        assert index.docs == {"a": {"v": 2}}  # never committed, so never told
        monkeypatch.undo()
    async with serving(db) as client:
        restored = await client.app[STATE].store("default", "kianda").index("notes", Keys)
        assert restored.docs == {"a": {"v": 2}}


async def test_a_restored_world_has_its_platform_indexes_attached_before_any_query(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    async with serving(db):
        pass
    async with serving(db) as client:
        store = client.app[STATE].store("default", "altinn")
        assert isinstance(store, SqliteStore)
        assert InstanceIndex in store.memory._indexes[INSTANCES]  # built at start-up, not by the first query
