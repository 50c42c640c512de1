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
        self._second: int | None = None  # the second `second_text` last wrote, counted from `start`'s
        self._second_text = ""

    def now(self) -> datetime:
        return self.at(self.reading())

    def reading(self) -> int:
        """Microseconds since `start` (advances included): `now` to be, read now and made later.

        The journal reads it as each request arrives and makes the time only if the entry is
        listed: a datetime is most of the cost of reading a clock, and every request reads it.
        """
        return round((time.monotonic() - self._t0 + self._skew) * 1_000_000)

    def at(self, reading: int) -> datetime:
        # Whole microseconds, given positionally: `timedelta(seconds=<float>)` costs twice as much.
        return self.start + timedelta(0, 0, reading)

    def second_text(self) -> str:
        """`iso(now().replace(microsecond=0))`, written once per second: Kianda stamps every write
        with the current second, and making and formatting a datetime was most of that."""
        elapsed = self.reading()
        second = (self.start.microsecond + elapsed) // 1_000_000
        if second != self._second:
            self._second_text = iso(self.at(elapsed).replace(microsecond=0))
            self._second = second
        return self._second_text

    def advance(self, seconds: float) -> None:
        self._skew += seconds


# The last few thousand instants formatted, and their text: seeding formats most instants more than
# once (an instance's start is also its form's creation and its first task's), so a world's
# documents share one string per instant and seeding formats each once.
_FORMATTED: dict[datetime, str] = {}
_FORMATTED_MAX = 4096


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z, microseconds only when present (as .NET writes them)."""
    text = _FORMATTED.get(moment)
    if text is None:
        if moment.tzinfo is UTC:  # the common case, twice as fast as converting
            text = moment.isoformat()[:-6] + "Z"
        else:
            text = moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
        if len(_FORMATTED) >= _FORMATTED_MAX:
            _FORMATTED.clear()
        _FORMATTED[moment] = text
    return text
