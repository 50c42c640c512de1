"""Start-up time and memory of a real server process for a given number of instances per API.

    python bench/startup.py [--repeat N] 1000 10000 100000

For each size (N times, reporting the run with the median start-up: shared machines are noisy)
it writes a config with `apis.<name>.instances: N` for every API, starts
`instancemock serve` on a free port, measures wall time until /__admin/health answers and the
process's resident memory (VmRSS, then VmHWM for the peak), then stops it with SIGTERM.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

APIS = ("kianda", "barium", "altinn-storage")  # altinn-app shares the altinn world


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def memory_kib(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields


def measure(size: int) -> dict[str, float]:
    config = {"seed": 1, "now": "2026-01-01T00:00:00Z", "apis": {name: {"instances": size} for name in APIS}}
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as handle:
        json.dump(config, handle)  # JSON is YAML
    port = free_port()
    started = time.perf_counter()
    command = [sys.executable, "-m", "instancemock", "serve", "--port", str(port), "--config", handle.name]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if process.poll() is not None:
                raise SystemExit(f"server exited with {process.returncode} at size {size}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/__admin/health", timeout=1):
                    break
            except OSError:
                time.sleep(0.02)
        elapsed = time.perf_counter() - started
        memory = memory_kib(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        Path(handle.name).unlink()
    return {
        "instances_per_api": size,
        "startup_s": round(elapsed, 2),
        "rss_mib": round(memory["VmRSS"] / 1024, 1),
        "peak_mib": round(memory["VmHWM"] / 1024, 1),
    }


if __name__ == "__main__":
    arguments = sys.argv[1:]
    repeat = 1
    if arguments[:1] == ["--repeat"]:
        repeat, arguments = int(arguments[1]), arguments[2:]
    sizes = [int(arg) for arg in arguments] or [1000, 10000, 100000]
    print("| instances per API | start-up (s) | RSS (MiB) | peak RSS (MiB) |")
    print("|---:|---:|---:|---:|")
    for size in sizes:
        runs = sorted((measure(size) for _ in range(repeat)), key=lambda r: r["startup_s"])
        row = runs[len(runs) // 2]
        cells = (f"{row['instances_per_api']:,}", row["startup_s"], row["rss_mib"], row["peak_mib"])
        print("| " + " | ".join(str(cell) for cell in cells) + " |", flush=True)
