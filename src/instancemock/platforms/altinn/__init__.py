"""Altinn 3: Platform Storage and the App API over one world (parties, apps, instances, data).

Both APIs read and write the same instances, as on the real platform, so the world, its seeder,
its simulated owners and the token signing key belong to the platform, not to either API. The
token endpoints (the test token generator and Authentication's exchange) are declared by the
Storage spec, where the real platform host serves them; they stay mounted when only the App API
is enabled, because the App API needs tokens too.
"""

from __future__ import annotations

from typing import Any

from instancemock.core.plugin import ApiPlugin, InstanceView, Plugin
from instancemock.core.spec import SPEC_DIR
from instancemock.platforms.altinn import app, auth, errors, record, storage
from instancemock.platforms.altinn.domain.index import InstanceIndex
from instancemock.platforms.altinn.domain.instances import INSTANCES
from instancemock.platforms.altinn.domain.world import FIXTURE
from instancemock.platforms.altinn.seed import DEFAULT_COUNT, seed_altinn
from instancemock.platforms.altinn.simulate import advance
from instancemock.settings import PlatformSetting, instances

# The world is the platform's, but its size and signing key are set under `apis: {altinn-storage: ...}`.
SIGNING_KEY = PlatformSetting(
    None, str, "PEM file of the RSA key tokens are signed with", {"type": "string", "minLength": 1}
)


def dashboard_summary(doc: dict[str, Any]) -> dict[str, Any]:
    """An Altinn instance's position is its process's current task, or the end event it reached."""
    process = doc.get("process") or {}
    task = process.get("currentTask") or {}
    position = task.get("name") or task.get("elementId") or process.get("endEvent") or "not started"
    status = doc.get("status") or {}
    state = "archived" if status.get("isArchived") else "deleted" if status.get("isSoftDeleted") else "active"
    texts = ", ".join(str(v) for v in (doc.get("presentationTexts") or {}).values())
    return {"id": doc["id"], "title": f"{doc.get('appId')} {texts}".strip(), "status": state, "position": position}


PLUGIN = Plugin(
    name="altinn",
    position=3,
    instances=InstanceView(dashboard_summary),
    apis=(
        ApiPlugin(
            name="altinn-storage",
            spec=SPEC_DIR / "altinn-storage.yaml",
            errors=errors.STORAGE,
            operations=storage.OPERATIONS,
            authenticate=auth.authenticate,
            credentials=auth.credentials,
            recorder=record.record,
            shared_operations=storage.TOKEN_OPERATIONS,
            settings={"instances": instances(DEFAULT_COUNT), "signing_key": SIGNING_KEY},
        ),
        ApiPlugin(
            name="altinn-app",
            spec=SPEC_DIR / "altinn-app.yaml",
            errors=errors.APP,
            operations=app.OPERATIONS,
            authenticate=app.authenticate,
            credentials=app.credentials,
            recorder=record.record,
        ),
    ),
    seeder=seed_altinn,
    simulate=advance,  # --simulate: owners move their instances on (./simulate.py)
    startup=auth.startup,
    warm_up=auth.warm_up,
    fixture=FIXTURE,
    indexes=((INSTANCES, InstanceIndex),),  # the Storage query's (domain/index.py)
)
