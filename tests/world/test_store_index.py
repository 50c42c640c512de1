"""`Store.index`: a platform's derived view of a collection, filled once and told of every write."""

from __future__ import annotations

from instancemock.world.store import Document, MemoryStore


class Keys:
    """The keys and documents of a collection, as an index sees them."""

    made = 0

    def __init__(self) -> None:
        Keys.made += 1
        self.docs: dict[str, Document] = {}

    def add(self, key: str, doc: Document) -> None:
        assert key not in self.docs, "a replace is told as discard, then add"
        self.docs[key] = doc

    def discard(self, key: str) -> None:
        self.docs.pop(key, None)


async def test_an_index_is_filled_once_then_told_of_each_write_in_its_collection() -> None:
    store = MemoryStore({"things": {"a": {"n": 1}, "b": {"n": 2}}, "other": {"x": {}}})
    before = Keys.made
    index = await store.index("things", Keys)
    assert index.docs == {"a": {"n": 1}, "b": {"n": 2}}
    assert await store.index("things", Keys) is index and Keys.made == before + 1

    await store.put("things", "a", {"n": 10})
    await store.put("things", "c", {"n": 3})
    await store.update("things", "b", lambda d: {"n": d["n"] * 10})
    await store.update("things", "b", lambda d: None)  # no change: nothing to tell
    await store.delete("things", "c")
    await store.delete("things", "missing")
    await store.put("other", "y", {"n": 99})
    assert index.docs == {"a": {"n": 10}, "b": {"n": 20}}
    listed = await store.list("things")
    assert list(index.docs.values()) == [s.doc for s in listed]


async def test_loading_a_world_drops_indexes_to_be_built_again_from_it() -> None:
    store = MemoryStore({"things": {"a": {}}})
    first = await store.index("things", Keys)
    store.load({"things": {"z": {}}})
    second = await store.index("things", Keys)
    assert second is not first and set(second.docs) == {"z"}
