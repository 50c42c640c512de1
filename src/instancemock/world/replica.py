"""Large worlds made from a sample: a thousand seeded instances, copied with fresh GUIDs and moved in time.

A seeder's own walk costs 70-220 us per instance (Barium's also leaves tasks and form objects), so
100,000 instances per API took ~40 s of CPU and ~1.7 GB; issue 13 wants them in 5 s and 1 GB. From
`LARGE` instances on, a seeder makes `SAMPLE` instances its usual way and this module makes every
instance of the world as a copy of one of them (the samples themselves are not kept): the sample's
"bundle" (the instance and the documents that belong to it, e.g. Barium's tasks and form objects)
with

- every GUID born in the bundle (one that no other sample shares, such as an app's or a user's id)
  replaced by a fresh one drawn from the seeded generator, wherever it occurs, also inside a string
  (Altinn's `id` "party/guid", a blob path);
- every ISO 8601 instant moved back by a whole number of days, at most as far as the oldest sample
  (so nothing lands in the future and the world spans the same months);
- what is under the keys in `keep` (form fields: their ids and values) shared with the sample;
- everything else shared with the sample, object for object: documents are never changed in place
  (world/store.py), so a copy holds only the dicts and lists on the way to what changed.

Each shape is compiled once (`Shape`): a copy then costs a few dict copies and string joins, no
walk of the document. The platform numbers the copies itself (names, counters, `_seq`) through
`number` and `finish`. A copy's documents may be left to be made on first read (`Deferred`, the
store's `Lazy`) and whole collections to be laid out on first use (the store's `Later`): the
keys, GUIDs and numbers are drawn at once either way, so the world is the same. What is random
(`copies`, `draw`) and what is made of it (`place`) are apart, so a forked process can draw a
world and the server make it (`compact`, `rebuild`, `keys`: world/seeding.py). Worlds below
`LARGE` never come here, so the worlds tests pin stay as they were; a large world is still a
function of (seed, --now), but not the one its own walk would give.
"""

from __future__ import annotations

import functools
import operator
import random
import re
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any, TypeVar, cast

from instancemock.world.store import Document, Later, Lazy, Stored

LARGE = 20_000  # from this many instances per API a world is made from a sample (tests stay below)
SAMPLE = 1_000  # instances made by the seeder's own walk, the shapes every other one copies

_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")

T = TypeVar("T")
_UNKNOWN: Any = object()  # not looked up yet, in the caches of `Shape`

Bundle = list[tuple[str, Document]]  # (collection, document): an instance and what belongs to it
Build = Callable[["Copy", "Days"], Any]  # (the copy, whose `guid`s stand for the born ones; its days) -> a copied value


class Days:
    """Moves ISO instants back by `days` days: `dates` maps each date (YYYY-MM-DD) to the moved one.

    One per number of days, shared by the copies that go as far back; it only ever caches, so
    documents may be made in any thread (an export's).
    """

    __slots__ = ("dates", "days")

    def __init__(self, days: int = 0) -> None:
        self.days = days
        self.dates: dict[str, str] = {}

    def move(self, text: str) -> str:
        head = text[:10]
        moved = self.dates.get(head)
        return (moved if moved is not None else self.date(head)) + text[10:]

    def date(self, head: str) -> str:
        ordinal = _ORDINALS.get(head)
        if ordinal is None:
            ordinal = _ORDINALS[head] = date.fromisoformat(head).toordinal()
        ordinal -= self.days
        moved = _DATES.get(ordinal)
        if moved is None:
            moved = _DATES[ordinal] = date.fromordinal(ordinal).isoformat()
        self.dates[head] = moved
        return moved


# Dates as text and as day numbers, both ways: a world spans a few hundred days.
_ORDINALS: dict[str, int] = {}
_DATES: dict[int, str] = {}
_YEARS: dict[int, int] = {}  # days since 1970 -> the year


class Shape:
    """One sample bundle compiled into builders of its copies."""

    def __init__(self, bundle: Bundle, born: Sequence[str], keep: frozenset[str]) -> None:
        self.born = list(born)
        self._slot = {g: i for i, g in enumerate(self.born)}
        self._keep = keep
        self.collections = [collection for collection, _ in bundle]
        self.samples = [doc for _, doc in bundle]
        self._builders: list[Build] | None = None  # compiled on first use (`builders`)
        # set by `place`: what numbers a copy's documents, where each one's key is, and its collection
        self.finish: Finish = _unfinished
        self.keys: list[int | None] = []
        self.targets: list[dict[str, Any] | None] = []
        self._tops: dict[tuple[int, str], Build | None] = {}  # (document, member) -> its builder (`top`)
        self._facts: dict[tuple[int, Callable[[Document], Any]], Any] = {}  # (document, reader) -> what it read
        self._keyed: dict[tuple[int, str], bool] = {}  # (document, member) -> whether it is the key (`keyed_by`)

    @property
    def builders(self) -> list[Build]:
        """A builder of each of its documents in a copy, compiled when a copy is first made: the
        process that draws a world (world/seeding.py) never makes one, and the server makes a
        large world's copies on first read (`Deferred`), so most shapes are never compiled whole.
        Two threads compiling at once compile the same builders: either may be kept."""
        found = self._builders
        if found is None:
            found = self._builders = [self._document(doc) for doc in self.samples]
        return found

    def top(self, at: int, name: str) -> Build | None:
        """A builder of the `at`th document's top-level member `name` in a copy (None: the sample's own)."""
        found = self._tops.get((at, name), _UNKNOWN)
        if found is _UNKNOWN:
            sample = self.samples[at]
            moves = name in sample and name not in self._keep
            found = self._tops[at, name] = self._value(sample[name], moving=True) if moves else None
        return cast(Build | None, found)

    def keyed_by(self, at: int, name: str) -> bool:
        """Whether the `at`th document's top-level member `name` is its key in a copy (see `place`)."""
        found = self._keyed.get((at, name))
        if found is None:
            slot = self.keys[at] if at < len(self.keys) else None
            found = self._keyed[at, name] = slot is not None and self.samples[at].get(name) == self.born[slot]
        return found

    def facts(self, at: int, read: Callable[[Document], T]) -> T:
        """`read(sample)` of the `at`th sample document, read once: what copying leaves as it is."""
        key = (at, read)
        found = self._facts.get(key, _UNKNOWN)
        if found is _UNKNOWN:
            found = self._facts[key] = read(self.samples[at])
        return cast(T, found)

    def translate(self, text: str, copy: Copy) -> str:
        """`text` of the sample as `copy` has it (a key, a reference)."""
        build = self._text(text, moving=False)
        return text if build is None else str(build(copy, Days()))

    def slot(self, text: str) -> int | None:
        """Which fresh GUID stands for `text` in a copy (None: `text` is not a GUID born here)."""
        return self._slot.get(text)

    def _document(self, doc: Document) -> Build:
        built = self._value(doc, moving=True)
        if built is not None:
            return built
        return lambda made, days: dict(doc)  # nothing to change: still a dict of its own, for `finish`

    def _value(self, value: Any, moving: bool) -> Build | None:
        """A builder of `value`'s copy, or None where the copy is the value itself."""
        if isinstance(value, str):
            return self._text(value, moving)
        if isinstance(value, dict):
            # the common changes inline (an instant, a GUID), the rest by their builders
            instants, guids, changed = [], [], []
            for k, v in value.items():
                if k in self._keep:
                    continue
                if moving and isinstance(v, str) and _INSTANT.fullmatch(v):
                    instants.append((k, v[:10], v[10:]))
                elif isinstance(v, str) and v in self._slot:
                    guids.append((k, self._slot[v]))
                elif b := self._value(v, moving):
                    changed.append((k, b))
            if not (instants or guids or changed):
                return None

            def build_dict(made: Copy, days: Days, value: dict[str, Any] = value) -> dict[str, Any]:
                copy = value.copy()
                dates = days.dates
                for key, head, tail in instants:
                    moved = dates.get(head)
                    copy[key] = (moved if moved is not None else days.date(head)) + tail
                for key, slot in guids:
                    copy[key] = made.guid(slot)
                for key, build in changed:
                    copy[key] = build(made, days)
                return copy

            return build_dict
        if isinstance(value, list):
            items = [(i, b) for i, v in enumerate(value) if (b := self._value(v, moving))]
            if not items:
                return None

            def build_list(made: Copy, days: Days, value: list[Any] = value) -> list[Any]:
                copy = value.copy()
                for index, build in items:
                    copy[index] = build(made, days)
                return copy

            return build_list
        return None

    def _text(self, text: str, moving: bool) -> Build | None:
        if moving and _INSTANT.fullmatch(text):
            return lambda made, days: days.move(text)
        if len(text) < 36:
            return None
        slot = self._slot.get(text)
        if slot is not None:
            return lambda made, days: made.guid(slot)
        pairs: list[tuple[str, int]] = []  # (the text before, the slot of the GUID)
        at = 0
        for found in _GUID.finditer(text):
            index = self._slot.get(found.group())
            if index is not None:
                pairs.append((text[at : found.start()], index))
                at = found.end()
        if not pairs:
            return None
        tail = text[at:]
        return lambda made, days: "".join([part for before, slot in pairs for part in (before, made.guid(slot))]) + tail


def is_instant(value: Any) -> bool:
    """Whether a copy moves `value` back by its days: an ISO 8601 instant, as the seeders write them."""
    return isinstance(value, str) and _INSTANT.fullmatch(value) is not None


def _unfinished(collection: str, doc: Document, copy: Copy) -> None:
    pass


def guids_in(value: Any, into: list[str], keep: frozenset[str] = frozenset()) -> None:
    """Every GUID in `value` but under the keys in `keep`, in order of appearance (repeats included)."""
    if isinstance(value, str):
        if len(value) >= 36:
            into.extend(_GUID.findall(value))
    elif isinstance(value, dict):
        for key, item in value.items():
            if key not in keep:
                guids_in(item, into, keep)
    elif isinstance(value, list):
        for item in value:
            guids_in(item, into, keep)


def shapes(
    bundles: Sequence[Bundle],
    shared: Document | None = None,
    keep: frozenset[str] = frozenset(),
    born: Sequence[Sequence[str]] | None = None,
) -> list[Shape]:
    """Each bundle compiled; a GUID is born in a bundle unless another bundle (or `shared`) has it too.

    `born`: each bundle's born GUIDs, found already (`Shape.born` of the same bundles compiled
    where the world was drawn: a forked process), so they are not searched for again."""
    if born is not None:
        return [Shape(bundle, guids, keep) for bundle, guids in zip(bundles, born, strict=True)]
    found = []
    for bundle in bundles:
        guids: list[str] = []
        guids_in([doc for _, doc in bundle], guids, keep)
        found.append(list(dict.fromkeys(guids)))
    outside: list[str] = []
    guids_in(shared or {}, outside)
    common = set(outside)
    seen = Counter(g for guids in found for g in guids)
    common.update(g for g, n in seen.items() if n > 1)
    return [
        Shape(bundle, [g for g in guids if g not in common], keep) for bundle, guids in zip(bundles, found, strict=True)
    ]


def copies(shaped: Sequence[Shape], starts: Sequence[datetime], count: int, rng: random.Random) -> list[Copy]:
    """`count` copies to make, in the order of their starts.

    Each copies a shape drawn at random and goes back a whole number of days, at most as far as
    the oldest sample, so the copies spread over the months the samples do.
    """
    oldest = min(starts)
    choices = [(start - oldest).days + 1 for start in starts]  # how many days each may go back, 0 included
    stamps = [start.timestamp() for start in starts]
    moves: dict[int, Days] = {}
    draw, kinds = rng.random, len(shaped)
    plan: list[Copy] = []
    append = plan.append
    for _ in range(count):
        index = int(draw() * kinds)
        back = int(draw() * choices[index])
        days = moves.get(back)
        if days is None:
            days = moves[back] = Days(back)
        append(Copy(shaped[index], days, stamps[index] - back * 86400.0))
    plan.sort(key=_STAMP)
    return plan


_STAMP = operator.attrgetter("stamp")


class Copy:
    """One copy to make: of which shape, how many days back, its start, its GUIDs, what the platform numbered."""

    __slots__ = ("_guids", "_pool", "days", "extra", "shape", "stamp")

    def __init__(
        self, shape: Shape, days: Days, stamp: float, extra: Any = None, pool: tuple[bytes, int] = (b"", 0)
    ) -> None:
        self.shape = shape
        self.days = days  # shared by the copies that go as far back (it only caches dates)
        self.stamp = stamp  # its start, in POSIX seconds
        self.extra: Any = extra
        self._pool = pool  # where its random bytes are: 16 for each GUID born in its shape
        self._guids: list[str] | None = None  # formatted so far ("": not yet)

    @property
    def start(self) -> datetime:
        return datetime.fromtimestamp(self.stamp, UTC)

    @property
    def year(self) -> int:
        """The year it started (UTC), from a cache by day: cheaper than `start` for a name."""
        day = int(self.stamp // 86400)
        year = _YEARS.get(day)
        if year is None:
            year = _YEARS[day] = self.start.year
        return year

    def guid(self, slot: int) -> str:
        """The GUID that stands for its shape's `slot`th born one, formatted from its random bytes
        when a document of the copy first needs it."""
        found = self._guids
        if found is None:
            found = self._guids = [""] * len(self.shape.born)
        text = found[slot]
        if not text:
            pool, at = self._pool
            text = found[slot] = _guid(pool, at + 16 * slot)
        return text

    def key(self, slot: int) -> str:
        """`guid(slot)`, not kept: a key placed before any document of the copy is made."""
        if self._guids is not None:
            return self.guid(slot)
        pool, at = self._pool
        return _guid(pool, at + 16 * slot)


Finish = Callable[[str, Document, Copy], None]  # (collection, fresh top-level copy, its Copy): set what is numbered


class Deferred(Lazy):
    """A copied document made on first read (world/store.py's `Lazy`): the `at`th of its copy's shape.

    What an index files a document under can mostly be read without making it (store.py's
    `LazyIndex`): `top` gives one top-level member as the copy has it, `facts` what the index
    reads of the sample where copying changes nothing it reads (flags, owners), `days_back` how
    far the copy's instants moved, and `number` what the platform numbered the copy with (the
    members its `finish` sets from it are not known otherwise).
    """

    __slots__ = ("_at", "_copy")
    __setattr__ = object.__setattr__  # its own slots are set once, here; `doc` and `version` as in Lazy

    def __init__(self, copy: Copy, at: int) -> None:
        self._copy = copy
        self._at = at

    def top(self, name: str) -> Any:
        """The copy's top-level member `name` (None if absent), as `make` would give it, unless
        the platform's `finish` sets it."""
        copy = self._copy
        shape = copy.shape
        build = shape._tops.get((self._at, name), _UNKNOWN)
        if build is _UNKNOWN:
            build = shape.top(self._at, name)
        return shape.samples[self._at].get(name) if build is None else build(copy, copy.days)

    def keyed_by(self, name: str) -> bool:
        """Whether the copy's top-level member `name` is the key it is stored under (a GUID born
        in its bundle, as the sample's member is the sample's key): an index need not format it again."""
        return self._copy.shape.keyed_by(self._at, name)

    def facts(self, read: Callable[[Document], T]) -> T:
        """`read` of the sample document this one copies, read once per sample: only for what
        copying leaves as it is (anything but instants, GUIDs born in the bundle and what `finish` sets)."""
        return self._copy.shape.facts(self._at, read)

    def facts_and_days(self, read: Callable[[Document], T]) -> tuple[T, Days]:
        """`facts(read)` and the copy's `Days`, in one call: an index filing a whole world reads
        what it needs of the sample once per sample, and moves a sampled instant itself
        (`Days.move`, or `dates` first) instead of building the member per copy (`top`)."""
        copy = self._copy
        found = copy.shape._facts.get((self._at, read), _UNKNOWN)  # `Shape.facts`, its cache read inline
        if found is _UNKNOWN:
            found = copy.shape.facts(self._at, read)
        return cast(T, found), copy.days

    @property
    def days_back(self) -> int:
        """How many whole days the copy's instants are before the sample's."""
        return self._copy.days.days

    @property
    def number(self) -> Any:
        """What the platform's `number` gave the copy (its `extra`)."""
        return self._copy.extra

    def make(self) -> Document:
        copy, at = self._copy, self._at
        shape = copy.shape
        doc: Document = shape.builders[at](copy, copy.days)
        shape.finish(shape.collections[at], doc, copy)
        return doc


def draw(plan: Sequence[Copy], rng: random.Random, number: Callable[[Copy], Any]) -> None:
    """What is drawn after the plan (`copies`), in this order: the random bytes of every copy's
    GUIDs, then each copy's number (`number(copy)`, called in the plan's order: names, counters;
    its answer is `copy.extra`)."""
    pool = rng.randbytes(16 * sum(len(copy.shape.born) for copy in plan))
    at = 0
    for copy in plan:
        copy._pool = (pool, at)
        at += 16 * len(copy.shape.born)
        copy.extra = number(copy)


# A drawn plan as plain data (`compact`, `rebuild`): each copy's shape (its place in the list of
# shapes), days back, start and number, in the plan's order, and the random bytes of their GUIDs.
Compact = tuple[list[int], list[int], list[float], list[Any], bytes]


def compact(shaped: Sequence[Shape], plan: Sequence[Copy]) -> Compact:
    """A drawn plan as data that `marshal` carries (a forked process draws it: world/seeding.py)."""
    place_of = {id(shape): at for at, shape in enumerate(shaped)}
    pool = plan[0]._pool[0] if plan else b""
    return (
        [place_of[id(copy.shape)] for copy in plan],
        [copy.days.days for copy in plan],
        [copy.stamp for copy in plan],
        [copy.extra for copy in plan],
        pool,
    )


def rebuild(shaped: Sequence[Shape], drawn: Compact) -> list[Copy]:
    """The plan `compact` described, on the same shapes (compiled again from the same samples)."""
    shapes_at, backs, stamps, extras, pool = drawn
    moves: dict[int, Days] = {}
    widths = [16 * len(shape.born) for shape in shaped]  # the bytes each shape's copies take in the pool
    plan: list[Copy] = []
    append = plan.append
    at = 0
    for index, back, stamp, extra in zip(shapes_at, backs, stamps, extras, strict=True):
        days = moves.get(back)
        if days is None:
            days = moves[back] = Days(back)
        append(Copy(shaped[index], days, stamp, extra, (pool, at)))
        at += widths[index]
    return plan


def keys(
    plan: Sequence[Copy], key_of: Callable[[str, Document], str], later: frozenset[str] = frozenset()
) -> list[str]:
    """The keys a lazy `place` gives the copies' documents stored under a GUID born in their
    bundle, in its order: formatted where the plan is drawn (a forked process), not in the server."""
    slots: dict[Shape, list[int]] = {}
    starts: list[int] = []  # where each key's 16 bytes are in the plan's pool (one pool: `draw`)
    for copy in plan:
        shape = copy.shape
        keyed = slots.get(shape)
        if keyed is None:
            pairs = zip(shape.collections, shape.samples, strict=True)
            keyed = slots[shape] = [
                slot for c, doc in pairs if c not in later and (slot := shape.slot(key_of(c, doc))) is not None
            ]
        offset = copy._pool[1]
        starts.extend([offset + 16 * slot for slot in keyed])
    return guids(plan[0]._pool[0] if plan else b"", starts)


def place(
    plan: Sequence[Copy],
    out: dict[str, dict[str, Any]],
    key_of: Callable[[str, Document], str],
    finish: Finish,
    lazy: bool = False,
    later: frozenset[str] = frozenset(),
    named: Callable[[Copy], str] | None = None,
    formatted: Sequence[str] | None = None,
) -> None:
    """Put the drawn copies (`draw`) into `out` (collection -> key -> document), in the plan's order.

    `key_of(collection, document)` gives a document's key (of a sample: a GUID born there stands
    for the copy's fresh one; of a copy otherwise, once finished); `finish(collection, document,
    copy)` sets what was numbered on the fresh top-level dict. With `lazy` each document whose key
    is a born GUID (or that `named(copy)` names: a bundle of one document whose key the platform
    numbers) is a `Deferred`, made when the store is first asked for it; the collections in
    `later` (keyed by born GUIDs) are left for the store to lay out when first used (`Later`).
    The keys, GUIDs and numbers were all drawn before, so the world is the same either way;
    `formatted` (`keys`, lazily placed) are the keys of those under a born GUID, formatted already.
    """
    used = Counter(copy.shape for copy in plan)  # each shape and how many copies it has
    for shape in used:
        shape.finish = finish
        shape.keys = [shape.slot(key_of(c, doc)) for c, doc in zip(shape.collections, shape.samples, strict=True)]
        shape.targets = [None if c in later else out[c] for c in shape.collections]
    # per shape, where each of its documents goes: (target, at, slot), by how the copy's key is found
    keyed: dict[Shape, list[tuple[dict[str, Any], int, int]]] = {}  # deferred, under a born GUID
    by_name: dict[Shape, list[tuple[dict[str, Any], int]]] = {}  # deferred, under what `named` says
    made: dict[Shape, list[tuple[dict[str, Any], int, int | None]]] = {}  # made here
    for shape in used:
        keyed[shape], by_name[shape], made[shape] = [], [], []
        for at, (target, slot) in enumerate(zip(shape.targets, shape.keys, strict=True)):
            if target is None:
                continue
            if lazy and slot is not None:
                keyed[shape].append((target, at, slot))
            elif lazy and named is not None:
                by_name[shape].append((target, at))
            else:
                made[shape].append((target, at, slot))
    variant = _VARIANT
    given = iter(formatted).__next__ if formatted is not None else None
    lean = given is not None and not any(by_name[shape] or made[shape] for shape in used)
    if lean:  # every document deferred under a key formatted already: the loop below, lean
        for copy in plan:
            for target, at, _ in keyed[copy.shape]:
                target[given()] = Deferred(copy, at)  # type: ignore[misc]  # `given` is set where `lean`
    for copy in plan if not lean else ():
        shape = copy.shape
        pool, offset = copy._pool
        for target, at, slot in keyed[shape]:
            if given is not None:
                target[given()] = Deferred(copy, at)
                continue
            start = offset + 16 * slot  # the key formatted as `_guid` does, not kept (`Copy.key`)
            t = pool[start : start + 16].hex()
            target[f"{t[:8]}-{t[8:12]}-4{t[13:16]}-{variant[t[16]]}{t[17:20]}-{t[20:]}"] = Deferred(copy, at)
        for target, at in by_name[shape]:
            target[named(copy)] = Deferred(copy, at)  # type: ignore[misc]  # `by_name` is empty without `named`
        for target, at, slot in made[shape]:
            doc = shape.builders[at](copy, copy.days)
            finish(shape.collections[at], doc, copy)
            target[copy.guid(slot) if slot is not None else key_of(shape.collections[at], doc)] = doc
    for collection in later:
        count = sum(n * shape.collections.count(collection) for shape, n in used.items())
        unfold = functools.partial(_unfold, plan, collection)
        out[collection] = cast(dict[str, Any], Later(count, unfold))  # the store knows it (world/store.py)


def _unfold(plan: Sequence[Copy], collection: str) -> dict[str, Stored]:
    """A collection left for later, laid out: each copy's documents in it, as `Deferred`s."""
    found: dict[str, Stored] = {}
    for copy in plan:
        shape = copy.shape
        for at, (name, slot) in enumerate(zip(shape.collections, shape.keys, strict=True)):
            if name == collection and slot is not None:
                found[copy.key(slot)] = Deferred(copy, at)
    return found


_VARIANT = dict(zip("0123456789abcdef", "89ab89ab89ab89ab", strict=True))


# `guids`: the version nibble (4) and the variant bits (10) set on a whole byte at once
_VERSION = bytes(0x40 | (b & 0x0F) for b in range(256))
_VARIANT_BITS = bytes(0x80 | (b & 0x3F) for b in range(256))
# where the hex digits of a GUID go in its text (8-4-4-4-12), and where its dashes are
_DIGITS = [*range(8), *range(9, 13), *range(14, 18), *range(19, 23), *range(24, 36)]
_DASHES = (8, 13, 18, 23)


def guids(pool: bytes, starts: Sequence[int]) -> list[str]:
    """`_guid(pool, start)` of every start, formatted all at once: the bytes gathered, version and
    variant set and hexed in one call each, and the digits laid out by column (37 strided copies,
    not one f-string per GUID: a large world formats 100,000 keys where it is drawn)."""
    if not starts:
        return []
    raw = bytearray(b"".join([pool[at : at + 16] for at in starts]))
    raw[6::16] = raw[6::16].translate(_VERSION)
    raw[8::16] = raw[8::16].translate(_VARIANT_BITS)
    digits = raw.hex().encode()
    text = bytearray(b"\n" * (37 * len(starts)))  # 36 characters and a line end each
    for column, place in enumerate(_DIGITS):
        text[place::37] = digits[column::32]
    for place in _DASHES:
        text[place::37] = b"-" * len(starts)
    return text.decode().split("\n")[:-1]


def _guid(pool: bytes, at: int) -> str:
    """A version-4 GUID from 16 random bytes of `pool` (what `draw.guid` makes of 128 random bits)."""
    t = pool[at : at + 16].hex()
    return f"{t[:8]}-{t[8:12]}-4{t[13:16]}-{_VARIANT[t[16]]}{t[17:20]}-{t[20:]}"
