"""/__admin/faults: list, add and remove fault rules (the rules themselves live in faults.py)."""

from __future__ import annotations

import json

from aiohttp import web

from instancemock.core.context import Handler, ctx
from instancemock.core.encoding import json_response
from instancemock.core.errors import Refusal
from instancemock.core.faults import FAULT_RULES, DuplicateRule, RuleError


async def list_faults(request: web.Request) -> web.Response:
    """In precedence order: the first rule that matches and fires wins."""
    rules = await request.app[FAULT_RULES].current()
    return json_response({"rules": [rule.as_json() for rule in rules]})


async def add_fault(request: web.Request) -> web.Response:
    rules = request.app[FAULT_RULES]
    try:
        rule = await rules.added(json.loads(ctx(request).args.raw_body))  # the JSON as sent, not unmarshalled
    except RuleError as error:
        status = 409 if isinstance(error, DuplicateRule) else 400
        raise Refusal(status, f"The fault rule was not added: {error}") from error
    return json_response(rule.as_json(), status=201)


async def clear_faults(request: web.Request) -> web.Response:
    return json_response({"deleted": await request.app[FAULT_RULES].cleared()})


async def delete_fault(request: web.Request) -> web.Response:
    rule_id = ctx(request).args.path["id"]
    if not await request.app[FAULT_RULES].removed(rule_id):
        raise Refusal(404, f"No fault rule with id {rule_id!r}.")
    return json_response({"deleted": 1})


OPERATIONS: dict[str, Handler] = {
    "listFaults": list_faults,
    "addFault": add_fault,
    "clearFaults": clear_faults,
    "deleteFault": delete_fault,
}
