"""Export/import of the whole state, resets, and a state file that survives restarts and kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from instancemock.app import create_app

from support import ADMIN, MakeClient, assert_conforms, free_port, settings, wait_healthy

MARKER = {"id": "imported-1", "note": "put there by a test"}


def document(**worlds: Any) -> dict[str, Any]:
    return {"format": "instancemock-state/1", "sandboxes": {"default": worlds}}


async def test_state_round_trips_and_a_bad_document_changes_nothing(make_client: MakeClient) -> None:
    client = await make_client()
    loaded = await client.put("/__admin/state", json=document(kianda={"instances": {"imported-1": MARKER}}))
    assert loaded.status == 200
    await assert_conforms(ADMIN, loaded)
    exported = await client.get("/__admin/state")
    await assert_conforms(ADMIN, exported)
    state = await exported.json()
    assert state["sandboxes"]["default"]["kianda"]["instances"] == {"imported-1": MARKER}

    for bad in (
        {"format": "something-else", "sandboxes": {}},
        document(kianda={"instances": {"x": "not an object"}}),
        document(nosuchdataset={"instances": {}}),
        {"format": "instancemock-state/1", "sandboxes": {"bad name!": {}}},
    ):
        refused = await client.put("/__admin/state", json=bad)
        assert refused.status == 400, bad
        assert (await refused.json())["error"]  # says why: the spec check or the dataset check
    after = await (await client.get("/__admin/state")).json()
    assert after == state


async def test_reset_reseeds_one_api_or_all(make_client: MakeClient) -> None:
    client = await make_client()
    seeded = await (await client.get("/__admin/state")).json()
    await client.put("/__admin/state", json=document(kianda={"instances": {"imported-1": MARKER}}))
    reset = await client.post("/__admin/reset", params={"api": "kianda"})
    assert reset.status == 200
    await assert_conforms(ADMIN, reset)
    assert await (await client.get("/__admin/state")).json() == seeded
    assert (await client.post("/__admin/reset", params={"api": "nope"})).status == 400


def serve(port: int, state_file: Path) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "instancemock", "serve", "--port", str(port), "--state-file", str(state_file)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def http(method: str, url: str, body: Any = None) -> Any:
    import urllib.request

    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def test_state_file_survives_a_restart(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    first = serve(port, state_file)
    try:
        wait_healthy(base, first)
        http("PUT", f"{base}/__admin/state", document(kianda={"instances": {"imported-1": MARKER}}))
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=15)
    assert first.returncode == 0
    assert json.loads(state_file.read_text())["sandboxes"]["default"]["kianda"]["instances"]["imported-1"] == MARKER

    second = serve(port, state_file)
    try:
        wait_healthy(base, second)
        state = http("GET", f"{base}/__admin/state")
        assert state["sandboxes"]["default"]["kianda"]["instances"] == {"imported-1": MARKER}
    finally:
        second.kill()
        second.communicate()


def test_a_corrupt_state_file_stops_start_up_with_a_message(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    state_file.write_text('{"format": "instancemock-state/1", "sandb')
    result = subprocess.run(
        [sys.executable, "-m", "instancemock", "serve", "--port", "0", "--state-file", str(state_file)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "not a valid state file" in result.stderr and str(state_file) in result.stderr


def test_kill_9_while_saving_never_leaves_a_torn_file(tmp_path: Path) -> None:
    """A writer saves a large document in a loop; killed at arbitrary points, the file is always whole."""
    state_file = tmp_path / "state.json"
    writer = textwrap.dedent(
        f"""
        import json, sys
        from pathlib import Path
        from instancemock.world.snapshot import write_atomically
        path = Path({str(state_file)!r})
        n = 0
        while True:
            n += 1
            doc = {{"n": n, "blob": ["x" * 1000] * 4000}}
            write_atomically(path, json.dumps(doc).encode())
            if n == 1:
                print("first", flush=True)
        """
    )
    for round_ in range(5):
        process = subprocess.Popen([sys.executable, "-c", writer], stdout=subprocess.PIPE, text=True)
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "first"  # at least one complete save happened
        for _ in range(round_ + 1):  # let it get some way into another save
            os.sched_yield()
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        saved = json.loads(state_file.read_text())
        assert saved["n"] >= 1 and len(saved["blob"]) == 4000
    leftovers = [p for p in tmp_path.iterdir() if p.name != "state.json"]
    assert all(p.name.startswith(".state.json.") for p in leftovers)
    (tmp_path / ".state.json.by-hand.tmp").write_bytes(b"x" * 1000)  # as a kill -9 mid-save leaves them
    (tmp_path / ".other.json.x.tmp").write_bytes(b"not ours")
    state_file.write_text(json.dumps(document()))
    create_app(settings(state_file=state_file))  # the next start removes what interrupted saves left
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.json.x.tmp", "state.json"]
