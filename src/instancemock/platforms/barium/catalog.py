"""The hand-written part of the Barium world: the space's API key, users, lists and process apps.

Read from `fixtures/barium.yaml` (or a user's `--fixtures` directory) once per fixtures directory.
Apps are copied into the store when a sandbox is seeded, so a running world never re-reads the
file; users and the API key are looked up here on every login, lists (views over the instances
of the store, configured like users) on every `GET /Lists`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from functools import cache
from pathlib import Path
from typing import Any

from instancemock.settings import Settings
from instancemock.world.fixtures import FixtureError, FixtureFile

STEP_KINDS = ("task", "message")
FIELD_TYPES = ("text", "number", "date", "bool", "list", "file")
INSTANCE_COLUMNS = (  # the fields of GET /Instances/{Id} (process.INSTANCE), which list columns may show
    "Id", "Name", "Description", "Status", "Milestone", "StartDate", "StartedBy", "StartedByUserId",
    "CompletedDate", "Priority", "PlannedDate", "DeadlineDate", "ApplicationId", "ApplicationName",
    "ParentInstanceName", "ParentInstanceId",
)  # fmt: skip
FORM_ID = "formId"


@dataclass(frozen=True, slots=True)
class User:
    id: str
    name: str
    username: str
    password: str
    uid: str
    roles: frozenset[str]
    permissions: frozenset[str]

    def may(self, permission: str) -> bool:
        return permission in self.permissions


@dataclass(frozen=True, slots=True)
class SpaceList:
    """A list of the space: one row per instance of `app_id` that passes the filters."""

    id: str
    name: str
    description: str
    app_id: str
    statuses: frozenset[str]  # empty: every status
    milestone: str | None
    columns: tuple[str, ...]  # `instance.<field>`, `form.<field>` or `form.formId`, as written


@dataclass(frozen=True, slots=True)
class Catalog:
    apikey: str
    space: str
    users: tuple[User, ...]
    apps: tuple[dict[str, Any], ...]
    lists: tuple[SpaceList, ...] = ()
    by_id: Mapping[str, User] = dataclass_field(init=False, compare=False, repr=False)  # ticketed requests read it

    def __post_init__(self) -> None:
        by_id: dict[str, User] = {}
        for user in self.users:
            by_id.setdefault(user.id, user)  # the first of a repeated id, as a scan would find
        object.__setattr__(self, "by_id", by_id)

    @property
    def default_user(self) -> User:
        return self.users[0]

    def user(self, user_id: str) -> User | None:
        return self.by_id.get(user_id)

    def login(self, apikey: str, username: str, password: str) -> User | None:
        if apikey.strip().lower() != self.apikey.lower():
            return None
        wanted = username.strip().lower()
        return next((u for u in self.users if u.username.lower() == wanted and u.password == password), None)

    def sso_login(self, apikey: str, uid: str) -> User | None:
        if apikey.strip().lower() != self.apikey.lower():
            return None
        return next((u for u in self.users if u.uid.lower() == uid.strip().lower()), None)

    def holders(self, role: str) -> list[str]:
        """Display names of the users who may perform a step with this role."""
        return [u.name for u in self.users if role in u.roles]


FIXTURE = FixtureFile("barium", Path(__file__).parent / "fixture.yaml", Path(__file__).parent / "fixture.schema.yaml")


def catalog(settings: Settings) -> Catalog:
    return _load(FIXTURE.path(settings.fixtures))


@cache
def _load(path: Path) -> Catalog:
    data = FIXTURE.load(path.parent)
    where = str(path)
    try:
        users = tuple(
            User(
                id=str(u["id"]),
                name=str(u["name"]),
                username=str(u["username"]),
                password=str(u["password"]),
                uid=str(u.get("uid", "")),
                roles=frozenset(u.get("roles", [])),
                permissions=frozenset(u.get("permissions", [])),
            )
            for u in data["users"]
        )
        apps = tuple(_checked_app(app, where) for app in data["apps"])
        lists = tuple(_checked_list(item, apps, where) for item in data.get("lists", []))
        apikey = str(data["apikey"])
        space = str(data.get("space", ""))
    except (KeyError, TypeError) as error:
        raise FixtureError(f"{where}: missing or malformed entry: {error}") from error
    if not users or not apps:
        raise FixtureError(f"{where}: needs at least one user and one app")
    return Catalog(apikey=apikey, space=space, users=users, apps=apps, lists=lists)


def _checked_list(item: dict[str, Any], apps: tuple[dict[str, Any], ...], where: str) -> SpaceList:
    """A list whose app exists and whose columns name fields that app's instances and form have."""
    name = str(item["name"])
    app = next((a for a in apps if str(a["id"]).lower() == str(item["app"]).lower()), None)
    if app is None:
        raise FixtureError(f"{where}: list {name!r} names the app {item['app']!r}, which is not in apps")
    fields = {str(f["name"]).lower() for f in app["fields"]} | {FORM_ID.lower()}
    instance_fields = {c.lower() for c in INSTANCE_COLUMNS}
    for column in item["columns"]:
        source, _, field = str(column).partition(".")
        known = instance_fields if source == "instance" else fields if source == "form" else set()
        if field.lower() not in known:
            raise FixtureError(f"{where}: list {name!r}: column {column!r} names no field of {app['name']!r}")
    return SpaceList(
        id=str(item["id"]).lower(),
        name=name,
        description=str(item.get("description", "")),
        app_id=str(app["id"]),
        statuses=frozenset(str(s) for s in item.get("status", [])),
        milestone=str(item["milestone"]) if item.get("milestone") else None,
        columns=tuple(str(c) for c in item["columns"]),
    )


def _checked_app(app: dict[str, Any], where: str) -> dict[str, Any]:
    name = app.get("name", "?")
    for key in ("id", "name", "prefix", "template", "fields", "steps"):
        if key not in app:
            raise FixtureError(f"{where}: app {name!r} has no {key!r}")
    for step in app["steps"]:
        if step.get("kind") not in STEP_KINDS:
            raise FixtureError(f"{where}: app {name!r}: step kind must be one of {STEP_KINDS}")
        if step["kind"] == "message" and not step.get("message"):
            raise FixtureError(f"{where}: app {name!r}: message step {step.get('name')!r} names no message")
    for field in app["fields"]:
        if field.get("type") not in FIELD_TYPES:
            raise FixtureError(f"{where}: app {name!r}: field {field.get('name')!r} has no valid type")
    if app["steps"][0]["kind"] != "task":
        raise FixtureError(f"{where}: app {name!r}: the first step must be a task")
    return app
