"""Stubs: a canned answer for matching requests, checked against the spec before it is accepted.

A stub comes from `POST /__admin/stubs` or the config file's `stubs:` list; both go through
`Stubs.add`, so a bad stub is refused with its reasons and nothing is added. What makes a stub
trustworthy in a contract test is the check when it is added: the stub's path glob, method, API
and operation select every operation it could ever answer (`operations_for`), and its status,
headers and body are validated against each one's responses in the spec, exactly as `--strict`
validates the server's own answers. A stub the spec does not allow is refused with the
violations, unless the server runs with `--allow-off-contract-stubs`; then it is kept, marked
`offContract`, and every answer it gives is marked so in the journal.

A body may be templated from the request (`{{path.id}}`, `{{query.status}}`, `{{body.a.b}}`,
`{{sandbox}}`): a string that is one placeholder takes the value's JSON type, a placeholder inside
text is replaced by its text. The check at add time cannot know those values, so it skips the
templated positions, and each rendered answer is checked again when it is sent.

In the pipeline (`answer_from_stubs`) stubs come last, after authentication and request
validation: a stub stands in for the handler, so a request the real API would refuse is still
refused. A stub answers without touching the world, and the newest matching stub wins (so one
added in a test overrides one from the config file).

With a shared store (`--store redis://...`), `SharedStubs` keeps the stubs and their `answered`
counts in it, the way `SharedFaultRules` (core/faults.py) keeps fault rules: a stub added through
one replica answers on all, deleting or clearing acts on all, and `times: 2` answers exactly two
requests across all of them (each answer is claimed with a versioned write). In memory nothing of
this runs: `Stubs.pick` counts in place, as before.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web
from werkzeug.datastructures import Headers

from instancemock.core import errors, payloads
from instancemock.core.context import CTX, Ctx, ctx, facts
from instancemock.core.encoding import dumps
from instancemock.core.journal import STUB_NOTE
from instancemock.core.matching import Criteria, CriteriaError, Seen, globs_overlap, parse_criteria
from instancemock.core.payloads import ABSENT
from instancemock.core.spec import ADMIN, Api, Operation
from instancemock.core.violations import Violation
from instancemock.world.store import Document, Store, Stored, VersionConflict, put_first

STUB_KEYS = {"id", "request", "response", "times"}
RESPONSE_KEYS = {"status", "headers", "body", "contentType"}
PLACEHOLDER = re.compile(r"\{\{\s*(path|query|body|sandbox)((?:\.[^.}\s]+)*)\s*\}\}")
WHOLE_PLACEHOLDER = re.compile(rf"^{PLACEHOLDER.pattern}$")


class StubError(ValueError):
    """Why a stub was refused, in words a user can act on."""


class DuplicateStub(StubError):
    """A stub with that id is in force already."""


class OffContract(StubError):
    """The spec does not allow the stub's answer; `violations` say where."""

    def __init__(self, message: str, violations: list[Violation]) -> None:
        super().__init__(message)
        self.violations = violations


@dataclass(frozen=True, slots=True)
class StubResponse:
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = ABSENT  # JSON, or text for a non-JSON content type; ABSENT: no body
    content_type: str | None = None
    templated: tuple[tuple[str | int, ...], ...] = ()  # where in the body a placeholder stands

    def as_json(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"status": self.status, "headers": dict(self.headers), "contentType": self.content_type}
        if self.body is not ABSENT:
            shown["body"] = self.body
        return shown

    def encode(self, body: Any) -> bytes:
        if body is ABSENT:
            return b""
        if payloads.is_json(self.content_type):
            return dumps(body)
        return str(body).encode("utf-8")


@dataclass(slots=True)
class Stub:
    id: str
    criteria: Criteria
    response: StubResponse
    operations: tuple[tuple[str, str], ...]  # (api, operationId) it can answer, checked against each
    times: int | None = None
    answered: int = 0
    violations: tuple[Violation, ...] = ()  # non-empty only when off-contract stubs are allowed

    @property
    def off_contract(self) -> bool:
        return bool(self.violations)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "request": self.criteria.as_json(),
            "response": self.response.as_json(),
            "times": self.times,
            "answered": self.answered,
            "remaining": None if self.times is None else self.times - self.answered,
            "operations": [{"api": api, "operation": op} for api, op in self.operations],
            "offContract": self.off_contract,
            "violations": [v.as_dict() for v in self.violations],
        }


def _matching(stubs: list[Stub], seen: Seen, api: str, operation: str) -> Iterator[Stub]:
    """Newest first, the stubs for this operation that match `seen` and have answers left: what
    one replica's `pick` and the shared `choose` both answer from."""
    for stub in reversed(stubs):
        if (api, operation) not in stub.operations:
            continue
        if stub.times is not None and stub.answered >= stub.times:
            continue
        if stub.criteria.differences(seen):
            continue
        yield stub


class Stubs:
    """The stubs in force, newest last; `pick` tries the newest first."""

    shared = False  # SharedStubs: the list lives in a store every replica reads (`refresh` first)

    def __init__(self, apis: Mapping[str, Api], allow_off_contract: bool = False) -> None:
        self.apis = {name: api for name, api in apis.items() if name != ADMIN}
        self.allow_off_contract = allow_off_contract
        self._stubs: list[Stub] = []
        self._next = 1

    def __iter__(self) -> Iterator[Stub]:
        return iter(list(self._stubs))

    def __len__(self) -> int:
        return len(self._stubs)

    def newest_first(self) -> list[Stub]:
        """In the order `pick` tries them."""
        return self._stubs[::-1]

    def add(self, data: Any) -> Stub:
        """Check `data` (shape, then contract) and append it; a bad stub raises StubError, nothing changes."""
        stub = self.checked(data)
        self._stubs.append(stub)
        self._next += 1
        return stub

    def checked(self, data: Any) -> Stub:
        """`data` as a stub, if its shape and the spec allow it and its id is free here."""
        stub = parse_stub(data, f"stub-{self._next}", self.apis)
        if any(s.id == stub.id for s in self._stubs):
            raise DuplicateStub(f"a stub with id {stub.id!r} exists already; delete it first")
        found = contract_violations(stub, self.apis)
        if found and not self.allow_off_contract:
            names = ", ".join(f"{api} {op}" for api, op in stub.operations)
            raise OffContract(
                f"The stub was not added: the spec does not allow its answer for {names} "
                "(start the server with --allow-off-contract-stubs to permit it)",
                found,
            )
        stub.violations = tuple(found)
        return stub

    def add_all(self, items: Iterable[Any]) -> None:
        """The config file's list; all or nothing, and the error names the stub's index."""
        kept, counter = list(self._stubs), self._next
        try:
            for index, item in enumerate(items):
                try:
                    self.add(item)
                except StubError as error:
                    details = "; ".join(f"{v.field}: {v.message}" for v in getattr(error, "violations", []))
                    raise StubError(f"stubs[{index}]: {error}" + (f": {details}" if details else "")) from error
        except StubError:
            self._stubs, self._next = kept, counter
            raise

    def remove(self, stub_id: str) -> bool:
        before = len(self._stubs)
        self._stubs = [s for s in self._stubs if s.id != stub_id]
        return len(self._stubs) < before

    def clear(self, sandbox: str | None = None) -> int:
        """Remove every stub, or only those limited to `sandbox`."""
        before = len(self._stubs)
        self._stubs = [s for s in self._stubs if sandbox is not None and s.criteria.sandbox != sandbox]
        return before - len(self._stubs)

    def pick(self, seen: Seen, api: str, operation: str) -> Stub | None:
        """The newest stub for this operation that matches and has answers left; answering counts."""
        for stub in _matching(self._stubs, seen, api, operation):
            stub.answered += 1
            return stub
        return None

    # What /__admin/stubs and the pipeline call: the same in memory, round trips when shared.

    async def refresh(self) -> None:
        """The stubs as every replica sees them; in memory they are always current."""

    async def current(self) -> list[Stub]:
        return self.newest_first()

    async def added(self, data: Any) -> Stub:
        return self.add(data)

    async def removed(self, stub_id: str) -> bool:
        return self.remove(stub_id)

    async def cleared(self, sandbox: str | None = None) -> int:
        return self.clear(sandbox)

    async def choose(self, seen: Seen, api: str, operation: str) -> Stub | None:
        return self.pick(seen, api, operation)


LISTED, ANSWERED, META = "stubs", "answered", "meta"  # collections of the shared board
ADD_ATTEMPTS = 1_000  # default ids taken by other replicas in a row: a livelock, not contention


class Versions(Protocol):
    """The version every change of the shared controls moves on (core/faults.py, SharedFaultRules)."""

    newest: int  # the newest version a request of this replica has read: each reads it first

    async def changed(self) -> None: ...
    async def read_version(self) -> int: ...


class SharedStubs(Stubs):
    """The stubs of every replica sharing a store (`board`, a Store no client can reach).

    The board holds each stub as it was given (`LISTED`, in the order added), its `answered` count
    (`ANSWERED`), and the id counter (`META`). Whether another replica changed them is told by the
    version the fault rules keep (`versions`), which every change of either moves on: each request
    reads it once, for the fault rules (core/control.py, before this step), so a request costs no
    round trip here unless something changed; then the list is read and parsed again.
    """

    shared = True

    def __init__(
        self, apis: Mapping[str, Api], board: Store, versions: Versions, allow_off_contract: bool = False
    ) -> None:
        super().__init__(apis, allow_off_contract)
        self.board = board
        self.versions = versions
        self._seen = -1  # the version the list was read at
        self._given: dict[str, Any] = {}  # each stub as it was given, by id (what the board keeps)
        self._parsed: dict[str, tuple[bytes, Stub]] = {}  # by id: parsed from that JSON, kept while it is

    def add(self, data: Any) -> Stub:
        stub = super().add(data)
        self._given[stub.id] = data
        return stub

    async def share(self) -> None:
        """At start-up: the config file's stubs, unless a replica put them (or others) in already."""
        for stub in list(self._stubs):
            try:
                await self.board.put(LISTED, stub.id, {"id": stub.id, "data": self._given[stub.id]}, expect=0)
            except VersionConflict:
                continue
            await self.board.put(ANSWERED, stub.id, {"id": stub.id, "answered": 0})
        await self._bump(0, floor=self._next)
        await self.versions.changed()
        await self.refresh(read=True)

    async def refresh(self, read: bool = False) -> None:
        """The list as the board holds it, read again only when a replica changed it: when this
        request read a newer version (`versions.newest`), or, with `read`, the version now."""
        if not read and self._seen >= self.versions.newest:
            return
        version = await self.versions.read_version()
        if version == self._seen:
            return
        meta = await self.board.get(META, LISTED)
        listed = [self._rebuilt(stored.doc["id"], stored.doc["data"]) for stored in await self.board.list(LISTED)]
        self._parsed = {stub.id: self._parsed[stub.id] for stub in listed}
        self._stubs, self._seen = listed, version
        if meta is not None:
            self._next = int(meta.doc["next"])

    def _rebuilt(self, stub_id: str, data: Any) -> Stub:
        """The stub another replica checked and shared; parsed once per id and content."""
        text = dumps(data)
        kept = self._parsed.get(stub_id)
        if kept is not None and kept[0] == text:
            return kept[1]
        stub = parse_stub(data, stub_id, self.apis)
        stub.violations = tuple(contract_violations(stub, self.apis))  # allowed where it was added
        self._parsed[stub_id] = (text, stub)
        return stub

    async def _bump(self, step: int, floor: int = 0) -> Stored:
        """The id counter moved on by `step` (and to at least `floor`)."""

        def moved(doc: Document) -> Document:
            return {"next": max(int(doc["next"]), floor) + step}

        bumped = await self.board.update(META, LISTED, moved)
        if bumped is None:
            bumped = await put_first(self.board, META, LISTED, {"next": max(floor, 1) + step})
        return bumped

    async def current(self) -> list[Stub]:
        await self.refresh(read=True)
        counts = {s.doc["id"]: int(s.doc["answered"]) for s in await self.board.list(ANSWERED) if "id" in s.doc}
        for stub in self._stubs:
            stub.answered = counts.get(stub.id, stub.answered)
        return self.newest_first()

    async def added(self, data: Any) -> Stub:
        """Checked here (a bad stub is refused before anything is shared), then put on the board;
        a default id another replica took meanwhile moves on to the next number."""
        await self.refresh(read=True)
        stub = self.checked(data)
        named = isinstance(data, Mapping) and bool(data.get("id"))
        for _ in range(ADD_ATTEMPTS):
            try:
                await self.board.put(LISTED, stub.id, {"id": stub.id, "data": data}, expect=0)
            except VersionConflict:
                if named:
                    raise DuplicateStub(f"a stub with id {stub.id!r} exists already; delete it first") from None
                self._next += 1
                stub.id = f"stub-{self._next}"
                continue
            await self.board.put(ANSWERED, stub.id, {"id": stub.id, "answered": 0})
            await self._bump(1, floor=self._next)
            await self.versions.changed()
            self._parsed[stub.id] = (dumps(data), stub)
            return stub
        raise StubError(f"{ADD_ATTEMPTS} default ids in a row were taken by other replicas; give the stub an id")

    async def removed(self, stub_id: str) -> bool:
        gone = await self.board.delete(LISTED, stub_id)
        await self.board.delete(ANSWERED, stub_id)
        await self.versions.changed()
        await self.refresh(read=True)
        return gone

    async def cleared(self, sandbox: str | None = None) -> int:
        await self.refresh(read=True)
        count = 0
        for stub in list(self._stubs):
            if sandbox is None or stub.criteria.sandbox == sandbox:
                count += await self.board.delete(LISTED, stub.id)
                await self.board.delete(ANSWERED, stub.id)
        await self.versions.changed()
        await self.refresh(read=True)
        return count

    async def choose(self, seen: Seen, api: str, operation: str) -> Stub | None:
        """As `pick`, over the list `refresh` read; an answer counts only once claimed on the board."""
        for stub in _matching(self._stubs, seen, api, operation):
            if await self._claim(stub):
                return stub
        return None

    async def _claim(self, stub: Stub) -> bool:
        """Count one answer of `stub`, unless its `times` are used up (across every replica) or it
        was deleted meanwhile."""
        allowed = False

        def answer(doc: Document) -> Document | None:
            nonlocal allowed
            allowed = stub.times is None or int(doc["answered"]) < stub.times
            return {**doc, "answered": int(doc["answered"]) + 1} if allowed else None

        counted = await self.board.update(ANSWERED, stub.id, answer)
        if counted is not None:
            stub.answered = int(counted.doc["answered"])
        return counted is not None and allowed


STUBS = web.AppKey("stubs", Stubs)


# --- parsing and the contract check ---------------------------------------------------------


def parse_stub(data: Any, default_id: str, apis: Mapping[str, Api]) -> Stub:
    if not isinstance(data, Mapping):
        raise StubError(f"a stub must be an object, got {type(data).__name__}")
    if unknown := set(data) - STUB_KEYS:
        raise StubError(f"unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(STUB_KEYS))}")
    stub_id = data.get("id") or default_id
    if not isinstance(stub_id, str):
        raise StubError(f"id must be a non-empty string, got {stub_id!r}")
    try:
        criteria = parse_criteria(data.get("request"), tuple(apis))
    except CriteriaError as error:
        raise StubError(f"request: {error}") from error
    times = data.get("times")
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        raise StubError(f"times must be a whole number of at least 1 (omit it for always), got {times!r}")
    operations = operations_for(criteria, apis)
    if not operations:
        raise StubError(
            "request: matches no operation of the mounted specs; a stub answers for operations only "
            "(check api, method, operation and that path is the API's own path, after its mount base)"
        )
    return Stub(stub_id, criteria, parse_response(data.get("response")), operations, times)


def parse_response(data: Any) -> StubResponse:
    if not isinstance(data, Mapping):
        raise StubError("response must be an object with at least a status")
    if unknown := set(data) - RESPONSE_KEYS:
        raise StubError(
            f"response: unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(RESPONSE_KEYS))}"
        )
    status = data.get("status")
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise StubError(f"response.status must be an HTTP status from 100 to 599, got {status!r}")
    headers = data.get("headers") or {}
    if not isinstance(headers, Mapping) or not all(
        isinstance(k, str) and k and isinstance(v, str | int) and not isinstance(v, bool) for k, v in headers.items()
    ):
        raise StubError("response.headers must map header names to string values")
    content_type = data.get("contentType")
    if content_type is not None and (not isinstance(content_type, str) or "/" not in content_type):
        raise StubError(f"response.contentType must be a media type such as application/json, got {content_type!r}")
    body = data.get("body", ABSENT)
    if body is not ABSENT and content_type is None:
        content_type = "application/json"
    if body is not ABSENT and not payloads.is_json(content_type) and not isinstance(body, str):
        raise StubError(f"response.body must be text for the content type {content_type}")
    return StubResponse(status, {k: str(v) for k, v in headers.items()}, body, content_type, tuple(templated(body)))


def operations_for(criteria: Criteria, apis: Mapping[str, Api]) -> tuple[tuple[str, str], ...]:
    """Every operation a request matching `criteria` could be routed to."""
    found: list[tuple[str, str]] = []
    for api in apis.values():
        if criteria.api not in (None, api.name):
            continue
        for op in api.operations:
            if criteria.operation not in (None, op.id) or criteria.method not in (None, op.method):
                continue
            if criteria.path is not None and not _path_can_reach(criteria.path, api, op):
                continue
            found.append((api.name, op.id))
    return tuple(found)


def _path_can_reach(glob: str, api: Api, op: Operation) -> bool:
    """The glob matches the API's own path or the path as sent (under any of the API's bases);
    a trailing `/*` also names the collection itself, as in fault rules (core/faults.py)."""
    globs = [glob, glob[:-2]] if glob.endswith("/*") else [glob]
    return any(globs_overlap(g, base + op.template) for g in globs for base in ("", *api.bases))


def contract_violations(stub: Stub, apis: Mapping[str, Api]) -> list[Violation]:
    """What the spec does not allow in the stub's answer, for each operation it can answer.

    Problems at templated positions are left to the check of each rendered answer.
    """
    response = stub.response
    sample = render(response.body, {}, "", {}, ABSENT)
    found: list[Violation] = []
    for api_name, op_id in stub.operations:
        api = apis[api_name]
        for problem in answer_problems(api, api.operation(op_id), response, sample):
            if problem_is_templated(problem.path, response.templated):
                continue
            where = "".join(["body", *(f".{part}" for part in problem.path)]) if problem.message else "response"
            message = problem.message or problem.error
            found.append(Violation("response", where, f"{api_name} {op_id} {response.status}: {message}", 422))
    return found


def answer_problems(api: Api, op: Operation, response: StubResponse, body: Any) -> list[Any]:
    headers = Headers(list(response.headers.items()))
    if response.content_type is not None:
        headers["Content-Type"] = response.content_type
    mimetype = payloads.media_type(response.content_type)
    from instancemock.core.oracle import response_problems  # openapi-core: loaded when first needed

    return response_problems(api, op, response.status, response.encode(body), headers, mimetype)


def problem_is_templated(path: tuple[str | int, ...], templated: tuple[tuple[str | int, ...], ...]) -> bool:
    return any(path[: len(spot)] == spot for spot in templated)


# --- templates ------------------------------------------------------------------------------


def templated(body: Any, where: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Where in the body a placeholder stands."""
    if isinstance(body, str) and PLACEHOLDER.search(body):
        yield where
    elif isinstance(body, dict):
        for key, value in body.items():
            yield from templated(value, (*where, key))
    elif isinstance(body, list):
        for index, value in enumerate(body):
            yield from templated(value, (*where, index))


def render(body: Any, path: Mapping[str, Any], sandbox: str, query: Mapping[str, list[str]], request_body: Any) -> Any:
    """The body with each placeholder replaced by the request's value (null or "" where it has none)."""
    if isinstance(body, str):
        whole = WHOLE_PLACEHOLDER.match(body)
        if whole:
            return _lookup(whole.group(1), whole.group(2), path, sandbox, query, request_body)
        return PLACEHOLDER.sub(
            lambda m: _as_text(_lookup(m.group(1), m.group(2), path, sandbox, query, request_body)), body
        )
    if isinstance(body, dict):
        return {key: render(value, path, sandbox, query, request_body) for key, value in body.items()}
    if isinstance(body, list):
        return [render(value, path, sandbox, query, request_body) for value in body]
    return body


def _lookup(
    source: str, dotted: str, path: Mapping[str, Any], sandbox: str, query: Mapping[str, list[str]], body: Any
) -> Any:
    names = [name for name in dotted.split(".") if name]
    if source == "sandbox":
        return sandbox
    if source == "path":
        return path.get(names[0]) if names else None
    if source == "query":
        by_lower = {k.lower(): v for k, v in query.items()}
        values = by_lower.get(names[0].lower(), []) if names else []
        return values[0] if values else None
    value = None if body is ABSENT else body
    for name in names:
        if isinstance(value, dict):
            value = value.get(name)
        elif isinstance(value, list) and name.isdigit() and int(name) < len(value):
            value = value[int(name)]
        else:
            return None
    return value


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return dumps(value).decode("utf-8")


# --- the pipeline step ----------------------------------------------------------------------


def seen_live(request: web.Request, context: Ctx, raw: bytes) -> Seen:
    found = facts(request)
    query: dict[str, list[str]] = {}
    for name, value in request.rel_url.query.items():
        query.setdefault(name, []).append(value)
    return Seen(
        api=context.api.name,
        operation=context.op.id,
        method=request.method,
        path=request.path,
        api_path=found.api_path if found is not None else request.path,
        sandbox=context.sandbox,
        query=query,
        headers={name.lower(): value for name, value in request.headers.items()},
        body=payloads.read(raw, request.headers.get("Content-Type")).value,
    )


def stubs_in_force(stubs: Stubs | None) -> bool:
    """Some stub may answer: there are stubs here, or they are shared (another replica may have
    added one). None of them: `answer_from_stubs` has nothing to do (the pipeline asks first)."""
    return stubs is not None and (stubs.shared or len(stubs) > 0)


async def answer_from_stubs(request: web.Request) -> web.StreamResponse | None:
    """The newest matching stub answers in the handler's place (the world is not touched); None: no stub matches."""
    stubs = request.app.get(STUBS)
    if stubs is None or CTX not in request:
        return None
    context = ctx(request)
    if stubs.shared and context.api.name in stubs.apis:
        await stubs.refresh()  # read again only if the version this request read (for faults) is newer
    if not stubs or context.op.spec.get("x-streamed-body"):  # a streamed body: its handler reads it
        return None
    raw = await request.read() if request.body_exists else b""  # read once already, by validation
    seen = seen_live(request, context, raw)
    if stubs.shared:
        stub = await stubs.choose(seen, context.api.name, context.op.id)
    else:
        stub = stubs.pick(seen, context.api.name, context.op.id)
    if stub is None:
        return None
    request[STUB_NOTE] = {"id": stub.id, "offContract": stub.off_contract}
    response = stub.response
    body = response.body
    if response.templated:
        body = render(body, context.route.params, context.sandbox, seen.query, seen.body)
        problems = answer_problems(context.api, context.op, response, body)
        if problems and not stub.off_contract:
            request[STUB_NOTE] = {"id": stub.id, "offContract": True}
            detail = "; ".join(map(str, problems))
            message = f"instancemock: the stub {stub.id!r} rendered an answer that breaks the spec: {detail}"
            return errors.error(context.api.errors, 500, message)
    answer = web.Response(status=response.status, body=response.encode(body), headers=dict(response.headers))
    if response.content_type is not None:
        answer.headers["Content-Type"] = response.content_type
    answer.headers["X-Mock-Source"] = "stub"
    return answer
