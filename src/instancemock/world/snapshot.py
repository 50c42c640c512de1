"""The whole state as one JSON document: export, checked import, and the JSON state file.

The document holds every sandbox's worlds (instances, tokens aside: those are short-lived and
shared). Import checks the whole document before it touches anything, so a bad document changes
nothing. Large documents are encoded, parsed, checked and turned into stores in a thread: the
event loop only swaps the worlds in (ARCHITECTURE.md, "Limits").

`--state-file state.json` keeps this document as the state file: loaded at start-up, saved every
`state_save_seconds` and on a clean exit, each save written to a temporary file, fsynced and
renamed, so a crash in the middle of a save leaves the previous file intact (temporary files a
kill -9 left behind are removed at the next start). Any other name is a SQLite database
(world/sqlite_store.py), which loses no acknowledged write at all.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from instancemock.world import text
from instancemock.world.clock import iso
from instancemock.world.state import State
from instancemock.world.store import MemoryStore
from instancemock.world.text import find_lone_surrogate, not_json

log = logging.getLogger("instancemock.state")

FORMAT = "instancemock-state/1"
SANDBOX_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
MAX_PROBLEMS = 20


class StateError(ValueError):
    """A state document or file that cannot be used; the message says where and why."""


def is_json_file(path: Path) -> bool:
    """`--state-file x.json` is the JSON state file of old; any other name is a SQLite database."""
    return path.suffix.lower() == ".json"


async def export_state(state: State) -> dict[str, Any]:
    sandboxes: dict[str, Any] = {}
    names = state.sandboxes()
    names += [name for name in await state.persistence.sandboxes() if name not in names]  # other replicas'
    for sandbox in names:
        worlds: dict[str, Any] = {}
        for platform in state.platforms():
            worlds[platform] = await state.store(sandbox, platform).dump()
            await asyncio.sleep(0)  # a turn for the loop between worlds: copies are cheap, not free
        sandboxes[sandbox] = worlds
    return {
        "format": FORMAT,
        "seed": state.settings.seed,
        "now": iso(state.clock.start),
        "sandboxes": sandboxes,
    }


DOCUMENT_DEPTH = 4  # sandboxes -> sandbox -> platform -> collection -> key: a stored document
_WHITESPACE = re.compile(r"[ \t\n\r]*")


def encode(document: Any) -> bytes:
    """The document as UTF-8 JSON (see `encoded`)."""
    return b"".join(encoded(document))


def encoded(document: Any) -> Iterator[bytes]:
    """The document as UTF-8 JSON in pieces of about `text.STEP` bytes.

    `json.dumps` of a 12 MB export holds the interpreter lock for its whole run, in a worker thread
    too, and the event loop stalls meanwhile; here each stored document is one C-encoder call, and
    the loop gets its turn between them. A document whose text cannot be UTF-8 (a lone surrogate
    from an old file) is written with escapes.
    """
    batch: list[bytes] = []
    size = 0
    for piece in _pieces(document):
        batch.append(piece)
        size += len(piece)
        if size >= text.STEP:
            yield b"".join(batch)
            batch, size = [], 0
    yield b"".join(batch)


_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_ENCODE_ASCII = json.JSONEncoder(separators=(",", ":")).encode


def _one(value: Any) -> bytes:
    try:
        return _ENCODE(value).encode()
    except UnicodeEncodeError:
        return _ENCODE_ASCII(value).encode()


def _pieces(document: Any) -> Iterator[bytes]:
    if not isinstance(document, dict):
        yield _one(document)
        return
    yield b"{"
    for index, (key, item) in enumerate(document.items()):
        yield (b"," if index else b"") + _one(key) + b":"
        yield from _nested(item, DOCUMENT_DEPTH) if key == "sandboxes" else (_one(item),)
    yield b"}"


def _nested(value: Any, depth: int) -> Iterator[bytes]:
    """`value` as JSON, its objects walked `depth` levels down, what is below them encoded whole."""
    if depth <= 0 or not isinstance(value, dict):
        yield _one(value)
        return
    yield b"{"
    for index, (key, item) in enumerate(value.items()):
        yield (b"," if index else b"") + _one(key) + b":"
        yield from _nested(item, depth - 1)
    yield b"}"


def parse(raw: bytes) -> Any:
    """The JSON document of `raw`, parsed one stored document at a time (`_Reader`)."""
    try:
        with text.collector_paused():
            return _Reader(text.decode(raw)).document()
    except (ValueError, RecursionError) as error:
        raise StateError(f"not a JSON document ({error})") from error


class _Reader:
    """Parses a state document one stored document at a time, for the reason `_encoded` gives.

    The structure down to the stored documents is walked here, and each document is one
    `raw_decode` call. A value not of that structure is decoded whole; the check reports it.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.decode = json.JSONDecoder(parse_constant=not_json).raw_decode

    def document(self) -> Any:
        position = self._skip(0)
        if self.text.startswith("{", position):
            found: dict[str, Any] = {}
            end = self._object(position, found, lambda key: DOCUMENT_DEPTH + 1 if key == "sandboxes" else 0)
            value: Any = found
        else:
            value, end = self.decode(self.text, position)
        if self._skip(end) != len(self.text):
            raise json.JSONDecodeError("Extra data", self.text, end)
        return value

    def _skip(self, position: int) -> int:
        found = _WHITESPACE.match(self.text, position)
        return found.end() if found else position

    def _value(self, position: int, depth: int) -> tuple[Any, int]:
        if depth > 0 and self.text.startswith("{", position):
            found: dict[str, Any] = {}
            return found, self._object(position, found, lambda _: depth - 1)
        value, end = self.decode(self.text, position)
        return value, end

    def _object(self, position: int, into: dict[str, Any], depth_of: Callable[[str], int]) -> int:
        """Parse the object at `position` into `into`; the position after it."""
        text = self.text
        position = self._skip(position + 1)
        if text.startswith("}", position):
            return position + 1
        while True:
            if not text.startswith('"', position):
                raise json.JSONDecodeError("Expecting property name enclosed in double quotes", text, position)
            key, position = json.decoder.scanstring(text, position + 1)  # type: ignore[attr-defined]
            position = self._skip(position)
            if not text.startswith(":", position):
                raise json.JSONDecodeError("Expecting ':' delimiter", text, position)
            into[key], position = self._value(self._skip(position + 1), depth_of(key))
            position = self._skip(position)
            if text.startswith("}", position):
                return position + 1
            if not text.startswith(",", position):
                raise json.JSONDecodeError("Expecting ',' delimiter", text, position)
            position = self._skip(position + 1)


def check_document(document: Any, platforms: list[str]) -> list[str]:
    """What is wrong with a state document (empty: nothing), each problem with where it is.

    The structure is that of `StateDocument` in openapi/admin.yaml; it is walked by hand because a
    server's own export has hundreds of thousands of documents, and a schema validator takes
    seconds over them where this takes milliseconds.
    """
    if not isinstance(document, dict):
        return ["(root): the state document must be a JSON object"]
    problems: list[str] = []
    if document.get("format") != FORMAT:
        problems.append(f"format: must be {FORMAT!r}, not {document.get('format')!r}")
    if "seed" in document and (not isinstance(document["seed"], int) or isinstance(document["seed"], bool)):
        problems.append("seed: must be an integer")
    if "now" in document and not isinstance(document["now"], str):
        problems.append("now: must be a string")
    sandboxes = document.get("sandboxes")
    if not isinstance(sandboxes, dict):
        return [*problems, "sandboxes: must be an object of sandbox -> platform -> collection -> key -> document"]
    known = set(platforms)
    for sandbox, worlds in sandboxes.items():
        if not SANDBOX_NAME.fullmatch(sandbox):
            problems.append(f"sandboxes/{sandbox}: a sandbox name is 1-64 of A-Z a-z 0-9 . _ -")
        if not isinstance(worlds, dict):
            problems.append(f"sandboxes/{sandbox}: must be an object of platform -> collections")
            continue
        for platform, collections in worlds.items():
            where = f"sandboxes/{sandbox}/{platform}"
            if platform not in known:
                problems.append(f"{where}: no API uses this platform (known: {', '.join(sorted(known))})")
            if not isinstance(collections, dict):
                problems.append(f"{where}: must be an object of collection -> key -> document")
                continue
            for collection, items in collections.items():
                if not isinstance(items, dict):
                    problems.append(f"{where}/{collection}: must be an object of key -> document")
                    continue
                problems += [
                    f"{where}/{collection}/{k}: a document must be an object"
                    for k, d in items.items()
                    if not isinstance(d, dict)
                ]
        if len(problems) >= MAX_PROBLEMS:
            break
    if not problems:
        found = find_lone_surrogate(sandboxes, "sandboxes")
        if found is not None:
            problems.append(str(found))
    return problems[:MAX_PROBLEMS]


def build_worlds(document: dict[str, Any]) -> dict[str, dict[str, MemoryStore]]:
    """One store per world of a checked document (pure: safe to run in a thread)."""
    return {
        sandbox: {platform: MemoryStore(data) for platform, data in worlds.items()}
        for sandbox, worlds in document["sandboxes"].items()
    }


def _checked_worlds(document: Any, platforms: list[str]) -> dict[str, dict[str, MemoryStore]]:
    problems = check_document(document, platforms)
    if problems:
        raise StateError("; ".join(problems))
    with text.collector_paused():
        return build_worlds(document)


async def import_state(state: State, document: Any) -> None:
    """Replace every sandbox with the document's, durably; raise StateError (changing nothing) if it is bad."""
    worlds = await asyncio.to_thread(_checked_worlds, document, state.platforms())
    state.replace_worlds(worlds)
    gc.freeze()  # the new worlds live long: no full collection should walk them (src/instancemock/server.py)
    await state.persistence.flush()


def load_file(state: State, path: Path) -> bool:
    """Load the JSON state file if it exists; a corrupt one stops start-up instead of starting empty."""
    clean_temporaries(path)
    if not path.exists():
        return False
    try:
        worlds = _checked_worlds(parse(path.read_bytes()), state.platforms())
    except StateError as error:
        raise StateError(f"{path}: not a valid state file ({error}); move it away to start from the seed") from error
    state.replace_worlds(worlds)
    return True


def _temporaries(path: Path) -> list[Path]:
    return list(path.parent.glob(f".{glob_escape(path.name)}.*.tmp")) if path.parent.is_dir() else []


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


def clean_temporaries(path: Path) -> None:
    """Remove the temporary files of saves that a crash interrupted (they are never complete)."""
    for leftover in _temporaries(path):
        try:
            leftover.unlink()
        except OSError as error:
            log.warning("could not remove %s, left by an interrupted save: %s", leftover, error)


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
    """Export on the loop (only dict copies there), encode and write in a thread."""
    document = await export_state(state)
    data = await asyncio.to_thread(encode, document)
    await asyncio.to_thread(write_atomically, path, data)


async def save_periodically(state: State, path: Path, every: float) -> None:
    """Save every `every` seconds until cancelled; a failed save is logged and the next one still runs."""
    while True:
        await asyncio.sleep(every)
        try:
            await save_file_async(state, path)
        except Exception:
            log.exception("could not save the state file %s; trying again in %s s", path, every)
