"""wrk runs driven by generated Lua scripts, read back as JSON.

Every script counts the status of each response and, in wrk's `done` hook, prints one line
`WRK_JSON {...}` with the request count, the duration, latency percentiles (from wrk's own
histogram, in microseconds), socket errors and the status counts. A request is either static
(wrk.method/path/headers/body, formatted once by wrk) or built per request by a `request()`
function of the scenario's own.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MARK = "WRK_JSON "

# Shared by every script: count statuses per thread, gather them in `done`, print one JSON line.
PRELUDE = r"""
statuses = {}
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function record(status)
  statuses[status] = (statuses[status] or 0) + 1
end

function response(status, headers, body)
  record(status)
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    for code, n in pairs(thread:get("statuses")) do
      counts[code] = (counts[code] or 0) + n
    end
  end
  local parts = {}
  for code, n in pairs(counts) do
    parts[#parts + 1] = string.format('"%d":%d', code, n)
  end
  local e = summary.errors
  io.write(string.format(
    '%s{"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},"statuses":{%s}}\n',
    "WRK_JSON ", summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.timeout, table.concat(parts, ",")))
end
"""


def lua_string(text: str) -> str:
    """A Lua string literal for any text: quotes, backslashes, control and non-ASCII bytes escaped."""
    out = []
    for byte in text.encode():
        char = chr(byte)
        if char in '"\\' or byte < 0x20 or byte >= 0x7F:
            out.append(f"\\{byte:03d}" if char not in '"\\' else "\\" + char)
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def lua_table(mapping: dict[str, str]) -> str:
    return "{" + ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in mapping.items()) + "}"


@dataclass(frozen=True)
class Request:
    """One HTTP request as wrk sends it over and over."""

    method: str
    path: str
    headers: dict[str, str]
    body: str | None = None

    def lua(self) -> str:
        lines = [PRELUDE, f"wrk.method = {lua_string(self.method)}", f"wrk.path = {lua_string(self.path)}"]
        lines += [f"wrk.headers[{lua_string(k)}] = {lua_string(v)}" for k, v in self.headers.items()]
        if self.body is not None:
            lines.append(f"wrk.body = {lua_string(self.body)}")
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Options:
    """How wrk loads a server: threads, connections, seconds, and when a request counts as timed out."""

    wrk: str = "wrk"
    threads: int = 1
    connections: int = 32
    timeout_s: int = 30  # wrk's default (2 s) would drop slow answers from the latency figures


def run(options: Options, base: str, script: str, seconds: int, workdir: Path, name: str) -> dict[str, Any]:
    """One wrk run of `seconds` against `base` with `script`; the JSON line of its `done` hook, plus req/s."""
    path = workdir / f"{name}.lua"
    path.write_text(script)
    command = [
        options.wrk,
        f"-t{options.threads}",
        f"-c{options.connections}",
        f"-d{seconds}s",
        f"--timeout={options.timeout_s}s",
        "-s",
        str(path),
        base,
    ]
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = [line for line in finished.stdout.splitlines() if line.startswith(MARK)]
    if finished.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed ({finished.returncode}): {finished.stderr.strip() or finished.stdout[-500:]}")
    result: dict[str, Any] = json.loads(lines[-1].removeprefix(MARK))
    result["statuses"] = {int(code): count for code, count in result["statuses"].items()}
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["non_2xx"] = sum(count for code, count in result["statuses"].items() if not 200 <= code < 300)
    return result
