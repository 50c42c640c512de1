"""When a Kianda scheduled task runs next, from its schedule (Administration > Scheduled tasks).

Computed when a task is read, not stored, so `nextRun` never lags behind the server clock.
Times are UTC; `every` counts in the schedule's unit from the next regular slot.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta
from typing import Any

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ORDINALS = ("First", "Second", "Third", "Fourth")
UNSCHEDULED = ("On demand", "Immediately")


def parse_time(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _at(schedule: dict[str, Any]) -> tuple[int, int]:
    hours, _, minutes = str(schedule.get("at") or "00:00").partition(":")
    return int(hours), int(minutes or 0)


def _day_in_month(year: int, month: int, schedule: dict[str, Any]) -> int:
    day = schedule.get("dayOfMonth", 1)
    last = calendar.monthrange(year, month)[1]
    if isinstance(day, int):
        return min(day, last)
    weekday = WEEKDAYS.index(schedule.get("weekDay") or "Monday")
    if day == "Last":
        candidate = last
        while calendar.weekday(year, month, candidate) != weekday:
            candidate -= 1
        return candidate
    first = 1 + (weekday - calendar.weekday(year, month, 1)) % 7
    return first + 7 * ORDINALS.index(day)


def next_occurrence(schedule: dict[str, Any], now: datetime) -> datetime | None:
    """The first slot strictly after `now`; None when the schedule has none (or none a calendar holds)."""
    try:
        return _next_occurrence(schedule, now)
    except (OverflowError, ValueError):  # past year 9999: there is no next run to show
        return None


def _next_occurrence(schedule: dict[str, Any], now: datetime) -> datetime | None:
    kind = schedule.get("type")
    every = max(int(schedule.get("every") or 1), 1)
    hour, minute = _at(schedule)
    base = now.astimezone(UTC).replace(second=0, microsecond=0)
    if kind in UNSCHEDULED:
        return None
    if kind == "One time":
        date = parse_time(schedule.get("date"))
        return date if date is not None and date > now else None
    if kind == "Minutes":
        return base + timedelta(minutes=every)
    if kind == "Hourly":
        slot = base.replace(minute=minute)
        return slot if slot > now else slot + timedelta(hours=every)
    if kind == "Daily":
        slot = base.replace(hour=hour, minute=minute)
        return slot if slot > now else slot + timedelta(days=every)
    if kind == "Weekly":
        slot = base.replace(hour=hour, minute=minute)
        slot += timedelta(days=(WEEKDAYS.index(schedule.get("weekDay") or "Monday") - slot.weekday()) % 7)
        return slot if slot > now else slot + timedelta(weeks=every)
    if kind == "Monthly":
        year, month = base.year, base.month
        for step in range(0, 13 * every + 1):
            y, m = divmod(month - 1 + step, 12)
            slot = base.replace(year=year + y, month=m + 1, day=1, hour=hour, minute=minute)
            slot = slot.replace(day=_day_in_month(slot.year, slot.month, schedule))
            if slot > now and step % every == 0:
                return slot
    return None


LOOKBACK = {"Minutes": 1 / 1440, "Hourly": 1 / 24, "Daily": 1, "Weekly": 7, "Monthly": 31}


def previous_occurrence(schedule: dict[str, Any], now: datetime) -> datetime | None:
    """The last slot at or before `now` (approximately, for seeding `lastRun`)."""
    days = LOOKBACK.get(str(schedule.get("type")))
    if days is None:
        return None
    every = max(int(schedule.get("every") or 1), 1)
    slot = next_occurrence(schedule, now - timedelta(days=days * every))
    return slot if slot is not None and slot <= now else None
