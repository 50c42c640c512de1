"""X-Mock-* headers and fault rules -> sandbox check, delay, forced status, socket fault.

Runs right after `route`, so it knows the owning API (for the error shape and for rules that
match on `api`) and before `miss`, so a forced status works on any path, even an unknown one.
A header wins over a rule for the same effect: `X-Mock-Delay` over a rule's delay, and
`X-Mock-Status`/`X-Mock-Fault` over a rule's status or fault (one request gets one outcome).
The admin API and `GET /` are never faulted: a rule for "every path" must not lock you out.
"""

from __future__ import annotations

import asyncio
import re
import socket
import struct
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from instancemock.core import errors
from instancemock.core.context import facts
from instancemock.core.encoding import json_response
from instancemock.core.errors import ErrorShape
from instancemock.core.faults import FAULT_RULES, MAX_DELAY_MS, Fault, FaultRule
from instancemock.core.journal import JOURNAL_NOTE
from instancemock.core.spec import ADMIN
from instancemock.core.violations import Violation

SANDBOX_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
MILLISECONDS = re.compile(r"\d{1,9}")
TIMEOUT_CAP_S = 600.0  # a "timeout" gives up after ten minutes and closes the connection
POLL_S = 0.05  # how often a waiting request looks whether its client is still there
BROKEN_JSON = b'{"instancemock": "malformed", "data": [{"id": 1, "name": "trunc'
RETRY_AFTER_S = "1"


@dataclass(slots=True)
class Plan:
    """What happens to one request; `source` says where each part came from, for the journal."""

    delay_ms: float = 0.0
    status: int | None = None
    fault: Fault | None = None
    body: Any = None
    has_body: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    rule: str | None = None
    source: str = "header"

    def note(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "rule": self.rule,
            "status": self.status,
            "delayMs": round(self.delay_ms, 1),
            "fault": str(self.fault) if self.fault else None,
        }


NOTHING = Plan()  # no header and no rule: the request goes on untouched
CONTROL_HEADERS = ("X-Mock-Sandbox", "X-Mock-Status", "X-Mock-Delay", "X-Mock-Fault")  # what `read_headers` reads


def read_headers(request: web.Request) -> tuple[Plan, list[Violation]]:
    """The control headers, checked; each bad one becomes a violation naming it."""
    plan = Plan()
    found: list[Violation] = []
    sandbox = request.headers.get("X-Mock-Sandbox")
    if sandbox is not None and sandbox.strip() and not SANDBOX_NAME.fullmatch(sandbox.strip()):
        found.append(_bad("X-Mock-Sandbox", "must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' or '-'"))
    status = request.headers.get("X-Mock-Status")
    if status is not None:
        if status.strip().isdigit() and 400 <= int(status) <= 599:
            plan.status = int(status)
        else:
            found.append(_bad("X-Mock-Status", f"must be an error status from 400 to 599, got {status!r}"))
    delay = request.headers.get("X-Mock-Delay")
    if delay is not None:
        if MILLISECONDS.fullmatch(delay.strip()) and int(delay) <= MAX_DELAY_MS:
            plan.delay_ms = float(int(delay))
        else:
            found.append(
                _bad("X-Mock-Delay", f"must be whole milliseconds from 0 to {MAX_DELAY_MS:.0f}, got {delay!r}")
            )
    fault = request.headers.get("X-Mock-Fault")
    if fault is not None:
        if fault.strip().lower() in list(Fault):
            plan.fault = Fault(fault.strip().lower())
        else:
            found.append(_bad("X-Mock-Fault", f"must be one of {', '.join(Fault)}, got {fault!r}"))
    if plan.status is not None and plan.fault is not None:
        found.append(_bad("X-Mock-Fault", "cannot be combined with X-Mock-Status: one request, one outcome"))
    return plan, found


def _bad(header: str, message: str) -> Violation:
    return Violation("header", header, message)


def merge(plan: Plan, rule: FaultRule | None, request: web.Request) -> Plan:
    """Fill in from the rule what the headers left open; the rule's delay is drawn only if used."""
    if rule is None:
        return plan
    plan.source = "header+rule" if plan != Plan() else "rule"
    plan.rule = rule.id
    if "X-Mock-Delay" not in request.headers and rule.delay is not None:
        plan.delay_ms = rule.delay.draw(request.app[FAULT_RULES].rng)
    if plan.status is None and plan.fault is None:
        plan.status, plan.fault = rule.status, rule.fault
        plan.body, plan.has_body, plan.headers = rule.body, rule.body is not None, dict(rule.headers)
    return plan


def controls_idle(request: web.Request) -> bool:
    """No control header was sent and no fault rule can fire: `apply_mock_controls` has nothing
    to do (the pipeline asks first, and skips the step's coroutine)."""
    headers = request.headers  # the four CONTROL_HEADERS, without a generator
    return request.app[FAULT_RULES].idle() and not (
        "X-Mock-Sandbox" in headers
        or "X-Mock-Status" in headers
        or "X-Mock-Delay" in headers
        or "X-Mock-Fault" in headers
    )


async def apply_mock_controls(request: web.Request) -> web.StreamResponse | None:
    """X-Mock-* headers and the first fault rule that fires: delay, forced status or socket fault.

    The answer that replaces the request's own, or None (after any delay) to go on.
    """
    found = facts(request)
    if found is None:  # GET /, the index
        return None
    api = found.owner
    if api is not None and api.platform == ADMIN:
        return None
    if controls_idle(request):
        return None  # most requests: no control header, no rule
    shape = api.errors if api is not None else None
    plan, violations = read_headers(request)
    if violations:
        return errors.reject(shape, *violations)
    rule = await request.app[FAULT_RULES].choose(
        api.name if api is not None else None, request.method, found.api_path, found.sandbox, request.path
    )
    plan = merge(plan, rule, request)
    if plan == NOTHING:
        return None
    request[JOURNAL_NOTE] = plan.note()
    if plan.delay_ms and not await wait(request, plan.delay_ms / 1000):
        return _unwritable()  # the client left while we waited
    if plan.fault is not None:
        return await apply_fault(request, plan.fault)
    if plan.status is not None:
        return forced(shape, plan)
    return None


def forced(shape: ErrorShape | None, plan: Plan) -> web.Response:
    """The API's own error for the status, unless a rule supplied its own body."""
    assert plan.status is not None
    has_body = plan.has_body
    response = json_response(plan.body, status=plan.status) if has_body else errors.error(shape, plan.status)
    if plan.status == 429 and "Retry-After" not in plan.headers:
        response.headers["Retry-After"] = RETRY_AFTER_S
    response.headers.update(plan.headers)
    return response


async def wait(request: web.Request, seconds: float) -> bool:
    """Sleep, a little at a time, while the client is still connected; False if it left."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + min(seconds, TIMEOUT_CAP_S)
    while (left := deadline - loop.time()) > 0:
        if _gone(request):
            return False
        await asyncio.sleep(min(POLL_S, left))
    return not _gone(request)


def _gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


async def apply_fault(request: web.Request, fault: Fault) -> web.StreamResponse:
    """Socket faults leave aiohttp nothing to write: its attempt fails quietly as a client disconnect."""
    transport = request.transport
    match fault:
        case Fault.MALFORMED:
            return web.Response(status=200, body=BROKEN_JSON, content_type="application/json")
        case Fault.RESET if transport is not None:
            sock = transport.get_extra_info("socket")
            if sock is not None:  # linger 0: close() sends RST instead of FIN
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        case Fault.EMPTY if transport is not None:
            transport.close()
        case Fault.TIMEOUT:
            await wait(request, TIMEOUT_CAP_S)
            if request.transport is not None:
                request.transport.close()
    return _unwritable()


def _unwritable() -> web.Response:
    """What the handler returns once the connection is closed; aiohttp cannot send it."""
    return web.Response(status=200)
