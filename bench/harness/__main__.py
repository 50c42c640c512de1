"""bench/run's driver: rounds of wrk against instancemock, Prism and a bare aiohttp app; one table, raw JSON.

    PYTHONPATH=bench .venv/bin/python -m harness --prism PATH [--quick] [--rounds N] [--duration S] ...

Each round starts every server afresh (timing the start-up), reads their memory, times
`PUT /__admin/state`, then runs each scenario against each server in turn, the order rotating
from round to round so that no server always goes first, and reads their memory again. The
instancemock with 100,000 instances per API is started once, before the rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import report, state_put, wrk
from .processes import Process, wait_quiet
from .scenarios import BARIUM_LIST, SCENARIOS, Scenario
from .servers import (
    APIS,
    Instancemock,
    Probe,
    barium_list_bytes,
    large_config,
    prism_specs,
    settle,
    start_bare,
    start_instancemock,
    start_prism,
)

REPOSITORY = Path(__file__).resolve().parents[2]
DEFAULT_JSON = REPOSITORY / "bench" / "results" / "latest.json"


def parse(argv: list[str] | None) -> argparse.Namespace:
    cli = argparse.ArgumentParser(prog="bench/run", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    cli.add_argument("--prism", required=True, help="the prism executable (bench/run installs one)")
    cli.add_argument("--wrk", default="wrk", help="the wrk executable (default: wrk on PATH)")
    cli.add_argument("--python", type=Path, default=Path(sys.executable), help="the project's venv python")
    cli.add_argument("--rounds", type=int, default=3, help="rounds, each server fresh in each (default 3)")
    cli.add_argument("--duration", type=int, default=10, help="seconds of each measured wrk run (default 10)")
    cli.add_argument(
        "--warmup", type=int, default=1, help="seconds of wrk before each measured run (default 1, 0: none)"
    )
    cli.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    cli.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    cli.add_argument("--large", type=int, default=100_000, help="instances per API of the large world (0: skip it)")
    cli.add_argument("--only", help="comma-separated scenario names to run (default: all)")
    cli.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"raw results (default {DEFAULT_JSON})")
    cli.add_argument("--quick", action="store_true", help="smoke run: 1 round of 3 s, no warm-up")
    args = cli.parse_args(argv)
    if args.quick:
        args.rounds, args.duration, args.warmup = 1, 3, 0
    return args


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class Bench:
    """What the rounds share: options, the scratch directory, the results so far, the specs and the large world."""

    args: argparse.Namespace
    scenarios: list[Scenario]
    workdir: Path
    results: dict[str, Any]
    options: wrk.Options
    specs: dict[str, Path] = field(default_factory=dict)
    large: Instancemock | None = None
    running: list[Process] = field(default_factory=list)  # every server up now, the large one included

    def record(self, kind: str, round_: int | None, **entry: Any) -> None:
        self.results[kind].append({"round": round_, **entry})

    def start_large(self) -> None:
        instances = self.args.large
        log(f"starting instancemock with {instances:,} instances per API")
        config = large_config(self.workdir, instances)
        self.large = start_instancemock(self.args.python, self.workdir, "instancemock-large", config)
        self.running.append(self.large.process)
        common = {"server": report.INSTANCEMOCK, "large": True, "instances": instances}
        self.record("startup", None, **common, **self.large.startup)
        settle()
        self.record("memory", None, **common, when="idle", **self.large.process.memory())
        log(f"  first Barium list 200 after {self.large.startup['first_list_s']:.2f} s")

    def start_prisms(self, round_: int) -> dict[str, Process]:
        """One Prism per spec, one at a time so that each start-up is timed alone (Prism takes any ticket)."""
        prisms: dict[str, Process] = {}
        for api in APIS:
            probe = Probe(BARIUM_LIST, {"Ticket": "bench-probe"}) if api == "barium" else None
            prisms[api], timings = start_prism(self.args.prism, self.specs[api], self.workdir, f"prism-{api}", probe)
            self.running.append(prisms[api])
            self.record("startup", round_, server=report.PRISM, api=api, **timings)
        return prisms

    def run_round(self, round_: int) -> None:
        log(f"round {round_ + 1} of {self.args.rounds}")
        before = list(self.running)
        try:
            self.quiet()
            prisms: dict[str, Process] = {}
            if round_ % 2 and self.specs:  # every other round, Prism starts first
                prisms = self.start_prisms(round_)
            server = start_instancemock(self.args.python, self.workdir, "instancemock")
            self.running.append(server.process)
            self.record("startup", round_, server=report.INSTANCEMOCK, **server.startup)
            log(f"  instancemock: first Barium list 200 after {server.startup['first_list_s']:.2f} s")
            if not self.specs:
                self.specs = prism_specs(server, self.workdir)
            if not prisms:
                prisms = self.start_prisms(round_)
            body, content_type = barium_list_bytes(server)
            bare = start_bare(self.args.python, self.workdir, body, content_type)
            self.running.append(bare)
            settle()
            self.memory(round_, "idle", server, prisms, bare)
            self.quiet()
            self.time_state_put(round_, server)
            for scenario in self.scenarios:
                self.load(round_, scenario, server, prisms, bare)
            self.quiet()
            self.memory(round_, "after load", server, prisms, bare)
        finally:
            for process in reversed(self.running):
                if process not in before:
                    process.stop()
            self.running = before

    def quiet(self) -> None:
        """Wait until no server is still busy (with the backlog of a finished wrk run, say)."""
        waited = wait_quiet(self.running)
        if waited > 2:
            log(f"  (waited {waited:.0f} s for the servers to go idle)")

    def memory(self, round_: int, when: str, server: Instancemock, prisms: dict[str, Process], bare: Process) -> None:
        """RSS of each server; Prism's is the sum of its four processes (one per spec: one instancemock serves all)."""
        prism = [process.memory() for process in prisms.values()]
        self.record("memory", round_, server=report.INSTANCEMOCK, when=when, **server.process.memory())
        summed = {key: round(sum(m[key] for m in prism), 1) for key in ("rss_mib", "peak_mib")}
        self.record("memory", round_, server=report.PRISM, when=when, processes=len(prism), **summed)
        self.record("memory", round_, server=report.BARE, when=when, **bare.memory())

    def time_state_put(self, round_: int, server: Instancemock) -> None:
        measured = state_put.run(server.process.base)
        self.record("state_put", round_, server=report.INSTANCEMOCK, **measured)
        log(f"  PUT /__admin/state: {measured['put_s']:.2f} s, health stalled {measured['stall_ms']:.0f} ms")

    def load(
        self, round_: int, scenario: Scenario, server: Instancemock, prisms: dict[str, Process], bare: Process
    ) -> None:
        source = self.large if scenario.large else server
        if source is None:
            return
        targets = {report.INSTANCEMOCK: source.process.base, report.PRISM: prisms[scenario.api].base}
        if scenario.bare:
            targets[report.BARE] = bare.base
        names = list(targets)
        order = names[round_ % len(names) :] + names[: round_ % len(names)]
        for name in order:
            label = f"{scenario.name}-{name}-r{round_}"
            if self.args.warmup:
                self.quiet()
                wrk.run(
                    self.options, targets[name], scenario.script(source.logins), self.args.warmup, self.workdir, label
                )
            self.quiet()
            result = wrk.run(
                self.options, targets[name], scenario.script(source.logins), self.args.duration, self.workdir, label
            )
            self.record(
                "load",
                round_,
                scenario=scenario.name,
                request=scenario.request,
                server=name,
                rps=round(result["rps"], 1),
                p50_ms=result["p50_us"] / 1000,
                p90_ms=result["p90_us"] / 1000,
                p99_ms=result["p99_us"] / 1000,
                max_ms=result["max_us"] / 1000,
                requests=result["requests"],
                duration_s=result["duration_us"] / 1e6,
                non_2xx=result["non_2xx"],
                statuses=result["statuses"],
                errors=result["errors"],
            )
            codes = ",".join(f"{code}x{count}" for code, count in sorted(result["statuses"].items()))
            figures = f"{result['rps']:>9,.0f} req/s  p99 {result['p99_us'] / 1000:7.1f} ms"
            log(f"  {scenario.name:<20} {name:<12} {figures}  {codes}")


def version(command: list[str]) -> str:
    try:
        finished = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    except OSError as error:
        return f"unknown ({error})"
    return (finished.stdout or finished.stderr).strip().splitlines()[0] if (finished.stdout or finished.stderr) else ""


def meta(args: argparse.Namespace) -> dict[str, Any]:
    commit = version(["git", "-C", str(REPOSITORY), "rev-parse", "HEAD"])
    dirty = version(["git", "-C", str(REPOSITORY), "status", "--porcelain", "--", "src"]) != ""
    return {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["bench/run", *sys.argv[1:]]),
        "options": {key: str(value) for key, value in vars(args).items()},
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "loadavg_start": Path("/proc/loadavg").read_text().split()[:3],
        },
        "versions": {
            "instancemock_commit": commit + (" (src/ modified)" if dirty else ""),
            "python": version([str(args.python), "--version"]),
            "wrk": version([args.wrk, "-v"]),
            "prism": version([args.prism, "--version"]),
        },
    }


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    wanted = set(args.only.split(",")) if args.only else {s.name for s in SCENARIOS}
    unknown = wanted - {s.name for s in SCENARIOS}
    if unknown:
        raise SystemExit(
            f"unknown scenarios: {', '.join(sorted(unknown))} (known: {', '.join(s.name for s in SCENARIOS)})"
        )
    scenarios = [s for s in SCENARIOS if s.name in wanted and (args.large or not s.large)]
    results: dict[str, Any] = {"meta": meta(args), "load": [], "startup": [], "memory": [], "state_put": []}
    workdir = Path(tempfile.mkdtemp(prefix="instancemock-bench-"))
    options = wrk.Options(wrk=args.wrk, threads=args.threads, connections=args.connections)
    bench = Bench(args, scenarios, workdir, results, options)
    log(f"scratch directory (scripts, specs, server logs; kept if the run fails): {workdir}")
    try:
        if any(s.large for s in scenarios):
            bench.start_large()
        for round_ in range(args.rounds):
            bench.run_round(round_)
        if bench.large is not None:
            common = {"server": report.INSTANCEMOCK, "large": True, "instances": args.large}
            bench.record("memory", None, **common, when="after load", **bench.large.process.memory())
    finally:
        if bench.large is not None:
            bench.large.process.stop()
    shutil.rmtree(workdir)
    results["meta"]["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    results["meta"]["machine"]["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1) + "\n")
    print(report.table(results, [s.name for s in scenarios]))
    log(f"raw results: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
