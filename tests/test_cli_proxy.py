"""The proxy's command line: `serve --proxy API=URL --record DIR` and `instancemock drift-report`."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from instancemock.__main__ import main, parser, settings_from
from instancemock.app import create_app
from instancemock.settings import SettingsError

from support import settings

REPORT = {
    "exchanges": 5,
    "drifting": 2,
    "dropped": 0,
    "groups": [
        {
            "api": "barium",
            "operation": "getInstance",
            "direction": "response",
            "kind": "schema",
            "where": "Milestone",
            "message": "is not of type 'string', 'null'",
            "count": 2,
            "firstSeen": "2026-01-01T00:00:00Z",
            "lastSeen": "2026-01-01T00:00:05Z",
            "example": {
                "requestId": 3,
                "method": "GET",
                "path": "/barium/api/v1.1/Instances/x",
                "query": {},
                "status": 200,
                "upstream": "https://live.barium.se/api/v1.1/Instances/x",
                "detail": "3 is not of type 'string', 'null'",
            },
        }
    ],
}


def test_proxy_flags_become_settings(tmp_path: Path) -> None:
    proxies = ["--proxy", "barium=https://live.barium.se/api/v1.1/", "--proxy", "kianda=https://acme.kianda.com"]
    args = parser().parse_args(
        ["serve", *proxies, "--proxy-timeout", "2.5", "--record", str(tmp_path), "--record-personal", "redact"]
    )
    found = settings_from(args)
    assert found.proxy == {"barium": "https://live.barium.se/api/v1.1", "kianda": "https://acme.kianda.com"}
    assert found.proxy_timeout == 2.5 and found.record == tmp_path and found.record_personal == "redact"


def test_the_config_file_and_the_environment_name_proxies_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "instancemock.yaml"
    config.write_text("proxy:\n  barium: https://live.barium.se/api/v1.1\nproxy_timeout: 9\n", encoding="utf-8")
    from_file = settings_from(parser().parse_args(["serve", "--config", str(config)]))
    assert from_file.proxy == {"barium": "https://live.barium.se/api/v1.1"} and from_file.proxy_timeout == 9.0
    monkeypatch.setenv("INSTANCEMOCK_PROXY", "altinn-storage=https://platform.tt02.altinn.no,kianda=http://k")
    from_env = settings_from(parser().parse_args(["serve"]))
    assert from_env.proxy == {"altinn-storage": "https://platform.tt02.altinn.no", "kianda": "http://k"}
    monkeypatch.setenv("INSTANCEMOCK_PROXY", "barium")
    with pytest.raises(SettingsError, match="INSTANCEMOCK_PROXY: must be API=URL items"):
        settings_from(parser().parse_args(["serve"]))


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (["--proxy", "barium"], "--proxy: must be NAME=VALUE items (API=URL), got 'barium'"),
        (["--proxy-timeout", "0"], "--proxy-timeout: must be more than 0"),
        (["--proxy", "nope=http://x"], "no API named 'nope'"),
        (["--proxy", "barium=ftp://x"], "must be an http(s) base URL"),
        (["--record", "somewhere"], "--record keeps what the proxy forwards"),
    ],
)
def test_a_bad_proxy_setting_stops_start_up(flags: list[str], said: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--port", "0", *flags]) == 2
    assert said in capsys.readouterr().err


def test_drift_report_prints_a_saved_report_as_markdown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    saved = tmp_path / "drift.json"
    saved.write_text(json.dumps(REPORT), encoding="utf-8")
    assert main(["drift-report", "--file", str(saved)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("# instancemock drift report")
    assert "| getInstance | response | schema | Milestone | is not of type 'string', 'null' | 2 |" in text
    assert main(["drift-report", "--file", str(saved), "--fail-on-drift"]) == 1
    assert main(["drift-report", "--file", str(saved), "--api", "kianda", "--fail-on-drift"]) == 0
    assert "No drift" in capsys.readouterr().out


def test_drift_report_says_what_it_cannot_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["drift-report", "--file", str(tmp_path / "missing.json")]) == 2
    (tmp_path / "other.json").write_text("[1, 2]", encoding="utf-8")
    assert main(["drift-report", "--file", str(tmp_path / "other.json")]) == 2
    assert "not a drift report" in capsys.readouterr().err


async def test_drift_report_reads_a_running_server(aiohttp_server: Any, capsys: pytest.CaptureFixture[str]) -> None:
    server = await aiohttp_server(create_app(settings()))
    url = str(server.make_url("")).rstrip("/")
    code = await asyncio.to_thread(main, ["drift-report", "--url", url, "--fail-on-drift"])
    assert code == 0 and "No drift: 0 proxied exchange(s)" in capsys.readouterr().out


def test_the_banner_says_which_apis_are_proxied_and_where_the_recording_goes(tmp_path: Path) -> None:
    from instancemock.console import banner

    app = create_app(settings(proxy={"barium": "https://live.barium.se/api/v1.1"}, record=tmp_path))
    lines = banner(app, "http://127.0.0.1:8080", {"kianda": 3}, None, started=0.0)
    barium = next(line for line in lines if line.strip().startswith("barium "))
    assert barium.endswith("proxied to https://live.barium.se/api/v1.1")
    assert any(line.strip().startswith("kianda ") and line.endswith("3 instances") for line in lines)
    assert any("GET http://127.0.0.1:8080/__admin/drift" in line for line in lines)
    assert any(str(tmp_path / "state.json") in line for line in lines)
