"""Console output pieces on their own: the seeding progress (live and plain) and the access log's redaction."""

from __future__ import annotations

import io
import logging
from pathlib import Path

from aiohttp.test_utils import make_mocked_request

from instancemock.app import create_app
from instancemock.console import AccessLogger, SeedingProgress, banner, fault_note, redacted_path, shown_host
from instancemock.core.context import STATE
from instancemock.world.sqlite_store import SqlitePersistence
from instancemock.world.state import SeedEvent

from support import settings


def test_plain_progress_is_one_line_per_world() -> None:
    stream = io.StringIO()
    progress = SeedingProgress(["kianda", "barium"], stream=stream, live=False)
    for platform in ("kianda", "barium"):
        progress(SeedEvent("default", platform, False))
        progress(SeedEvent("default", platform, True, 1200, 0.5))
    progress.close()
    lines = stream.getvalue().splitlines()
    assert lines[0] == "instancemock: seeding 2 worlds (kianda, barium)"
    assert [line.split(" in ")[0] for line in lines[1:]] == [f"instancemock: seeded {p}" for p in ("kianda", "barium")]
    assert lines[2] == "instancemock: seeded barium in 0.50 s, 1,200 documents (2/2)"
    assert progress.total_seconds is not None


def test_live_progress_redraws_one_line_and_keeps_each_finished_world() -> None:
    stream = io.StringIO()
    progress = SeedingProgress(["kianda", "barium", "altinn"], stream=stream, live=True)
    progress(SeedEvent("default", "kianda", False))
    progress(SeedEvent("default", "barium", False))
    empty = "." * 24
    assert progress.live_line(progress.started or 0.0).startswith(f"seeding [{empty}] 0/3 kianda, barium")
    progress(SeedEvent("default", "kianda", True, 10, 0.25))
    assert progress.live_line(progress.started or 0.0).startswith("seeding [########................] 1/3 barium ")
    progress.close()
    written = stream.getvalue()
    assert "\r\x1b[2Kinstancemock: seeded kianda in 0.25 s, 10 documents (1/3)\n" in written
    assert written.endswith("\r\x1b[2K")
    assert progress._ticker is None  # the redrawing thread has stopped


def test_credentials_in_the_query_are_redacted_in_the_access_log() -> None:
    request = make_mocked_request("GET", "/barium/api/v1.1/Instances?Max=2&Ticket=abc%20d&x=1&access_token=t")
    assert redacted_path(request) == "/barium/api/v1.1/Instances?Max=2&Ticket=[redacted]&x=1&access_token=[redacted]"
    assert redacted_path(make_mocked_request("GET", "/a?ticket")) == "/a?ticket=[redacted]"
    assert redacted_path(make_mocked_request("GET", "/a")) == "/a"


def test_fault_notes_and_hosts_read_as_a_user_writes_them() -> None:
    assert fault_note({"source": "rule", "rule": "rule-1", "status": 503, "delayMs": 0, "fault": None}) == (
        "rule-1: status 503"
    )
    assert fault_note({"source": "header", "rule": None, "status": None, "delayMs": 250.0, "fault": "reset"}) == (
        "header: fault reset, delay 250.0ms"
    )
    assert fault_note(None) == ""
    hosts = ("0.0.0.0", "::", "127.0.0.1", "::1")
    assert [shown_host(h) for h in hosts] == ["127.0.0.1", "[::1]", "127.0.0.1", "[::1]"]


def test_the_banner_gives_the_admin_token_when_one_is_needed(tmp_path: Path) -> None:
    app = create_app(settings(host="0.0.0.0", admin_token="s3cret-admin-token-42", state_file=tmp_path / "state.json"))
    lines = banner(app, "http://127.0.0.1:8080", {"kianda": 3}, None, started=0.0)
    text = "\n".join(lines)
    assert "admin token   send 'Authorization: Bearer s3cret-admin-token-42' to /__admin" in text
    assert f"state file    {tmp_path / 'state.json'} (saved every 30 s and on exit)" in text
    assert "kianda          http://127.0.0.1:8080/kianda" in text and "3 instances" in text
    assert lines[-1] == "Ctrl-C stops the server."
    database = create_app(settings(state_file=tmp_path / "state.db"))
    assert any("committed before it is answered" in line for line in banner(database, "x", {}, None, started=0.0))
    persistence = database[STATE].persistence
    assert isinstance(persistence, SqlitePersistence)
    persistence.close_now()
    loopback = banner(create_app(settings()), "http://127.0.0.1:8080", {}, None, started=0.0)
    assert not any("admin token" in line for line in loopback)


def test_progress_is_quiet_once_start_up_is_over() -> None:
    stream = io.StringIO()
    progress = SeedingProgress(["kianda"], stream=stream, live=True)
    progress.close()
    progress(SeedEvent("team-a", "kianda", False))  # a sandbox seeded later, while serving
    progress(SeedEvent("team-a", "kianda", True, 10, 0.1))
    assert stream.getvalue() == "" and progress._ticker is None


def test_the_access_log_is_off_below_info_so_aiohttp_skips_it() -> None:
    """aiohttp reads `enabled` once per connection and then neither times nor calls `log`."""
    logger = logging.getLogger("instancemock.test-access")
    access = AccessLogger(logger, "")
    logger.setLevel(logging.WARNING)
    assert access.enabled is False
    logger.setLevel(logging.INFO)
    assert access.enabled is True
