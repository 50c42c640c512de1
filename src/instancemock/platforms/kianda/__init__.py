"""Kianda: OAuth2 password-grant tokens, the Instances API, process designs, scheduled tasks.

The operations live in this package's modules by resource; this module only plugs them in.
"""

from __future__ import annotations

from typing import Any

from instancemock.core.plugin import ApiPlugin, InstanceView, Plugin
from instancemock.core.spec import SPEC_DIR
from instancemock.platforms.kianda import errors, record, webhook_admin, webhooks
from instancemock.platforms.kianda import seed as seeds
from instancemock.platforms.kianda.auth import authenticate, get_token
from instancemock.platforms.kianda.designs import get_process, list_processes
from instancemock.platforms.kianda.instances import OPERATIONS as INSTANCE_OPERATIONS
from instancemock.platforms.kianda.simulate import advance
from instancemock.platforms.kianda.tasks import OPERATIONS as TASK_OPERATIONS
from instancemock.platforms.kianda.tenant import FIXTURE, load_tenant, services
from instancemock.settings import PlatformSetting, Settings, instances, positive_int, url_list
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
    """Read the tenant (users, subscription) now, so a broken fixture stops the start, not a login;
    check the configured webhooks against `webhook_hosts` likewise."""
    webhooks.check_configured(state)
    services(state)


def dashboard_summary(doc: dict[str, Any]) -> dict[str, Any]:
    """A Kianda instance's status is the form it is at (or Completed)."""
    return {
        "id": doc["id"],
        "title": doc.get("processTitle"),
        "status": doc.get("status"),
        "position": doc.get("status"),
    }


PLUGIN = Plugin(
    name="kianda",
    position=1,
    instances=InstanceView(dashboard_summary),
    apis=(
        ApiPlugin(
            name="kianda",
            spec=SPEC_DIR / "kianda.yaml",
            errors=errors.SHAPE,
            operations={
                "getToken": get_token,
                "getTokenByGet": get_token,
                "getTokenByPut": get_token,
                "getTokenByPatch": get_token,
                "getTokenByDelete": get_token,
                "listProcesses": list_processes,
                "getProcess": get_process,
                **INSTANCE_OPERATIONS,
                **TASK_OPERATIONS,
            },
            authenticate=authenticate,
            credentials=credentials,
            settings={"instances": instances(seeds.DEFAULT_SIZE)},
            recorder=record.record,
        ),
    ),
    seeder=seeds.seed,
    simulate=advance,
    startup=startup,
    fixture=FIXTURE,
    admin_operations=webhook_admin.OPERATIONS,
    settings={
        "kianda_token_lifetime": PlatformSetting(
            299, positive_int, "seconds a Kianda access token lives", {"type": "integer", "minimum": 1}
        ),
        "webhooks": PlatformSetting(
            (),
            url_list,
            "URLs called on every Kianda instance create, update and delete",
            {"type": "array", "items": {"type": "string", "minLength": 1}},
        ),
        "webhook_hosts": PlatformSetting(
            webhooks.LOOPBACK,
            url_list,
            "host names webhooks may call ('*': any); loopback names by default",
            {"type": "array", "items": {"type": "string", "minLength": 1}},
        ),
    },
)
