"""/__admin/requests: what the journal recorded, filtered; how many, for CI assertions; and verify.

`verify` answers with the outcome rather than refusing: a failed expectation is a 200 with
`verified: false` and the near misses, because the caller asked a question and this is the answer
(a 4xx is kept for a question that cannot be asked, such as unknown criteria).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from instancemock.core.context import APIS, Handler, ctx
from instancemock.core.encoding import json_response
from instancemock.core.errors import Refusal
from instancemock.core.journal import JOURNAL, Filter, JournalEntry
from instancemock.core.matching import Criteria, CriteriaError, distance, parse_criteria
from instancemock.core.spec import ADMIN
from instancemock.settings import parse_now

NEAR_MISSES = 3


def _filter(query: dict[str, Any]) -> Filter:
    return Filter(
        api=query.get("api"),
        method=query.get("method"),
        path=query.get("path"),
        status=str(query["status"]) if query.get("status") is not None else None,
        sandbox=query.get("sandbox"),
        since=parse_now(query.get("since")),
    )


async def list_requests(request: web.Request) -> web.Response:
    """Newest first; `total` counts every match, `requests` holds at most `limit` of them."""
    query = ctx(request).args.query
    found = await request.app[JOURNAL].search(_filter(query))
    limit = query.get("limit")
    shown = found if limit is None else found[:limit]
    return json_response({"total": len(found), "requests": [entry.as_json() for entry in shown]})


async def count_requests(request: web.Request) -> web.Response:
    found = await request.app[JOURNAL].search(_filter(ctx(request).args.query))
    return json_response({"count": len(found)})


async def clear_requests(request: web.Request) -> web.Response:
    return json_response({"deleted": await request.app[JOURNAL].wipe()})


async def verify_requests(request: web.Request) -> web.Response:
    data = json.loads(ctx(request).args.raw_body)
    names: tuple[str, ...] = tuple(request.app[APIS].keys())
    try:
        criteria = parse_criteria(data.get("request"), names, allow_status=True)
    except CriteriaError as error:
        raise Refusal(400, f"The request criteria cannot be used: {error}") from error
    expected = {key: data[key] for key in ("count", "atLeast", "atMost") if data.get(key) is not None}
    if "count" in expected and len(expected) > 1:
        raise Refusal(400, "Give either count, or atLeast and/or atMost.")
    expected = expected or {"atLeast": 1}
    pool = await request.app[JOURNAL].search(Filter(api=ADMIN if criteria.api == ADMIN else None))
    matched, near = split_by_distance(criteria, pool)
    count = len(matched)
    verified = (
        count == expected.get("count", count)
        and count >= expected.get("atLeast", 0)
        and count <= expected.get("atMost", count)
    )
    shown = [] if verified else near[: int(data.get("nearMisses", NEAR_MISSES))]
    return json_response(
        {
            "verified": verified,
            "count": count,
            "expected": expected,
            "nearMisses": [
                {"distance": score, "differences": [d.as_json() for d in found], "request": entry.as_json()}
                for score, found, entry in shown
            ],
        }
    )


def split_by_distance(
    criteria: Criteria, entries: list[JournalEntry]
) -> tuple[list[JournalEntry], list[tuple[float, list[Any], JournalEntry]]]:
    """The entries that match, and the others nearest first (newest first among equals)."""
    matched: list[JournalEntry] = []
    others: list[tuple[float, list[Any], JournalEntry]] = []
    for entry in entries:
        found = criteria.differences(entry.seen())
        if found:
            others.append((distance(found), found, entry))
        else:
            matched.append(entry)
    others.sort(key=lambda item: item[0])  # stable: newest first among equal distances
    return matched, others


OPERATIONS: dict[str, Handler] = {
    "listRequests": list_requests,
    "countRequests": count_requests,
    "clearRequests": clear_requests,
    "verifyRequests": verify_requests,
}
