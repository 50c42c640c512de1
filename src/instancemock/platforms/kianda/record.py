"""Kianda's recorder for proxy mode's `--record` (world/recording.py): answers -> stored documents.

An instance document is the resource as `GET /api/instances/{name}` answers it plus private `_`
keys (instances.py), so an answer is stored nearly as is; a list's summaries lack `fields`, which a
later read of the instance fills in. Designs and scheduled tasks likewise; a task's `nextRun`,
`webhookUrl` and an `Expired` status are worked out on each read (tasks.py), so they are not kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from instancemock.world.recording import Change, Delete, Exchange, Put
from instancemock.world.store import Document

TASK_COMPUTED = ("nextRun", "webhookUrl")


def _key(value: Any) -> str:
    return str(value).strip().lower()


def _listed(answer: Any) -> list[Document]:
    items = answer if isinstance(answer, list) else [answer]
    return [item for item in items if isinstance(item, dict)]


def record(exchange: Exchange) -> Iterator[Change]:
    """What one answered Kianda exchange tells about the world; tokens and failures tell nothing."""
    operation, path, answer = exchange.operation, exchange.path, exchange.response
    if operation in ("listInstances", "getInstance"):
        for item in _listed(answer):
            if item.get("id"):
                yield Put("instances", _key(item["id"]), item, {"fields": [], "_triggerField": ""})
    elif operation in ("updateInstance", "patchInstance") and isinstance(answer, dict):
        if _key(path["name"]) in exchange.recorded("instances") and answer.get("Version"):
            yield Put("instances", _key(path["name"]), {"Version": str(answer["Version"])})
    elif operation == "deleteInstance":
        yield Delete("instances", _key(path["name"]))
    elif operation in ("listProcesses", "getProcess"):
        for item in _listed(answer):
            if item.get("name"):
                yield Put("processes", _key(item["name"]), item, {"fields": []})
    elif operation in ("listTasks", "getTask", "createTask", "updateTask"):
        for item in _listed(answer):
            if item.get("id"):
                task = {k: v for k, v in item.items() if k not in TASK_COMPUTED}
                if task.get("status") == "Expired":
                    task.pop("status")  # worked out from the schedule on each read
                yield Put("tasks", str(item["id"]), task, {"status": "Expired", "_runs": 0})
    elif operation == "deleteTask":
        yield Delete("tasks", str(path["id"]))
