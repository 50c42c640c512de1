"""Kianda: OAuth2 password-grant tokens, the Instances API, process designs, scheduled tasks.

The operations live in `kianda_*` modules by resource; this module only plugs them in.
"""

from __future__ import annotations

from typing import Any

from instancemock.core.plugin import Plugin
from instancemock.platforms.kianda import seed as seeds
from instancemock.platforms.kianda.auth import authenticate, get_token
from instancemock.platforms.kianda.designs import get_process, list_processes
from instancemock.platforms.kianda.instances import OPERATIONS as INSTANCE_OPERATIONS
from instancemock.platforms.kianda.simulate import advance
from instancemock.platforms.kianda.tasks import OPERATIONS as TASK_OPERATIONS
from instancemock.platforms.kianda.tenant import load_tenant, services
from instancemock.settings import Settings
from instancemock.world.state import State


def credentials(settings: Settings, origin: str) -> dict[str, Any]:
    """The administrator's password grant, ready to post as the form of `POST /kianda/Token`."""
    tenant = load_tenant(settings)
    admin = tenant.admin
    return {
        "username": admin.username,
        "password": admin.password,
        "grant_type": "password",
        "scope": tenant.subscription_id,
    }


async def startup(state: State) -> None:
    """Read the tenant (users, subscription) now, so a broken fixture stops the start, not a login."""
    services(state)


PLUGIN = Plugin(
    operations={
        "getToken": get_token,
        "listProcesses": list_processes,
        "getProcess": get_process,
        **INSTANCE_OPERATIONS,
        **TASK_OPERATIONS,
    },
    authenticate=authenticate,
    credentials=credentials,
    seeders={"kianda": seeds.seed},
    startup=startup,
    simulate=advance,
)
