"""The seeded Barium world: the fixtures' apps, and instances at every point of their process.

Instances start over the past ~13 months; each walks its app's model step by step with believable
pauses (hours to days per task) and stops where the clock (the seed instant) catches it, so older
instances are mostly completed and recent ones still running. A few are cancelled or aborted on
the way; their open task stays locked. People are Swedish (Faker sv_SE), values fit their fields.
Deterministic for (seed, --now): every draw comes from the SeedContext's private generators.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from typing import Any

from faker import Faker

from ..clock import iso
from ..handlers import barium_process as process
from ..handlers.barium_catalog import Catalog, catalog
from ..state import SeedContext
from ..store import Document

DEFAULT_SIZE = 300
PRIORITIES = (("Normal", 7), ("High", 2), ("Low", 1))
ATTACHMENTS = ("Offert", "Underlag", "Avtalsutkast", "Kvitto", "Beslut")


def seed_barium(ctx: SeedContext) -> dict[str, dict[str, Document]]:
    return _World(ctx, catalog(ctx.settings)).build(ctx.size("barium", DEFAULT_SIZE))


class _World:
    def __init__(self, ctx: SeedContext, users: Catalog) -> None:
        self.rng = ctx.random("world")
        self.fake = ctx.faker("sv_SE", "people")
        self.pools = _Pools(self.fake)
        self.now = ctx.now
        self.users = users
        self.apps = {str(a["id"]): process.app_doc(a, users.space) for a in users.apps}
        self.weights = [int(a.get("weight", 1)) for a in users.apps]
        self.people = [(self.fake.name(), self.guid()) for _ in range(48)]
        self.out: dict[str, dict[str, Document]] = {"apps": {}, "instances": {}, "tasks": {}, "objects": {}}

    def guid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def build(self, size: int) -> dict[str, dict[str, Document]]:
        ages = sorted((self.rng.randint(2 * 3600, 400 * 86400) for _ in range(size)), reverse=True)
        app_ids = list(self.apps)
        for age in ages:
            app_id = self.rng.choices(app_ids, self.weights)[0]
            self.instance(self.apps[app_id], self.now - timedelta(seconds=age))
        self.out["apps"] = dict(self.apps)
        return self.out

    def person(self) -> tuple[str, str]:
        if self.rng.random() < 0.15:
            user = self.rng.choice(self.users.users)
            return user.name, user.id
        return self.rng.choice(self.people)

    def instance(self, app: Document, start: datetime) -> None:
        rng = self.rng
        number = int(app["NextNumber"])
        self.apps[app["Id"]] = app = {**app, "NextNumber": number + 1}
        editable_later = {n for s in app["Steps"][1:] for n in s["Editable"]}
        values = {
            f["Name"]: _value(f, self.pools, rng, start) for f in app["Fields"] if f["Name"] not in editable_later
        }
        starter, starter_id = self.person()
        form_id = self.guid()
        deadline = start + timedelta(days=rng.choice((7, 14, 30))) if rng.random() < 0.5 else None
        instance = process.new_instance(
            app,
            id=self.guid(),
            name=process.instance_name(app, number, start),
            description=process.describe(app, values),
            started_by=starter,
            started_by_id=starter_id,
            at=start,
            form_id=form_id,
            priority=rng.choices([p for p, _ in PRIORITIES], [w for _, w in PRIORITIES])[0],
            deadline=deadline,
        )
        if rng.random() < 0.2:
            instance["PlannedDate"] = iso(start + timedelta(days=rng.randint(1, 10)))
        instance, task = process.enter(
            app, instance, 0, start + timedelta(seconds=rng.randint(1, 5)), self.guid, self.users
        )
        objects = self.objects(app, instance, start, values)
        age_days = (self.now - start).total_seconds() / 86400
        fate = rng.random()
        stop = "cancelled" if fate < 0.05 else "aborted" if fate < 0.08 else None
        goal = len(app["Steps"]) if rng.random() < min(0.92, age_days / 45) else rng.randrange(len(app["Steps"]))
        if stop is not None:
            goal = rng.randrange(len(app["Steps"]))
        at = start
        while int(instance["Step"]) < goal:
            next_at = at + timedelta(minutes=rng.randint(20, 60 * 72))
            if next_at >= self.now:
                break
            at = next_at
            step = app["Steps"][int(instance["Step"])]
            if task is not None:
                by, by_id = self.person()
                self.out["tasks"][task["Id"]] = process.completed(task, at, by, by_id)
            for name in step["Editable"]:
                field = next(f for f in app["Fields"] if f["Name"] == name)
                values[name] = _value(field, self.pools, rng, at)
            instance, task = process.enter(app, instance, int(instance["Step"]) + 1, at, self.guid, self.users)
        if stop is not None and instance["Status"] != "completed":
            instance = process.finish(instance, stop, min(at + timedelta(hours=rng.randint(1, 48)), self.now))
        if task is not None:
            locked = instance["Status"] in process.FINISHED or rng.random() < 0.05
            self.out["tasks"][task["Id"]] = {**task, "Locked": locked}
        form = objects[0]
        objects[0] = {
            **form,
            "Fields": [{**f, "Value": values.get(f["Name"])} for f in form["Fields"]],
            "UpdatedDate": iso(max(at, start)),
        }
        for obj in objects:
            self.out["objects"][obj["Id"]] = obj
        self.out["instances"][instance["Id"]] = instance

    def objects(self, app: Document, instance: Document, start: datetime, values: dict[str, Any]) -> list[Document]:
        rng = self.rng
        form = process.new_object(
            instance,
            id=instance["FormId"],
            data_id=self.guid(),
            kind="form",
            name=f"{app['Name']} {instance['Name']}",
            description="Startformulär",
            at=start,
            sort_index=0,
            template_id=app["Template"],
            fields=process.form_fields(app["Fields"], values, self.guid),
        )
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
            title = rng.choice(ATTACHMENTS)
            company = values.get("supplier") or values.get("counterparty") or rng.choice(self.pools.company)
            found.append(
                process.new_object(
                    instance,
                    id=self.guid(),
                    data_id=self.guid(),
                    kind="file",
                    name=f"{title} {company}.pdf",
                    description=f"{title} {start.date().isoformat()}",
                    at=start + timedelta(minutes=rng.randint(1, 90)),
                    sort_index=len(found),
                    file_type="pdf",
                    size=rng.randint(20_000, 2_000_000),
                )
            )
        return found


class _Pools:
    """Faker values drawn once, then picked by the seeded generator.

    Faker costs about a millisecond a value; picking from pools keeps 100,000 instances to
    seconds while the data stays just as believable (and as deterministic).
    """

    SIZE = 512

    def __init__(self, fake: Faker) -> None:
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
        return rng.choice(field["Options"]) if field["Options"] else None
    if kind == "date":
        day = (at + timedelta(days=rng.randint(3, 60))).date()
        return f"{day.isoformat()}T00:00:00Z"
    if kind == "number":
        if hint == "days":
            return str(rng.randint(1, 25))
        return str(rng.choice((rng.randint(5, 500) * 100, rng.randint(1_000, 250_000))))
    generators: dict[str, Any] = {
        "company": lambda: rng.choice(pools.company),
        "org_id": lambda: swedish_org_number(rng),
        "name": lambda: rng.choice(pools.name),
        "company_email": lambda: rng.choice(pools.company_email),
        "bankgiro": lambda: f"{rng.randint(100, 9999)}-{rng.randint(1000, 9999)}",
        "invoice": lambda: str(rng.randint(100_000, 999_999)),
    }
    if hint in generators:
        return str(generators[hint]())
    if field.get("Choices"):
        return str(rng.choice(field["Choices"]))
    if field["Name"].lower() in ("ordernumber", "paymentreference"):
        return f"IO-{rng.randint(10_000, 99_999)}"
    return rng.choice(pools.sentence)


def swedish_org_number(rng: random.Random) -> str:
    """NNNNNN-NNNC with a Luhn check digit, drawn from the seeded generator.

    Faker's sv_SE `org_id` shuffles with the global `random` module, which breaks determinism.
    """
    digits = [rng.choice((2, 5, 7, 8, 9)), rng.randrange(10), rng.randrange(2, 10)] + [
        rng.randrange(10) for _ in range(6)
    ]
    total = 0
    for index, digit in enumerate(digits):
        value = digit * 2 if index % 2 == 0 else digit
        total += value - 9 if value > 9 else value
    check = (10 - total % 10) % 10
    text = "".join(map(str, digits)) + str(check)
    return f"{text[:6]}-{text[6:]}"
