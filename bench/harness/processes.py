"""Server processes: start one on a free port, time it to its first answer, read its memory, stop it.

Every server runs in its own session (process group), so stopping it also stops anything it
forked, and nothing else on the machine is touched.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    """A port the OS says is free now (it could be taken before the server binds it; rare on loopback)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Process:
    """A started server: its command, base URL and log file, and when it was started."""

    label: str
    base: str
    popen: subprocess.Popen[bytes]
    log: Path
    started_at: float

    @property
    def pid(self) -> int:
        return self.popen.pid

    def wait_for(self, answered: Callable[[], bool], timeout: float = 600.0, interval: float = 0.01) -> float:
        """Poll `answered` until it is true; seconds since the process was started."""
        deadline = self.started_at + timeout
        while True:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.label} exited with {self.popen.returncode}; see {self.log}")
            if answered():
                return time.perf_counter() - self.started_at
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{self.label} did not answer within {timeout:.0f} s; see {self.log}")
            time.sleep(interval)

    def memory(self) -> dict[str, float]:
        """Resident memory in MiB, of the process and everything it started (/proc), and its peak."""
        tree = [self.pid, *descendants(self.pid)]
        rss = sum(status_kib(pid, "VmRSS") for pid in tree)
        return {"rss_mib": round(rss / 1024, 1), "peak_mib": round(status_kib(self.pid, "VmHWM") / 1024, 1)}

    def stop(self) -> None:
        """SIGTERM to the server's own process group, SIGKILL if it has not gone after 15 s."""
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=15)
            except ProcessLookupError:
                pass


def launch(label: str, command: list[str], port: int, log: Path, cwd: Path | None = None) -> Process:
    """Start `command` in a session of its own, its output to `log`."""
    with log.open("wb") as sink:
        started_at = time.perf_counter()
        popen = subprocess.Popen(
            command, cwd=cwd, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    return Process(label, f"http://127.0.0.1:{port}", popen, log, started_at)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and everything below it, from /proc/<pid>/stat."""
    total = 0
    for member in (pid, *descendants(pid)):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat(5))
    return total / os.sysconf("SC_CLK_TCK")


def wait_quiet(processes: list[Process], timeout: float = 900.0, window: float = 0.25) -> float:
    """Wait until none of `processes` uses more than 10% of a CPU over `window`; seconds waited.

    After wrk stops, a server still works through the requests it had accepted (up to one per
    connection); at 100,000 instances a Storage query takes seconds, so that backlog would
    otherwise run into the next measurement.
    """
    started = time.perf_counter()
    while True:
        before = [cpu_seconds(p.pid) for p in processes]
        time.sleep(window)
        after = [cpu_seconds(p.pid) for p in processes]
        if all(b - a <= 0.1 * window for a, b in zip(before, after, strict=True)):
            return time.perf_counter() - started
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"servers still busy after {timeout:.0f} s")


def status_kib(pid: int, key: str) -> int:
    """One `kB` field of /proc/<pid>/status (0 if the process has gone)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return 0
    for line in lines:
        name, _, value = line.partition(":")
        if name == key:
            return int(value.split()[0])
    return 0


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, from the parent ids in /proc/*/stat."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rpartition(")")[2].split()[1])  # the command may hold spaces and parentheses
        children.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    queue = list(children.get(pid, []))
    while queue:
        child = queue.pop()
        found.append(child)
        queue.extend(children.get(child, []))
    return found
