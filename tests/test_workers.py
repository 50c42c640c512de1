"""`instancemock serve --workers N`: N processes on one port, one world in Redis; none without it."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from support import free_port, wait_healthy

BARIUM_LOGIN = "APIKey=2f9d8c7b-6a5e-4d3c-b2a1-0f9e8d7c6b5a&Username=anna.berg%40nordvik.se&Password=Sommar2024%21"


def serve(*flags: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "instancemock", "serve", "--log-level", "warning", *flags]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def children(pid: int) -> list[int]:
    listed = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in listed]


def get(url: str, headers: dict[str, str]) -> int:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as response:
        return int(response.status)


def test_more_than_one_worker_without_a_shared_store_stops_start_up_with_one_line() -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "instancemock", "serve", "--port", "0", "--workers", "2"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode == 2
    assert finished.stderr.count("\n") == 1 and "--store" in finished.stderr, finished.stderr


def test_two_workers_serve_one_port_and_one_world(redis_url: str) -> None:
    port = free_port()
    process = serve("--port", str(port), "--workers", "2", "--store", redis_url)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, process)
        workers = children(process.pid)
        assert len(workers) == 2
        login = urllib.request.Request(f"{base}/barium/api/v1.1/Authenticate", data=BARIUM_LOGIN.encode())
        with urllib.request.urlopen(login, timeout=30) as response:
            headers = {"ticket": response.read().decode().strip()}  # the bare ticket
        url = f"{base}/barium/api/v1.1/Instances?Max=5"
        with ThreadPoolExecutor(8) as pool:  # new connections, accepted by either worker
            assert set(pool.map(lambda _: get(url, headers), range(40))) == {200}
        os.kill(workers[0], signal.SIGKILL)  # the other worker still accepts on the port
        with ThreadPoolExecutor(4) as pool:
            assert set(pool.map(lambda _: get(url, headers), range(10))) == {200}
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    assert not any(Path(f"/proc/{pid}").exists() and "zombie" not in _status(pid) for pid in workers)


class Lines:
    """The server's stderr, line by line as it arrives (read in a thread, so a wait can time out)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        assert process.stderr is not None
        stream = process.stderr
        threading.Thread(target=lambda: [self.lines.put(line) for line in stream], daemon=True).start()

    def next_matching(self, pattern: str, seconds: float = 60) -> re.Match[str]:
        while True:
            line = self.lines.get(timeout=seconds)
            if found := re.search(pattern, line):
                return found


RESTARTED = r"worker (\d) \(pid (\d+)\) died \(signal 9\); started another in its place: pid (\d+)"


def test_a_worker_that_dies_is_replaced_and_the_port_keeps_its_workers(redis_url: str) -> None:
    port = free_port()
    process = serve("--port", str(port), "--workers", "2", "--store", redis_url)
    base = f"http://127.0.0.1:{port}"
    stderr = Lines(process)
    try:
        wait_healthy(base, process)
        first = children(process.pid)
        replacements = []
        for victim in reversed(first):  # both workers in turn: then only replacements can answer
            os.kill(victim, signal.SIGKILL)
            died = stderr.next_matching(RESTARTED)
            assert int(died.group(2)) == victim
            replacements.append(int(died.group(3)))
        assert sorted(children(process.pid)) == sorted(replacements)
        with ThreadPoolExecutor(8) as pool:  # new connections, accepted by the replacements
            assert set(pool.map(lambda _: get(f"{base}/__admin/health", {}), range(20))) == {200}
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    assert process.returncode == 0
    assert not any(_alive(pid) for pid in [*first, *replacements])


def test_workers_that_keep_dying_stop_the_server(redis_url: str) -> None:
    port = free_port()
    process = serve("--port", str(port), "--workers", "2", "--store", redis_url)
    stderr = Lines(process)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", process)
        victims = children(process.pid)
        for _ in range(4):  # the budget for two workers: four deaths a minute are replaced
            os.kill(victims[0], signal.SIGKILL)
            victims = [int(stderr.next_matching(RESTARTED).group(3))]
        os.kill(victims[0], signal.SIGKILL)  # the fifth stops the server
        stderr.next_matching(r"workers keep dying, stopping")
        assert process.wait(timeout=60) == 1
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=60)


def _alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists() and "zombie" not in _status(pid)


def _status(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().lower()
    except OSError:
        return "zombie"
