"""The README's run command, as a user runs it: a real process, a real port, a clean shutdown."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from instancemock import package_version
from instancemock.__main__ import main, parser
from instancemock.app import create_app

from support import free_port, settings, wait_healthy

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def server() -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = free_port()
    command = [sys.executable, "-m", "instancemock", "serve", "--port", str(port), "--seed", "3"]
    command += ["--now", "2026-01-01T00:00:00Z"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, process)
        yield base, process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_serve_lists_apis_logs_requests_and_stops_cleanly_on_sigterm(
    server: tuple[str, subprocess.Popen[str]],
) -> None:
    base, process = server
    with urllib.request.urlopen(f"{base}/", timeout=5) as response:
        index = json.load(response)
    assert [api["name"] for api in index["apis"]] == ["kianda", "barium", "altinn-storage", "altinn-app"]
    with pytest.raises(urllib.error.HTTPError) as bad:
        urllib.request.urlopen(f"{base}/barium/api/v1.1/Instances?Max=lots", timeout=5)
    assert bad.value.code in (400, 401)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=15)
    assert process.returncode == 0, output
    assert "GET / 200" in output and "ms" in output  # one access-log line per request
    assert output.rstrip().endswith("stopped; nothing to save (no --state-file: the next start seeds afresh)")


def test_start_up_shows_progress_then_a_banner_with_everything_needed(
    server: tuple[str, subprocess.Popen[str]],
) -> None:
    base, process = server
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=15)
    lines = output.splitlines()
    # progress: one plain line per world (stdout is not a terminal here), before the banner
    seeded = [line for line in lines if line.startswith("instancemock: seeded ")]
    assert sorted(line.split()[2] for line in seeded) == ["altinn", "barium", "kianda"]
    assert lines[0] == "instancemock: seeding 3 worlds (kianda, barium, altinn)"
    ready = next(i for i, line in enumerate(lines) if line.startswith(f"instancemock {package_version()} ready in "))
    assert all(lines.index(line) < ready for line in seeded)
    assert "(seeded in " in lines[ready]
    banner = "\n".join(lines[ready : lines.index("Ctrl-C stops the server.") + 1])
    assert "seed 3, clock 2026-01-01T00:00:00Z (fixed by --now, then ticking)" in banner
    assert f"kianda          {base}/kianda" in banner and "300 instances" in banner
    assert f"barium          {base}/barium/api/v1.1" in banner
    assert f"altinn-storage  {base}/altinn" in banner and "240 instances (altinn world)" in banner
    assert f"GET {base}/" in banner and f"{base}/__admin/specs/{{api}}" in banner and f"{base}/__admin" in banner
    assert "admin token" not in banner  # loopback: none needed


def test_the_access_log_redacts_credentials_and_shows_sandbox_and_fault(
    server: tuple[str, subprocess.Popen[str]],
) -> None:
    base, process = server
    request = urllib.request.Request(
        f"{base}/barium/api/v1.1/Instances?Max=2&ticket=s3cret-ticket&TICKET=again",
        headers={"X-Mock-Sandbox": "team-a", "X-Mock-Status": "503"},
    )
    with pytest.raises(urllib.error.HTTPError) as forced:
        urllib.request.urlopen(request, timeout=5)
    assert forced.value.code == 503
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=15)
    line = next(line for line in output.splitlines() if "/barium/api/v1.1/Instances" in line)
    assert "s3cret" not in output and "again" not in output
    assert "Instances?Max=2&ticket=[redacted]&TICKET=[redacted] 503" in line
    assert line.endswith("sandbox=team-a [header: status 503]")


def test_shutdown_says_where_state_was_saved(tmp_path: Path) -> None:
    port = free_port()
    state = tmp_path / "state.json"
    command = [sys.executable, "-m", "instancemock", "serve", "--port", str(port), "--state-file", str(state)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", process)
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert output.rstrip().endswith(f"instancemock: stopped; state saved to {state}") and state.is_file()


def test_a_taken_port_is_one_line_before_any_seeding(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    out, err = capsys.readouterr()
    assert err == f"instancemock: port {port} is in use; pass --port (0 = any free port)\n"
    assert "seeding" not in out + err


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out == f"instancemock {package_version()}\n"
    help_text = parser().format_help()
    assert "Kianda, Barium Live and Altinn 3" in help_text and "examples:" in help_text
    assert "instancemock fixtures export my-world" in help_text


def test_log_levels_are_listed_and_checked(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["serve", "--log-level", "verbose"])
    assert done.value.code == 2
    assert "invalid choice: 'verbose' (choose from 'debug', 'info', 'warning', 'error')" in capsys.readouterr().err
    serve_help = parser()._subparsers._group_actions[0].choices["serve"].format_help()  # type: ignore[union-attr]
    assert "debug, info, warning, error" in serve_help and "--idle-timeout" in serve_help


def test_sigint_also_stops_cleanly(server: tuple[str, subprocess.Popen[str]]) -> None:
    _, process = server
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=15)
    assert process.returncode == 0


def test_bad_config_stops_start_up_with_a_message(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("colour: blue\n")
    result = subprocess.run(
        [sys.executable, "-m", "instancemock", "serve", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ},
    )
    assert result.returncode == 2
    assert "unknown key 'colour'" in result.stderr


def test_fixtures_export_writes_the_packaged_files_to_edit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "my-world"
    assert main(["fixtures", "export", str(target)]) == 0
    names = ["altinn", "barium", "kianda"]
    expected = {f"{n}.yaml" for n in names} | {f"{n}.schema.yaml" for n in names}
    assert {p.name for p in target.iterdir()} == expected
    assert capsys.readouterr().out.split() == [str(target / name) for name in sorted(expected, key=_export_order)]
    packaged = ROOT / "src" / "instancemock" / "platforms" / "barium" / "fixture.yaml"
    assert (target / "barium.yaml").read_bytes() == packaged.read_bytes()
    # nothing is overwritten unless asked
    (target / "kianda.yaml").write_text("edited", encoding="utf-8")
    assert main(["fixtures", "export", str(target)]) == 2
    assert "exist(s) already; pass --force to overwrite" in capsys.readouterr().err
    assert (target / "kianda.yaml").read_text(encoding="utf-8") == "edited"
    assert main(["fixtures", "export", str(target), "--force"]) == 0
    assert (target / "kianda.yaml").read_text(encoding="utf-8") != "edited"


def _export_order(name: str) -> tuple[int, str]:
    """Fixtures first, then schemas, each in the platforms' order (kianda, barium, altinn)."""
    order = ["kianda", "barium", "altinn"]
    return (name.endswith(".schema.yaml"), str(order.index(name.split(".")[0])))


async def test_an_exported_and_edited_world_is_served(tmp_path: Path, aiohttp_client: Any) -> None:
    assert main(["fixtures", "export", str(tmp_path)]) == 0
    barium = tmp_path / "barium.yaml"
    barium.write_text(barium.read_text(encoding="utf-8").replace("Sommar2024!", "Midsommar2026!"), encoding="utf-8")
    client = await aiohttp_client(create_app(settings(fixtures=tmp_path)))
    index = await (await client.get("/")).json()
    login = next(api["credentials"] for api in index["apis"] if api["name"] == "barium")
    assert login["Password"] == "Midsommar2026!"
    form = {key: login[key] for key in ("APIKey", "Username", "Password")}
    assert (await client.post("/barium/api/v1.1/Authenticate", data=form)).status == 200
