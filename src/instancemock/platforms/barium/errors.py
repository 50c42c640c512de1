"""Barium Live's error envelope: `success: false` with `errorCode`, `errorMessage` and a log id.

A body in a content type Barium does not take is a 400 there, not a 415 (`restatus`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from instancemock.core.errors import ErrorShape, error_body
from instancemock.core.violations import Violation


def render(status: int, message: str, violations: Sequence[Violation] = ()) -> web.Response:
    log_id = str(uuid.uuid4())
    data: dict[str, Any] = {"ErrorId": log_id}
    if violations:
        data["Violations"] = [v.as_dict() for v in violations]
    body = {
        "success": False,
        "errorCode": status,
        "errorMessage": message,
        "errorLogId": log_id,
        "errorData": data,
    }
    return error_body(body, status)


SHAPE = ErrorShape(render=render, restatus={415: 400})
