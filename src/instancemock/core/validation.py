"""Request and response checks against the operation the router found: the entry points.

`check_request` and `check_response` run the operation's compiled plan (`core/operations.py`);
what a plan does not compile goes to openapi-core (`core/oracle.py`), which also stays the
reference the plans are tested against. The pipeline, the test support and the proxy call these
functions only: `response_problems` is `check_response` as data, for the proxy's drift flags.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from werkzeug.datastructures import Headers

from instancemock.core.context import Args
from instancemock.core.operations import Unreadable
from instancemock.core.spec import Api, Operation
from instancemock.core.violations import ResponseProblem, Violation, response_lines


def check_request(
    api: Api,
    op: Operation,
    path_params: Mapping[str, str],
    query: Iterable[tuple[str, str]],
    headers: Iterable[tuple[str, str]],
    cookies: Mapping[str, str],
    body: bytes,
    content_type: str,
) -> tuple[Args, list[Violation]]:
    """The arguments as the handler gets them (names in the spec's casing, values cast and
    unmarshalled), and every violation; `content_type` is the header lowered ("" if none)."""
    plan = api.compiled.plans[op.id]
    if plan.delegate:
        from instancemock.core import oracle  # openapi-core: loaded when first needed (core/schemas.py says why)

        return oracle.check_request(api, op, dict(path_params), query, headers, dict(cookies), body, content_type)
    try:
        result = plan.check_request(path_params, query, headers, cookies, body, content_type)
        if result.body_delegated:
            from instancemock.core import oracle  # as above

            result.body, violations = oracle.read_body(api, op, result.raw_body, content_type)
            result.violations += violations
    except (Unreadable, RecursionError) as error:  # what made openapi-core's request step give up
        kind = error.kind if isinstance(error, Unreadable) else type(error).__name__
        return Args(raw_body=body, content_type=content_type), [
            Violation("body", "", f"the request could not be read: {kind}")
        ]
    except Exception as error:  # a parser inside openapi-core (a delegated body) gave up on hostile input
        return Args(raw_body=body, content_type=content_type), [
            Violation("body", "", f"the request could not be read: {type(error).__name__}")
        ]
    values = result.values
    args = Args(
        path=values["path"],
        query=values["query"],
        header=values["header"],
        cookie=values["cookie"],
        body=result.body,
        raw_body=result.raw_body,
        content_type=content_type,
    )
    return args, result.violations


REMEMBERED_PER_OPERATION = 256  # body-less requests remembered per operation (`check_bodiless`)


def check_bodiless(
    api: Api,
    op: Operation,
    path_params: Mapping[str, str],
    raw_query: str,
    query: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    cookie_header: str | None,
    cookies: Callable[[], Mapping[str, str]],
    content_type: str,
) -> tuple[Args, list[Violation]]:
    """`check_request` of a request without a body, remembered by everything the check reads.

    A check is a function of the path parameters, the query, the headers and cookies the
    operation declares, and the content type, and nothing else (no clock, no world): a client
    that polls one list sends the same request again and again, and the answer is looked up
    instead of worked out (a third of a Barium list's pipeline, bench/README.md). Each call gets
    its own `Args` (handlers read them as theirs); the values inside are shared, never changed.
    `cookies` is called only when the operation declares one: parsing `Cookie` costs as much as
    the rest of a small check.
    """
    plan = api.compiled.plans[op.id]
    if plan.delegate:
        return check_request(api, op, path_params, query, headers.items(), cookies(), b"", content_type)
    key = (
        tuple(path_params.items()),
        raw_query,
        content_type,
        cookie_header if plan.reads_cookies else None,
        *[headers.get(name) for name in plan.header_names],
    )
    remembered = plan.remembered.get(key)
    if remembered is None:
        checked, found = check_request(
            api, op, path_params, query, headers.items(), cookies() if plan.reads_cookies else {}, b"", content_type
        )
        if len(plan.remembered) >= REMEMBERED_PER_OPERATION:
            del plan.remembered[next(iter(plan.remembered))]  # the oldest
        lists = any(
            isinstance(v, list)
            for kind in (checked.path, checked.query, checked.header, checked.cookie)
            for v in kind.values()
        )
        plan.remembered[key] = remembered = (checked, tuple(found), _own if lists else dict)
    args, violations, own = remembered
    fresh = Args(own(args.path), own(args.query), own(args.header), own(args.cookie), args.body, b"", content_type)
    return fresh, list(violations)


def _own(values: dict[str, Any]) -> dict[str, Any]:
    """A caller's copy of remembered values: its own dict, and its own list of an array parameter
    (a handler may sort or extend it); other values (text, numbers, dates, UUIDs) are immutable."""
    return {name: list(value) if isinstance(value, list) else value for name, value in values.items()}


def response_problems(
    api: Api, op: Operation, status: int, body: bytes, headers: Headers, mimetype: str
) -> list[ResponseProblem]:
    """Why a response does not conform to its operation (empty: it does), one problem per violation.

    The proxy's drift flags (core/drift.py) are made from these; `check_response` words them.
    """
    plan = api.compiled.plans[op.id]
    try:
        problems = plan.response_problems(status, body, headers.get, mimetype)
    except Exception as error:
        return [ResponseProblem(f"response could not be checked: {error}")]
    if problems is None:
        from instancemock.core import oracle  # openapi-core: loaded when first needed (core/schemas.py says why)

        return oracle.response_problems(api, op, status, body, headers, mimetype)
    return problems


def check_response(api: Api, op: Operation, status: int, body: bytes, headers: Headers, mimetype: str) -> list[str]:
    """Why a response does not conform to its operation (empty: it does), one line per kind of problem."""
    return response_lines(response_problems(api, op, status, body, headers, mimetype))
