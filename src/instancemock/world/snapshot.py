"""The whole state as one JSON document: export, validated import, and an atomic state file.

The document holds every sandbox's worlds (instances, tokens aside: those are short-lived and
shared). Import checks the whole document before it touches anything, so a bad document changes
nothing; the state file is written to a temporary file, fsynced and renamed, so a crash in the
middle of a save leaves the previous file intact.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from instancemock.world.clock import iso
from instancemock.world.state import State
from instancemock.world.store import MemoryStore, Store

log = logging.getLogger("instancemock.state")

FORMAT = "instancemock-state/1"

SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["format", "sandboxes"],
    "properties": {
        "format": {"const": FORMAT},
        "seed": {"type": "integer"},
        "now": {"type": "string"},
        "sandboxes": {
            "type": "object",
            "propertyNames": {"pattern": "^[A-Za-z0-9._-]{1,64}$"},
            "additionalProperties": {  # sandbox -> platform -> collection -> key -> document
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "object",
                        "additionalProperties": {"type": "object"},
                    },
                },
            },
        },
    },
}
_VALIDATOR = Draft202012Validator(SCHEMA)


class StateError(ValueError):
    """A state document or file that cannot be used; the message says where and why."""


def export_state(state: State) -> dict[str, Any]:
    sandboxes: dict[str, Any] = {}
    for sandbox in state.sandboxes():
        worlds = {platform: state.store(sandbox, platform).dump() for platform in state.platforms()}
        sandboxes[sandbox] = worlds
    return {
        "format": FORMAT,
        "seed": state.settings.seed,
        "now": iso(state.clock.start),
        "sandboxes": sandboxes,
    }


def check_document(document: Any) -> list[str]:
    problems = []
    for error in sorted(_VALIDATOR.iter_errors(document), key=lambda e: list(map(str, e.absolute_path))):
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        problems.append(f"{where}: {error.message}")
    return problems


def import_state(state: State, document: Any) -> None:
    """Replace every sandbox with the document's; raise StateError (changing nothing) if it is bad."""
    problems = check_document(document)
    if not problems:
        allowed = set(state.platforms())
        problems = [
            f"sandboxes/{sandbox}/{platform}: no API uses this platform (known: {', '.join(sorted(allowed))})"
            for sandbox, worlds in document["sandboxes"].items()
            for platform in worlds
            if platform not in allowed
        ]
    if problems:
        raise StateError("; ".join(problems[:20]))
    worlds: dict[str, dict[str, Store]] = {
        sandbox: {platform: MemoryStore(data) for platform, data in platforms.items()}
        for sandbox, platforms in document["sandboxes"].items()
    }
    state.replace_worlds(worlds)


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


async def save_file_async(state: State, path: Path) -> None:
    """Snapshot on the event loop (documents are never mutated in place), write in a thread."""
    document = export_state(state)
    data = await asyncio.to_thread(lambda: json.dumps(document, ensure_ascii=False).encode())
    await asyncio.to_thread(write_atomically, path, data)


def load_file(state: State, path: Path) -> bool:
    """Load the state file if it exists; a corrupt one stops start-up instead of starting empty."""
    if not path.exists():
        return False
    try:
        document = json.loads(path.read_bytes())
    except (ValueError, RecursionError) as error:
        raise StateError(f"{path}: not a valid state file ({error}); move it away to start from the seed") from error
    try:
        import_state(state, document)
    except StateError as error:
        raise StateError(f"{path}: {error}") from error
    return True


async def save_periodically(state: State, path: Path, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            await save_file_async(state, path)
        except OSError:
            log.exception("could not save the state file %s", path)
