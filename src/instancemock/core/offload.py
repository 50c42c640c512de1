"""CPU work on a large request or answer runs beside the event loop, never on it.

Validating a body against its schema costs time in proportion to its size; on the loop, one
large body froze every other request, health checks included (a Kianda create with 10,000
`FieldsMappings` for seconds). From `OFFLOAD_BYTES` on, the checks of a request body and, under
`--strict`, of a response body run in one worker thread: the loop stays free to answer others
(the thread gives the interpreter back every few milliseconds), and the one thread keeps several
large requests from competing for the CPU with each other.

Small bodies stay on the loop: a thread hop costs more than checking them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

OFFLOAD_BYTES = 8 * 1024

P = ParamSpec("P")
T = TypeVar("T")

_WORKER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="instancemock-check")


async def checked(size: int, check: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`check(*args)`, in the worker thread when `size` (bytes) is large, else right here."""
    if size < OFFLOAD_BYTES:
        return check(*args, **kwargs)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_WORKER, lambda: check(*args, **kwargs))
