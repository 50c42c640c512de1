"""The hand-written part of a world: one YAML file per platform, packaged beside its code.

A user's `--fixtures DIR` holding a file of the same name (`kianda.yaml`, `barium.yaml`,
`altinn.yaml`) replaces the packaged one. Each platform declares its file as a `FixtureFile`, with
the JSON Schema it is checked against, so a bad fixture stops start-up naming the file, the path
inside it and the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from instancemock.settings import yaml_problem

# libyaml's parser where PyYAML was built with it: the same documents, several times faster to read
# (the fixtures are read at every start-up).
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class FixtureError(ValueError):
    """A fixture that cannot be used; the message names the file, the path inside it and why."""


@dataclass(frozen=True, slots=True)
class FixtureFile:
    name: str  # a user's replacement is <name>.yaml in their --fixtures directory
    packaged: Path
    schema: Path | None = None

    @property
    def file_name(self) -> str:
        return f"{self.name}.yaml"

    def path(self, override: Path | None = None) -> Path:
        """The user's file where there is one, else the packaged one."""
        if override is not None and (override / self.file_name).is_file():
            return override / self.file_name
        return self.packaged

    def load(self, override: Path | None = None) -> Any:
        """The fixture's data, checked against its schema."""
        path = self.path(override)
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=YAML_LOADER)
        except FileNotFoundError as error:
            raise FixtureError(f"{path}: fixture file not found") from error
        except yaml.YAMLError as error:
            raise FixtureError(yaml_problem(path, error)) from None
        problems = self.check(data)
        if problems:
            raise FixtureError(f"{path}: " + "; ".join(problems))
        return data

    def check(self, data: Any) -> list[str]:
        """Every problem as '<path inside the file>: <reason>', e.g. 'processes/2/fields/0/type: ...'."""
        if self.schema is None:
            return []
        validator = _validator(self.schema)
        errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
        return [f"{'/'.join(map(str, e.absolute_path)) or '(top level)'}: {e.message}" for e in errors[:20]]


@cache
def _validator(schema_file: Path) -> Draft202012Validator:
    schema = yaml.load(schema_file.read_text(encoding="utf-8"), Loader=YAML_LOADER)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
