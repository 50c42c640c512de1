"""Scaling out (`--store redis://...`, `--workers N`): req/s and p99 with 1, 2 and 4 workers on
Redis against one in-memory worker, on the Barium list and a Kianda versioned PUT, and what the
Redis round trips cost per request.

    PYTHONPATH=bench .venv/bin/python bench/scaling.py [--seconds 10] [--connections 32] [--workers 1,2,4]

Starts its own redis-server (Debian's package) on a free port, and each instancemock through its
CLI, as a user would; wrk (Debian's package) drives the scenarios of `bench/harness/scenarios.py`.
Prints one Markdown table; the commands each Redis run cost come from Redis's own counter
(`INFO stats`: total_commands_processed), divided by the requests wrk made.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis
from harness import scenarios, wrk
from harness.client import Logins, answers
from harness.processes import Process, free_port, launch

ROOT = Path(__file__).resolve().parents[1]
CHOSEN = ("barium-list", "kianda-put")


def start_redis(directory: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory), "--save", ""]
    command += ["--appendonly", "yes", "--appendfsync", "everysec"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    for _ in range(600):
        try:
            client.ping()
            return server, url
        except redis.ConnectionError:
            time.sleep(0.05)  # a process that is starting: nothing to await but its port
    raise RuntimeError("redis-server did not start")


def serve(label: str, flags: list[str], workdir: Path) -> Process:
    port = free_port()
    command = [sys.executable, "-m", "instancemock", "serve", "--port", str(port), "--seed", "1"]
    command += ["--now", "2026-01-01T00:00:00Z", "--log-level", "warning", *flags]
    server = launch(label, command, port, workdir / f"{label}.log")
    server.wait_for(lambda: answers(f"{server.base}/__admin/health"))
    return server


def commands(url: str) -> int:
    return int(redis.Redis.from_url(url).info("stats")["total_commands_processed"])


def measure(
    server: Process, options: wrk.Options, seconds: int, workdir: Path, url: str | None
) -> list[dict[str, Any]]:
    logins = Logins(server.base)
    found = []
    for scenario in (s for s in scenarios.SCENARIOS if s.name in CHOSEN):
        script = scenario.script(logins)
        before = commands(url) if url else 0
        result = wrk.run(options, server.base, script, seconds, workdir, f"{server.label}-{scenario.name}")
        spent = commands(url) - before if url else 0
        result.update(scenario=scenario.name, server=server.label, per_request=spent / max(result["requests"], 1))
        found.append(result)
        print(f"{server.label} {scenario.name}: {result['rps']:.0f} req/s", file=sys.stderr, flush=True)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", default="1,2,4")
    args = parser.parse_args()
    if not shutil.which("redis-server") or not shutil.which("wrk"):
        print("needs redis-server and wrk: apt-get install -y redis-server wrk", file=sys.stderr)
        return 2
    options = wrk.Options(threads=2, connections=args.connections)
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="instancemock-scaling-") as temporary:
        workdir = Path(temporary)
        memory = serve("memory-1", [], workdir)
        try:
            results += measure(memory, options, args.seconds, workdir, None)
        finally:
            memory.stop()
        redis_server, url = start_redis(workdir)
        try:
            for count in [int(n) for n in args.workers.split(",")]:
                redis.Redis.from_url(url).flushall()
                server = serve(f"redis-{count}", ["--store", url, "--workers", str(count)], workdir)
                try:
                    results += measure(server, options, args.seconds, workdir, url)
                finally:
                    server.stop()
        finally:
            redis_server.terminate()
            redis_server.wait()
    load = os.getloadavg()[0]
    print(f"\n{os.cpu_count()} CPUs, load average {load:.2f}; wrk -t2 -c{args.connections} -d{args.seconds}s\n")
    print("| server | scenario | req/s | p50 ms | p99 ms | non-2xx | Redis commands per request |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for row in results:
        print(
            f"| {row['server']} | {row['scenario']} | {row['rps']:.0f} | {row['p50_us'] / 1000:.1f} "
            f"| {row['p99_us'] / 1000:.1f} | {row['non_2xx']} | {row['per_request']:.1f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
