"""Start-up time and memory of a real server process for a given number of instances per API.

    python bench/startup.py [--repeat N] 0 1000 10000 100000

For each size (0: the default worlds; N times, reporting the run with the median time to ready:
shared machines are noisy) it writes a config with `apis.<name>.instances: N` for every API,
starts `instancemock serve` on a free port and measures, from the moment it is started:

- `first answer`: the first HTTP answer of `/__admin/health`, whatever its status (the server
  listens while it seeds: 503 "seeding" until its worlds are in);
- `Barium list`: the first 200 of the Barium list `GET /barium/api/v1.1/Instances?Status=active&Max=10`
  (a ticket from the demo login first; the server holds both until the Barium world is in);
- `ready`: the first 200 of `/__admin/health`, when every world is in and any request is answered
  without waiting;
- `CPU`: user + system seconds of the server and of the processes it forked to seed (its rusage
  once stopped, right after ready: what a quiet machine would take on one core), and of the
  server's own process alone;
- `RSS` when ready, and its peak (VmRSS and VmHWM of the server process; the seeding processes
  have exited by then).

It stops the server with SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from harness.client import Logins, call
from harness.scenarios import BARIUM_LIST

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


def health(base: str) -> int | None:
    """The status /__admin/health answers, or None while nothing listens."""
    try:
        with urllib.request.urlopen(f"{base}/__admin/health", timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return None


def measure(size: int) -> dict[str, float]:
    config = {"seed": 1, "now": "2026-01-01T00:00:00Z"}
    if size:
        config["apis"] = {name: {"instances": size} for name in APIS}  # type: ignore[assignment]
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as handle:
        json.dump(config, handle)  # JSON is YAML
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "instancemock", "serve", "--port", str(port), "--config", handle.name]
    command += ["--log-level", "WARNING"]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = barium = None
    try:
        while True:
            if process.poll() is not None:
                raise SystemExit(f"server exited with {process.returncode} at size {size}")
            status = health(base)
            if status is not None and first is None:
                first = time.perf_counter() - started
                ticket = Logins(base).barium_ticket()
                listed = call("GET", base + BARIUM_LIST, {"Ticket": ticket})
                if listed.status != 200:
                    raise SystemExit(f"the Barium list answered {listed.status}: {listed.body[:200]!r}")
                barium = time.perf_counter() - started
            if status == 200:
                break
            time.sleep(0.01)
        ready = time.perf_counter() - started
        memory = memory_kib(process.pid)
        own = [int(x) for x in Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()[11:13]]
    finally:
        process.send_signal(signal.SIGTERM)
        _, _, usage = os.wait4(process.pid, 0)  # its own time and that of the seeders it waited for
        process.returncode = 0
        Path(handle.name).unlink()
    cpu = usage.ru_utime + usage.ru_stime
    return {
        "instances_per_api": size,
        "first_answer_s": round(first or ready, 2),
        "barium_list_s": round(barium or ready, 2),
        "ready_s": round(ready, 2),
        "cpu_s": round(cpu, 1),
        "rss_mib": round(memory["VmRSS"] / 1024, 1),
        "peak_mib": round(memory["VmHWM"] / 1024, 1),
        "server_cpu_s": round(sum(own) / os.sysconf("SC_CLK_TCK"), 1),
    }


if __name__ == "__main__":
    arguments = sys.argv[1:]
    repeat = 1
    if arguments[:1] == ["--repeat"]:
        repeat, arguments = int(arguments[1]), arguments[2:]
    sizes = [int(arg) for arg in arguments] or [0, 1000, 10000, 100000]
    print(f"load average at start: {os.getloadavg()[0]:.1f}", file=sys.stderr)
    print(
        "| instances per API | first answer (s) | Barium list (s) | ready (s) | CPU (s) | server CPU (s) "
        "| RSS (MiB) | peak RSS (MiB) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size in sizes:
        runs = sorted((measure(size) for _ in range(repeat)), key=lambda r: r["ready_s"])
        row = runs[len(runs) // 2]
        cells = (
            f"{row['instances_per_api']:,}" if size else "default",
            row["first_answer_s"],
            row["barium_list_s"],
            row["ready_s"],
            row["cpu_s"],
            row["server_cpu_s"],
            row["rss_mib"],
            row["peak_mib"],
        )
        print("| " + " | ".join(str(cell) for cell in cells) + " |", flush=True)
