"""The hand-written Altinn world from `fixtures/altinn.yaml`: service owners, apps, parties, users.

It is read once per fixtures directory and shared read-only by both Altinn APIs; instances, which
change, live in the store instead (see `instances.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from instancemock.platforms.altinn.domain.ids import is_organisation_number, is_person_number
from instancemock.settings import Settings
from instancemock.world.fixtures import FixtureError, FixtureFile

PARTY_TYPES = ("person", "organisation", "selfIdentified")


# The `altinn:actions` a task's BPMN definition declares when the fixture names none (what Altinn
# Studio puts on a new task of each type).
BPMN_ACTIONS: dict[str, tuple[str, ...]] = {
    "confirmation": ("confirm",),
    "signing": ("sign", "reject"),
    "payment": ("pay", "reject"),
}


@dataclass(frozen=True, slots=True)
class Task:
    element_id: str
    name: str
    task_type: str  # altinnTaskType: data, confirmation, signing, feedback, payment, ...
    actions: tuple[str, ...] = ()  # the BPMN `altinn:actions` of the task (besides read and write)


@dataclass(frozen=True, slots=True)
class App:
    org: str
    name: str
    metadata: dict[str, Any] = field(repr=False)  # the fixture entry as written (applicationmetadata-like)
    tasks: tuple[Task, ...] = ()

    @property
    def app_id(self) -> str:
        return f"{self.org}/{self.name}"

    @property
    def data_types(self) -> list[dict[str, Any]]:
        return list(self.metadata.get("dataTypes", []))

    @property
    def prevent_deletion_days(self) -> int | None:
        days = self.metadata.get("preventInstanceDeletionForDays")
        return int(days) if days is not None else None

    @property
    def min_auth_level(self) -> int:
        return int(self.metadata.get("minAuthLevel", 2))

    def task(self, element_id: str) -> Task | None:
        return next((t for t in self.tasks if t.element_id == element_id), None)


@dataclass(frozen=True, slots=True)
class Org:
    org: str
    org_number: str
    name: str
    reads_apps: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Party:
    party_id: int
    party_uuid: str
    type: str  # person | organisation | selfIdentified
    name: str
    person_number: str | None = None
    organisation_number: str | None = None
    username: str | None = None
    unit_type: str | None = None

    def owner(self) -> dict[str, str]:
        """The `instanceOwner` of an instance this party owns (Storage form: partyId as text)."""
        owner = {"partyId": str(self.party_id)}
        if self.person_number:
            owner["personNumber"] = self.person_number
        if self.organisation_number:
            owner["organisationNumber"] = self.organisation_number
        if self.username:
            owner["username"] = self.username
        return owner


@dataclass(frozen=True, slots=True)
class User:
    user_id: int
    party_id: int
    username: str | None = None


@dataclass(frozen=True, slots=True)
class World:
    orgs: dict[str, Org]
    apps: dict[str, App]  # by appId "org/app"
    parties: dict[int, Party]
    users: dict[int, User]
    delegations: dict[int, frozenset[int]]  # userId -> parties (besides their own) they act for

    def app(self, app_id: str) -> App | None:
        return self.apps.get(app_id)

    def org_by_number(self, org_number: str) -> Org | None:
        return next((o for o in self.orgs.values() if o.org_number == org_number), None)

    def party(self, party_id: int | str | None) -> Party | None:
        try:
            return self.parties.get(int(party_id)) if party_id is not None else None
        except ValueError:
            return None

    def party_by_person_number(self, number: str) -> Party | None:
        return next((p for p in self.parties.values() if p.person_number == number), None)

    def party_by_organisation_number(self, number: str) -> Party | None:
        return next((p for p in self.parties.values() if p.organisation_number == number), None)

    def party_by_username(self, username: str) -> Party | None:
        wanted = username.lower()
        return next((p for p in self.parties.values() if (p.username or "").lower() == wanted), None)

    def user_by_party(self, party_id: int) -> User | None:
        return next((u for u in self.users.values() if u.party_id == party_id), None)

    def user_by_person_number(self, number: str) -> User | None:
        party = self.party_by_person_number(number)
        return self.user_by_party(party.party_id) if party else None

    def parties_of_user(self, user_id: int | None, own_party: int | None) -> frozenset[int]:
        """The parties a user may read and write for: their own plus the delegated ones."""
        found = set(self.delegations.get(user_id, frozenset())) if user_id is not None else set()
        if own_party:
            found.add(own_party)
        elif user_id is not None and (user := self.users.get(user_id)) is not None:
            found.add(user.party_id)
        return frozenset(found)


PLATFORM_DIR = Path(__file__).parent.parent
FIXTURE = FixtureFile("altinn", PLATFORM_DIR / "fixture.yaml", PLATFORM_DIR / "fixture.schema.yaml")


def world_for(settings: Settings) -> World:
    return _load(settings.fixtures)


@cache
def _load(override: Path | None) -> World:
    raw = FIXTURE.load(override)
    try:
        return _build(raw)
    except (KeyError, TypeError, ValueError) as error:
        raise FixtureError(f"fixtures/altinn.yaml: {error!r}") from error


def _build(raw: dict[str, Any]) -> World:
    orgs: dict[str, Org] = {}
    apps: dict[str, App] = {}
    for entry in raw["orgs"]:
        org = Org(entry["org"], str(entry["orgNumber"]), entry["name"], frozenset(entry.get("readsApps", [])))
        if not is_organisation_number(org.org_number):
            raise ValueError(f"org {org.org}: {org.org_number} is not a valid organisation number")
        orgs[org.org] = org
        for app_entry in entry.get("apps", []):
            tasks = tuple(_task(t) for t in app_entry.get("process", {}).get("tasks", []))
            app = App(org.org, app_entry["app"], dict(app_entry), tasks)
            apps[app.app_id] = app
    parties: dict[int, Party] = {}
    for p in raw["parties"]:
        party = Party(
            party_id=int(p["partyId"]),
            party_uuid=str(p["partyUuid"]),
            type=p["type"],
            name=p["name"],
            person_number=_str_or_none(p.get("personNumber")),
            organisation_number=_str_or_none(p.get("organisationNumber")),
            username=p.get("username"),
            unit_type=p.get("unitType"),
        )
        if party.type not in PARTY_TYPES:
            raise ValueError(f"party {party.party_id}: type must be one of {PARTY_TYPES}")
        if party.person_number and not is_person_number(party.person_number):
            raise ValueError(f"party {party.party_id}: {party.person_number} is not a valid fødselsnummer")
        if party.organisation_number and not is_organisation_number(party.organisation_number):
            raise ValueError(f"party {party.party_id}: invalid organisation number {party.organisation_number}")
        parties[party.party_id] = party
    users = {int(u["userId"]): User(int(u["userId"]), int(u["partyId"]), u.get("username")) for u in raw["users"]}
    delegations = {
        int(user): frozenset(int(p) for p in others) for user, others in (raw.get("delegations") or {}).items()
    }
    return World(orgs, apps, parties, users, delegations)


def _task(entry: dict[str, Any]) -> Task:
    task_type = str(entry.get("altinnTaskType", "data"))
    actions = entry.get("actions")
    declared = tuple(str(a) for a in actions) if actions is not None else BPMN_ACTIONS.get(task_type, ())
    return Task(str(entry["elementId"]), str(entry.get("name", entry["elementId"])), task_type, declared)


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)
