"""Kianda's simulated users: whoever an instance is assigned to submits its current form.

The instance moves to the design's next form, or to `Completed` after the last one, through the
same change as a PATCH that sets `Status` (the next Version, `modified`, `modifiedBy`), and the
webhooks hear `updated`, as they would from a client.
"""

from __future__ import annotations

from instancemock.platforms.kianda import designs
from instancemock.platforms.kianda.instances import INSTANCES, key, revised
from instancemock.platforms.kianda.webhooks import notify
from instancemock.world.clock import iso
from instancemock.world.simulate import Action, SimulationContext
from instancemock.world.store import Document


def next_status(design: Document, status: str) -> str | None:
    """The form after `status`, or Completed after the last; None if `status` is no form of the design."""
    forms = [str(form) for form in design["forms"]]
    lowered = [form.lower() for form in forms]
    if status.lower() not in lowered:
        return None
    index = lowered.index(status.lower()) + 1
    return forms[index] if index < len(forms) else designs.COMPLETED


async def advance(turn: SimulationContext) -> Action | None:
    found = {str(s.doc["name"]).lower(): s.doc for s in await turn.store.list(designs.PROCESSES)}
    candidates = [
        s.doc
        for s in sorted(await turn.store.list(INSTANCES), key=lambda s: str(s.doc["id"]).lower())
        if (design := found.get(str(s.doc.get("processName", "")).lower())) is not None
        and next_status(design, str(s.doc.get("status", ""))) is not None
    ]
    if not candidates:
        return None
    chosen = turn.rng.choice(candidates)
    design = found[chosen["processName"].lower()]
    status = next_status(design, chosen["status"])
    user = chosen.get("assignTo") or chosen["createdBy"]
    now = iso(turn.now.replace(microsecond=0))

    moved: list[bool] = []

    def apply(doc: Document) -> Document | None:  # unless a client moved it meanwhile
        if doc["status"] != chosen["status"]:
            return None
        moved.append(True)
        return revised(doc, {}, status, user, now, "", replace=False)

    saved = await turn.store.update(INSTANCES, key(chosen["id"]), apply)
    if saved is None or not moved:
        return None
    notify(turn.state, saved.doc["id"], design["name"], "updated")
    return Action("patchInstance", saved.doc["id"], f"{user} moved {saved.doc['id']} to {status}")
