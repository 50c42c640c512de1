"""`--record DIR`: what passed through the proxy, kept as a world the mock can serve later.

The proxy hands each answered exchange to the owning API's recorder (`ApiPlugin.recorder`, written
by the platform, which alone knows how its answers map onto its stored documents); the recorder
returns changes (`Put`, `Delete`) and this module applies them to a world per sandbox and platform,
redacted (world/redact.py) before anything is kept. The result is written as a state document
(`DIR/state.json`, the format of world/snapshot.py), so

    instancemock serve --state-file DIR/state.json

serves the recorded instances, tasks and objects statefully: reads answer as the real service
did, and writes change them, as with any world. Platforms the session did not touch are seeded
as usual.

A `Put` merges: `fields` (what the answer showed) over what was recorded before over `defaults`
(what the mock needs that the answer does not show), so a list's summary and a later detail of
the same instance end up as one document holding both.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from instancemock.settings import Settings
from instancemock.world.redact import Redactor
from instancemock.world.snapshot import FORMAT, check_document, write_atomically
from instancemock.world.store import Document

STATE_FILE = "state.json"
DRIFT_FILE = "drift.json"


@dataclass(frozen=True, slots=True)
class Put:
    collection: str
    key: str
    fields: Document
    defaults: Document = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Delete:
    collection: str
    key: str


Change = Put | Delete


@dataclass(frozen=True, slots=True)
class Exchange:
    """One answered request, as a recorder sees it: parsed, and the world recorded so far."""

    operation: str  # the spec's operationId (only successful exchanges, 2xx, are handed to recorders)
    method: str
    path: Mapping[str, str]  # path parameters by their spec name
    query: Mapping[str, list[str]]
    request: Any  # the request body: parsed JSON, form pairs (list of tuples), or None
    status: int
    response: Any  # the answer's parsed JSON body, or None
    settings: Settings
    recorded: Callable[[str], Mapping[str, Document]]  # a collection as recorded so far, by key


Recorder = Callable[[Exchange], Iterable[Change]]


class Recording:
    """Recorded worlds: sandbox -> platform -> collection -> key -> document, already redacted."""

    def __init__(self, directory: Path, redactor: Redactor, seed: int, now: str) -> None:
        self.directory = directory
        self.redactor = redactor
        self.seed = seed
        self.now = now
        self.worlds: dict[str, dict[str, dict[str, dict[str, Document]]]] = {}
        self.dirty = False
        self._lock = threading.Lock()  # saving runs in a thread; it must see whole changes

    def resume(self, platforms: list[str]) -> bool:
        """Carry on from `DIR/state.json` if a session left one there: recording twice never loses the first.

        The directory is created (and written to once) now, so a path that cannot hold the recording
        stops start-up instead of losing the session at its end; a file that is not a state document
        stops it too, rather than being overwritten."""
        path = self.directory / STATE_FILE
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                self.save()
                return False
            document = json.loads(path.read_bytes())
        except (OSError, ValueError) as error:
            raise ValueError(f"record: {path}: {error}") from None
        problems = check_document(document, platforms)
        if problems:
            raise ValueError(f"record: {path} is not a state document ({'; '.join(problems[:3])}); move it away")
        with self._lock:
            self.worlds = document["sandboxes"]
        return True

    def lookup(self, sandbox: str, platform: str) -> Callable[[str], Mapping[str, Document]]:
        def collection(name: str) -> Mapping[str, Document]:
            return self.worlds.get(sandbox, {}).get(platform, {}).get(name, {})

        return collection

    def apply(self, sandbox: str, platform: str, changes: Iterable[Change]) -> int:
        """Apply a recorder's changes; returns how many there were."""
        applied = 0
        with self._lock:
            world = self.worlds.setdefault(sandbox, {}).setdefault(platform, {})
            for change in changes:
                items = world.setdefault(change.collection, {})
                key = self.redactor.text(change.key)
                if isinstance(change, Delete):
                    items.pop(key, None)
                else:
                    fields = self.redactor.document(change.fields)
                    defaults = self.redactor.document(change.defaults)
                    items[key] = {**defaults, **items.get(key, {}), **fields}
                applied += 1
            self.dirty = self.dirty or applied > 0
        return applied

    def document(self) -> dict[str, Any]:
        with self._lock:
            sandboxes = {
                sandbox: {
                    platform: {name: dict(items) for name, items in world.items() if items}
                    for platform, world in platforms.items()
                }
                for sandbox, platforms in self.worlds.items()
            }
            self.dirty = False
        return {"format": FORMAT, "seed": self.seed, "now": self.now, "sandboxes": sandboxes}

    def save(self, drift: Mapping[str, Any] | None = None) -> None:
        """Write `state.json` (and the drift report beside it) atomically; a crash keeps the last good file."""
        data = json.dumps(self.document(), ensure_ascii=False, indent=1).encode()
        write_atomically(self.directory / STATE_FILE, data)
        if drift is not None:
            text = json.dumps(drift, ensure_ascii=False, indent=1).encode()
            write_atomically(self.directory / DRIFT_FILE, text)
