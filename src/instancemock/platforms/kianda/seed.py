"""The Kianda tenant's world: process designs, a few hundred instances, scheduled tasks.

Everything comes from the fixture (`fixtures/kianda.yaml`), the server seed and the seed instant:
designs and tasks as written, the documented `training-approval-request-1`, and instances whose
field values follow each design field's type, filled in by Irish and English people.
"""

from __future__ import annotations

import random
import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from instancemock.platforms.kianda.schedule import parse_time, previous_occurrence
from instancemock.platforms.kianda.tenant import FIXTURE
from instancemock.world import replica
from instancemock.world.clock import iso
from instancemock.world.draw import between, guid, one_of
from instancemock.world.state import SeedContext
from instancemock.world.store import Document

if TYPE_CHECKING:
    from faker import Faker  # imported where seeding runs: a forked child, not the server

DEFAULT_SIZE = 300
PHRASES = 256

COURSES = (
    "Advanced Excel for Finance", "Manual Handling", "First Aid at Work", "GDPR Essentials",
    "Project Management Fundamentals", "Leading Hybrid Teams", "Power BI Dashboards",
    "Fire Warden Training", "Negotiation Skills", "Agile Scrum Master", "Python for Analysts",
    "Customer Service Excellence", "Safe Pass", "Presentation Skills", "Cyber Security Awareness",
)  # fmt: skip
REASONS = (
    "New employee", "Required for the Q3 reporting project", "Certification renewal",
    "Team upskilling plan", "Recommended in annual review", "New regulatory requirement",
    "Moving into a team lead role", "Replacing outdated equipment", "Client project needs it",
)  # fmt: skip
COMMENTS = (
    "Approved.", "Approved - please book before the end of the month.", "Discussed with the team; go ahead.",
    "Please attach the quote from the supplier.", "On hold until the new budget is confirmed.",
    "Rejected: not in this year's plan.", "Approved, charge to the department cost centre.",
    "All checks complete.", "Follow up with facilities next week.", "Fine by me.",
)  # fmt: skip
OBSERVATIONS = (
    "Fire exits clear, one extinguisher overdue for service.", "Trailing cables at the reception desk.",
    "Racking labels missing in aisle 4.", "No issues found.", "Wet floor sign not in use near the canteen.",
    "First aid kit restocked; eye wash station expired.", "Forklift pre-use checklist not signed.",
)  # fmt: skip
NOTES = (
    "Taxi from Dublin Airport to the client site.", "Two nights in Cork for the trade fair.",
    "Lunch with the Belfast distributor.", "Train to Manchester for the supplier audit.",
    "Family wedding in Galway.", "Covering for a colleague the following week.",
    "Toner and paper for the Limerick office.", "Parking at the Aviva for the partner event.",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    email: str


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def people(fake_ie: Faker, fake_gb: Faker, domain: str, count: int) -> list[Person]:
    found: dict[str, Person] = {}
    for index in range(count * 2):
        fake = fake_ie if index % 2 == 0 else fake_gb
        first, last = fake.first_name(), fake.last_name()
        local = ".".join(_ascii(part).replace("'", "").replace(" ", "-") for part in (first, last))
        found.setdefault(local, Person(f"{first} {last}", f"{local}@{domain}"))
        if len(found) == count:
            break
    return list(found.values())


class Filler:
    """Believable text/value pairs for a design field, by its type."""

    def __init__(self, rng: random.Random, fake: Faker, crowd: list[Person]) -> None:
        self.rng, self.crowd = rng, crowd
        self.phrases = [fake.catch_phrase() for _ in range(PHRASES)]  # Faker once, then picked
        self._fields: dict[tuple[str, str, str], Document] = {}

    def field(self, name: str, text: str, value: str) -> Document:
        """One stored field; equal ones are the same object (documents are never changed in place,
        and most fields repeat: an empty comment, a department, a course), which keeps a large
        world several times smaller."""
        found = self._fields.get((name, text, value))
        if found is None:
            found = self._fields[(name, text, value)] = {"name": name, "text": text, "value": value}
        return found

    def value(self, field: dict[str, Any], created: datetime, owner: Person) -> tuple[str, str]:
        rng = self.rng
        kind = field["type"]
        if field.get("options"):
            option = one_of(rng, field["options"])
            return str(option["text"]), str(option["value"])
        if kind == "user":
            person = owner if field["name"] in ("employeeName", "trainee") else one_of(rng, self.crowd)
            return person.name, person.email
        if kind == "number":
            number = between(rng, int(field.get("min", 0)), int(field.get("max", 100)))
            return str(number), str(number)
        if kind in ("date", "datetime"):
            day = date.fromordinal(created.toordinal() + between(rng, -20, 60))
            shown = f"{day.day:02d}/{day.month:02d}/{day.year:04d}"
            if kind == "date":
                return shown, day.isoformat()
            hour, minute = between(rng, 8, 17), one_of(rng, (0, 15, 30, 45))
            return f"{shown} {hour:02d}:{minute:02d}", f"{day.isoformat()}T{hour:02d}:{minute:02d}:00Z"
        if kind == "checkbox":
            yes = rng.random() < 0.8
            return ("Yes", "true") if yes else ("No", "false")
        if kind == "file":
            name = f"receipt-{between(rng, 1000, 9999)}.pdf"
            return name, name
        return self._words(field)

    def _words(self, field: dict[str, Any]) -> tuple[str, str]:
        hint = field.get("faker") or field["name"].lower()
        if hint == "course":
            text = one_of(self.rng, COURSES)
        elif "reason" in hint or "justification" in hint:
            text = one_of(self.rng, REASONS)
        elif "description" in hint or "notes" in hint:
            text = one_of(self.rng, NOTES)
        elif "observation" in hint or "action" in hint:
            text = one_of(self.rng, OBSERVATIONS)
        elif "comment" in hint or field["type"] in ("textarea", "richtext"):
            text = one_of(self.rng, COMMENTS)
        else:
            text = one_of(self.rng, self.phrases)
        value = f"<p>{text}</p>" if field["type"] == "richtext" else text
        return text, value


def seed(ctx: SeedContext) -> dict[str, dict[str, Document]]:
    size = ctx.size("kianda", DEFAULT_SIZE)
    if size >= replica.LARGE:
        return _large(ctx, size)
    return _seed(ctx, size)


# from this size its world holds `Lazy` documents (world/replica.py): seeded in the server's process, never forked
seed.lazy_from = replica.LARGE  # type: ignore[attr-defined]


def _large(ctx: SeedContext, size: int) -> dict[str, dict[str, Document]]:
    """A large world: `replica.SAMPLE` instances seeded as below, the others copies of them
    (world/replica.py) numbered per process in the order they were created, each with a
    `uniqueId` of its own, and each made when first read; the fixture's example instance stays
    as it is."""
    drawn, plan = _drawn(ctx, size)
    return _assemble(drawn, plan)


def prepare(ctx: SeedContext) -> Any:
    """What a large world is made of, as data (a forked process draws it: world/seeding.py);
    None for a world of the usual kind."""
    size = ctx.size("kianda", DEFAULT_SIZE)
    return _drawn(ctx, size)[0] if size >= replica.LARGE else None


def assemble(ctx: SeedContext, drawn: Any) -> dict[str, dict[str, Document]]:
    """The large world `prepare` drew, made here (its copies exist only in this process)."""
    return _assemble(drawn, replica.rebuild(_shapes(drawn), drawn["plan"]))


def _shapes(drawn: dict[str, Any]) -> list[replica.Shape]:
    example, instances = drawn["example"], drawn["sample"]["instances"]
    return replica.shapes([[("instances", d)] for k, d in instances.items() if k != example], keep=_KEEP)


def _drawn(ctx: SeedContext, size: int) -> tuple[dict[str, Any], list[replica.Copy]]:
    """The sample seeded, the copies planned, named and numbered: everything random about a large world."""
    sample = _seed(ctx, replica.SAMPLE)
    fixture = FIXTURE.load(ctx.settings.fixtures) or {}
    example = str(fixture["exampleInstance"]["name"])
    drawn: dict[str, Any] = {"sample": sample, "example": example}
    shaped = _shapes(drawn)
    starts = [datetime.fromisoformat(shape.samples[0]["created"]) for shape in shaped]
    rng = ctx.random("copies")
    numbers = {name: 0 for name in sample["counters"]}
    numbers[example.rsplit("-", 1)[0].lower()] = 1
    draw, getrandbits = rng.random, rng.getrandbits

    def number(copy: replica.Copy) -> tuple[str, str]:
        """The instance's name, its process's next number (the gaps are deleted instances), and its uniqueId."""
        process = copy.shape.samples[0]["processName"]
        counter = process.lower()
        numbered = numbers[counter] = numbers[counter] + (1 if draw() < 0.9 else 2)
        return f"{process}-{numbered}", f"{getrandbits(128):032x}"

    plan = replica.copies(shaped, starts, size - 1, rng)
    replica.draw(plan, rng, number)
    drawn["plan"], drawn["numbers"] = replica.compact(shaped, plan), numbers
    return drawn, plan


def _assemble(drawn: dict[str, Any], plan: list[replica.Copy]) -> dict[str, dict[str, Document]]:
    sample, example = drawn["sample"], drawn["example"]

    def finish(collection: str, doc: Document, copy: replica.Copy) -> None:
        doc["id"], doc["uniqueId"] = copy.extra

    instances = {example: sample["instances"][example]}
    replica.place(plan, {"instances": instances}, _key, finish, lazy=True, named=_name)
    counters = {name: {"last": last} for name, last in drawn["numbers"].items()}
    return {"processes": sample["processes"], "instances": instances, "counters": counters, "tasks": sample["tasks"]}


# a large world is drawn in a forked process meanwhile where it can be (world/state.py)
seed.prepare = prepare  # type: ignore[attr-defined]
seed.assemble = assemble  # type: ignore[attr-defined]

_KEEP = frozenset({"fields"})  # a form's values stay as the sample has them (world/replica.py)


def _key(collection: str, doc: Document) -> str:
    return str(doc["id"])


def _name(copy: replica.Copy) -> str:
    """A copy's key: the name `number` gave it."""
    return str(copy.extra[0])


def _seed(ctx: SeedContext, size: int) -> dict[str, dict[str, Document]]:
    fixture = FIXTURE.load(ctx.settings.fixtures) or {}
    rng = ctx.random("instances")
    domain = str(fixture["subscription"]["domain"])
    crowd = people(ctx.faker("en_IE", "people"), ctx.faker("en_GB", "people"), domain, 60)
    filler = Filler(rng, ctx.faker("en_IE", "words"), crowd)
    designs = {d["name"]: d for d in fixture["processes"]}

    processes = {name.lower(): dict(design) for name, design in designs.items()}
    instances: dict[str, Document] = {}
    counters: dict[str, Document] = {}

    example = _example(fixture["exampleInstance"], designs, ctx.now)
    instances[example["id"]] = example
    size = max(size - 1, 0)
    weights = [int(d.get("weight", 1)) for d in designs.values()]
    chosen = Counter(rng.choices(list(designs), weights=weights, k=size))
    for name, design in designs.items():
        number = 1 if name == example["processName"] else 0
        moments = sorted(_office_hours(ctx.now, rng) for _ in range(chosen[name]))
        compiled = _Design(design)
        for created in moments:
            number += 1 if rng.random() < 0.9 else 2  # the gaps are deleted instances
            doc = _instance(compiled, number, created, ctx.now, rng, filler, crowd)
            instances[doc["id"]] = doc
        counters[name.lower()] = {"last": number}

    tasks = {}
    for entry in fixture.get("tasks") or []:
        task_id = guid(rng)
        last_run = previous_occurrence(entry["schedule"], ctx.now) if entry.get("status") == "Active" else None
        tasks[task_id] = {
            "id": task_id,
            **entry,
            "lastRun": iso(last_run) if last_run else None,
            "_runs": int(last_run is not None),
        }
    return {"processes": processes, "instances": instances, "counters": counters, "tasks": tasks}


def _office_hours(now: datetime, rng: random.Random) -> datetime:
    """A moment in the last 400 days, on a working day between 08:00 and 18:00, before `now`."""
    latest = now - timedelta(minutes=5)
    while True:
        day = now - timedelta(days=between(rng, 0, 400))
        if day.weekday() >= 5:
            continue
        moment = day.replace(
            hour=between(rng, 8, 17), minute=between(rng, 0, 59), second=between(rng, 0, 59), microsecond=0
        )
        if moment < latest:
            return moment


def _example(entry: dict[str, Any], designs: dict[str, Any], now: datetime) -> Document:
    name = str(entry["name"])
    process = name.rsplit("-", 1)[0]
    design = designs[process]
    created = parse_time(entry.get("created"))
    if created is None or created >= now:
        created = (now - timedelta(days=int(entry.get("daysAgo", 30)))).replace(microsecond=0)
    given = entry.get("fields") or {}
    fields = [
        {
            "name": f["name"],
            "text": str(given.get(f["name"], {}).get("text", "")),
            "value": str(given.get(f["name"], {}).get("value", "")),
        }
        for f in design["fields"]
    ]
    return {
        "id": name,
        "uniqueId": str(entry["uniqueId"]),
        "processName": process,
        "processTitle": design["title"],
        "processVersion": str(design["version"]),
        "status": str(entry["status"]),
        "Version": str(entry.get("Version", "1.0")),
        "created": iso(created),
        "createdBy": str(entry["createdBy"]),
        "modified": iso(created if entry.get("Version", "1.0") == "1.0" else created + timedelta(minutes=34)),
        "modifiedBy": str(entry.get("modifiedBy", entry["createdBy"])),
        "assignTo": entry.get("assignTo"),
        "fields": fields,
        "_triggerField": "",
    }


class _Design:
    """A design with each field's form position worked out once."""

    def __init__(self, design: dict[str, Any]) -> None:
        self.design = design
        self.forms = list(design["forms"])
        self.fields = [
            (field, self.forms.index(field["form"]), bool(field.get("required"))) for field in design["fields"]
        ]
        self.version = str(design["version"])


def _instance(
    compiled: _Design,
    number: int,
    created: datetime,
    now: datetime,
    rng: random.Random,
    filler: Filler,
    crowd: list[Person],
) -> Document:
    design, forms = compiled.design, compiled.forms
    stage = between(rng, 0, len(forms))  # index of the current form; len(forms) = Completed
    owner, approver = one_of(rng, crowd), one_of(rng, crowd)
    fields = []
    draw = rng.random
    for field, form_index, required in compiled.fields:
        filled = form_index < stage or (form_index == stage and (stage == 0 or draw() < 0.4))
        if filled and (required or draw() < 0.85):
            text, value = filler.value(field, created, owner)
        else:
            text, value = "", ""
        fields.append(filler.field(field["name"], text, value))
    saves = stage + between(rng, 0, 2)
    room = min(max(int((now - created).total_seconds()) - 60, 0), 45 * 86400)  # decided within weeks
    modified = created + timedelta(seconds=between(rng, 60, max(room, 60)) if saves else 0)
    modified = min(modified, now).replace(microsecond=0)
    editor = owner if stage == 0 else approver
    created_text = iso(created)
    return {
        "id": f"{design['name']}-{number}",
        "uniqueId": f"{rng.getrandbits(128):032x}",
        "processName": design["name"],
        "processTitle": design["title"],
        "processVersion": compiled.version,
        "status": forms[stage] if stage < len(forms) else "Completed",
        "Version": f"{saves + 1}.0",
        "created": created_text,
        "createdBy": owner.email,
        "modified": iso(modified) if modified != created else created_text,
        "modifiedBy": editor.email if saves else owner.email,
        "assignTo": None if stage == len(forms) else (owner.email if stage == 0 else approver.email),
        "fields": fields,
        "_triggerField": "",
    }
