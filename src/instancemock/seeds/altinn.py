"""The `altinn` dataset: instances of the fixture apps in every state a client meets.

Deterministic for (seed, --now): one private Random, times derived from the seed instant, GUIDs
from the Random. Spread: active at each task, not started, archived, archived and confirmed by the
app owner, soft-deleted, hard-deleted; with data elements (some hard-deleted), substatus,
presentation texts, data values and due dates. A few instances share a `lastChanged` so paging
ties are exercised.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from typing import Any

from ..altinn.instances import INSTANCES, META, SEQUENCE_KEY
from ..altinn.world import App, Party, World, world_for
from ..clock import iso
from ..state import SeedContext
from ..store import Document

DEFAULT_COUNT = 240
STATES = (
    ("active", 40),
    ("unstarted", 4),
    ("archived", 24),
    ("confirmed", 14),
    ("softDeleted", 11),
    ("hardDeleted", 7),
)
SUBSTATUSES = (
    ("substatus.received", "Mottatt og under behandling"),
    ("substatus.approved", "Godkjent"),
    ("substatus.rejected", "Avslått"),
    ("substatus.waiting", None),
)
PARTY_KINDS = {"person": "person", "organisation": "organisation", "selfIdentified": "person"}


def seed_altinn(ctx: SeedContext) -> dict[str, dict[str, Document]]:
    world = world_for(ctx.settings)
    rng = ctx.random("instances")
    count = ctx.size("altinn-storage", DEFAULT_COUNT)
    apps = sorted(world.apps.values(), key=lambda a: a.app_id)
    instances: dict[str, Document] = {}
    previous: str | None = None
    for seq in range(1, count + 1):
        app = apps[(seq - 1) % len(apps)] if seq <= len(apps) else rng.choice(apps)
        doc = _instance(world, app, rng, ctx.now, seq)
        if previous is not None and rng.random() < 0.06 and previous >= doc["created"]:
            doc["lastChanged"] = previous  # a tie on lastChanged: paging must still be exact
        previous = doc["lastChanged"]
        instances[doc["id"].split("/")[1]] = doc
    return {INSTANCES: instances, META: {SEQUENCE_KEY: {"value": count}}}


def _owners(world: World, app: App) -> list[Party]:
    allowed = app.metadata.get("partyTypesAllowed") or {}
    wanted = {kind for kind, ok in allowed.items() if ok}
    found = []
    for party in world.parties.values():
        kinds = {"person"} if party.type == "person" else set()
        if party.type == "organisation":
            kinds = {"subUnit"} if party.unit_type == "BEDR" else {"organisation"}
        if party.type == "selfIdentified" and "person" in wanted and app.name == "melding":
            kinds = {"person"}
        if kinds & wanted:
            found.append(party)
    return sorted(found, key=lambda p: p.party_id)


def _actor(world: World, party: Party, rng: random.Random) -> str:
    """Who works on the owner's instances: the owner's user, or someone acting for the party."""
    own = world.user_by_party(party.party_id)
    if own is not None:
        return str(own.user_id)
    delegated = sorted(u for u, parties in world.delegations.items() if party.party_id in parties)
    return str(rng.choice(delegated)) if delegated else world.orgs[next(iter(world.orgs))].org_number


def _later(moment: datetime, now: datetime, rng: random.Random, share: float) -> datetime:
    """A moment after `moment` that takes at most `share` of the time left until `now`: never future."""
    return moment + (now - moment) * rng.uniform(share / 20, share)


def _at(moment: datetime, rng: random.Random) -> datetime:
    return moment.replace(microsecond=rng.randrange(1_000_000))


def _instance(world: World, app: App, rng: random.Random, now: datetime, seq: int) -> Document:
    guid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    owner = rng.choice(_owners(world, app))
    org_number = world.orgs[app.org].org_number
    actor = _actor(world, owner, rng)
    state = rng.choices([s for s, _ in STATES], weights=[w for _, w in STATES])[0]
    created = _at(now - timedelta(days=rng.uniform(2, 420)), rng)
    t = created
    doc: Document = {
        "id": f"{owner.party_id}/{guid}",
        "instanceOwner": owner.owner(),
        "appId": app.app_id,
        "org": app.org,
        "visibleAfter": iso(created),
        "status": {
            "isArchived": False,
            "isSoftDeleted": False,
            "isHardDeleted": False,
            "readStatus": rng.choices(["Read", "Unread", "UpdatedSinceLastReview"], weights=[6, 3, 1])[0],
        },
        "data": [],
        "created": iso(created),
        "createdBy": actor,
        "_seq": seq,
    }
    if rng.random() < 0.5:
        due = (created + timedelta(days=rng.choice([14, 30, 60, 90]))).replace(
            hour=21, minute=59, second=59, microsecond=0
        )
        doc["dueBefore"] = iso(due)
    last_by = actor
    if state != "unstarted":
        tasks = app.tasks
        archived = state in ("archived", "confirmed") or (state.endswith("Deleted") and rng.random() < 0.4)
        reached = len(tasks) if archived else rng.randrange(len(tasks))
        started = created + timedelta(milliseconds=rng.randrange(5, 400))
        process: dict[str, Any] = {"started": iso(started), "startEvent": "StartEvent_1"}
        t = started
        for _ in range(reached):
            t = _later(t, now, rng, 0.3)
        if archived:
            process["ended"] = iso(t)
            process["endEvent"] = "EndEvent_1"
            doc["status"]["isArchived"] = True
            doc["status"]["archived"] = iso(t)
        else:
            task = tasks[reached]
            process["currentTask"] = {
                "flow": reached + 2,
                "started": iso(t),
                "elementId": task.element_id,
                "name": task.name,
                "altinnTaskType": task.task_type,
                "flowType": "CompleteCurrentMoveToNext",
            }
        doc["process"] = process
        doc["data"] = _data_elements(app, guid, reached, created, t, actor, rng)
        if doc["data"]:
            t = max(t, max(datetime.fromisoformat(e["lastChanged"]) for e in doc["data"]))
    if state == "confirmed":
        t = _later(t, now, rng, 0.2)
        doc["completeConfirmations"] = [{"stakeholderId": app.org, "confirmedOn": iso(t)}]
        last_by = org_number
    if doc["status"]["isArchived"] and rng.random() < 0.5:
        label, description = rng.choice(SUBSTATUSES)
        doc["status"]["substatus"] = {"label": label, **({"description": description} if description else {})}
        t = _later(t, now, rng, 0.1)
        last_by = org_number
    if state in ("softDeleted", "hardDeleted"):
        t = _later(t, now, rng, 0.3)
        doc["status"]["isSoftDeleted"] = True
        doc["status"]["softDeleted"] = iso(t)
        last_by = actor
        if state == "hardDeleted":
            t = _later(t, now, rng, 0.2)
            doc["status"]["isHardDeleted"] = True
            doc["status"]["hardDeleted"] = iso(t)
    if rng.random() < 0.6:
        doc["presentationTexts"] = {"Tittel": f"{app.metadata.get('title', app.name)} {created.year}"} | (
            {"Navn": owner.name} if rng.random() < 0.7 else {}
        )
    if rng.random() < 0.4:
        doc["dataValues"] = {"caseNumber": f"{created.year}/{seq:04d}"}
    doc["lastChanged"] = iso(t)
    doc["lastChangedBy"] = last_by
    return doc


def _data_elements(
    app: App, guid: str, reached: int, created: datetime, until: datetime, actor: str, rng: random.Random
) -> list[Document]:
    """Form data and attachments of the tasks the instance has been through (or is at)."""
    done = {t.element_id for t in app.tasks[: reached + 1]}
    elements: list[Document] = []
    for data_type in app.data_types:
        if data_type.get("taskId") not in done:
            continue
        is_form = bool(data_type.get("appLogic"))
        count = 1 if is_form else rng.randint(0, min(2, int(data_type.get("maxCount") or 2)))
        types = data_type.get("allowedContentTypes") or ["application/octet-stream"]
        for _ in range(count):
            element_guid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            moment = _at(created + (until - created) * rng.random(), rng)
            content_type = types[0] if is_form else rng.choice(types)
            element: Document = {
                "id": element_guid,
                "instanceGuid": guid,
                "dataType": data_type["id"],
                "contentType": content_type,
                "blobStoragePath": f"{app.org}/{app.name}/{guid}/data/{element_guid}",
                "size": rng.randint(400, 250_000),
                "locked": reached > app.tasks.index(app.task(data_type["taskId"])),  # type: ignore[arg-type]
                "isRead": True,
                "tags": [],
                "fileScanResult": "NotApplicable" if is_form else "Clean",
                "created": iso(moment),
                "createdBy": actor,
                "lastChanged": iso(moment),
                "lastChangedBy": actor,
            }
            if not is_form:
                extension = content_type.rsplit("/", 1)[-1].replace("jpeg", "jpg")
                element["filename"] = f"{data_type['id']}-{rng.randint(1, 99)}.{extension}"
                if rng.random() < 0.12:
                    element["deleteStatus"] = {"isHardDeleted": True, "hardDeleted": iso(moment)}
            elements.append(element)
    return elements
