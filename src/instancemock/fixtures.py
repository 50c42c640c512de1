"""The hand-written part of the world: YAML files in fixtures/, optionally overridden by a user's directory.

A file in the user's `--fixtures DIR` with the same name replaces the packaged one; new names add
to it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

PACKAGED = Path(__file__).resolve().parent / "fixtures"


class FixtureError(ValueError):
    """A fixture that cannot be used; the message names the file, the path inside it and why."""


def fixture_path(name: str, override: Path | None = None) -> Path:
    if override is not None and (override / f"{name}.yaml").is_file():
        return override / f"{name}.yaml"
    return PACKAGED / f"{name}.yaml"


SCHEMAS = Path(__file__).resolve().parent / "fixture_schemas"


def load_fixture(name: str, override: Path | None = None) -> Any:
    """The fixture's data, checked against `fixture_schemas/<name>.yaml` where one exists."""
    path = fixture_path(name, override)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise FixtureError(f"{path}: fixture file not found") from error
    except yaml.YAMLError as error:
        raise FixtureError(f"{path}: not valid YAML: {error}") from error
    problems = check_fixture(name, data)
    if problems:
        raise FixtureError(f"{path}: " + "; ".join(problems))
    return data


@cache
def _validator(name: str) -> Draft202012Validator | None:
    schema_file = SCHEMAS / f"{name}.yaml"
    if not schema_file.is_file():
        return None
    schema = yaml.safe_load(schema_file.read_text(encoding="utf-8"))
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def check_fixture(name: str, data: Any) -> list[str]:
    """Every problem as '<path inside the file>: <reason>', e.g. 'processes/2/fields/0/type: ...'."""
    validator = _validator(name)
    if validator is None:
        return []
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top level)'}: {e.message}" for e in errors[:20]]
