"""Fixtures: a user's --fixtures directory replaces files by name; a bad one stops start-up clearly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from instancemock.platforms.altinn.domain.world import FIXTURE as ALTINN
from instancemock.platforms.barium.catalog import FIXTURE as BARIUM
from instancemock.platforms.kianda.tenant import FIXTURE as KIANDA
from instancemock.world.fixtures import FixtureError, FixtureFile

from support import MakeClient


@pytest.mark.parametrize("fixture", [KIANDA, BARIUM, ALTINN], ids=lambda f: f.name)
def test_packaged_fixtures_match_their_schemas(fixture: FixtureFile) -> None:
    assert fixture.check(fixture.load()) == []


def broken_kianda(tmp_path: Path) -> Path:
    data = yaml.safe_load(KIANDA.packaged.read_text(encoding="utf-8"))
    data["processes"][1]["fields"][0]["type"] = "telepathy"
    (tmp_path / "kianda.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return tmp_path / "kianda.yaml"


def test_a_bad_fixture_names_the_file_the_path_inside_it_and_the_reason(tmp_path: Path) -> None:
    path = broken_kianda(tmp_path)
    with pytest.raises(FixtureError) as raised:
        KIANDA.load(tmp_path)
    message = str(raised.value)
    assert str(path) in message
    assert "processes/1/fields/0/type" in message
    assert "'telepathy' is not one of" in message


def test_a_bad_fixture_stops_start_up(tmp_path: Path) -> None:
    path = broken_kianda(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "instancemock", "serve", "--port", "0", "--fixtures", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert str(path) in result.stderr and "processes/1/fields/0/type" in result.stderr


async def test_a_users_fixture_replaces_the_packaged_one(make_client: MakeClient, tmp_path: Path) -> None:
    data = yaml.safe_load(KIANDA.packaged.read_text(encoding="utf-8"))
    design = dict(data["processes"][0], name="site-visit-report", title="Site visit report")
    data["processes"].append(design)
    (tmp_path / "kianda.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    client = await make_client(auth=False, fixtures=tmp_path)
    response = await client.get("/kianda/api/processes/site-visit-report")
    assert response.status == 200
    assert (await response.json())["title"] == "Site visit report"
    default = await make_client(auth=False)
    assert (await default.get("/kianda/api/processes/site-visit-report")).status == 404


def test_a_fixture_its_seeder_refuses_stops_start_up_too(tmp_path: Path) -> None:
    """The schema passes (nine digits), the seeder does not (no valid organisation number): the
    server, already listening while it seeds, stops with the reason and exit status 2."""
    text = ALTINN.packaged.read_text(encoding="utf-8").replace('orgNumber: "991825827"', 'orgNumber: "991825828"')
    (tmp_path / "altinn.yaml").write_text(text, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "instancemock", "serve", "--port", "0", "--fixtures", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "cannot start" in result.stderr and "991825828 is not a valid organisation number" in result.stderr
