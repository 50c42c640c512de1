"""Altinn's recorder for proxy mode's `--record` (world/recording.py): answers -> stored instances.

Both APIs answer with the one instance document the `altinn` world keeps (domain/instances.py),
in two wire forms: Storage's (serialize.py: nulls left out, `readStatus` a name) and the App
API's (app_view.py: every member, nulls included, `readStatus` a number, the owner's register
party inside `instanceOwner`). Each is brought back to the stored form; self links are left out
(the mock makes them from the address the client used). Personal numbers are replaced by the
recording itself (world/redact.py), before anything is kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from instancemock.platforms.altinn.domain.instances import READ_STATUSES
from instancemock.world.recording import Change, Exchange, Put
from instancemock.world.store import Document

# Operations (of either API) that answer with instances; a deleted one is answered too, and kept
# as answered (Storage keeps soft- and hard-deleted instances, flagged).
INSTANCE_OPERATIONS = frozenset(
    {
        "queryInstances", "getInstance", "getInstanceByGuid", "createInstance", "createInstanceSimplified",
        "deleteInstance", "completeInstance", "updateReadStatus", "updateSubstatus", "updatePresentationTexts",
        "updateDataValues",
    }
)  # fmt: skip


def _stored(view: Document) -> Document:
    """Either wire form -> the stored form: no nulls, no self links, `readStatus` by name."""
    doc = _without_nulls({k: v for k, v in view.items() if k != "selfLinks"})
    owner = doc.get("instanceOwner")
    if isinstance(owner, dict):
        doc["instanceOwner"] = {k: v for k, v in owner.items() if k != "party"}
        if "partyId" in doc["instanceOwner"]:
            doc["instanceOwner"]["partyId"] = str(doc["instanceOwner"]["partyId"])
    status = doc.get("status")
    if isinstance(status, dict) and isinstance(status.get("readStatus"), int):
        index = status["readStatus"]
        status["readStatus"] = READ_STATUSES[index] if 0 <= index < len(READ_STATUSES) else READ_STATUSES[0]
    doc["data"] = [
        {k: v for k, v in element.items() if k != "selfLinks"}
        for element in doc.get("data") or []
        if isinstance(element, dict)
    ]
    return doc


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _instances(answer: Any) -> list[Document]:
    if isinstance(answer, dict) and isinstance(answer.get("instances"), list):
        return [i for i in answer["instances"] if isinstance(i, dict)]
    return [answer] if isinstance(answer, dict) else []


def _guid(instance_id: Any) -> str | None:
    text = str(instance_id or "")
    return text.split("/", 1)[1].lower() if "/" in text else None


def record(exchange: Exchange) -> Iterator[Change]:
    """What one answered Storage or App API exchange tells about the instances; tokens tell nothing."""
    if exchange.operation not in INSTANCE_OPERATIONS:
        return
    for view in _instances(exchange.response):
        guid = _guid(view.get("id"))
        if guid is not None and isinstance(view.get("instanceOwner"), dict):
            yield Put("instances", guid, _stored(view))
