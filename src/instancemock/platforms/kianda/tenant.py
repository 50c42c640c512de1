"""The Kianda tenant the mock plays (users, subscription) and what it keeps across sandboxes.

Tokens (kept in `State.shared`, so replicas sharing a store share them), webhook URLs and webhook
deliveries are shared by every sandbox, like the real tenant's identity server and Developer >
Webhooks page: a token obtained once works in any sandbox.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from instancemock.settings import Settings
from instancemock.world.fixtures import FixtureError, FixtureFile
from instancemock.world.state import State

ADMINISTRATOR = "Administrator"
FIXTURE = FixtureFile("kianda", Path(__file__).parent / "fixture.yaml", Path(__file__).parent / "fixture.schema.yaml")


@dataclass(frozen=True, slots=True)
class User:
    username: str
    password: str
    user_id: str
    security_stamp: str
    display_name: str
    roles: tuple[str, ...]

    @property
    def is_admin(self) -> bool:
        return ADMINISTRATOR in self.roles


@dataclass(frozen=True, slots=True)
class Tenant:
    subscription_id: str
    domain: str
    users: tuple[User, ...]
    # By lower-cased name, the first of each (as a scan would find): every API call looks its token's user up.
    by_name: dict[str, User] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name: dict[str, User] = {}
        for u in self.users:
            by_name.setdefault(u.username.lower(), u)
        object.__setattr__(self, "by_name", by_name)

    def user(self, username: str) -> User | None:
        """ASP.NET Identity looks user names up case-insensitively."""
        return self.by_name.get(username.strip().lower())

    @property
    def admin(self) -> User:
        return next(u for u in self.users if u.is_admin)


@dataclass(frozen=True, slots=True)
class Token:
    value: str
    user: User
    issued: datetime
    expires: datetime


@dataclass(slots=True)
class Services:
    tenant: Tenant
    webhooks: list[str] = field(default_factory=list)
    deliveries: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=200))
    pending: set[asyncio.Task[None]] = field(default_factory=set)  # strong refs until done


def load_tenant(settings: Settings) -> Tenant:
    data = FIXTURE.load(settings.fixtures) or {}
    try:
        users = tuple(
            User(
                username=str(u["username"]),
                password=str(u["password"]),
                user_id=str(u["userId"]),
                security_stamp=str(u["securityStamp"]),
                display_name=str(u.get("displayName", u["username"])),
                roles=tuple(str(r) for r in u.get("roles", [])),
            )
            for u in data["users"]
        )
        tenant = Tenant(str(data["subscription"]["id"]), str(data["subscription"]["domain"]), users)
    except (KeyError, TypeError) as error:
        raise FixtureError(f"{FIXTURE.path(settings.fixtures)}: users/subscription: missing {error}") from error
    if not any(u.is_admin for u in users):
        raise FixtureError(f"{FIXTURE.path(settings.fixtures)}: users: no user has the {ADMINISTRATOR} role")
    return tenant


def services(state: State) -> Services:
    return state.service(
        Services, lambda: Services(load_tenant(state.settings), webhooks=list(state.settings.option("webhooks", ())))
    )
