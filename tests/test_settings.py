"""Configuration fails closed: every source, every level, one line naming source, key and value.

Before issue 15, `auth: enabled` (or `INSTANCEMOCK_AUTH=maybe`) quietly meant auth *off*, unknown
keys under `apis:` were ignored, and a bad number said only "invalid literal for int()".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from instancemock import registry
from instancemock.__main__ import parser, settings_from
from instancemock.app import create_app
from instancemock.settings import (
    SettingsError,
    build,
    config_schema,
    from_env,
    from_flags,
    load_config,
)

from support import settings

DECLARED = registry.declared(registry.discover())


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "instancemock.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def file_error(tmp_path: Path, text: str) -> str:
    with pytest.raises(SettingsError) as raised:
        load_config(config(tmp_path, text), DECLARED)
    return str(raised.value)


@pytest.mark.parametrize("value", ["enabled", '"yes please"', "1", "'on'", "null"])
def test_a_file_boolean_is_true_or_false_only(tmp_path: Path, value: str) -> None:
    message = file_error(tmp_path, f"auth: {value}\n")
    assert message.startswith(f"{tmp_path / 'instancemock.yaml'}: auth: must be true or false, got ")


def test_file_booleans_that_are_booleans_are_read(tmp_path: Path) -> None:
    layer = load_config(config(tmp_path, "auth: false\nstrict: true\n"), DECLARED)
    assert layer.values == {"auth": False, "strict": True}


@pytest.mark.parametrize("text", ["true", "TRUE", "1", "yes", "On"])
def test_environment_truths(text: str) -> None:
    assert build(from_env({"INSTANCEMOCK_AUTH": "off", "INSTANCEMOCK_STRICT": text})).strict is True


@pytest.mark.parametrize("text", ["false", "0", "no", "OFF"])
def test_environment_falsehoods(text: str) -> None:
    assert build(from_env({"INSTANCEMOCK_AUTH": text})).auth is False


@pytest.mark.parametrize("text", ["maybe", "enabled", "2", "y"])
def test_an_environment_boolean_that_is_not_one_stops_start_up(text: str) -> None:
    with pytest.raises(SettingsError, match=f"^environment: INSTANCEMOCK_AUTH: must be true or false, got '{text}'$"):
        from_env({"INSTANCEMOCK_AUTH": text})


def test_value_errors_name_the_setting_in_each_source(tmp_path: Path) -> None:
    assert file_error(tmp_path, "port: lots\n").endswith("port: must be a whole number, got 'lots'")
    with pytest.raises(SettingsError, match=r"^environment: INSTANCEMOCK_PORT: must be a whole number, got 'abc'$"):
        from_env({"INSTANCEMOCK_PORT": "abc"})
    with pytest.raises(SettingsError, match=r"^command line: --port: must be at most 65535, got 70000$"):
        from_flags({"port": 70000})
    with pytest.raises(SettingsError, match="INSTANCEMOCK_SANDBOXES: must be at least 1, got 0"):
        from_env({"INSTANCEMOCK_SANDBOXES": "0"})
    with pytest.raises(SettingsError, match="now: must be an ISO 8601 instant"):
        load_config(config(tmp_path, "now: yesterday\n"), DECLARED)
    with pytest.raises(SettingsError, match="INSTANCEMOCK_KIANDA_TOKEN_LIFETIME: must be a whole number of at least 1"):
        from_env({"INSTANCEMOCK_KIANDA_TOKEN_LIFETIME": "soon"}, DECLARED)
    with pytest.raises(SettingsError, match="simulate: must be a finite number"):
        load_config(config(tmp_path, "simulate: .inf\n"), DECLARED)


def test_unknown_keys_are_refused_at_every_level(tmp_path: Path) -> None:
    assert "unknown key 'colour'" in file_error(tmp_path, "colour: blue\n")
    assert "apis: unknown key 'bariumm'; did you mean 'barium'?" in file_error(tmp_path, "apis: {bariumm: {}}\n")
    message = file_error(tmp_path, "apis: {barium: {instanses: 5}}\n")
    assert "apis.barium: unknown key 'instanses'; did you mean 'instances'? (known: enabled, instances)" in message
    # Altinn's world is sized on the Storage API; the App API takes only `enabled`
    assert "apis.altinn-app: unknown key 'instances'" in file_error(tmp_path, "apis: {altinn-app: {instances: 5}}\n")
    assert "apis.kianda.enabled: must be true or false" in file_error(tmp_path, "apis: {kianda: {enabled: no way}}\n")
    assert "apis.kianda.instances: must be at least 0" in file_error(tmp_path, "apis: {kianda: {instances: -1}}\n")
    assert "faults[1]: must be a mapping" in file_error(tmp_path, "faults: [{status: 503}, oops]\n")


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    lines = file_error(tmp_path, "auth: enabled\nport: lots\napis: {bariumm: {}}\n").splitlines()
    assert len(lines) == 3 and all(line.startswith(str(tmp_path)) for line in lines)


def test_broken_yaml_is_one_line_with_file_line_and_column(tmp_path: Path) -> None:
    message = file_error(tmp_path, "port: 8080\n  seed: 1\n")
    assert message == f"{tmp_path / 'instancemock.yaml'}:2:7: not valid YAML: mapping values are not allowed here"
    assert "is given twice" in file_error(tmp_path, "port: 1\nport: 2\n")
    assert file_error(tmp_path, "- a list\n").endswith("must be a mapping of keys to values, not list")
    with pytest.raises(SettingsError, match="no such file"):
        load_config(tmp_path / "missing.yaml", DECLARED)


def test_an_unknown_environment_variable_is_a_warning_naming_the_likely_one() -> None:
    layer = from_env({"INSTANCEMOCK_AUHT": "off", "INSTANCEMOCK_PORT": "9000", "PATH": "/bin"})
    assert layer.values == {"port": 9000}
    assert layer.warnings == (
        "environment: ignoring INSTANCEMOCK_AUHT: not a setting; did you mean INSTANCEMOCK_AUTH?",
    )


def test_an_empty_environment_variable_counts_as_unset() -> None:
    assert from_env({"INSTANCEMOCK_ADMIN_TOKEN": "", "INSTANCEMOCK_AUTH": " "}).values == {}


def test_sources_layer_file_then_environment_then_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = config(tmp_path, "port: 7000\nseed: 5\nauth: false\nwebhooks: [http://127.0.0.1:1/hook]\n")
    monkeypatch.setenv("INSTANCEMOCK_SEED", "6")
    monkeypatch.setenv("INSTANCEMOCK_PORT", "7001")
    args = parser().parse_args(["serve", "--config", str(path), "--port", "7002", "--auth", "on"])
    built = settings_from(args)
    assert (built.port, built.seed, built.auth) == (7002, 6, True)
    assert built.option("webhooks") == ("http://127.0.0.1:1/hook",)


def test_per_api_settings_are_parsed_and_unknown_apis_refused_by_create_app() -> None:
    assert build({"apis": {"kianda": {"instances": 5}}}, declared=DECLARED).apis == {"kianda": {"instances": 5}}
    with pytest.raises(SettingsError, match="apis: unknown key 'bariumm'"):
        create_app(settings(apis={"bariumm": {"instances": 5}}))
    with pytest.raises(SettingsError, match=r"apis\.barium: unknown key 'instanses'"):
        create_app(settings(apis={"barium": {"instanses": 5}}))


def test_the_schema_covers_every_setting_and_every_api() -> None:
    schema: dict[str, Any] = config_schema(DECLARED)
    properties = schema["properties"]
    assert {"port", "auth", "faults", "kianda_token_lifetime", "barium_ticket_minutes", "webhooks"} <= set(properties)
    assert set(properties["apis"]["properties"]) == {"kianda", "barium", "altinn-storage", "altinn-app"}
    assert set(properties["apis"]["properties"]["altinn-storage"]["properties"]) == {
        "enabled",
        "instances",
        "signing_key",
    }
    assert schema["additionalProperties"] is False
