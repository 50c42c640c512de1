"""Fault rules: what to break, for which requests, how often; parsed from JSON and checked first.

A rule comes from `POST /__admin/faults` or the config file's `faults:` list; both go through
`parse_rule`, so a bad rule is refused with one reason and nothing is added. Rules are tried in
the order they were added and the first one that fires wins: a request gets at most one rule's
effects. Draws (probability, random delays) come from one generator seeded by the server's seed and
happen in request order, so the same seed and the same sequence of requests give the same faults.

With a shared store (`--store redis://...`), `SharedFaultRules` keeps the rules, their `fired`
counts and the draw sequence in it: a rule added on one replica fires on all, `times: 2` fails
exactly two requests across all of them (each firing is claimed with a versioned write), and the
n-th probability draw is the same number whichever replica makes it.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from fnmatch import fnmatchcase
from typing import Any

from aiohttp import web

from instancemock.world.store import Document, Store, VersionConflict, put_first

METHODS = ("GET", "PUT", "POST", "PATCH", "DELETE", "HEAD", "OPTIONS")
MAX_DELAY_MS = 600_000.0  # ten minutes: no delay, drawn or asked for, waits longer
RULE_KEYS = {
    "id", "api", "method", "path", "sandbox", "probability", "times",
    "status", "body", "headers", "delay", "fault",
}  # fmt: skip


class RuleError(ValueError):
    """Why a rule was refused, in words a user can act on."""


class DuplicateRule(RuleError):
    """A rule with that id is in force already."""


class Fault(StrEnum):
    RESET = "reset"  # close the connection abruptly (TCP RST): WireMock CONNECTION_RESET_BY_PEER
    EMPTY = "empty"  # close it without a byte of response: EMPTY_RESPONSE
    MALFORMED = "malformed"  # 200 with broken JSON: MALFORMED_RESPONSE_CHUNK
    TIMEOUT = "timeout"  # never answer until the client gives up


@dataclass(frozen=True, slots=True)
class Delay:
    """`fixed` ms, `uniform` between two ms, or `lognormal` around a median (long-tailed, like real latency)."""

    kind: str  # "fixed", "uniform", "lognormal"
    low: float = 0.0  # fixed: the delay; uniform: lower bound; lognormal: the median
    high: float = 0.0  # uniform: upper bound; lognormal: sigma
    cap: float = MAX_DELAY_MS  # lognormal's optional `max`

    def draw(self, rng: random.Random) -> float:
        """Milliseconds to wait; fixed delays draw nothing, so they never shift the sequence."""
        match self.kind:
            case "fixed":
                value = self.low
            case "uniform":
                value = rng.uniform(self.low, self.high)
            case _:
                value = rng.lognormvariate(math.log(self.low), self.high) if self.low > 0 else 0.0
        return min(max(value, 0.0), self.cap, MAX_DELAY_MS)

    def as_json(self) -> dict[str, Any]:
        match self.kind:
            case "fixed":
                return {"fixed": self.low}
            case "uniform":
                return {"uniform": [self.low, self.high]}
            case _:
                spec: dict[str, Any] = {"median": self.low, "sigma": self.high}
                if self.cap != MAX_DELAY_MS:
                    spec["max"] = self.cap
                return {"lognormal": spec}


@dataclass(slots=True)
class FaultRule:
    id: str
    api: str | None = None  # None: any
    method: str | None = None
    path: str = "*"  # glob on the API's own path or the full path, case-insensitive (`path_matches`)
    sandbox: str | None = None
    probability: float = 1.0  # seeded draw
    times: int | None = None  # None: always; counts the times the rule fired
    status: int | None = None  # in the platform's error shape, unless `body` replaces it
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: Delay | None = None
    fault: Fault | None = None
    fired: int = 0

    def matches(
        self, api: str | None, method: str, path: str, sandbox: str, full_path: str | None = None, counted: bool = True
    ) -> bool:
        """Whether the rule names the request; `counted`: and its `times` are not used up here."""
        return (
            (not counted or self.times is None or self.fired < self.times)
            and self.api in (None, api)
            and self.method in (None, method.upper())
            and self.sandbox in (None, sandbox)
            and path_matches(self.path, path, full_path)
        )

    def as_json(self) -> dict[str, Any]:
        remaining = None if self.times is None else self.times - self.fired
        return {
            "id": self.id,
            "api": self.api,
            "method": self.method,
            "path": self.path,
            "sandbox": self.sandbox,
            "probability": self.probability,
            "times": self.times,
            "fired": self.fired,
            "remaining": remaining,
            "status": self.status,
            "body": self.body,
            "headers": self.headers,
            "delay": self.delay.as_json() if self.delay else None,
            "fault": str(self.fault) if self.fault else None,
        }


class FaultRules:
    """The rules in force, in the order added, with the generator all their draws come from."""

    def __init__(self, seed: int, api_names: Iterable[str] = ()) -> None:
        self.rng = random.Random(f"{seed}:faults")
        self.api_names = tuple(api_names)  # what a rule's `api` may name: the APIs this server mounts
        self._rules: list[FaultRule] = []
        self._data: dict[str, Any] = {}  # each rule as it was given, by id (a shared board keeps these)
        self._next = 1

    def __iter__(self) -> Any:
        return iter(list(self._rules))

    def __len__(self) -> int:
        return len(self._rules)

    def idle(self) -> bool:
        """No rule can fire, known without a round trip: the pipeline's controls step skips the
        rules then (core/control.py). A shared board (below) is never known to be idle."""
        return not self._rules

    def add(self, data: Any) -> FaultRule:
        """Check `data` and append it; a bad rule raises RuleError and nothing changes."""
        rule = parse_rule(data, default_id=f"rule-{self._next}", api_names=self.api_names)
        if any(r.id == rule.id for r in self._rules):
            raise DuplicateRule(f"a rule with id {rule.id!r} exists already; delete it first")
        self._rules.append(rule)
        self._data[rule.id] = data
        self._next += 1
        return rule

    def add_all(self, items: Iterable[Any]) -> None:
        """The config file's list; all or nothing, and the error names the rule's index."""
        staged = FaultRules(0, self.api_names)
        staged._next = self._next
        staged._rules = list(self._rules)
        staged._data = dict(self._data)
        for index, item in enumerate(items):
            try:
                staged.add(item)
            except RuleError as error:
                raise RuleError(f"faults[{index}]: {error}") from error
        self._rules, self._data, self._next = staged._rules, staged._data, staged._next

    def remove(self, rule_id: str) -> bool:
        before = len(self._rules)
        self._rules = [r for r in self._rules if r.id != rule_id]
        return len(self._rules) < before

    def clear(self) -> int:
        count = len(self._rules)
        self._rules = []
        return count

    # What the pipeline and /__admin/faults call: the same in memory, round trips when shared.

    async def current(self) -> list[FaultRule]:
        return list(self._rules)

    async def added(self, data: Any) -> FaultRule:
        return self.add(data)

    async def removed(self, rule_id: str) -> bool:
        return self.remove(rule_id)

    async def cleared(self) -> int:
        return self.clear()

    async def choose(
        self, api: str | None, method: str, path: str, sandbox: str, full_path: str | None = None
    ) -> FaultRule | None:
        return self.pick(api, method, path, sandbox, full_path)

    def pick(
        self, api: str | None, method: str, path: str, sandbox: str, full_path: str | None = None
    ) -> FaultRule | None:
        """The first rule that matches and fires; firing counts against its `times`."""
        for rule in self._rules:
            if not rule.matches(api, method, path, sandbox, full_path):
                continue
            if rule.probability < 1.0 and self.rng.random() >= rule.probability:
                continue
            rule.fired += 1
            return rule
        return None


RULES, FIRED, META = "rules", "fired", "meta"  # collections of the shared board


class SharedFaultRules(FaultRules):
    """The rules of every replica sharing a store (`board`, a Store no client can reach)."""

    def __init__(self, seed: int, board: Store, api_names: Iterable[str] = ()) -> None:
        super().__init__(seed, api_names)
        self.seed = seed
        self.board = board
        self._seen = -1  # the version of the rule list this replica last read
        # The newest version any request here has read: stubs (core/stubs.py, SharedStubs) move the
        # same version on, so one read per request tells both whether another replica changed them.
        self.newest = 0

    async def share(self) -> None:
        """At start-up: the config file's rules, unless a replica put them (or others) in already."""
        for rule in list(self._rules):
            try:
                await self.board.put(RULES, rule.id, {"id": rule.id, "data": self._data[rule.id]}, expect=0)
                await self.board.put(FIRED, rule.id, {"id": rule.id, "fired": 0}, expect=0)
            except VersionConflict:
                continue
        await self._bump(self._next)
        await self._refresh()

    async def _refresh(self) -> None:
        """The rule list as the board holds it, re-read only when a replica changed it."""
        meta = await self.board.get(META, RULES)
        version = meta.version if meta is not None else 0
        self.newest = max(self.newest, version)
        if version == self._seen:
            return
        rules = [parse_rule(d.doc["data"], d.doc["id"], self.api_names) for d in await self.board.list(RULES)]
        self._rules, self._seen = rules, version
        self._next = int(meta.doc["next"]) if meta is not None else self._next

    async def _bump(self, next_id: int) -> None:
        """A new version of the rule list, so every replica reads it again."""
        bumped = await self.board.update(META, RULES, lambda d: {"next": max(int(d["next"]), next_id)})
        if bumped is None:
            await put_first(self.board, META, RULES, {"next": next_id})

    async def changed(self) -> None:
        """Another kind of control (the stubs) changed: a new version, read by every replica's next request."""
        await self._bump(0)

    async def read_version(self) -> int:
        """The version now, read from the board (where no request of this replica read it first)."""
        meta = await self.board.get(META, RULES)
        version = meta.version if meta is not None else 0
        self.newest = max(self.newest, version)
        return version

    async def _fired(self) -> None:
        counts = {s.doc["id"]: int(s.doc["fired"]) for s in await self.board.list(FIRED) if "id" in s.doc}
        for rule in self._rules:
            rule.fired = counts.get(rule.id, rule.fired)

    async def current(self) -> list[FaultRule]:
        await self._refresh()
        await self._fired()
        return list(self._rules)

    async def added(self, data: Any) -> FaultRule:
        await self._refresh()
        rule = self.add(data)  # checked here; refused before anything is shared
        try:
            await self.board.put(RULES, rule.id, {"id": rule.id, "data": data}, expect=0)
        except VersionConflict:
            self._rules.remove(rule)
            raise DuplicateRule(f"a rule with id {rule.id!r} exists already; delete it first") from None
        await self.board.put(FIRED, rule.id, {"id": rule.id, "fired": 0})
        await self._bump(self._next)
        return rule

    async def removed(self, rule_id: str) -> bool:
        gone = await self.board.delete(RULES, rule_id)
        await self.board.delete(FIRED, rule_id)
        await self._bump(self._next)
        await self._refresh()
        return gone

    async def cleared(self) -> int:
        await self._refresh()
        count = 0
        for rule in list(self._rules):
            count += await self.board.delete(RULES, rule.id)
            await self.board.delete(FIRED, rule.id)
        await self._bump(self._next)
        await self._refresh()
        return count

    def idle(self) -> bool:
        return False  # another replica may have added a rule: `choose` asks the board

    async def choose(
        self, api: str | None, method: str, path: str, sandbox: str, full_path: str | None = None
    ) -> FaultRule | None:
        await self._refresh()
        for rule in self._rules:
            if not rule.matches(api, method, path, sandbox, full_path, counted=False):
                continue
            if rule.probability < 1.0 and await self._draw() >= rule.probability:
                continue
            if await self._claim(rule):
                return rule
        return None

    async def _draw(self) -> float:
        """The next number of the one sequence every replica draws from, in the order they draw."""
        drawn = await self.board.update(META, "draws", lambda d: {"n": int(d["n"]) + 1})
        if drawn is None:
            drawn = await put_first(self.board, META, "draws", {"n": 1})
        return random.Random(f"{self.seed}:faults:{drawn.doc['n']}").random()

    async def _claim(self, rule: FaultRule) -> bool:
        """Count one firing of `rule`, unless its `times` are used up (across every replica)."""
        allowed = False

        def fire(doc: Document) -> Document | None:
            nonlocal allowed
            allowed = rule.times is None or int(doc["fired"]) < rule.times
            return {**doc, "id": rule.id, "fired": int(doc["fired"]) + 1} if allowed else None

        counted = await self.board.update(FIRED, rule.id, fire)
        if counted is not None:
            rule.fired = int(counted.doc["fired"])
        return counted is not None and allowed


FAULT_RULES = web.AppKey("fault_rules", FaultRules)


def path_matches(glob: str, api_path: str, full_path: str | None = None) -> bool:
    """Whether a rule's (or a journal filter's) `path` glob names a request, the way a user writes it.

    Case-insensitive, as the routes are. The glob may be written against the API's own path
    (`/Instances`, `/Instances*`: what the spec lists) or against the full path the user sees
    (`/barium/api/v1.1/Instances`, `/barium/*`). `*` also matches `/`, and a trailing `/*` also
    matches the collection itself: `/Instances/*` names `GET /Instances` too.
    """
    pattern = glob.lower()
    collection = pattern[:-2] if pattern.endswith("/*") else None
    for candidate in (api_path, full_path):
        if candidate is None:
            continue
        lowered = candidate.lower()
        if fnmatchcase(lowered, pattern) or lowered == collection:
            return True
    return False


# --- parsing ---------------------------------------------------------------------------------


def _number(value: Any, what: str, low: float = 0.0, high: float = MAX_DELAY_MS) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise RuleError(f"{what} must be a number, got {value!r}")
    if not low <= value <= high:
        raise RuleError(f"{what} must be between {low:g} and {high:g}, got {value!r}")
    return float(value)


def parse_delay(data: Any) -> Delay:
    if not isinstance(data, Mapping) or len(data) != 1:
        raise RuleError('delay must be one of {"fixed": ms}, {"uniform": [lo, hi]}, {"lognormal": {...}}')
    (kind, spec), *_ = data.items()
    match kind:
        case "fixed":
            return Delay("fixed", _number(spec, "delay.fixed"))
        case "uniform":
            if not isinstance(spec, list | tuple) or len(spec) != 2:
                raise RuleError("delay.uniform must be a list of two numbers [lo, hi] in ms")
            low, high = _number(spec[0], "delay.uniform[0]"), _number(spec[1], "delay.uniform[1]")
            if low > high:
                raise RuleError(f"delay.uniform: lo ({low:g}) is greater than hi ({high:g})")
            return Delay("uniform", low, high)
        case "lognormal":
            if not isinstance(spec, Mapping) or "median" not in spec or "sigma" not in spec:
                raise RuleError("delay.lognormal needs median (ms) and sigma, and takes an optional max (ms)")
            if unknown := set(spec) - {"median", "sigma", "max"}:
                raise RuleError(f"delay.lognormal: unknown key(s) {', '.join(sorted(unknown))}")
            median = _number(spec["median"], "delay.lognormal.median")
            sigma = _number(spec["sigma"], "delay.lognormal.sigma", 0.0, 10.0)
            cap = _number(spec.get("max", MAX_DELAY_MS), "delay.lognormal.max")
            return Delay("lognormal", median, sigma, cap)
    raise RuleError(f"unknown delay kind {kind!r}; use fixed, uniform or lognormal")


def _optional_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise RuleError(f"{key} must be a non-empty string, got {value!r}")
    return value


def parse_rule(data: Any, default_id: str, api_names: Iterable[str] = ()) -> FaultRule:
    if not isinstance(data, Mapping):
        raise RuleError(f"a rule must be an object, got {type(data).__name__}")
    if unknown := set(data) - RULE_KEYS:
        raise RuleError(f"unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(RULE_KEYS))}")
    rule = FaultRule(id=_optional_str(data, "id") or default_id)
    rule.api = _optional_str(data, "api")
    if rule.api is not None and rule.api not in api_names:
        raise RuleError(f"api must be one of {', '.join(api_names)}, got {rule.api!r}")
    method = _optional_str(data, "method")
    if method is not None and method.upper() not in METHODS:
        raise RuleError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    rule.method = method.upper() if method else None
    rule.path = _optional_str(data, "path") or "*"
    rule.sandbox = _optional_str(data, "sandbox")
    if data.get("probability") is not None:
        rule.probability = _number(data["probability"], "probability", 0.0, 1.0)
    times = data.get("times")
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        raise RuleError(f"times must be a whole number of at least 1 (omit it for always), got {times!r}")
    rule.times = times
    status = data.get("status")
    if status is not None and (isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599):
        raise RuleError(f"status must be an error status from 400 to 599, got {status!r}")
    rule.status = status
    rule.body = data.get("body")
    headers = data.get("headers") or {}
    if not isinstance(headers, Mapping) or not all(
        isinstance(k, str) and k and isinstance(v, str | int) and not isinstance(v, bool) for k, v in headers.items()
    ):
        raise RuleError("headers must map header names to string values")
    rule.headers = {k: str(v) for k, v in headers.items()}
    if data.get("delay") is not None:
        rule.delay = parse_delay(data["delay"])
    fault = data.get("fault")
    if fault is not None:
        if fault not in list(Fault):
            raise RuleError(f"fault must be one of {', '.join(Fault)}, got {fault!r}")
        rule.fault = Fault(fault)
    if rule.status is None and rule.fault is None and rule.delay is None:
        raise RuleError("a rule needs at least one effect: status, delay or fault")
    if rule.status is not None and rule.fault is not None:
        raise RuleError("a rule answers with either a status or a fault, not both")
    if rule.status is None and (data.get("body") is not None or data.get("headers")):
        raise RuleError("body and headers shape a forced status: give status too")
    return rule
