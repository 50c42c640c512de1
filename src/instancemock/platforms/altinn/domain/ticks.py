"""Instants as .NET ticks (100 ns since 0001-01-01), the unit Storage sorts and pages by.

`ticks` reads what clients send (a date or date-time, any offset; no offset = UTC). `stored_ticks`
reads what the mock itself wrote (`clock.iso`: `YYYY-MM-DDTHH:MM:SS[.fraction]Z`) by slicing
instead of a regular expression, with `ticks` as the fallback for anything else: indexing a large
world reads one per instance.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

EPOCH_TICKS = 621355968000000000  # .NET ticks at 1970-01-01T00:00:00Z
_EPOCH_DAY = date(1970, 1, 1).toordinal()
_MOMENT = re.compile(
    r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,7}))?)?)?)?)?"
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?$",
    re.IGNORECASE,
)


def ticks(text: str) -> int:
    """ISO 8601 (date or date-time, optional offset; no offset = UTC) as .NET ticks (100 ns)."""
    found = _MOMENT.match(text.strip())
    if not found:
        raise ValueError(text)
    year, month, day, hour, minute, second, fraction, zone = found.groups()
    moment = datetime(
        int(year), int(month or 1), int(day or 1), int(hour or 0), int(minute or 0), int(second or 0), tzinfo=UTC
    )
    if zone and zone.upper() != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        moment -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
    whole = (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(seconds=1)
    return EPOCH_TICKS + whole * 10_000_000 + int((fraction or "0").ljust(7, "0")[:7])


def stored_ticks(text: str) -> int:
    """`ticks(text)`, faster for the form `clock.iso` writes; the same answer (or error) for any text."""
    size = len(text)
    if (
        (size == 20 or 22 <= size <= 28)
        and text[-1] == "Z"
        and text[4] == "-"
        and text[7] == "-"
        and text[10] == "T"
        and text[13] == ":"
        and text[16] == ":"
        and (size == 20 or text[19] == ".")
    ):
        digits = text[:4] + text[5:7] + text[8:10] + text[11:13] + text[14:16] + text[17:19] + text[20:-1]
        hour, minute, second = int(text[11:13]), int(text[14:16]), int(text[17:19])
        if digits.isascii() and digits.isdigit() and hour < 24 and minute < 60 and second < 60:
            day = date(int(text[:4]), int(text[5:7]), int(text[8:10]))  # ValueError for 2025-02-30, as ticks()
            seconds = (day.toordinal() - _EPOCH_DAY) * 86400 + hour * 3600 + minute * 60 + second
            return EPOCH_TICKS + seconds * 10_000_000 + int(text[20:-1].ljust(7, "0"))
    return ticks(text)
