"""Drift: where a real service and our specs disagree, found by checking proxied traffic both ways.

The proxy (core/proxy.py) checks each request it forwards and each answer it returns with the
same checks the mock applies to itself (core/validation.py), and turns every violation into a
`Flag`. A flag names a direction and a kind:

| direction | kind | means |
|---|---|---|
| request | `request` | the client sent what the spec refuses (the mock would answer 4xx); forwarded anyway |
| request | `operation` | no operation of the spec has this method and path |
| response | `status` | the spec declares no response for the status (or a success only under `default`) |
| response | `media-type` | the answer's Content-Type is not declared for its status |
| response | `schema` | the body breaks the declared schema: a missing required field, a wrong type, ... |
| response | `header` | a declared response header is missing or malformed |
| response | `body` | the body is missing or cannot be read as its media type |

`DriftLog` groups the flags by API, operation, direction, kind, place and message, with counts,
first and last seen, and one redacted example each, for `GET /__admin/drift` (admin/drift.py);
the first flag of a new group is logged once. `markdown()` writes the report a CI job attaches.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from werkzeug.datastructures import Headers

from instancemock.core.spec import Api, Operation
from instancemock.core.validation import response_problems
from instancemock.core.violations import ResponseProblem, Violation
from instancemock.world.clock import iso
from instancemock.world.redact import Redactor

log = logging.getLogger("instancemock.drift")

REQUEST = "request"
RESPONSE = "response"
KINDS = {
    "request": "the request breaks the spec",
    "operation": "no such operation in the spec",
    "status": "undeclared status",
    "media-type": "undeclared media type",
    "schema": "body breaks the schema",
    "header": "response header missing or malformed",
    "body": "body missing or unreadable",
}
MAX_GROUPS = 1000  # distinct kinds of drift kept; more are counted in `dropped`
MAX_TEXT = 300  # characters of a message or example detail
GUID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")
INDEX = re.compile(r"(^|\.)\d+(?=\.|$)")
# jsonschema messages that begin with the offending value: the group keeps the rule, the example the value
LEADING_VALUE = re.compile(
    r"^.+? (?=(is not of type|is not valid under any|is valid under each|does not match|is too long|is too short"
    r"|is less than|is greater than|is not a multiple|is not a '|should be non-empty|is expected to be empty))",
    re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class Flag:
    direction: str
    kind: str
    where: str  # a body path (`instances[].id`), `query.size`, a header name, or the method and path
    message: str  # the rule broken, without the offending value (the grouping key)
    detail: str = ""  # the message as found, with the value (for the example only)

    def as_json(self) -> dict[str, str]:
        return {"direction": self.direction, "kind": self.kind, "where": self.where, "message": self.message}


def _short(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def body_path(where: str) -> str:
    """`instances.3.id` -> `instances[].id`: every element of an array is one place."""
    return INDEX.sub("[]", where)


def without_value(message: str) -> str:
    return LEADING_VALUE.sub("", message)


def request_flags(violations: Iterable[Violation]) -> list[Flag]:
    flags = []
    for v in violations:
        where = f"{v.location}.{v.field}" if v.field else v.location
        flags.append(Flag(REQUEST, "request", where, _short(without_value(v.message)), _short(v.message)))
    return flags


def undeclared_operation(method: str, api_path: str) -> Flag:
    """Ids in the path (numbers, GUIDs) become `{}`, so calls to one undeclared route are one group."""
    parts = ["{}" if part.isdigit() or GUID.match(part) else part for part in api_path.split("/")]
    where = f"{method.upper()} {'/'.join(parts)}"
    return Flag(REQUEST, "operation", where, "no operation of the spec has this method and path", where)


def response_flags(
    api: Api, op: Operation, status: int, body: bytes, headers: Headers, mimetype: str, checked_body: bool = True
) -> list[Flag]:
    """Every way the answer breaks `op`; `checked_body=False`: a streamed body, only status and headers count."""
    flags = [_flag(problem, status) for problem in response_problems(api, op, status, body, headers, mimetype)]
    if not checked_body:
        flags = [f for f in flags if f.kind not in ("schema", "body")]
    declared = {str(code).upper() for code in op.spec.get("responses", {})}
    undeclared = status < 400 and str(status) not in declared and f"{str(status)[0]}XX" not in declared
    if undeclared and "DEFAULT" in declared and not any(f.kind == "status" for f in flags):
        message = f"status {status} is not declared; only `default` (an error) covers it"
        flags.append(Flag(RESPONSE, "status", str(status), message, message))
    return flags


def _flag(problem: ResponseProblem, status: int) -> Flag:
    if problem.kind == "status":
        message = f"status {status} is not declared"
        return Flag(RESPONSE, "status", str(status), message, _short(problem.error))
    if problem.kind == "schema":
        detail = problem.message or problem.error
        return Flag(RESPONSE, "schema", body_path(problem.where), _short(without_value(detail)), _short(detail))
    return Flag(RESPONSE, problem.kind, problem.where, _short(problem.error), _short(problem.error))


@dataclass(slots=True)
class Group:
    api: str
    operation: str  # the operationId, or `METHOD /path` for an undeclared operation
    flag: Flag
    count: int
    first_seen: datetime
    last_seen: datetime
    example: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {
            "api": self.api,
            "operation": self.operation,
            **self.flag.as_json(),
            "count": self.count,
            "firstSeen": iso(self.first_seen),
            "lastSeen": iso(self.last_seen),
            "example": self.example,
        }


@dataclass(frozen=True, slots=True)
class Seen:
    """Where the flags were seen: one proxied exchange, for the example (credentials already redacted)."""

    request_id: int
    method: str
    path: str
    query: Mapping[str, list[str]]
    status: int | None
    upstream: str


class DriftLog:
    """Flags grouped as the report shows them, newest changes kept; bounded to `MAX_GROUPS` groups."""

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor
        self._groups: dict[tuple[str, ...], Group] = {}
        self.exchanges = 0  # proxied exchanges checked
        self.drifting = 0  # of which with at least one flag
        self.dropped = 0

    def add(self, api: str, operation: str, flags: Sequence[Flag], seen: Seen, now: datetime) -> list[Group]:
        """Count the exchange's flags; returns the groups seen for the first time (logged once each)."""
        self.exchanges += 1
        self.drifting += 1 if flags else 0
        new: list[Group] = []
        for flag in flags:
            key = (api, operation, flag.direction, flag.kind, flag.where, flag.message)
            group = self._groups.get(key)
            if group is not None:
                group.count += 1
                group.last_seen = now
                continue
            if len(self._groups) >= MAX_GROUPS:
                self.dropped += 1
                continue
            group = self._groups[key] = Group(api, operation, flag, 1, now, now, self._example(flag, seen))
            new.append(group)
            log.warning(
                "drift: %s %s: %s %s at %s: %s (%s %s -> %s)",
                api, operation, flag.direction, flag.kind, flag.where or "(root)", flag.message,
                seen.method, self.redactor.text(seen.path), seen.status,
            )  # fmt: skip
        return new

    def _example(self, flag: Flag, seen: Seen) -> dict[str, Any]:
        return {
            "requestId": seen.request_id,
            "method": seen.method,
            "path": self.redactor.text(seen.path),
            "query": {name: [self.redactor.text(v) for v in values] for name, values in seen.query.items()},
            "status": seen.status,
            "upstream": self.redactor.text(seen.upstream),
            "detail": self.redactor.text(flag.detail or flag.message),
        }

    def groups(self, api: str | None = None) -> list[Group]:
        """Most frequent first, then by API and operation."""
        found = [g for g in self._groups.values() if api is None or g.api == api]
        return sorted(found, key=lambda g: (-g.count, g.api, g.operation, g.flag.kind, g.flag.where))

    def report(self, api: str | None = None) -> dict[str, Any]:
        groups = self.groups(api)
        return {
            "exchanges": self.exchanges,
            "drifting": self.drifting,
            "dropped": self.dropped,
            "groups": [g.as_json() for g in groups],
        }

    def clear(self) -> int:
        count = len(self._groups)
        self._groups.clear()
        self.exchanges = self.drifting = self.dropped = 0
        return count


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown(report: Mapping[str, Any], title: str = "instancemock drift report") -> str:
    """The report (`DriftLog.report()`, or the JSON `GET /__admin/drift` answered) as Markdown."""
    groups: list[Mapping[str, Any]] = list(report.get("groups", []))
    lines = [f"# {title}", ""]
    exchanges, drifting = report.get("exchanges", 0), report.get("drifting", 0)
    if not groups:
        lines.append(f"No drift: {exchanges} proxied exchange(s) agreed with the specs.")
        return "\n".join(lines) + "\n"
    apis = sorted({str(g["api"]) for g in groups})
    lines.append(
        f"{len(groups)} kind(s) of drift in {drifting} of {exchanges} proxied exchange(s), APIs: {', '.join(apis)}."
    )
    if report.get("dropped"):
        lines.append(f"{report['dropped']} further flag(s) were not kept (more than {MAX_GROUPS} kinds).")
    for api in apis:
        lines += ["", f"## {api}", "", "| operation | direction | kind | where | violation | count | last seen |"]
        lines.append("|---|---|---|---|---|---:|---|")
        for g in (g for g in groups if g["api"] == api):
            row = [g["operation"], g["direction"], g["kind"], g["where"] or "(root)", g["message"], g["count"]]
            lines.append("| " + " | ".join(_cell(c) for c in [*row, g["lastSeen"]]) + " |")
        lines += ["", "<details><summary>One example each</summary>", ""]
        for g in (g for g in groups if g["api"] == api):
            e = g["example"]
            lines.append(
                f"- `{_cell(g['operation'])}` {_cell(g['kind'])}: {e['method']} `{_cell(e['path'])}` -> "
                f"{e['status']}: {_cell(e['detail'])} (journal #{e['requestId']})"
            )
        lines += ["", "</details>"]
    lines += ["", "Kinds: " + "; ".join(f"`{k}` {v}" for k, v in KINDS.items()) + "."]
    return "\n".join(lines) + "\n"
