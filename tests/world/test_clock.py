"""`Clock.second_text` is the current second as `iso(now().replace(microsecond=0))` writes it,
whatever the start's microseconds and however the clock was moved (world/clock.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from instancemock.world.clock import Clock, iso


def written(clock: Clock) -> str:
    return iso(clock.now().replace(microsecond=0))


@pytest.mark.parametrize("microsecond", [0, 500_000, 999_999])
def test_the_second_text_follows_the_clock_across_seconds(microsecond: int) -> None:
    clock = Clock(datetime(2026, 1, 1, 23, 59, 58, microsecond, tzinfo=UTC))
    clock.advance(-clock.now().microsecond / 1_000_000 + 0.5)  # mid-second: each step stays 0.3 s off an edge
    steps = [0.0, 0.2, -0.4, 0.2, 1.0, 86_400.0, -3.0, 2.0]
    seen = []
    for step in steps:
        clock.advance(step)
        assert clock.second_text() == written(clock)
        seen.append(clock.second_text())
    assert len(set(seen)) > 3  # it moved on with the clock, back and forth, not only once
