"""The README runs as written: every shell block, in order, in one shell, against servers it starts.

A new user pastes the blocks top to bottom; so does this test, so the README cannot rot again
(issue 15: the Barium block had `T=<Ticket>`, the multipart example a file that did not exist,
the fault rule matched nothing). The blocks run in one `bash` (`set -euo pipefail`), in a
temporary directory, so variables carry from block to block as in a terminal. Only the commands
a user runs to set up, in blocks of their own, are the test's to carry out:

- `instancemock serve ...` starts the server with those flags (stopping the one before, as the
  README says to with Ctrl-C), and waits until it answers;
- `python3 -m venv`, `pip install` and `pytest`: this suite already runs installed, in a venv;
- `docker ...`: no daemon in CI; the Dockerfile and docker-compose.yml are checked by
  tests/test_docker.py.

Every request a server received must have succeeded, unless a mock control or fault rule forced
its status: the journal of each server is read before it stops. The port is the OS's choice:
`8080` in the README is replaced by it.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shlex
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from instancemock import registry
from instancemock.__main__ import parser
from instancemock.settings import ENV_PREFIX, OWN

from support import free_port, wait_healthy

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
FENCE = re.compile(r"^```(\w*)[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
SHELLS = {"bash", "sh", "shell", "console"}
SETUP = re.compile(r"^(python3 -m venv |\. \.venv/bin/activate|pip install |instancemock serve\b|pytest\b|docker )")
BLOCK_SECONDS = 120  # limits for a hung block or a server that never answers; a passing run waits for events
START_SECONDS = 120


@dataclass(frozen=True, slots=True)
class Block:
    line: int  # where it starts in README.md
    text: str

    @property
    def commands(self) -> list[str]:
        """The block's commands without comments, `&&`-chains split (only setup blocks are read so)."""
        found = []
        for raw in self.text.splitlines():
            code = raw.split("  #")[0].split(" # ")[0].strip()
            if code and not code.startswith("#"):
                found += [part.strip() for part in code.split("&&")]
        return found

    @property
    def is_setup(self) -> bool:
        return any(SETUP.match(command) for command in self.commands)


def shell_blocks(text: str) -> list[Block]:
    return [
        Block(text[: match.start()].count("\n") + 1, match.group(2))
        for match in FENCE.finditer(text)
        if match.group(1) in SHELLS
    ]


class Shell:
    """One bash, fed block after block like a terminal; a failing command ends it (set -e)."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.cwd = cwd
        self.count = 0

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def run(self, block: Block, port: int) -> str:
        """Run one block; its output, or an AssertionError naming the README line and the output."""
        self.count += 1
        script = self.cwd / f"block-{self.count}.sh"
        script.write_text(block.text.replace("8080", str(port)), encoding="utf-8")
        marker = f"::block {self.count} done::"
        assert self.process.stdin is not None
        self.process.stdin.write(f"set -euo pipefail; source {shlex.quote(str(script))}; echo; echo '{marker}'\n")
        self.process.stdin.flush()
        output: list[str] = []
        while True:
            try:
                line = self.lines.get(timeout=BLOCK_SECONDS)
            except queue.Empty:
                raise AssertionError(f"README.md:{block.line}: block still running after {BLOCK_SECONDS} s") from None
            if line is None:
                raise AssertionError(f"README.md:{block.line}: the block failed:\n{block.text}\n---\n{''.join(output)}")
            if line.strip() == marker:
                return "".join(output)
            output.append(line)

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            self.process.wait(timeout=10)


class Servers:
    """The server the README's `instancemock serve` lines start, one at a time."""

    def __init__(self, cwd: Path, env: dict[str, str], port: int) -> None:
        self.cwd, self.env, self.port = cwd, env, port
        self.base = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[str] | None = None
        self.log = cwd / "server.log"

    def start(self, flags: list[str], line: int) -> None:
        self.stop()
        command = [sys.executable, "-m", "instancemock", "serve", *flags]
        with self.log.open("w") as log:
            self.process = subprocess.Popen(command, cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_healthy(self.base, self.process, START_SECONDS)  # type: ignore[arg-type]
        except AssertionError as error:
            raise AssertionError(f"README.md:{line}: the server did not start: {self.log.read_text()}") from error

    def unforced_failures(self) -> list[dict[str, Any]]:
        """Requests this server answered with an error (or not at all) that no control forced."""
        with urllib.request.urlopen(f"{self.base}/__admin/requests?limit=100000", timeout=10) as response:
            entries = json.load(response)["requests"]
        return [e for e in entries if (e["status"] is None or e["status"] >= 400) and not e.get("fault")]

    def stop(self) -> None:
        """Ctrl-C, as the README says; the server must stop cleanly, having served no unforced error."""
        if self.process is None:
            return
        failures = self.unforced_failures()
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout=15)
        self.process = None
        assert not failures, f"README requests that failed: {json.dumps(failures, indent=1)}"
        assert code == 0, self.log.read_text()
        assert "instancemock: stopped; " in self.log.read_text()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[tuple[Shell, Servers]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env[ENV_PREFIX + "PORT"] = str(port := free_port())  # a config file's `port: 8080` is replaced too
    shell, servers = Shell(tmp_path, env), Servers(tmp_path, env, port)
    try:
        yield shell, servers
    finally:
        servers.kill()
        shell.close()


def test_every_shell_block_of_the_readme_runs_in_order(workspace: tuple[Shell, Servers]) -> None:
    shell, servers = workspace
    blocks = shell_blocks(README.read_text(encoding="utf-8"))
    assert len(blocks) > 10
    ran = 0
    for block in blocks:
        if not block.is_setup:
            assert servers.process is not None, f"README.md:{block.line}: runs before any `instancemock serve`"
            shell.run(block, servers.port)
            ran += 1
            continue
        for command in block.commands:
            assert SETUP.match(command), f"README.md:{block.line}: keep {command!r} out of a setup block"
            if command.startswith("instancemock serve"):
                flags = shlex.split(command.replace("8080", str(servers.port)))[2:]
                servers.start(flags, block.line)
    servers.stop()
    assert ran > 10


def test_the_readme_starts_with_the_venv_then_run_then_test() -> None:
    blocks = shell_blocks(README.read_text(encoding="utf-8"))
    assert [block.commands for block in blocks[:3]] == [
        ["python3 -m venv .venv", ". .venv/bin/activate"],
        ["pip install .", "instancemock serve"],
        ["pip install '.[test]'", "pytest"],
    ]
    assert blocks[2].line < 25  # the first screen


def configuration_section() -> str:
    text = README.read_text(encoding="utf-8")
    return text[text.index("## Configuration\n") : text.index("\n## ", text.index("## Configuration\n") + 1)]


def test_the_configuration_synopsis_names_every_key_variable_and_flag() -> None:
    section = configuration_section()
    rows = {row.split("|")[1].strip(" `"): row for row in section.splitlines() if row.startswith("| `")}
    declared = registry.declared(registry.discover())
    for key in [*OWN, *declared.options]:
        assert key in rows, f"README configuration table: no row for {key!r}"
        if OWN.get(key) is None or OWN[key].from_text is not None:
            assert f"`{ENV_PREFIX}{key.upper()}`" in rows[key], f"README: {key!r} does not name its variable"
    flags = {
        option
        for action in parser()._subparsers._group_actions[0].choices["serve"]._actions  # type: ignore[union-attr]
        for option in action.option_strings
        if option.startswith("--") and option != "--help"
    }
    for flag in flags:
        assert f"`{flag}" in section, f"README configuration: flag {flag} is not mentioned"
    for api, keys in declared.apis.items():
        assert f"`{api}`" in section
        for key in keys:
            assert f"`{key}`" in section


def test_the_readme_config_example_holds_every_key() -> None:
    section = configuration_section()
    heredoc = section[section.index("<<'EOF'\n") + len("<<'EOF'\n") : section.index("\nEOF\n")]
    uncommented = yaml.safe_load(heredoc)
    commented = set(re.findall(r"^# (\w+):", heredoc, re.MULTILINE))
    declared = registry.declared(registry.discover())
    assert {*OWN, *declared.options} == set(uncommented) | commented
    assert set(uncommented["apis"]) == set(declared.apis)


def test_spec_readme_and_index_name_the_barium_login_fields_alike() -> None:
    """Issue 15: the README and `GET /` said `apikey`, the spec required `APIKey`: Prism's validating
    proxy and generated clients refused the README's own request."""
    spec = yaml.safe_load((ROOT / "openapi" / "barium.yaml").read_text(encoding="utf-8"))
    fields = spec["components"]["schemas"]["AuthenticateForm"]["required"]
    assert fields == ["APIKey", "Username", "Password"]
    text = README.read_text(encoding="utf-8")
    login = next(b for b in shell_blocks(text) if "/Authenticate" in b.text).text
    sent = re.findall(r"-d (\w+)=", login[login.index("/Authenticate") :].split("\n\n")[0])[:3]
    assert sent == fields
    from instancemock.platforms.barium.auth import credentials
    from instancemock.settings import Settings

    assert list(credentials(Settings(), "http://x"))[:3] == fields
    description = " ".join(spec["paths"]["/Authenticate"]["post"]["description"].split())
    assert "any casing is accepted" in description and "any casing is accepted" in " ".join(text.split())
