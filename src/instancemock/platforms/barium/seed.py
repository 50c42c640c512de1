"""The seeded Barium world: the fixtures' apps, and instances at every point of their process.

Instances start over the past ~13 months; each walks its app's model step by step with believable
pauses (hours to days per task) and stops where the clock (the seed instant) catches it, so older
instances are mostly completed and recent ones still running. A few are cancelled or aborted on
the way; their open task stays locked. People are Swedish (Faker sv_SE), values fit their fields.
Deterministic for (seed, --now): every draw comes from the SeedContext's private generators.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from instancemock.platforms.barium import process
from instancemock.platforms.barium.catalog import Catalog, catalog
from instancemock.world import replica
from instancemock.world.clock import iso
from instancemock.world.draw import Weighted, between, guid, one_of
from instancemock.world.state import SeedContext
from instancemock.world.store import Document

if TYPE_CHECKING:
    from faker import Faker  # imported where seeding runs: a forked child, not the server

DEFAULT_SIZE = 300
PRIORITIES = (("Normal", 7), ("High", 2), ("Low", 1))
ATTACHMENTS = ("Offert", "Underlag", "Avtalsutkast", "Kvitto", "Beslut")


def seed_barium(ctx: SeedContext) -> dict[str, dict[str, Document]]:
    size = ctx.size("barium", DEFAULT_SIZE)
    if size >= replica.LARGE:
        return _large(ctx, size)
    return _World(ctx, catalog(ctx.settings)).build(size)


def _large(ctx: SeedContext, size: int) -> dict[str, dict[str, Document]]:
    """A large world: `replica.SAMPLE` instances walked as above, the others copies of them
    (world/replica.py), numbered per app in the order they started."""
    drawn, shaped, plan = _drawn(ctx, size)
    return _assemble(drawn, shaped, plan)


def prepare_barium(ctx: SeedContext) -> Any:
    """What a large world is made of, as data (a forked process draws it: world/seeding.py);
    None for a world of the usual kind."""
    size = ctx.size("barium", DEFAULT_SIZE)
    return _drawn(ctx, size)[0] if size >= replica.LARGE else None


def assemble_barium(ctx: SeedContext, drawn: Any) -> dict[str, dict[str, Document]]:
    """The large world `prepare_barium` drew, made here (its copies exist only in this process)."""
    shaped = _shapes(ctx, drawn["sample"], drawn["born"])
    return _assemble(drawn, shaped, replica.rebuild(shaped, drawn["plan"]))


def _shapes(
    ctx: SeedContext, sample: dict[str, dict[str, Document]], born: list[list[str]] | None = None
) -> list[replica.Shape]:
    """The sample's instances, each with its tasks and form objects, compiled (world/replica.py)."""
    belongs: dict[str, replica.Bundle] = {key: [("instances", doc)] for key, doc in sample["instances"].items()}
    for collection in ("tasks", "objects"):
        for doc in sample[collection].values():
            belongs[doc["InstanceId"]].append((collection, doc))
    users = [u.id for u in catalog(ctx.settings).users]
    shared = {"apps": sample["apps"], "users": users}
    return replica.shapes(list(belongs.values()), shared=shared, keep=_KEEP, born=born)


def _drawn(ctx: SeedContext, size: int) -> tuple[dict[str, Any], list[replica.Shape], list[replica.Copy]]:
    """The sample walked, the copies planned and numbered: everything random about a large world."""
    sample = _World(ctx, catalog(ctx.settings)).build(replica.SAMPLE)
    shaped = _shapes(ctx, sample)
    starts = [datetime.fromisoformat(shape.samples[0]["StartDate"]) for shape in shaped]
    rng = ctx.random("copies")
    numbers = dict.fromkeys(sample["apps"], 1)  # a fresh app's NextNumber (process.app_doc)

    def number(copy: replica.Copy) -> int:
        """The app's next number, in the order instances started (named when the copy is made)."""
        app_id = copy.shape.samples[0]["ApplicationId"]
        numbers[app_id] += 1
        return numbers[app_id] - 1

    plan = replica.copies(shaped, starts, size, rng)
    replica.draw(plan, rng, number)
    drawn = {"sample": sample, "plan": replica.compact(shaped, plan), "numbers": numbers}
    drawn["keys"], drawn["born"] = replica.keys(plan, _key, _LATER), [shape.born for shape in shaped]
    return drawn, shaped, plan


def _assemble(
    drawn: dict[str, Any], shaped: list[replica.Shape], plan: list[replica.Copy]
) -> dict[str, dict[str, Document]]:
    apps = {app_id: dict(app) for app_id, app in drawn["sample"]["apps"].items()}
    prefixes = {app_id: app["Prefix"] for app_id, app in apps.items()}

    def finish(collection: str, doc: Document, copy: replica.Copy) -> None:
        if collection in ("instances", "tasks"):  # process.instance_name, of the year the copy started
            name = f"{prefixes[doc['ApplicationId']]}-{copy.year}-{copy.extra:04d}"
            doc["Name" if collection == "instances" else "InstanceName"] = name

    out: dict[str, dict[str, Any]] = {"apps": {}, "instances": {}, "tasks": {}, "objects": {}}
    replica.place(plan, out, _key, finish, lazy=True, later=_LATER, formatted=drawn["keys"])
    out["apps"] = {app_id: {**app, "NextNumber": drawn["numbers"][app_id]} for app_id, app in apps.items()}
    return out


def _key(collection: str, doc: Document) -> str:
    return str(doc["Id"])


_LATER = frozenset({"tasks", "objects"})  # laid out when first used: most clients list instances first
_KEEP = frozenset({"Fields"})  # a form's values stay as the sample has them (world/replica.py)


seed_barium.cost = 2.5  # type: ignore[attr-defined]  # time per instance against the other seeders: start-up seeds it first
# from this size its world holds `Lazy` documents (world/replica.py): seeded in the server's process, never forked
seed_barium.lazy_from = replica.LARGE  # type: ignore[attr-defined]
# a large world is drawn in a forked process meanwhile where it can be (world/state.py)
seed_barium.prepare = prepare_barium  # type: ignore[attr-defined]
seed_barium.assemble = assemble_barium  # type: ignore[attr-defined]


class _App:
    """What the walk needs of an app, worked out once instead of per instance."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.steps: list[dict[str, Any]] = doc["Steps"]
        by_name = {f["Name"]: f for f in doc["Fields"]}
        later = {name for step in self.steps[1:] for name in step["Editable"]}
        self.start_fields = [f for f in doc["Fields"] if f["Name"] not in later]
        self.editable = [[by_name[name] for name in step["Editable"]] for step in self.steps]
        self.number = int(doc["NextNumber"])


class _World:
    def __init__(self, ctx: SeedContext, users: Catalog) -> None:
        self.rng = ctx.random("world")
        self.fake = ctx.faker("sv_SE", "people")
        self.pools = _Pools(self.fake, self.rng)
        self.now = ctx.now
        self.users = users
        self.apps = [_App(process.app_doc(a, users.space)) for a in users.apps]
        self.pick_app = Weighted(self.apps, [int(a.get("weight", 1)) for a in users.apps])
        self.priority = Weighted([p for p, _ in PRIORITIES], [w for _, w in PRIORITIES])
        self.people = [(self.fake.name(), self.guid()) for _ in range(48)]
        self.staff = [(user.name, user.id) for user in users.users]
        self.out: dict[str, dict[str, Document]] = {"apps": {}, "instances": {}, "tasks": {}, "objects": {}}

    def guid(self) -> str:
        return guid(self.rng)

    def build(self, size: int) -> dict[str, dict[str, Document]]:
        rng = self.rng
        ages = sorted((between(rng, 2 * 3600, 400 * 86400) for _ in range(size)), reverse=True)
        for age in ages:
            self.instance(self.pick_app.draw(rng), self.now - timedelta(seconds=age))
        self.out["apps"] = {app.doc["Id"]: {**app.doc, "NextNumber": app.number} for app in self.apps}
        return self.out

    def person(self) -> tuple[str, str]:
        rng = self.rng
        return one_of(rng, self.staff) if rng.random() < 0.15 else one_of(rng, self.people)

    def instance(self, compiled: _App, start: datetime) -> None:
        rng, pools, app, steps = self.rng, self.pools, compiled.doc, compiled.steps
        number = compiled.number
        compiled.number += 1
        values = {f["Name"]: _value(f, pools, rng, start) for f in compiled.start_fields}
        starter, starter_id = self.person()
        form_id = self.guid()
        deadline = start + timedelta(days=one_of(rng, (7, 14, 30))) if rng.random() < 0.5 else None
        instance = process.new_instance(
            app,
            id=self.guid(),
            name=process.instance_name(app, number, start),
            description=process.describe(app, values),
            started_by=starter,
            started_by_id=starter_id,
            at=start,
            form_id=form_id,
            priority=self.priority.draw(rng),
            deadline=deadline,
        )
        if rng.random() < 0.2:
            instance["PlannedDate"] = iso(start + timedelta(days=between(rng, 1, 10)))
        age_days = (self.now - start).total_seconds() / 86400
        fate = rng.random()
        stop = "cancelled" if fate < 0.05 else "aborted" if fate < 0.08 else None
        goal = len(steps) if rng.random() < min(0.92, age_days / 45) else int(rng.random() * len(steps))
        if stop is not None:
            goal = int(rng.random() * len(steps))
        # Walk the model: each passed task step leaves a completed task; the instance document is
        # made once, entering the step where the walk stops (as `enter` would have left it).
        step, entered, at = 0, start + timedelta(seconds=between(rng, 1, 5)), start
        tasks = self.out["tasks"]
        while step < goal:
            next_at = at + timedelta(minutes=between(rng, 20, 60 * 72))
            if next_at >= self.now:
                break
            at = next_at
            if steps[step]["Kind"] == process.TASK:
                by, by_id = self.person()
                opened = process.new_task(app, instance, step, entered, self.guid(), self.users)
                tasks[opened["Id"]] = process.completed(opened, at, by, by_id)
            for field in compiled.editable[step]:
                values[field["Name"]] = _value(field, pools, rng, at)
            step, entered = step + 1, at
        instance, task = process.enter(app, instance, step, entered, self.guid, self.users)
        if stop is not None and instance["Status"] != "completed":
            instance = process.finish(instance, stop, min(at + timedelta(hours=between(rng, 1, 48)), self.now))
        if task is not None:
            locked = instance["Status"] in process.FINISHED or rng.random() < 0.05
            task["Locked"] = locked  # a task `enter` just made: no one else holds it yet
            tasks[task["Id"]] = task
        objects = self.out["objects"]
        for obj in self.objects(app, instance, start, max(at, start), values):
            objects[obj["Id"]] = obj
        self.out["instances"][instance["Id"]] = instance

    def objects(
        self, app: Document, instance: Document, start: datetime, saved: datetime, values: dict[str, Any]
    ) -> list[Document]:
        """The start form as the walk left it (saved at `saved`), and sometimes a folder and a file."""
        rng = self.rng
        form = process.new_object(
            instance,
            id=instance["FormId"],
            data_id=self.guid(),
            kind="form",
            name=process.form_name(app),
            description="Startformulär",
            at=start,
            sort_index=0,
            template_id=app["Template"],
            fields=process.form_fields(app["Fields"], values, self.guid),
        )
        form["UpdatedDate"] = iso(saved)
        found = [form]
        if rng.random() < 0.3:
            found.append(
                process.new_object(
                    instance,
                    id=self.guid(),
                    data_id=self.guid(),
                    kind="folder",
                    name="Bilagor",
                    at=start,
                    sort_index=len(found),
                )
            )
        if rng.random() < 0.4:
            title = one_of(rng, ATTACHMENTS)
            company = values.get("supplier") or values.get("counterparty") or one_of(rng, self.pools.company)
            found.append(
                process.new_object(
                    instance,
                    id=self.guid(),
                    data_id=self.guid(),
                    kind="file",
                    name=f"{title} {company}.pdf",
                    description=f"{title} {start.date().isoformat()}",
                    at=start + timedelta(minutes=between(rng, 1, 90)),
                    sort_index=len(found),
                    file_type="pdf",
                    size=between(rng, 20_000, 2_000_000),
                )
            )
        return found


class _Pools:
    """Faker values (and organisation numbers) drawn once, then picked by the seeded generator.

    Faker costs about a millisecond a value; picking from pools keeps 100,000 instances to
    seconds while the data stays just as believable (and as deterministic).
    """

    SIZE = 256

    def __init__(self, fake: Faker, rng: random.Random) -> None:
        self.org_id = [swedish_org_number(rng) for _ in range(self.SIZE)]
        self.company = [fake.company() for _ in range(self.SIZE)]
        self.name = [fake.name() for _ in range(self.SIZE)]
        self.company_email = [fake.company_email() for _ in range(self.SIZE)]
        self.sentence = [fake.sentence(nb_words=6).rstrip(".") for _ in range(self.SIZE)]


def _value(field: Document, pools: _Pools, rng: random.Random, at: datetime) -> str | None:
    """A believable stored value for a field, by its fixture `fake` hint or its type."""
    kind = field["Type"]
    hint = field.get("Fake")
    if kind == "bool":
        return "true" if rng.random() < 0.85 else "false"
    if kind == "list":
        return one_of(rng, field["Options"]) if field["Options"] else None
    if kind == "date":
        return f"{date.fromordinal(at.toordinal() + between(rng, 3, 60)).isoformat()}T00:00:00Z"
    if kind == "number":
        if hint == "days":
            return str(between(rng, 1, 25))
        return str(between(rng, 5, 500) * 100 if rng.random() < 0.5 else between(rng, 1_000, 250_000))
    if hint == "company":
        return one_of(rng, pools.company)
    if hint == "org_id":
        return one_of(rng, pools.org_id)
    if hint == "name":
        return one_of(rng, pools.name)
    if hint == "company_email":
        return one_of(rng, pools.company_email)
    if hint == "bankgiro":
        return f"{between(rng, 100, 9999)}-{between(rng, 1000, 9999)}"
    if hint == "invoice":
        return str(between(rng, 100_000, 999_999))
    if field.get("Choices"):
        return str(one_of(rng, field["Choices"]))
    if field["Name"].lower() in ("ordernumber", "paymentreference"):
        return f"IO-{between(rng, 10_000, 99_999)}"
    return one_of(rng, pools.sentence)


def swedish_org_number(rng: random.Random) -> str:
    """NNNNNN-NNNC with a Luhn check digit, drawn from the seeded generator.

    Faker's sv_SE `org_id` shuffles with the global `random` module, which breaks determinism.
    """
    draw = rng.random
    digits = [one_of(rng, (2, 5, 7, 8, 9)), int(draw() * 10), 2 + int(draw() * 8)] + [
        int(draw() * 10) for _ in range(6)
    ]
    total = 0
    for index, digit in enumerate(digits):
        value = digit * 2 if index % 2 == 0 else digit
        total += value - 9 if value > 9 else value
    check = (10 - total % 10) % 10
    text = "".join(map(str, digits)) + str(check)
    return f"{text[:6]}-{text[6:]}"
