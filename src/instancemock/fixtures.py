"""The hand-written part of the world: YAML files in fixtures/, optionally overridden by a user's directory.

A file in the user's `--fixtures DIR` with the same name replaces the packaged one; new names add
to it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

PACKAGED = Path(__file__).resolve().parent / "fixtures"


class FixtureError(ValueError):
    """A fixture that cannot be used; the message names the file, the path inside it and why."""


def fixture_path(name: str, override: Path | None = None) -> Path:
    if override is not None and (override / f"{name}.yaml").is_file():
        return override / f"{name}.yaml"
    return PACKAGED / f"{name}.yaml"


def load_fixture(name: str, override: Path | None = None) -> Any:
    path = fixture_path(name, override)
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise FixtureError(f"{path}: fixture file not found") from error
    except yaml.YAMLError as error:
        raise FixtureError(f"{path}: not valid YAML: {error}") from error
