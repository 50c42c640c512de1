"""Storage's own changes to an instance, shared by both Altinn APIs.

The App API forwards delete, complete and substatus to Storage, so both must change the stored
instance the same way; each function takes a copy (`instances.mutable`) and changes it in place.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from instancemock.platforms.altinn.domain.instances import is_confirmed_by, touch
from instancemock.world.clock import iso
from instancemock.world.store import Document


def deletion_prevented(doc: Document, days: int | None, now: datetime) -> bool:
    """`preventInstanceDeletionForDays`: an archived instance is kept that many days."""
    status = doc.get("status") or {}
    archived = status.get("archived")
    if days is None or not archived or not status.get("isArchived"):
        return False
    return datetime.fromisoformat(str(archived)) + timedelta(days=days) > now


def mark_deleted(doc: Document, hard: bool, now: datetime, by: str) -> Document:
    """Soft delete refreshes `softDeleted`; hard delete keeps an earlier one."""
    status = doc["status"]
    status["isSoftDeleted"] = True
    if hard:
        status["isHardDeleted"] = True
        status["hardDeleted"] = iso(now)
        status.setdefault("softDeleted", iso(now))
    else:
        status["softDeleted"] = iso(now)
    return touch(doc, now, by)


def confirm_complete(doc: Document, stakeholder: str, now: datetime, by: str) -> bool:
    """Adds the stakeholder's confirmation; False (and no change) when it is already there."""
    if is_confirmed_by(doc, stakeholder):
        return False
    doc.setdefault("completeConfirmations", []).append({"stakeholderId": stakeholder, "confirmedOn": iso(now)})
    touch(doc, now, by)
    return True


def substatus_problem(body: object) -> str | None:
    """Storage's and app-lib's 400 message for a substatus without a label; None when it has one."""
    if isinstance(body, dict) and body.get("label"):
        return None
    shown = (
        json.dumps(
            {"label": body.get("label"), "description": body.get("description")},
            ensure_ascii=False,
            separators=(",", ":"),
        )
        if isinstance(body, dict)
        else "null"
    )
    return f"Invalid sub status: {shown}. Substatus must be defined and include a label."


def apply_substatus(doc: Document, body: dict[str, Any], now: datetime, by: str) -> Document:
    """The body's label and description as the instance's whole new substatus."""
    description = body.get("description")
    return set_substatus(doc, str(body["label"]), str(description) if description is not None else None, now, by)


def set_substatus(doc: Document, label: str, description: str | None, now: datetime, by: str) -> Document:
    """Replaces the whole substatus: a missing description is gone afterwards."""
    substatus = {"label": label}
    if description is not None:
        substatus["description"] = description
    doc["status"]["substatus"] = substatus
    return touch(doc, now, by)
