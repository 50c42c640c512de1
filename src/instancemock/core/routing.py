"""Case-insensitive routing from the specs' paths, the way ASP.NET matches routes.

aiohttp's router is case-sensitive and resolves before middlewares run, so the server registers
one catch-all route and this router does the matching on lowered literal segments. Both Altinn
APIs share the `/altinn` base, which aiohttp sub-applications could not do.

Case is folded as .NET's ordinal-ignore-case compares route literals: ASCII letters only. Python's
`str.lower()` would also fold the Kelvin sign (U+212A) to `k`, so `/\u212aianda` reached Kianda.

A path parameter may carry ASP.NET's route constraint (`x-route-constraint: int` or `guid`, see
openapi/CONVENTIONS.md): a segment that breaks it does not match that route at all, so the path
is another route's, or a 405 naming only the methods whose routes do match, or a 404.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from instancemock.core.spec import Api, Operation

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def api_path_of(path: str, api: Api | None) -> str:
    """The path after the owning API's mount base (the path as sent if no API owns it)."""
    lowered = fold(path)
    for base in api.bases if api is not None else ():
        if lowered.startswith(fold(base) + "/") or lowered == fold(base):
            return path[len(base) :] or "/"
    return path


def fold(text: str) -> str:
    """ASCII-only lower case, as .NET's OrdinalIgnoreCase treats route literals."""
    return text.lower() if text.isascii() else text.translate(_ASCII_LOWER)


_INT = re.compile(r"[+-]?[0-9]+")
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
INT32 = range(-(2**31), 2**31)


def _is_int32(segment: str) -> bool:
    return _INT.fullmatch(segment) is not None and int(segment) in INT32


def _is_guid(segment: str) -> bool:
    """Only the hyphenated form: .NET would also take N/B/P, but clients send what the platform returned."""
    return _GUID.fullmatch(segment) is not None


CONSTRAINTS: dict[str, Callable[[str], bool]] = {"int": _is_int32, "guid": _is_guid}


@dataclass(frozen=True, slots=True)
class Route:
    api: Api
    op: Operation
    base: str  # the mount base the request came through, as declared (e.g. /barium/api/v1.1)
    params: dict[str, str]  # path parameters by their spec name, percent-decoded


@dataclass(frozen=True, slots=True)
class Miss:
    api: Api | None  # the API that owns the path's prefix, for the error shape; None: no API
    allowed: tuple[str, ...] = ()  # non-empty: the path exists, the method does not (405)


@dataclass(slots=True)
class _Entry:
    api: Api
    op: Operation
    base: str
    segments: tuple[str | None, ...]  # lowered literal, or None for a {parameter}
    names: tuple[str | None, ...]
    checks: tuple[Callable[[str], bool] | None, ...]  # a {parameter}'s route constraint, if it has one
    rank: tuple[int, ...] = field(init=False)

    def __post_init__(self) -> None:
        # More literal segments first, and literals earlier in the path first: /instances/create
        # beats /instances/{name}.
        self.rank = tuple(0 if s is not None else 1 for s in self.segments)


def split(path: str) -> list[str]:
    return [unquote(part) for part in path.strip("/").split("/")] if path.strip("/") else []


def _constraints(op: Operation, names: tuple[str | None, ...]) -> tuple[Callable[[str], bool] | None, ...]:
    declared: dict[str, Any] = {p["name"]: p.get("x-route-constraint") for p in op.parameters if p.get("in") == "path"}
    checks: list[Callable[[str], bool] | None] = []
    for name in names:
        constraint = declared.get(name) if name is not None else None
        if constraint is not None and constraint not in CONSTRAINTS:
            raise ValueError(f"{op.id}: unknown x-route-constraint {constraint!r} (known: {', '.join(CONSTRAINTS)})")
        checks.append(CONSTRAINTS[constraint] if constraint is not None else None)
    return tuple(checks)


class Router:
    def api_path(self, path: str, api: Api | None) -> str:
        return api_path_of(path, api)

    def __init__(self, apis: list[Api]) -> None:
        self._entries: list[_Entry] = []
        self._bases: list[tuple[tuple[str, ...], Api, str]] = []
        for api in apis:
            for base in api.bases:
                base_parts = tuple(fold(p) for p in split(base))
                self._bases.append((base_parts, api, base))
                for op in api.operations:
                    parts = split(op.template)
                    segments = tuple(None if _is_param(p) else fold(p) for p in parts)
                    names = tuple(p[1:-1] if _is_param(p) else None for p in parts)
                    self._entries.append(_Entry(api, op, base, segments, names, _constraints(op, names)))
        self._entries.sort(key=lambda e: e.rank)
        self._bases.sort(key=lambda b: -len(b[0]))

    def resolve(self, method: str, raw_path: str) -> Route | Miss:
        parts = split(raw_path)
        lowered = [fold(p) for p in parts]
        allowed: list[str] = []
        owners = self._owners(lowered)
        for entry in self._entries:
            if entry.api not in owners or not self._base_matches(entry.base, lowered):
                continue
            rest = parts[len(split(entry.base)) :]
            if not _matches(entry.segments, [fold(p) for p in rest]) or not _satisfies(entry.checks, rest):
                continue
            if entry.op.method != method.upper():
                if entry.op.method not in allowed:
                    allowed.append(entry.op.method)
                continue
            params = {n: v for n, v in zip(entry.names, rest, strict=True) if n is not None}
            if any(v == "" for v in params.values()):
                continue
            return Route(entry.api, entry.op, entry.base, params)
        return Miss(self._owner(lowered, owners), tuple(allowed))

    def _owners(self, lowered: list[str]) -> list[Api]:
        """Every API mounted at the longest base that prefixes the path."""
        for base_parts, _, _ in self._bases:
            if tuple(lowered[: len(base_parts)]) == base_parts:
                return [api for parts, api, _ in self._bases if parts == base_parts]
        return []

    def _base_matches(self, base: str, lowered: list[str]) -> bool:
        base_parts = [fold(p) for p in split(base)]
        return lowered[: len(base_parts)] == base_parts

    def _owner(self, lowered: list[str], owners: list[Api]) -> Api | None:
        """Of the APIs sharing a base, the one whose paths share the longest literal lead."""
        best: tuple[int, Api | None] = (-1, owners[0] if owners else None)
        for entry in self._entries:
            if entry.api not in owners or not self._base_matches(entry.base, lowered):
                continue
            rest = lowered[len(split(entry.base)) :]
            lead = 0
            for want, got in zip(entry.segments, rest, strict=False):
                if want is None or want != got:
                    break
                lead += 1
            if lead > best[0]:
                best = (lead, entry.api)
        return best[1]


def _is_param(part: str) -> bool:
    return part.startswith("{") and part.endswith("}")


def _matches(segments: tuple[str | None, ...], parts: list[str]) -> bool:
    if len(segments) != len(parts):
        return False
    return all(want is None or want == got for want, got in zip(segments, parts, strict=True))


def _satisfies(checks: tuple[Callable[[str], bool] | None, ...], parts: list[str]) -> bool:
    return all(check is None or check(part) for check, part in zip(checks, parts, strict=True))


class CachingRouter(Router):
    """A Router that remembers the answers for the last `size` (method, path) pairs it resolved.

    Matching walks every route of the owning APIs (a tenth of a Barium list request's time);
    clients ask the same paths again and again, so the answer is kept. Answers are immutable
    (`Route.params` is read, never written), and the oldest is forgotten first, so memory stays
    bounded however many distinct paths arrive.
    """

    def __init__(self, apis: list[Api], size: int = 4096) -> None:
        super().__init__(apis)
        self._size = size
        self._answers: dict[tuple[str, str], Route | Miss] = {}
        self._api_paths: dict[tuple[str, str | None], str] = {}

    def api_path(self, path: str, api: Api | None) -> str:
        """`api_path_of`, remembered like the routes (the same paths come again and again)."""
        key = (path, api.name if api is not None else None)
        found = self._api_paths.get(key)
        if found is None:
            if len(self._api_paths) >= self._size:
                del self._api_paths[next(iter(self._api_paths))]
            found = self._api_paths[key] = api_path_of(path, api)
        return found

    def resolve(self, method: str, raw_path: str) -> Route | Miss:
        key = (method, raw_path)
        found = self._answers.get(key)
        if found is None:
            found = super().resolve(method, raw_path)
            if len(self._answers) >= self._size:
                del self._answers[next(iter(self._answers))]
            self._answers[key] = found
        return found
