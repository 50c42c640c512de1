"""Altinn's simulated users: an instance owner finishes the current task, so the process moves on.

The move is app-lib's `process/next` (`altinn.process.advance`): the task's data is locked, the
next task starts, and leaving the last one ends the process, which Storage records as archiving;
`lastChanged(By)` and the process history follow, as for a client. Soft- or hard-deleted
instances and ended processes stay as they are.

[I] Forms a later task would auto-create (`appLogic.autoCreate`) are not created by the
simulation; no shipped app has one (they all belong to Task_1, which no move enters).
"""

from __future__ import annotations

from instancemock.platforms.altinn.domain import process
from instancemock.platforms.altinn.domain.instances import INSTANCES, guid_of, party_of, touch
from instancemock.platforms.altinn.domain.world import World, world_for
from instancemock.world.simulate import Action, SimulationContext
from instancemock.world.store import Document


def _moving(world: World, doc: Document) -> bool:
    current = (doc.get("process") or {}).get("currentTask") or {}
    status = doc.get("status") or {}
    app = world.app(str(doc.get("appId", "")))
    return (
        app is not None
        and not (doc.get("process") or {}).get("ended")
        and app.task(str(current.get("elementId"))) is not None
        and not status.get("isSoftDeleted")
        and not status.get("isHardDeleted")
        and not status.get("isArchived")
    )


def _actor(world: World, doc: Document) -> str:
    """The owner's own user, else a user the owner delegated to; an organisation acts as itself."""
    party = int(party_of(doc))
    own = world.user_by_party(party)
    if own is not None:
        return str(own.user_id)
    delegated = sorted(user for user, parties in world.delegations.items() if party in parties)
    return str(delegated[0]) if delegated else str(doc.get("createdBy") or "")


async def advance(turn: SimulationContext) -> Action | None:
    world = world_for(turn.state.settings)
    stored = sorted(await turn.store.list(INSTANCES), key=lambda s: guid_of(s.doc))
    candidates = [s for s in stored if _moving(world, s.doc)]
    if not candidates:
        return None
    chosen = turn.rng.choice(candidates)
    doc = chosen.doc
    app = world.app(str(doc["appId"]))
    assert app is not None  # _moving checked it
    actor = _actor(world, doc)
    moved, events, entered = process.advance(app, doc, turn.now, actor)
    touch(moved, turn.now, actor)
    guid = guid_of(moved)
    await turn.store.put(INSTANCES, guid, moved, expect=chosen.version)
    recorded = await turn.store.get(process.EVENTS, guid)
    history = list(recorded.doc["events"]) if recorded else process.derived_history(doc, app)
    await turn.store.put(process.EVENTS, guid, {"events": history + events})
    to = f"moved on to {entered.name or entered.element_id}" if entered is not None else "ended it (archived)"
    return Action("nextProcessStep", str(doc["id"]), f"{actor} finished {app.app_id}'s current task and {to}")
