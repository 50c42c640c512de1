"""A parameter value seen before is taken from the plan's memory (core/operations.py `ParamPlan.known`):
the same arguments as checking it afresh, never a value one handler changed, never a pass for a
value that fails, and a memory that stays small whatever clients send."""

from __future__ import annotations

from typing import Any

from instancemock.core import validation
from instancemock.core.context import Args
from instancemock.core.operations import KNOWN_VALUES
from instancemock.core.violations import Violation

from support import APIS

API = APIS["altinn-storage"]
QUERY = next(op for op in API.operations if op.id == "queryInstances")
PLAN = API.compiled.plans[QUERY.id]


def check(query: list[tuple[str, str]], headers: list[tuple[str, str]] | None = None) -> tuple[Args, list[Violation]]:
    return validation.check_request(API, QUERY, {}, query, headers or [], {}, b"", "")


def known(name: str) -> dict[Any, Any]:
    return next(param.known for param in PLAN.params if param.name == name)


def test_a_value_sent_again_gives_the_same_arguments_from_memory() -> None:
    query = [("org", "ttd"), ("size", "10"), ("lastChanged", "gt:2025-01-01T00:00:00Z"), ("lastChanged", "lt:2026")]
    first, problems = check(query)
    assert not problems
    assert ("10",) in known("size") and ("gt:2025-01-01T00:00:00Z", "lt:2026") in known("lastChanged")
    again, problems = check(query)
    assert not problems
    assert again.query == first.query
    assert again.query == {
        "org": "ttd",
        "size": 10,
        "lastChanged": ["gt:2025-01-01T00:00:00Z", "lt:2026"],
        "includeDataElements": True,  # the default, remembered as the value of an absent parameter
    }


def test_a_handler_that_changes_a_remembered_list_changes_only_its_own() -> None:
    query = [("org", "ttd"), ("lastChanged", "gt:2024-05-05T00:00:00Z")]
    first, _ = check(query)
    first.query["lastChanged"].append("changed by a handler")
    again, _ = check(query)
    assert again.query["lastChanged"] == ["gt:2024-05-05T00:00:00Z"]


def test_a_value_that_fails_is_checked_every_time() -> None:
    check([("org", "ttd"), ("size", "5")])
    for _ in range(2):
        _, problems = check([("org", "ttd"), ("size", "abc")])
        assert [(p.location, p.field) for p in problems] == [("query", "size")]
        assert "abc" not in known("size") and ("abc",) not in known("size")
        _, problems = check([("org", "ttd"), ("size", "-1")])  # casts, then fails `minimum: 0`
        assert [(p.location, p.field) for p in problems] == [("query", "size")]


def test_the_memory_of_a_parameter_stays_bounded() -> None:
    for n in range(3 * KNOWN_VALUES):
        args, problems = check([("org", f"org{n}")])
        assert not problems and args.query["org"] == f"org{n}"
    assert 0 < len(known("org")) <= KNOWN_VALUES


def test_a_header_parameter_is_remembered_by_its_value() -> None:
    args, _ = check([("org", "ttd")], [("X-Ai-InstanceOwnerIdentifier", "Person:12038522157")])
    assert args.header == {"X-Ai-InstanceOwnerIdentifier": "Person:12038522157"}
    args, _ = check([("org", "ttd")], [("x-ai-instanceowneridentifier", "Organisation:910000000")])
    assert args.header == {"X-Ai-InstanceOwnerIdentifier": "Organisation:910000000"}
