"""The server's clock: starts at `--now` (or the real start-up time) and ticks in real time.

Seeding reads `start` only, so the same seed and `--now` give the same world on any day; what
happens afterwards (creates, token expiry, simulation) sees time pass as a client would.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(self, start: datetime | None = None) -> None:
        self.start = (start or datetime.now(UTC)).astimezone(UTC)
        self._t0 = time.monotonic()
        self._skew = 0.0  # seconds added by `advance`, for tests and simulation

    def now(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self._t0 + self._skew)

    def advance(self, seconds: float) -> None:
        self._skew += seconds


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z, microseconds only when present (as .NET writes them)."""
    if moment.tzinfo is UTC:  # the common case, twice as fast (seeding formats millions of these)
        return moment.isoformat()[:-6] + "Z"
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
