"""Request criteria, shared by stubs (which request a stub answers) and `verify` (which requests arrived).

One `Criteria` is checked against a `Seen` request, built either from a live request or from a
journal entry, so a stub's criteria and a verify's criteria mean the same thing. `differences`
returns every criterion the request fails, each with what was expected and what arrived: that is
what makes a near-miss readable ("method: expected POST, got PUT"), and `distance` ranks them.

Semantics, as README.md documents them: `path` is a case-insensitive glob on the API's own path or
the path as sent; `query` and `headers` values are case-sensitive globs (so `"*"` means "present",
which also matches a credential the journal redacted); header names and query names are
case-insensitive, as ASP.NET reads them; `body` is a JSON subset: an object may hold more keys than
the criterion names, an array must match element by element.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from instancemock.core import faults
from instancemock.core.payloads import ABSENT

CRITERIA_KEYS = {"api", "operation", "method", "path", "query", "headers", "body", "sandbox", "status"}
METHODS = ("GET", "PUT", "POST", "PATCH", "DELETE", "HEAD", "OPTIONS")


class CriteriaError(ValueError):
    """Why criteria were refused, in words a user can act on."""


@dataclass(frozen=True, slots=True)
class Seen:
    """A request as matching sees it: live (a stub) or as the journal recorded it (verify)."""

    api: str | None
    operation: str | None
    method: str
    path: str  # as sent
    api_path: str  # after the API's mount base
    sandbox: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]  # names lower-cased
    body: Any = ABSENT  # parsed JSON or form; ABSENT when there was none (or it was binary)
    body_note: str | None = None  # why the body cannot be compared ("truncated in the journal")
    status: int | None = None


@dataclass(frozen=True, slots=True)
class Difference:
    field: str  # "method", "query.status", "body.fields[0].value"
    expected: Any
    actual: Any
    weight: float = 1.0

    def as_json(self) -> dict[str, Any]:
        return {"field": self.field, "expected": self.expected, "actual": self.actual}

    def __str__(self) -> str:
        return f"{self.field}: expected {self.expected!r}, got {self.actual!r}"


@dataclass(frozen=True, slots=True)
class Criteria:
    api: str | None = None
    operation: str | None = None
    method: str | None = None
    path: str | None = None
    query: Mapping[str, list[str]] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)  # names lower-cased
    body: Any = ABSENT
    sandbox: str | None = None
    status: str | None = None  # verify only: "201", "2xx" or "none"

    def differences(self, seen: Seen) -> list[Difference]:
        """Every criterion `seen` fails; empty: it matches."""
        found: list[Difference] = []
        if self.api is not None and seen.api != self.api:
            found.append(Difference("api", self.api, seen.api, 2.0))
        if self.operation is not None and seen.operation != self.operation:
            found.append(Difference("operation", self.operation, seen.operation))
        if self.method is not None and seen.method != self.method:
            found.append(Difference("method", self.method, seen.method))
        if self.path is not None and not path_matches(self.path, seen):
            similarity = difflib.SequenceMatcher(None, self.path.lower(), seen.api_path.lower()).ratio()
            found.append(Difference("path", self.path, seen.api_path, 0.5 + (1 - similarity)))
        if self.sandbox is not None and seen.sandbox != self.sandbox:
            found.append(Difference("sandbox", self.sandbox, seen.sandbox, 3.0))  # another test's, most likely
        if self.status is not None and not status_matches(self.status, seen.status):
            found.append(Difference("status", self.status, seen.status))
        found += self._query_differences(seen)
        found += self._header_differences(seen)
        if self.body is not ABSENT:
            if seen.body_note is not None:
                found.append(Difference("body", self.body, seen.body_note))
            else:
                found += [
                    Difference(f"body{where}", want, got)
                    for where, want, got in subset_differences(self.body, seen.body)
                ]
        return found

    def _query_differences(self, seen: Seen) -> list[Difference]:
        by_name = {name.lower(): values for name, values in seen.query.items()}
        found = []
        for name, wanted in self.query.items():
            got = by_name.get(name.lower(), [])
            for pattern in wanted:
                if not any(fnmatchcase(value, pattern) for value in got):
                    found.append(Difference(f"query.{name}", pattern, got[0] if len(got) == 1 else got or None))
        return found

    def _header_differences(self, seen: Seen) -> list[Difference]:
        found = []
        for name, pattern in self.headers.items():
            got = seen.headers.get(name)
            if got is None or not fnmatchcase(got, pattern):
                found.append(Difference(f"headers.{name}", pattern, got))
        return found

    def as_json(self) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "api": self.api,
            "operation": self.operation,
            "method": self.method,
            "path": self.path,
            "query": {name: values[0] if len(values) == 1 else list(values) for name, values in self.query.items()},
            "headers": dict(self.headers),
            "sandbox": self.sandbox,
        }
        if self.body is not ABSENT:
            shown["body"] = self.body
        if self.status is not None:
            shown["status"] = self.status
        return shown


def distance(differences: list[Difference]) -> float:
    return round(sum(d.weight for d in differences), 3)


def path_matches(glob: str, seen: Seen) -> bool:
    """As fault rules and the journal's filter read a path glob (core/faults.py)."""
    return faults.path_matches(glob, seen.api_path, seen.path)


def status_matches(wanted: str, status: int | None) -> bool:
    if status is None:
        return wanted.lower() == "none"
    if wanted.lower().endswith("xx"):
        return str(status)[0] == wanted[0]
    return str(status) == wanted


def subset_differences(expected: Any, actual: Any, where: str = "") -> list[tuple[str, Any, Any]]:
    """Where `actual` fails to contain `expected` (objects: named keys; arrays: element by element)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [(where, expected, None if actual is ABSENT else actual)]
        found = []
        for key, want in expected.items():
            if key not in actual:
                found.append((f"{where}.{key}", want, None))
            else:
                found += subset_differences(want, actual[key], f"{where}.{key}")
        return found
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [(where, expected, None if actual is ABSENT else actual)]
        found = []
        for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
            found += subset_differences(want, got, f"{where}[{index}]")
        return found
    if actual is ABSENT or (type(expected) is not type(actual) and not _both_numbers(expected, actual)):
        return [(where, expected, None if actual is ABSENT else actual)]
    return [] if expected == actual else [(where, expected, actual)]


def _both_numbers(a: Any, b: Any) -> bool:
    return all(isinstance(x, int | float) and not isinstance(x, bool) for x in (a, b))


# --- parsing ------------------------------------------------------------------------------------


def _text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise CriteriaError(f"{key} must be a non-empty string, got {value!r}")
    return value


def _values(value: Any, what: str) -> list[str]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in items):
        raise CriteriaError(f"{what} must be a string (a glob) or a list of them, got {value!r}")
    return [str(v) for v in items]


def parse_criteria(data: Any, api_names: tuple[str, ...], *, allow_status: bool = False) -> Criteria:
    """Criteria from JSON; a bad one raises CriteriaError naming the key."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise CriteriaError(f"request criteria must be an object, got {type(data).__name__}")
    known = CRITERIA_KEYS if allow_status else CRITERIA_KEYS - {"status"}
    if unknown := set(data) - known:
        raise CriteriaError(f"unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
    api = _text(data, "api")
    if api is not None and api not in api_names:
        raise CriteriaError(f"api must be one of {', '.join(api_names)}, got {api!r}")
    method = _text(data, "method")
    if method is not None and method.upper() not in METHODS:
        raise CriteriaError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    query = data.get("query") or {}
    headers = data.get("headers") or {}
    if not isinstance(query, Mapping) or not isinstance(headers, Mapping):
        raise CriteriaError("query and headers must map names to values")
    status = data.get("status")
    if status is not None:
        status = str(status)
        if not (status.isdigit() and len(status) == 3) and status.lower() not in (
            "1xx",
            "2xx",
            "3xx",
            "4xx",
            "5xx",
            "none",
        ):
            raise CriteriaError(f"status must be a status (201), a class (2xx) or none, got {data['status']!r}")
    return Criteria(
        api=api,
        operation=_text(data, "operation"),
        method=method.upper() if method else None,
        path=_text(data, "path"),
        query={str(name): _values(value, f"query.{name}") for name, value in query.items()},
        headers={str(name).lower(): _values(value, f"headers.{name}")[0] for name, value in headers.items()},
        body=data.get("body", ABSENT),
        sandbox=_text(data, "sandbox"),
        status=status,
    )


ONE, RUN = "\x00?", "\x00*"  # a glob's `?` and `*`: any character, any run
SEG_ONE, SEG_RUN = "\x00s?", "\x00s*"  # inside a path parameter: anything but `/`
STARS = (RUN, SEG_RUN)


def globs_overlap(glob: str, template: str) -> bool:
    """Whether some path matches both the glob (`*`, `?`, case-insensitive) and the spec's template.

    Used to find the operations a stub's path glob can answer: a `{parameter}` of the template is
    one or more characters other than `/`, as the router reads it. A `[...]` class of the glob
    counts as any one character, which can only widen the set of operations a stub is checked
    against, never narrow it.
    """
    a, b = _glob_tokens(glob.lower()), _template_tokens(template.lower())
    seen: set[tuple[int, int]] = set()
    stack = [(0, 0)]
    while stack:
        i, j = stack.pop()
        if (i, j) in seen:
            continue
        seen.add((i, j))
        if i == len(a) and j == len(b):
            return True
        for mine, theirs, step_mine, step_theirs in ((a, b, (1, 0), (0, 1)), (b, a, (0, 1), (1, 0))):
            x, y = (i, j) if mine is a else (j, i)
            if x < len(mine) and mine[x] in STARS:
                stack.append((i + step_mine[0], j + step_mine[1]))  # the run ends here
                if y < len(theirs) and (mine[x] == RUN or theirs[y] != "/"):
                    stack.append((i + step_theirs[0], j + step_theirs[1]))  # it takes one more of theirs
        if i < len(a) and j < len(b) and a[i] not in STARS and b[j] not in STARS and _one_overlaps(a[i], b[j]):
            stack.append((i + 1, j + 1))
    return False


def _one_overlaps(x: str, y: str) -> bool:
    """Two single-character tokens accept a common character."""
    if ONE in (x, y):
        return True
    if SEG_ONE in (x, y):
        other = y if x == SEG_ONE else x
        return other != "/"
    return x == y


def _glob_tokens(glob: str) -> list[str]:
    tokens: list[str] = []
    index = 0
    while index < len(glob):
        char = glob[index]
        if char == "[" and (end := glob.find("]", index + 2)) != -1:
            tokens.append(ONE)
            index = end + 1
            continue
        if char == "*":
            if not tokens or tokens[-1] != RUN:
                tokens.append(RUN)
        else:
            tokens.append(ONE if char == "?" else char)
        index += 1
    return tokens


def _template_tokens(template: str) -> list[str]:
    """`/instances/{id}` -> literal characters, with each parameter as one-or-more non-`/` characters."""
    tokens: list[str] = []
    depth = 0
    for char in template:
        if char == "{":
            depth += 1
            if depth == 1:
                tokens += [SEG_ONE, SEG_RUN]
        elif char == "}":
            depth = max(depth - 1, 0)
        elif depth == 0:
            tokens.append(char)
    return tokens
