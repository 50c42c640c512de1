"""Redis as the shared store (`--store redis://HOST:PORT/DB`): several processes and replicas, one world.

Every replica reads and writes the same keys, through the `redis` package's asyncio client, so an
instance created on one replica is read, updated and deleted on another (README, "Scaling out").

Decisions, and why:

- Each world (sandbox x platform) has a generation: `im:sandbox:<name>` maps a platform to the
  generation its documents live under, and every key of that world is named by it
  (`im:w:<generation>:d:<collection>` holds key -> "version:json", `...:o:<collection>` the order
  keys were first written in, `...:cols` the collections). A reset, an eviction or an import
  points the sandbox at a new generation (or none) in one step; the old keys are unlinked after.
- Every single-document operation is one Lua script: it checks that the world is still the
  generation this replica knows, then reads or writes. A write with `expect` compares the version
  and writes in the same script, so the Kianda version race has exactly one winner across all
  replicas. A script that finds the world gone (reset elsewhere) makes this replica look the world
  up again (seeding it if nobody has) and retry.
- `update` is optimistic: read, apply the change, write with `expect` = the version read; another
  replica's write in between makes it read and apply again. The change therefore may run more
  than once, and must only depend on the document it is given (every caller's does).
- Seeding happens once per world: the first replica to need a world takes a Redis lock
  (`redis.asyncio.lock.Lock`), seeds, writes every document, and only then names the generation;
  the others wait for the lock and find the world named. The lock is a lease of `LOCK_SECONDS`
  that the seeding replica renews every third of it (`_renewed`): a large world may take minutes
  to seed, yet a replica that dies while seeding holds the others up for one lease at most.
- A write is acknowledged once Redis answered it. Redis's own durability (`appendonly yes`,
  `appendfsync always` in the compose example) decides what survives Redis itself crashing.
- A lost connection raises `StoreUnavailable`; the pipeline answers it 503 in the platform's shape
  (core/pipeline.py), and the client reconnects on the next request once Redis is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar, cast

import orjson
from redis import Redis as SyncRedis
from redis import exceptions as redis_errors
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.asyncio.lock import Lock
from redis.backoff import NoBackoff
from redis.retry import Retry

from instancemock.world.persistence import Worlds
from instancemock.world.store import (
    Collections,
    Document,
    Index,
    IndexT,
    MemoryStore,
    Store,
    Stored,
    StoreUnavailable,
    VersionConflict,
)

log = logging.getLogger("instancemock.state")

PREFIX = "im"
SANDBOXES = f"{PREFIX}:sandboxes"  # sorted set: every sandbox with a world, in order of first use
USED = f"{PREFIX}:sandbox-used"  # sorted set: each sandbox (but the default one) by its last use, for eviction
GENERATIONS = f"{PREFIX}:generation"  # counter: the last generation handed out
JOURNAL, JOURNAL_ADMIN, JOURNAL_IDS = f"{PREFIX}:journal", f"{PREFIX}:journal:admin", f"{PREFIX}:journal:ids"
BODIES, HOLDING, BODY_TOTAL = "bodies", "holding", "kept"  # beside each journal stream: `journal_keys`
SERVICES = "~services"  # the sandbox of what platforms share across sandboxes; no client can name it
LOCK_SECONDS = 10.0  # a seeding lock's lease, renewed while seeding: a replica that dies frees it after this
WAIT_SECONDS = 300.0  # how long a replica waits for another to finish seeding a world
CONNECT_SECONDS = 2.0
REPLY_SECONDS = 10.0
CHUNK = 2_000  # documents per round trip when a world is written whole
UPDATE_ATTEMPTS = 1_000  # an update losing this many races in a row is a livelock, not contention

UNAVAILABLE = (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError)
T = TypeVar("T")
Stamp = tuple[bytes, int]  # a collection's generation and change count: what a replica's copy is current for
Listed = list[tuple[str, Stored]]  # a collection's keys and documents, in order

# KEYS: sandbox registry, documents, order, collections, position counter, the collection's change
# counter, USED; ARGV: platform, generation, key, json, expected version ('' = any), collection, now, sandbox
# (USED and the last two ARGV, now and the sandbox or '' for one never evicted: its last use, for eviction)
_PUT = """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return {-2} end
if ARGV[8] ~= '' then redis.call('ZADD', KEYS[7], 'XX', ARGV[7], ARGV[8]) end
local current = redis.call('HGET', KEYS[2], ARGV[3])
local version = 0
if current then version = tonumber(string.match(current, '^(%d+):')) end
if ARGV[5] ~= '' and tonumber(ARGV[5]) ~= version then
  if current then return {-1, current} end
  return {-1}
end
version = version + 1
redis.call('HSET', KEYS[2], ARGV[3], version .. ':' .. ARGV[4])
local changes = redis.call('INCR', KEYS[6])
if not current then
  redis.call('ZADD', KEYS[3], redis.call('INCR', KEYS[5]), ARGV[3])
  redis.call('SADD', KEYS[4], ARGV[6])
end
return {version, changes}
"""

# KEYS: the stream, the id counter, the bodies by id, the ids holding bodies with their sizes
# (oldest first), the bodies' total size. ARGV: the bound on entries, the entry's JSON (without
# its id and bodies), its bodies' JSON ('' for none), their kept size, the bound on that total.
# The bodies of entries the stream dropped go with them; past the total, the oldest bodies go.
_JOURNAL_APPEND = """
local id = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[1], '*', 'id', id, 'entry', ARGV[2], 'kept', ARGV[4])
local size = tonumber(ARGV[4])
if ARGV[3] ~= '' and size > 0 then
  redis.call('HSET', KEYS[3], id, ARGV[3])
  redis.call('RPUSH', KEYS[4], id .. ':' .. size)
  redis.call('INCRBY', KEYS[5], size)
end
local oldest = math.huge
local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1]
if first then oldest = tonumber(first[2][2]) end
local cap = tonumber(ARGV[5])
while true do
  local head = redis.call('LINDEX', KEYS[4], 0)
  if not head then break end
  local held, bytes = string.match(head, '^(%d+):(%d+)$')
  if tonumber(held) >= oldest and tonumber(redis.call('GET', KEYS[5]) or '0') <= cap then break end
  redis.call('LPOP', KEYS[4])
  redis.call('HDEL', KEYS[3], held)
  redis.call('DECRBY', KEYS[5], bytes)
end
return id
"""

# KEYS: sandbox registry, documents, USED; ARGV: platform, generation, key, now, sandbox
_GET = """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return {-2} end
if ARGV[5] ~= '' then redis.call('ZADD', KEYS[3], 'XX', ARGV[4], ARGV[5]) end
local current = redis.call('HGET', KEYS[2], ARGV[3])
if current then return {0, current} end
return {0}
"""

# KEYS: sandbox registry, documents, order, the collection's change counter, USED
# ARGV: platform, generation, key, now, sandbox
_DELETE = """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return {-2} end
if ARGV[5] ~= '' then redis.call('ZADD', KEYS[5], 'XX', ARGV[4], ARGV[5]) end
redis.call('ZREM', KEYS[3], ARGV[3])
local gone = redis.call('HDEL', KEYS[2], ARGV[3])
if gone == 1 then return {1, redis.call('INCR', KEYS[4])} end
return {0}
"""

# KEYS: SANDBOXES, USED; ARGV: how many sandboxes besides the default one are kept, the default
# one's name, the sandbox just made (never the one evicted). The least recently used go, atomically,
# so two replicas making sandboxes at once never evict more than the bound asks; their worlds are
# dropped after (`_drop`).
_EVICT = """
local others = {}
for _, name in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if name ~= ARGV[2] then
    local used = tonumber(redis.call('ZSCORE', KEYS[2], name) or '0')
    if name == ARGV[3] then used = math.huge end
    table.insert(others, {used, name})
  end
end
local over = #others - tonumber(ARGV[1])
if over <= 0 then return {} end
table.sort(others, function(a, b) return a[1] < b[1] end)
local evicted = {}
for i = 1, over do
  redis.call('ZREM', KEYS[1], others[i][2])
  redis.call('ZREM', KEYS[2], others[i][2])
  table.insert(evicted, others[i][2])
end
return evicted
"""


class StaleWorld(Exception):
    """The world this replica knew was reset, evicted or replaced elsewhere: look it up again."""


def sandbox_key(sandbox: str) -> str:
    return f"{PREFIX}:sandbox:{sandbox}"


def lock_key(sandbox: str, platform: str) -> str:
    return f"{PREFIX}:seeding:{sandbox}:{platform}"


def world_keys(generation: bytes | str, collection: str) -> tuple[str, str]:
    """The documents hash and the order sorted set of one collection of a world's generation."""
    name = generation.decode() if isinstance(generation, bytes) else generation
    return f"{PREFIX}:w:{name}:d:{collection}", f"{PREFIX}:w:{name}:o:{collection}"


def changes_key(generation: bytes | str, collection: str) -> str:
    """How many writes a collection has had: a replica's copy of its list is current while this is."""
    name = generation.decode() if isinstance(generation, bytes) else generation
    return f"{PREFIX}:w:{name}:c:{collection}"


def collections_key(generation: bytes | str) -> str:
    name = generation.decode() if isinstance(generation, bytes) else generation
    return f"{PREFIX}:w:{name}:cols"


def positions_key(generation: bytes | str) -> str:
    name = generation.decode() if isinstance(generation, bytes) else generation
    return f"{PREFIX}:w:{name}:pos"


def journal_keys(admin: bool) -> tuple[str, str, str, str]:
    """The (admin) journal's stream, its bodies by entry id, the ids holding bodies (oldest first,
    with their sizes) and the bodies' total size."""
    stream = JOURNAL_ADMIN if admin else JOURNAL
    return stream, f"{stream}:{BODIES}", f"{stream}:{HOLDING}", f"{stream}:{BODY_TOTAL}"


def encode(stored: Stored) -> bytes:
    return b"%d:%s" % (stored.version, orjson.dumps(stored.doc))


def decode(raw: bytes) -> Stored:
    version, _, text = raw.partition(b":")
    return Stored(orjson.loads(text), int(version))


def connect(url: str) -> Redis:
    """A client that gives up quickly: a replica without Redis answers 503 at once, not after minutes.

    One retry on a broken connection: after Redis restarts, every pooled connection is dead, and
    the first command on each would fail though Redis is back."""
    return Redis.from_url(
        url,
        socket_connect_timeout=CONNECT_SECONDS,
        socket_timeout=REPLY_SECONDS,
        retry=Retry(NoBackoff(), 1),
        health_check_interval=0,
    )


def _reachable(url: str) -> None:
    """At start-up, before any seeding: Redis answers, or start-up stops with one line saying so."""
    try:
        with SyncRedis.from_url(url, socket_connect_timeout=CONNECT_SECONDS, socket_timeout=REPLY_SECONDS) as probe:
            probe.ping()
    except (redis_errors.RedisError, OSError) as error:
        raise StoreUnavailable(f"the shared store (Redis) cannot be reached at {url}: {error}") from error


async def unless_unavailable(work: Awaitable[T]) -> T:
    """`work`, with a lost connection to Redis turned into `StoreUnavailable`."""
    try:
        return await work
    except UNAVAILABLE as error:
        raise StoreUnavailable(f"the shared store (Redis) cannot be reached: {error}") from error


class RedisPersistence:
    """The worlds of every replica sharing one Redis: the `Persistence` of each replica's State."""

    shared = True

    def __init__(self, url: str, sandboxes: int = 32, default: str = "default") -> None:
        self.url = url
        self.kept = max(sandboxes, 1)  # sandboxes kept besides `default`: settings.sandboxes
        self.default = default
        _reachable(url)
        self.client = connect(url)
        self._put = self.client.register_script(_PUT)
        self._get = self.client.register_script(_GET)
        self._delete = self.client.register_script(_DELETE)
        self._journal_append = self.client.register_script(_JOURNAL_APPEND)
        self._evict = self.client.register_script(_EVICT)
        self._pending: set[asyncio.Task[None]] = set()

    # --- Persistence ----------------------------------------------------------------------------

    def load(self) -> Worlds:
        """Nothing to load: each replica finds the shared worlds when it first uses them."""
        return {}

    def adopt(self, sandbox: str, platform: str, seed: Callable[[], MemoryStore]) -> RedisStore:
        return RedisStore(self, sandbox, platform, seed)

    def forget(self, sandbox: str | None, platform: str | None = None) -> None:
        self._later(self._drop(sandbox, platform))

    def replace(self, worlds: dict[str, dict[str, MemoryStore]]) -> Worlds:
        self._later(self._replace(worlds))
        return {
            sandbox: {platform: RedisStore(self, sandbox, platform, _given(memory)) for platform, memory in p.items()}
            for sandbox, p in worlds.items()
        }

    def services(self, platform: str) -> RedisStore:
        return RedisStore(self, SERVICES, platform, MemoryStore)

    async def seeded(self, store: Store) -> None:
        """Once the world is in Redis: seeded here under the lock, or found seeded by another replica."""
        if isinstance(store, RedisStore):
            await store.ready()

    async def flush(self) -> None:
        """Once every reset, eviction and import announced so far is in Redis (or raise why not)."""
        while self._pending:
            done = list(self._pending)
            await asyncio.gather(*done, return_exceptions=True)
            for task in done:
                self._pending.discard(task)
                if not task.cancelled() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]

    async def close(self) -> None:
        try:
            await self.flush()
        finally:
            await self.client.aclose()

    # --- what the replicas share ----------------------------------------------------------------

    async def journal_append(
        self, admin: bool, entry: dict[str, object], bound: int, bodies: dict[str, object], kept: int, room: int
    ) -> int:
        """Append to the (admin) journal stream, capped at `bound` entries, and keep its `bodies`
        (`kept` bytes of them) while all kept bodies together fit in `room`; the entry's id."""
        stream, bodies_key, holding, total = journal_keys(admin)
        args: list[bytes | int] = [
            bound,
            orjson.dumps(entry, option=orjson.OPT_NON_STR_KEYS),
            orjson.dumps(bodies) if kept else b"",
            kept,
            room,
        ]
        found = await unless_unavailable(
            self._journal_append(keys=[stream, JOURNAL_IDS, bodies_key, holding, total], args=args)
        )
        return int(found)

    async def journal_read(self, admin: bool) -> list[dict[str, object]]:
        """The stream's entries, newest first, each with its id and the bodies still kept (an
        entry whose bodies the total bound took says `bodiesDropped`)."""
        stream, bodies_key, _, _ = journal_keys(admin)
        pipe = self.client.pipeline(transaction=True)
        pipe.xrevrange(stream)
        pipe.hgetall(bodies_key)
        found, bodies = await unless_unavailable(pipe.execute())
        entries = []
        for _, fields in found or ():
            assert fields is not None
            entry = orjson.loads(fields[b"entry"])
            entry["id"] = int(fields[b"id"])
            held = bodies.get(fields[b"id"])
            if held is not None:
                entry.update(orjson.loads(held))
            elif int(fields.get(b"kept", 0)):
                entry["bodiesDropped"] = True
            entries.append(entry)
        return entries

    async def journal_clear(self) -> int:
        pipe = self.client.pipeline(transaction=True)
        pipe.xlen(JOURNAL)
        pipe.xlen(JOURNAL_ADMIN)
        pipe.delete(*journal_keys(False), *journal_keys(True))
        counted = await unless_unavailable(pipe.execute())
        return int(counted[0]) + int(counted[1])

    async def check(self) -> None:
        """Raise `StoreUnavailable` unless Redis answers (start-up and /__admin/health)."""
        await unless_unavailable(self.client.ping())

    async def sandboxes(self) -> list[str]:
        """Every sandbox that has a world in Redis, in order of first use."""
        names = await unless_unavailable(self.client.zrange(SANDBOXES, 0, -1))
        return [_text(name) for name in names]

    async def generation(self, sandbox: str, platform: str, seed: Callable[[], MemoryStore]) -> bytes:
        """The generation the world lives under, seeding it first if no replica has (under a lock)."""
        found = await unless_unavailable(self.client.hget(sandbox_key(sandbox), platform))
        if found is not None:
            return _raw(found)
        lock = self.client.lock(lock_key(sandbox, platform), timeout=LOCK_SECONDS, blocking_timeout=WAIT_SECONDS)
        acquired = await unless_unavailable(lock.acquire())
        if not acquired:
            raise StoreUnavailable(f"waited {WAIT_SECONDS:.0f} s for another replica to seed {sandbox}/{platform}")
        renewing = asyncio.create_task(_renewed(lock, f"{sandbox}/{platform}"))
        try:
            found = await unless_unavailable(self.client.hget(sandbox_key(sandbox), platform))
            if found is not None:
                return _raw(found)
            seeded = await asyncio.to_thread(seed)  # a large world takes seconds: the loop answers meanwhile
            generation = await unless_unavailable(self._write_world(sandbox, platform, seeded, first=True))
            if sandbox != SERVICES:
                await unless_unavailable(self._evict_beyond_bound(sandbox))
            return generation
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
            try:
                await lock.release()
            except (redis_errors.LockError, *UNAVAILABLE):
                log.warning("the seeding lock of %s/%s expired before it was released", sandbox, platform)

    async def _write_world(self, sandbox: str, platform: str, memory: MemoryStore, first: bool = False) -> bytes:
        """Write every document under a new generation, then name it: readers never see half a world.

        `first` (seeding): name it only if no replica named one meanwhile (its lease lapsed and
        another seeded too); then this one is unlinked and theirs, which may have writes, kept."""
        generation = str(await self.client.incr(GENERATIONS)).encode()
        position = 0
        pipe: Pipeline = self.client.pipeline(transaction=False)
        queued = 0
        for collection, items in memory.items():
            documents, order = world_keys(generation, collection)
            pipe.sadd(collections_key(generation), collection)
            for start in range(0, len(items), CHUNK):
                chunk = items[start : start + CHUNK]
                pipe.hset(documents, mapping={key: encode(stored) for key, stored in chunk})
                pipe.zadd(order, {key: position + index + 1 for index, (key, _) in enumerate(chunk)})
                position += len(chunk)
                queued += len(chunk)
                if queued >= CHUNK:
                    await pipe.execute()
                    queued = 0
        pipe.set(positions_key(generation), position)
        await pipe.execute()
        if first and not await self.client.hsetnx(sandbox_key(sandbox), platform, generation):
            theirs = await self.client.hget(sandbox_key(sandbox), platform)
            if theirs is not None:
                await self._unlink(generation)
                return _raw(theirs)
        await self._name(sandbox, platform, generation)
        return generation

    async def _name(self, sandbox: str, platform: str, generation: bytes) -> None:
        """Point the world at `generation` (unlinking what it held before) and list its sandbox."""
        before = await self.client.hget(sandbox_key(sandbox), platform)
        named = self.client.pipeline(transaction=True)
        named.hset(sandbox_key(sandbox), platform, generation)
        if sandbox != SERVICES:
            named.zadd(SANDBOXES, {sandbox: await self._sandbox_order()}, nx=True)
        if self.last_use(sandbox):
            named.zadd(USED, {sandbox: time.time()})
        await named.execute()
        if before is not None and _raw(before) != generation:
            await self._unlink(_raw(before))

    async def _evict_beyond_bound(self, made: str) -> None:
        """Shared LRU: past `kept` sandboxes, the least recently used (by any replica) are dropped."""
        evicted = await self._evict(keys=[SANDBOXES, USED], args=[self.kept, self.default, made])
        for name in evicted:
            await self._drop(_text(name), None)

    def last_use(self, sandbox: str) -> str:
        """What the store's calls tell Redis of their sandbox's use: '' for one never evicted."""
        return "" if sandbox in (self.default, SERVICES) else sandbox

    async def _sandbox_order(self) -> int:
        return int(await self.client.incr(f"{PREFIX}:sandbox-order"))

    async def _unlink(self, generation: bytes) -> None:
        names = await self.client.smembers(collections_key(generation))
        keys = [
            key
            for name in names
            for key in (*world_keys(generation, _text(name)), changes_key(generation, _text(name)))
        ]
        await self.client.unlink(collections_key(generation), positions_key(generation), *keys)

    async def _drop(self, sandbox: str | None, platform: str | None) -> None:
        """Forget worlds: one, a sandbox's, or (sandbox None) that platform's, or every one, everywhere."""
        sandboxes = [sandbox] if sandbox is not None else await self.sandboxes()
        for name in sandboxes:
            registry = sandbox_key(name)
            async with self.client.pipeline(transaction=True) as pipe:
                while True:
                    try:
                        await pipe.watch(registry)
                        worlds = await pipe.hgetall(registry)
                        gone = {k: v for k, v in worlds.items() if platform is None or _text(k) == platform}
                        pipe.multi()  # type: ignore[no-untyped-call]
                        if gone:
                            pipe.hdel(registry, *gone)
                        if platform is None or len(gone) == len(worlds):
                            pipe.delete(registry)
                            pipe.zrem(SANDBOXES, name)
                            pipe.zrem(USED, name)
                        await pipe.execute()
                        break
                    except redis_errors.WatchError:
                        continue
            for generation in gone.values():
                await self._unlink(_raw(generation))

    async def _replace(self, worlds: dict[str, dict[str, MemoryStore]]) -> None:
        """An imported state: every world written afresh; sandboxes it does not name are dropped."""
        for sandbox in await self.sandboxes():
            if sandbox not in worlds:
                await self._drop(sandbox, None)
        for sandbox, platforms in worlds.items():
            for platform, memory in platforms.items():
                await self._write_world(sandbox, platform, memory)

    def _later(self, work: Awaitable[None]) -> None:
        async def run() -> None:
            await unless_unavailable(work)

        task = asyncio.get_running_loop().create_task(run())
        self._pending.add(task)


async def _renewed(lock: Lock, world: str) -> None:
    """Renew the seeding lock's lease every third of it until cancelled (the seeding is done).

    A renewal that fails (Redis away, or the lease lapsed and another replica took the lock) is
    logged and the renewing stops: the seeding goes on, and at worst another replica seeds the
    same world too, and the first one named is kept (`_write_world`)."""
    interval = LOCK_SECONDS / 3
    while True:
        await asyncio.sleep(interval)
        try:
            await lock.reacquire()
        except (redis_errors.LockError, *UNAVAILABLE) as error:
            log.warning("the seeding lock of %s could not be renewed: %s", world, error)
            return


class RedisStore:
    """One world, shared through Redis; see the module's docstring for how each call stays atomic."""

    def __init__(self, shared: RedisPersistence, sandbox: str, platform: str, seed: Callable[[], MemoryStore]) -> None:
        self._shared = shared
        self.sandbox = sandbox
        self.platform = platform
        self._seed = seed
        self._generation: bytes | None = None
        self._registry = sandbox_key(sandbox)
        self._used = shared.last_use(sandbox)  # '' where no use is told (the default sandbox's)
        # collection -> (its stamp, its keys and documents as last listed): see `list`
        self._lists: dict[str, tuple[Stamp, Listed]] = {}
        # collection -> the index each `make` built, and the stamp it is current for: see `index`
        self._indexes: dict[str, dict[Callable[[], Index], tuple[Stamp, Index]]] = {}

    async def ready(self) -> None:
        """Once the world is in Redis (seeded here, or by another replica)."""
        await self._known()

    async def _known(self) -> bytes:
        if self._generation is None:
            self._generation = await self._shared.generation(self.sandbox, self.platform, self._seed)
        return self._generation

    async def _fresh(self, work: Callable[[bytes], Awaitable[T]]) -> T:
        """`work` on the world's generation; once more on the current one if it was reset meanwhile."""
        for _ in range(3):
            generation = await self._known()
            try:
                return await unless_unavailable(work(generation))
            except StaleWorld:
                self._generation = None
        raise StoreUnavailable(f"the world {self.sandbox}/{self.platform} was reset three times during one request")

    async def get(self, collection: str, key: str) -> Stored | None:
        async def read(generation: bytes) -> Stored | None:
            documents, _ = world_keys(generation, collection)
            keys = [self._registry, documents, USED]
            reply = await self._shared._get(keys=keys, args=[self.platform, generation, key, time.time(), self._used])
            if reply[0] == -2:
                raise StaleWorld
            return decode(reply[1]) if len(reply) > 1 else None

        return await self._fresh(read)

    async def list(self, collection: str) -> list[Stored]:
        """One round trip while the collection is unchanged since this replica last listed it (its
        change counter says so); two, decoding every document, when it changed."""

        async def read(generation: bytes) -> list[Stored]:
            _, listed = await self._listed(generation, collection)
            return [stored for _, stored in listed]

        return await self._fresh(read)

    async def index(self, collection: str, make: Callable[[], IndexT]) -> IndexT:
        """Built from the collection as listed, and kept while its change counter is the one it
        was built for; this replica's own writes move it along (`_tell`). Another replica's write
        cannot be told here in the same step, so it makes the next use build it again."""

        async def read(generation: bytes) -> IndexT:
            stamp = await self._stamp(generation, collection)
            built = self._indexes.setdefault(collection, {}).get(make)
            if built is not None and built[0] == stamp:
                return cast(IndexT, built[1])
            stamp, listed = await self._listed(generation, collection, stamp)
            index = make()
            for key, stored in listed:
                index.add(key, stored.doc)
            self._indexes[collection][make] = (stamp, index)
            return index

        return await self._fresh(read)

    async def _stamp(self, generation: bytes, collection: str) -> Stamp:
        """The collection's stamp now (one round trip), or `StaleWorld` if the world was replaced."""
        check = self._shared.client.pipeline(transaction=True)
        check.hget(self._registry, self.platform)
        check.get(changes_key(generation, collection))
        if self._used:
            check.zadd(USED, {self._used: time.time()}, xx=True)  # only while it is kept
        named, changes, *_ = await check.execute()
        if named != generation:
            raise StaleWorld
        return generation, int(changes or 0)

    async def _listed(self, generation: bytes, collection: str, stamp: Stamp | None = None) -> tuple[Stamp, Listed]:
        """The collection's keys and documents in order, and the stamp they are current for."""
        documents, order = world_keys(generation, collection)
        client = self._shared.client
        stamp = stamp or await self._stamp(generation, collection)
        cached = self._lists.get(collection)
        if cached is not None and cached[0] == stamp:
            return cached
        pipe = client.pipeline(transaction=True)
        pipe.hget(self._registry, self.platform)
        pipe.get(changes_key(generation, collection))
        pipe.zrange(order, 0, -1)
        pipe.hgetall(documents)
        named, changes, keys, found = await pipe.execute()
        if named != generation:
            raise StaleWorld
        listed = (generation, int(changes or 0)), [(_text(k), decode(found[k])) for k in keys if k in found]
        self._lists[collection] = listed
        return listed

    def _tell(self, generation: bytes, collection: str, key: str, doc: Document | None, changes: int) -> None:
        """This replica's write, the `changes`-th of the collection: an index current until just
        before it takes it in and stays current; one that missed a write is built again on use."""
        for make, (stamp, index) in list(self._indexes.get(collection, {}).items()):
            if stamp != (generation, changes - 1):
                continue
            index.discard(key)
            if doc is not None:
                index.add(key, doc)
            self._indexes[collection][make] = ((generation, changes), index)

    async def count(self, collection: str) -> int:
        async def read(generation: bytes) -> int:
            documents, _ = world_keys(generation, collection)
            pipe = self._shared.client.pipeline(transaction=True)
            pipe.hget(self._registry, self.platform)
            pipe.hlen(documents)
            if self._used:
                pipe.zadd(USED, {self._used: time.time()}, xx=True)
            named, size, *_ = await pipe.execute()
            if named != generation:
                raise StaleWorld
            return int(size)

        return await self._fresh(read)

    async def put(self, collection: str, key: str, doc: Document, expect: int | None = None) -> Stored:
        async def write(generation: bytes) -> Stored:
            documents, order = world_keys(generation, collection)
            keys = [self._registry, documents, order, collections_key(generation), positions_key(generation)]
            keys += [changes_key(generation, collection), USED]
            text = orjson.dumps(doc)
            args: list[str | bytes | float] = [
                self.platform,
                generation,
                key,
                text,
                "" if expect is None else str(expect),
                collection,
                time.time(),
                self._used,
            ]
            reply = await self._shared._put(keys=keys, args=args)
            if reply[0] == -2:
                raise StaleWorld
            if reply[0] == -1:
                raise VersionConflict(decode(reply[1]) if len(reply) > 1 else None)
            self._tell(generation, collection, key, doc, int(reply[1]))
            return Stored(doc, int(reply[0]))

        return await self._fresh(write)

    async def update(self, collection: str, key: str, change: Callable[[Document], Document | None]) -> Stored | None:
        for _ in range(UPDATE_ATTEMPTS):
            previous = await self.get(collection, key)
            if previous is None:
                return None
            new = change(previous.doc)
            if new is None:
                return previous
            try:
                return await self.put(collection, key, new, expect=previous.version)
            except VersionConflict:
                continue  # another writer came between: apply the change to what it wrote
        raise StoreUnavailable(f"{collection}/{key}: {UPDATE_ATTEMPTS} writers in a row came between read and write")

    async def delete(self, collection: str, key: str) -> bool:
        async def remove(generation: bytes) -> bool:
            documents, order = world_keys(generation, collection)
            keys = [self._registry, documents, order, changes_key(generation, collection), USED]
            args: list[str | bytes | float] = [self.platform, generation, key, time.time(), self._used]
            reply = await self._shared._delete(keys=keys, args=args)
            if reply[0] == -2:
                raise StaleWorld
            if reply[0] == 1:
                self._tell(generation, collection, key, None, int(reply[1]))
            return bool(reply[0])

        return await self._fresh(remove)

    async def dump(self) -> Collections:
        async def read(generation: bytes) -> Collections:
            names = sorted(_text(name) for name in await self._shared.client.smembers(collections_key(generation)))
            pipe = self._shared.client.pipeline(transaction=True)
            pipe.hget(self._registry, self.platform)
            for name in names:
                documents, order = world_keys(generation, name)
                pipe.zrange(order, 0, -1)
                pipe.hgetall(documents)
            replies = await pipe.execute()
            if replies[0] != generation:
                raise StaleWorld
            dumped: Collections = {}
            for index, name in enumerate(names):
                keys, found = replies[1 + 2 * index], replies[2 + 2 * index]
                items = {k.decode(): decode(found[k]).doc for k in keys if k in found}
                if items:
                    dumped[name] = items
            return dumped

        return await self._fresh(read)


def _raw(value: object) -> bytes:
    """A reply as bytes (the client decodes nothing, but its types allow text)."""
    return value if isinstance(value, bytes) else str(value).encode()


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _given(memory: MemoryStore) -> Callable[[], MemoryStore]:
    return lambda: memory
