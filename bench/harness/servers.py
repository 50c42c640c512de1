"""The three servers under test: instancemock (through its CLI), Prism on our served specs, and bare aiohttp.

Prism mounts every spec at its root whatever the `servers` URL says (a request to
`/barium/api/v1.1/Instances` is a 404 there, `/Instances` is served). So that wrk sends Prism the
very same request lines as instancemock, each spec's paths are prefixed with the path of its
first server URL (`/kianda`, `/barium/api/v1.1`, `/altinn`) and `servers` is set to the root.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .client import Logins, answers, call, expect
from .processes import Process, free_port, launch
from .scenarios import BARIUM_LIST

APIS = ("kianda", "barium", "altinn-storage", "altinn-app")
SEED_ARGS = ["--seed", "1", "--now", "2026-01-01T00:00:00Z"]


@dataclass
class Instancemock:
    process: Process
    logins: Logins
    startup: dict[str, float]


def start_instancemock(python: Path, workdir: Path, label: str, config: Path | None = None) -> Instancemock:
    """`instancemock serve` with the seed and clock fixed, logging off, timed to its first useful answer.

    `first_answer_s` is the first HTTP answer of any kind (the server listens while it seeds, and
    `/__admin/health` answers 503 "seeding" meanwhile); `ready_s` the first 200 of the health check,
    once every world is in; `first_list_s` the first 200 to the Barium list, asked for after that,
    which needs a login first (one POST, a few ms): what a client that waits for health waits for.
    """
    cli = python.parent / "instancemock"
    command = [str(cli)] if cli.exists() else [str(python), "-m", "instancemock"]
    port = free_port()
    command += ["serve", "--port", str(port), *SEED_ARGS, "--log-level", "WARNING"]
    if config is not None:
        command += ["--config", str(config)]
    process = launch(label, command, port, workdir / f"{label}.log")
    with stopped_on_failure(process):
        first_answer = process.wait_for(lambda: answers(f"{process.base}/__admin/health"))
        ready = process.wait_for(lambda: answers(f"{process.base}/__admin/health", want=200))
        logins = Logins(process.base)
        ticket = {"Ticket": logins.barium_ticket()}
        first_list = process.wait_for(lambda: answers(f"{process.base}{BARIUM_LIST}", ticket, want=200))
    timings = {"first_answer_s": first_answer, "ready_s": ready, "first_list_s": first_list}
    return Instancemock(process, logins, timings)


def large_config(workdir: Path, instances: int) -> Path:
    """A config file with `apis.<name>.instances` for every API that has the setting (JSON is YAML);
    altinn-app shares altinn-storage's world and has none (settings are checked: an unknown key
    stops start-up)."""
    path = workdir / f"instances-{instances}.yaml"
    sized = [name for name in APIS if name != "altinn-app"]
    path.write_text(json.dumps({"apis": {name: {"instances": instances} for name in sized}}))
    return path


def prism_specs(server: Instancemock, workdir: Path) -> dict[str, Path]:
    """Each spec as instancemock serves it (`GET /__admin/specs/{api}`), rewritten for Prism's root mount."""
    paths: dict[str, Path] = {}
    for api in APIS:
        spec = expect(call("GET", f"{server.process.base}/__admin/specs/{api}"), 200, f"spec {api}").json()
        paths[api] = workdir / f"{api}.prism.json"
        paths[api].write_text(json.dumps(mounted_at_root(spec)))
    return paths


def mounted_at_root(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec with its first server's path moved into every path, and servers at the root."""
    base = urllib.parse.urlsplit(spec["servers"][0]["url"]).path.rstrip("/")
    return {**spec, "servers": [{"url": "/"}], "paths": {base + path: item for path, item in spec["paths"].items()}}


def start_prism(
    prism: str, spec: Path, workdir: Path, label: str, probe: Probe | None
) -> tuple[Process, dict[str, float]]:
    """`prism mock -v silent` on one spec, timed to its first answer to `/` (of any status: Prism routes
    only once its spec is loaded) and, with a `probe`, to the first 200 to the Barium list, as
    instancemock is timed."""
    port = free_port()
    command = [prism, "mock", "-h", "127.0.0.1", "-p", str(port), "-v", "silent", str(spec)]
    process = launch(label, command, port, workdir / f"{label}.log")
    with stopped_on_failure(process):
        timings = {"first_answer_s": process.wait_for(lambda: answers(f"{process.base}/"))}
        if probe is not None:
            timings["first_list_s"] = process.wait_for(
                lambda: answers(f"{process.base}{probe.path}", probe.headers, 200)
            )
    return process, timings


@dataclass(frozen=True)
class Probe:
    """A request whose first 200 a start-up is timed to."""

    path: str
    headers: dict[str, str]


def start_bare(python: Path, workdir: Path, body: bytes, content_type: str) -> Process:
    """The bare aiohttp app answering the Barium list path with `body`."""
    body_file = workdir / "barium-list.body"
    body_file.write_bytes(body)
    port = free_port()
    path = BARIUM_LIST.partition("?")[0]
    command = [str(python), str(Path(__file__).with_name("bare.py")), str(port), path, str(body_file), content_type]
    process = launch("bare", command, port, workdir / "bare.log")
    with stopped_on_failure(process):
        process.wait_for(lambda: answers(f"{process.base}{path}", want=200))
    return process


def barium_list_bytes(server: Instancemock) -> tuple[bytes, str]:
    """What instancemock answers to the Barium list: the body and Content-Type the bare app repeats."""
    answer = call("GET", f"{server.process.base}{BARIUM_LIST}", {"Ticket": server.logins.barium_ticket()})
    expect(answer, 200, "Barium list")
    return answer.body, answer.headers.get("Content-Type", "application/json")


@contextmanager
def stopped_on_failure(process: Process) -> Iterator[None]:
    """A server whose start-up fails is stopped before the error goes on."""
    try:
        yield
    except BaseException:
        process.stop()
        raise


def settle(seconds: float = 1.0) -> None:
    """A moment for a just-started server to finish what it does after its first answer."""
    time.sleep(seconds)
