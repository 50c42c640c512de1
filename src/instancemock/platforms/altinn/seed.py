"""The `altinn` world: instances of the fixture apps in every state a client meets.

Deterministic for (seed, --now): one private Random, times derived from the seed instant, GUIDs
from the Random. Spread: active at each task, not started, archived, archived and confirmed by the
app owner, soft-deleted, hard-deleted; with data elements (some hard-deleted), substatus,
presentation texts, data values and due dates. A few instances share a `lastChanged` so paging
ties are exercised.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from instancemock.platforms.altinn.domain.instances import INSTANCES, META, SEQUENCE_KEY
from instancemock.platforms.altinn.domain.world import App, Party, World, world_for
from instancemock.world import replica
from instancemock.world.clock import iso
from instancemock.world.draw import Weighted, between, one_of
from instancemock.world.draw import guid as draw_guid
from instancemock.world.state import SeedContext
from instancemock.world.store import Document

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
STATE = Weighted([s for s, _ in STATES], [w for _, w in STATES])
READ_STATUS = Weighted(["Read", "Unread", "UpdatedSinceLastReview"], [6, 3, 1])
PARTY_KINDS = {"person": "person", "organisation": "organisation", "selfIdentified": "person"}


def seed_altinn(ctx: SeedContext) -> dict[str, dict[str, Document]]:
    count = ctx.size("altinn-storage", DEFAULT_COUNT)
    if count >= replica.LARGE:
        return _large(ctx, count)
    return _seed(ctx, count)


# from this size its world holds `Lazy` documents (world/replica.py): seeded in the server's process, never forked
seed_altinn.lazy_from = replica.LARGE  # type: ignore[attr-defined]


def _large(ctx: SeedContext, count: int) -> dict[str, dict[str, Document]]:
    """A large world: `replica.SAMPLE` instances seeded as below, the others copies of them
    (world/replica.py) with `_seq` (and the case number that shows it) in the order they were
    created, each made when first read (the query's index files them before: domain/index.py)."""
    drawn, plan = _drawn(ctx, count)
    return _assemble(drawn, plan)


def prepare_altinn(ctx: SeedContext) -> Any:
    """What a large world is made of, as data (a forked process draws it: world/seeding.py);
    None for a world of the usual kind."""
    count = ctx.size("altinn-storage", DEFAULT_COUNT)
    return _drawn(ctx, count)[0] if count >= replica.LARGE else None


def assemble_altinn(ctx: SeedContext, drawn: Any) -> dict[str, dict[str, Document]]:
    """The large world `prepare_altinn` drew, made here (its copies exist only in this process)."""
    return _assemble(drawn, replica.rebuild(_shapes(drawn["sample"], drawn["born"]), drawn["plan"]))


def _shapes(sample: dict[str, dict[str, Document]], born: list[list[str]] | None = None) -> list[replica.Shape]:
    return replica.shapes([[(INSTANCES, doc)] for doc in sample[INSTANCES].values()], born=born)


def _drawn(ctx: SeedContext, count: int) -> tuple[dict[str, Any], list[replica.Copy]]:
    """The sample seeded, the copies planned and numbered: everything random about a large world."""
    sample = _seed(ctx, replica.SAMPLE)
    shaped = _shapes(sample)
    starts = [datetime.fromisoformat(shape.samples[0]["created"]) for shape in shaped]
    rng = ctx.random("copies")
    seqs = iter(range(1, count + 1))

    def number(copy: replica.Copy) -> int:
        return next(seqs)

    plan = replica.copies(shaped, starts, count, rng)
    replica.draw(plan, rng, number)
    keys = replica.keys(plan, _key)
    born = [shape.born for shape in shaped]
    return {"sample": sample, "plan": replica.compact(shaped, plan), "count": count, "keys": keys, "born": born}, plan


def _assemble(drawn: dict[str, Any], plan: list[replica.Copy]) -> dict[str, dict[str, Document]]:
    def finish(collection: str, doc: Document, copy: replica.Copy) -> None:
        doc["_seq"] = seq = copy.extra
        if "dataValues" in doc:
            doc["dataValues"] = {"caseNumber": f"{doc['created'][:4]}/{seq:04d}"}

    out: dict[str, dict[str, Any]] = {INSTANCES: {}}
    replica.place(plan, out, _key, finish, lazy=True, formatted=drawn["keys"])
    return {INSTANCES: out[INSTANCES], META: {SEQUENCE_KEY: {"value": drawn["count"]}}}


# a large world is drawn in a forked process meanwhile where it can be (world/state.py)
seed_altinn.prepare = prepare_altinn  # type: ignore[attr-defined]
seed_altinn.assemble = assemble_altinn  # type: ignore[attr-defined]


def _key(collection: str, doc: Document) -> str:
    return str(doc["id"]).split("/")[1]


def _seed(ctx: SeedContext, count: int) -> dict[str, dict[str, Document]]:
    world = world_for(ctx.settings)
    rng = ctx.random("instances")
    apps = [_App(world, app) for app in sorted(world.apps.values(), key=lambda a: a.app_id)]
    instances: dict[str, Document] = {}
    previous: str | None = None
    for seq in range(1, count + 1):
        app = apps[seq - 1] if seq <= len(apps) else one_of(rng, apps)
        doc = _instance(app, rng, ctx.now, seq)
        if previous is not None and rng.random() < 0.06 and previous >= doc["created"]:
            doc["lastChanged"] = previous  # a tie on lastChanged: paging must still be exact
        previous = doc["lastChanged"]
        instances[doc["id"].split("/")[1]] = doc
    return {INSTANCES: instances, META: {SEQUENCE_KEY: {"value": count}}}


class _App:
    """An app with what its instances draw from, worked out once: owners, who acts for each, data types."""

    def __init__(self, world: World, app: App) -> None:
        self.app = app
        # Each owner with its `instanceOwner` (one object for all its instances: documents are
        # never changed in place) and who acts for it.
        self.owners = [(party, party.owner(), _actors(world, party)) for party in _owners(world, app)]
        self.texts: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}
        self.org_number = world.orgs[app.org].org_number
        self.title = f"{app.metadata.get('title', app.name)}"
        task_index = {task.element_id: index for index, task in enumerate(app.tasks)}
        self.data_types = [
            _DataType(data_type, task_index[data_type["taskId"]])
            for data_type in app.data_types
            if data_type.get("taskId") in task_index
        ]


class _DataType:
    __slots__ = ("content_types", "id", "is_form", "max_count", "task")

    def __init__(self, data_type: dict[str, Any], task: int) -> None:
        self.id = str(data_type["id"])
        self.task = task
        self.is_form = bool(data_type.get("appLogic"))
        self.max_count = min(2, int(data_type.get("maxCount") or 2))
        self.content_types: list[str] = data_type.get("allowedContentTypes") or ["application/octet-stream"]


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


def _actors(world: World, party: Party) -> list[str]:
    """Who may work on the owner's instances: the owner's user, or those acting for the party."""
    own = world.user_by_party(party.party_id)
    if own is not None:
        return [str(own.user_id)]
    delegated = sorted(u for u, parties in world.delegations.items() if party.party_id in parties)
    return [str(u) for u in delegated] or [world.orgs[next(iter(world.orgs))].org_number]


def _later(moment: datetime, now: datetime, rng: random.Random, share: float) -> datetime:
    """A moment after `moment` that takes at most `share` of the time left until `now`: never future."""
    return moment + (now - moment) * rng.uniform(share / 20, share)


def _at(moment: datetime, rng: random.Random) -> datetime:
    return moment.replace(microsecond=int(rng.random() * 1_000_000))


def _instance(compiled: _App, rng: random.Random, now: datetime, seq: int) -> Document:
    app = compiled.app
    guid = draw_guid(rng)
    owner, instance_owner, actors = one_of(rng, compiled.owners)
    org_number = compiled.org_number
    actor = actors[0] if len(actors) == 1 else one_of(rng, actors)
    state = STATE.draw(rng)
    created = _at(now - timedelta(days=rng.uniform(2, 420)), rng)
    created_text = iso(created)
    t = created
    doc: Document = {
        "id": f"{owner.party_id}/{guid}",
        "instanceOwner": instance_owner,
        "appId": app.app_id,
        "org": app.org,
        "visibleAfter": created_text,
        "status": {
            "isArchived": False,
            "isSoftDeleted": False,
            "isHardDeleted": False,
            "readStatus": READ_STATUS.draw(rng),
        },
        "data": [],
        "created": created_text,
        "createdBy": actor,
        "_seq": seq,
    }
    if rng.random() < 0.5:
        due = (created + timedelta(days=one_of(rng, (14, 30, 60, 90)))).replace(
            hour=21, minute=59, second=59, microsecond=0
        )
        doc["dueBefore"] = iso(due)
    last_by = actor
    if state != "unstarted":
        tasks = app.tasks
        archived = state in ("archived", "confirmed") or (state.endswith("Deleted") and rng.random() < 0.4)
        reached = len(tasks) if archived else int(rng.random() * len(tasks))
        started = created + timedelta(milliseconds=between(rng, 5, 399))
        process: dict[str, Any] = {"started": iso(started), "startEvent": "StartEvent_1"}
        t = started
        for _ in range(reached):
            t = _later(t, now, rng, 0.3)
        if archived:
            ended = iso(t)
            process["ended"] = ended
            process["endEvent"] = "EndEvent_1"
            doc["status"]["isArchived"] = True
            doc["status"]["archived"] = ended
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
        doc["data"], last = _data_elements(compiled, guid, reached, created, t, actor, rng)
        t = max(t, last)
    if state == "confirmed":
        t = _later(t, now, rng, 0.2)
        doc["completeConfirmations"] = [{"stakeholderId": app.org, "confirmedOn": iso(t)}]
        last_by = org_number
    if doc["status"]["isArchived"] and rng.random() < 0.5:
        label, description = one_of(rng, SUBSTATUSES)
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
        texts = {"Tittel": f"{compiled.title} {created.year}"} | ({"Navn": owner.name} if rng.random() < 0.7 else {})
        doc["presentationTexts"] = compiled.texts.setdefault(tuple(texts.items()), texts)  # shared, as above
    if rng.random() < 0.4:
        doc["dataValues"] = {"caseNumber": f"{created.year}/{seq:04d}"}
    doc["lastChanged"] = iso(t)
    doc["lastChangedBy"] = last_by
    return doc


def _data_elements(
    compiled: _App, guid: str, reached: int, created: datetime, until: datetime, actor: str, rng: random.Random
) -> tuple[list[Document], datetime]:
    """Form data and attachments of the tasks the instance has been through (or is at), and the latest change."""
    app = compiled.app
    elements: list[Document] = []
    latest = created
    for data_type in compiled.data_types:
        if data_type.task > reached:
            continue
        is_form = data_type.is_form
        count = 1 if is_form else between(rng, 0, data_type.max_count)
        types = data_type.content_types
        for _ in range(count):
            element_guid = draw_guid(rng)
            moment = _at(created + (until - created) * rng.random(), rng)
            latest = max(latest, moment)
            stamp = iso(moment)
            content_type = types[0] if is_form else one_of(rng, types)
            element: Document = {
                "id": element_guid,
                "instanceGuid": guid,
                "dataType": data_type.id,
                "contentType": content_type,
                "blobStoragePath": f"{app.org}/{app.name}/{guid}/data/{element_guid}",
                "size": between(rng, 400, 250_000),
                "locked": reached > data_type.task,
                "isRead": True,
                "tags": [],
                "fileScanResult": "NotApplicable" if is_form else "Clean",
                "created": stamp,
                "createdBy": actor,
                "lastChanged": stamp,
                "lastChangedBy": actor,
            }
            if not is_form:
                extension = content_type.rsplit("/", 1)[-1].replace("jpeg", "jpg")
                element["filename"] = f"{data_type.id}-{between(rng, 1, 99)}.{extension}"
                if rng.random() < 0.12:
                    element["deleteStatus"] = {"isHardDeleted": True, "hardDeleted": stamp}
            elements.append(element)
    return elements, latest
