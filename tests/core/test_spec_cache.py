"""The parsed-spec cache (core/document.py `read_spec`): the same spec as parsing the YAML gives,
parsed again when the text changes, and passed over when it cannot be read or written."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from instancemock.core import document
from instancemock.core.document import SAFE_LOADER
from instancemock.core.spec import SPEC_DIR

read = document.read_spec.__wrapped__  # past the per-process memo, to the file and its cache


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "instancemock"


@pytest.mark.parametrize("name", sorted(p.name for p in SPEC_DIR.glob("*.yaml")))
def test_a_cached_spec_is_the_parsed_spec(cache_dir: Path, name: str) -> None:
    path = SPEC_DIR / name
    parsed = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    assert read(path) == parsed  # parsed, and kept
    [kept] = (cache_dir / "specs").iterdir()
    assert read(path) == parsed  # from the cache
    kept.write_bytes(b"\x00cut short")
    assert read(path) == parsed  # a broken cache file is passed over, and written again
    assert document._cached_spec(path.read_bytes()) == parsed


def test_an_edited_spec_is_parsed_again(cache_dir: Path, tmp_path: Path) -> None:
    spec = tmp_path / "toy.yaml"
    spec.write_text("openapi: 3.1.0\ninfo: {title: one, version: '1'}\npaths: {}\n", encoding="utf-8")
    assert read(spec)["info"]["title"] == "one"
    spec.write_text("openapi: 3.1.0\ninfo: {title: two, version: '1'}\npaths: {}\n", encoding="utf-8")
    assert read(spec)["info"]["title"] == "two"
    assert len(list((cache_dir / "specs").iterdir())) == 2


def test_without_a_writable_cache_the_spec_is_parsed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    path = SPEC_DIR / "kianda.yaml"
    assert read(path) == yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)


def test_a_spec_marshal_cannot_hold_is_not_cached(cache_dir: Path, tmp_path: Path) -> None:
    spec = tmp_path / "dated.yaml"
    spec.write_text("openapi: 3.1.0\ninfo: {title: t, version: '1'}\nx-released: 2026-01-01\npaths: {}\n")
    assert str(read(spec)["x-released"]) == "2026-01-01"  # a date: YAML's, not marshal's
    assert not (cache_dir / "specs").exists() or not list((cache_dir / "specs").glob("*.marshal"))
