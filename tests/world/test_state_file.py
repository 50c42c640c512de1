"""The JSON state file (`--state-file x.json`): saved beside the event loop, and saving never stops for good."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import sys
import time
from pathlib import Path

import pytest

from instancemock.app import create_app
from instancemock.core.context import STATE
from instancemock.server import SWITCH_SECONDS
from instancemock.world import snapshot

from support import settings

SANDBOXES = 6  # six default worlds make an export of about 12 MB


async def loop_gaps_while(work: asyncio.Future[None] | asyncio.Task[None]) -> float:
    """The longest the event loop went without running a 1 ms ticker while `work` ran."""
    worst = 0.0
    last = time.perf_counter()
    while not work.done():
        await asyncio.sleep(0.001)
        now = time.perf_counter()
        worst = max(worst, now - last)
        last = now
    await work
    return worst


async def test_a_save_of_a_large_state_does_not_stall_the_loop(tmp_path: Path) -> None:
    """Before, the export was built on the loop and encoded by one C call that held the interpreter lock:
    0.5-0.76 s without an answer to anyone at 5,000 instances per API."""
    state = create_app(settings(state_file=tmp_path / "state.json"))[STATE]
    for index in range(1, SANDBOXES):
        state.seed_all(f"sandbox-{index}")
    gc.collect()
    gc.freeze()  # as the server does after start-up (src/instancemock/server.py), and its switch interval
    interval = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_SECONDS)
    try:
        worst = await loop_gaps_while(asyncio.ensure_future(snapshot.save_file_async(state, tmp_path / "state.json")))
    finally:
        sys.setswitchinterval(interval)
        gc.unfreeze()
    saved = json.loads((tmp_path / "state.json").read_bytes())
    assert len(saved["sandboxes"]) == SANDBOXES
    assert worst < 0.1, f"the loop stalled for {worst * 1000:.0f} ms during a save"


async def test_a_failing_save_is_logged_and_the_next_one_still_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Before, only OSError was caught: a UnicodeEncodeError ended the saving task without a word."""
    state = create_app(settings(state_file=tmp_path / "state.json"))[STATE]
    saved = asyncio.Event()
    attempts = 0

    async def save(state_: object, path: Path) -> None:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")
        saved.set()

    monkeypatch.setattr(snapshot, "save_file_async", save)
    task = asyncio.create_task(snapshot.save_periodically(state, tmp_path / "state.json", 0.001))
    try:
        await asyncio.wait_for(saved.wait(), 30)
    finally:
        task.cancel()
    assert attempts >= 2
    assert any("could not save the state file" in r.message and r.levelno == logging.ERROR for r in caplog.records)


async def test_a_lone_surrogate_in_an_old_state_file_is_refused_with_its_place(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    document = {"format": "instancemock-state/1", "sandboxes": {"default": {"kianda": {"instances": {"x": {}}}}}}
    text = json.dumps(document).replace('"x": {}', '"x": {"processName": "a\\ud800"}')
    path.write_text(text)
    with pytest.raises(snapshot.StateError, match=r"sandboxes\.default\.kianda\.instances\.x\.processName"):
        create_app(settings(state_file=path))
