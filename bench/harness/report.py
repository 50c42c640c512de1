"""One table from the raw results: the median of the rounds per scenario and server, and the ratios.

Ratios are instancemock's figure divided by the other server's: for req/s higher is better, for
p99, start-up time and memory lower is better.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from typing import Any

INSTANCEMOCK, PRISM, BARE = "instancemock", "prism", "bare"
SERVER_ORDER = (INSTANCEMOCK, PRISM, BARE)

HEADER = ("scenario", "server", "req/s", "p50 ms", "p99 ms", "non-2xx", "vs Prism", "vs bare", "measure / statuses")


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.2f}x" if theirs else ""


def load_rows(load: list[dict[str, Any]], scenarios: list[str]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for scenario in scenarios:
        runs = [run for run in load if run["scenario"] == scenario]
        by_server = {server: [run for run in runs if run["server"] == server] for server in SERVER_ORDER}
        figures = {
            server: {
                "rps": median(run["rps"] for run in found),
                "p50": median(run["p50_ms"] for run in found),
                "p99": median(run["p99_ms"] for run in found),
            }
            for server, found in by_server.items()
            if found
        }
        ours = figures.get(INSTANCEMOCK)
        for server, found in by_server.items():
            if not found:
                continue
            mine = figures[server]
            versus_prism = versus_bare = ""
            if server == INSTANCEMOCK and ours is not None:
                if PRISM in figures:
                    prism = figures[PRISM]
                    versus_prism = f"{ratio(ours['rps'], prism['rps'])} req/s, {ratio(ours['p99'], prism['p99'])} p99"
                if BARE in figures:
                    versus_bare = f"{ratio(ours['rps'], figures[BARE]['rps'])} req/s"
            statuses = sorted({code for run in found for code in run["statuses"]})
            errors = {kind: sum(run["errors"][kind] for run in found) for kind in found[0]["errors"]}
            trouble = "".join(f"; {count:,} {kind} errors" for kind, count in errors.items() if count)
            rows.append(
                (
                    scenario,
                    server,
                    f"{mine['rps']:,.1f}" if mine["rps"] < 100 else f"{mine['rps']:,.0f}",
                    f"{mine['p50']:.1f}",
                    f"{mine['p99']:.1f}",
                    f"{sum(run['non_2xx'] for run in found):,}",
                    versus_prism,
                    versus_bare,
                    "statuses " + ", ".join(str(code) for code in statuses) + trouble,
                )
            )
    return rows


def measure_row(
    scenario: str, server: str, text: str, versus_prism: str = "", versus_bare: str = ""
) -> tuple[str, ...]:
    return (scenario, server, "", "", "", "", versus_prism, versus_bare, text)


def startup_rows(startup: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    """Seconds to the first 200 to the Barium list: instancemock (all APIs) and Prism (the Barium spec)."""
    rows: list[tuple[str, ...]] = []
    mine = [s for s in startup if s["server"] == INSTANCEMOCK and not s.get("large")]
    ours = [s["first_list_s"] for s in mine]
    prism = [s["first_list_s"] for s in startup if s["server"] == PRISM and s["api"] == "barium"]
    if ours:
        versus = ratio(median(ours), median(prism)) + " time" if prism else ""
        text = f"first Barium list 200 after {median(ours):.2f} s" + _earlier(mine)
        rows.append(measure_row("start-up", INSTANCEMOCK, text, versus))
    if prism:
        rows.append(measure_row("start-up", PRISM, f"first Barium list 200 after {median(prism):.2f} s"))
    for entry in (s for s in startup if s.get("large")):
        text = f"{entry['instances']:,} per API: first Barium list 200 after {entry['first_list_s']:.2f} s"
        rows.append(measure_row("start-up, large", INSTANCEMOCK, text + _earlier([entry])))
    return rows


def _earlier(runs: list[dict[str, Any]]) -> str:
    """When instancemock first answered and had every world in (medians), where the run recorded it."""
    answered = [s["first_answer_s"] for s in runs if "first_answer_s" in s]
    ready = [s["ready_s"] for s in runs if "ready_s" in s]
    if not answered or not ready:
        return ""
    return f" (first answer {median(answered):.2f} s, every world in {median(ready):.2f} s)"


def memory_rows(memory: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for when in ("idle", "after load"):
        rss = {
            server: median(m["rss_mib"] for m in found)
            for server in SERVER_ORDER
            if (found := [m for m in memory if m["server"] == server and m["when"] == when and not m.get("large")])
        }
        for server, mib in rss.items():
            versus_prism = ratio(rss[INSTANCEMOCK], rss[PRISM]) if server == INSTANCEMOCK and PRISM in rss else ""
            rows.append(measure_row(f"RSS {when}", server, f"{mib:,.0f} MiB", versus_prism))
    for entry in (m for m in memory if m.get("large")):
        text = f"{entry['instances']:,} per API: {entry['rss_mib']:,.0f} MiB (peak {entry['peak_mib']:,.0f})"
        rows.append(measure_row(f"RSS {entry['when']}, large", INSTANCEMOCK, text))
    return rows


def state_rows(state_puts: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    if not state_puts:
        return []
    size = state_puts[0]["document_bytes"] / 1e6
    statuses = ", ".join(sorted({str(s["status"]) for s in state_puts}))
    text = (
        f"{size:.1f} MB in {median(s['put_s'] for s in state_puts):.2f} s, health stalled up to "
        f"{median(s['stall_ms'] for s in state_puts):,.0f} ms (status {statuses})"
    )
    return [measure_row("PUT /__admin/state", INSTANCEMOCK, text, "no such call")]


def table(results: dict[str, Any], scenarios: list[str]) -> str:
    rows = [
        *load_rows(results["load"], scenarios),
        *startup_rows(results["startup"]),
        *memory_rows(results["memory"]),
        *state_rows(results["state_put"]),
    ]
    right = {2, 3, 4, 5}
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join("---:" if i in right else "---" for i in range(9)) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
