"""Barium Live: tickets, apps, instances, tasks, objects, messages and the process image.

The handlers live in this package's modules by resource; the process engine they share is
`process.py`, the fixture's users and apps `catalog.py`.
"""

from __future__ import annotations

from typing import Any

from instancemock.core.context import Handler
from instancemock.core.plugin import ApiPlugin, InstanceView, Plugin
from instancemock.core.spec import SPEC_DIR, read_spec
from instancemock.platforms.barium import errors, files, image, instances, lists, record, tasks
from instancemock.platforms.barium import simulate as barium_simulate
from instancemock.platforms.barium.auth import authenticate, credentials, login, sso_login
from instancemock.platforms.barium.catalog import FIXTURE
from instancemock.platforms.barium.formats import declare_representations, present
from instancemock.platforms.barium.order import InstanceOrder
from instancemock.platforms.barium.seed import DEFAULT_SIZE, seed_barium
from instancemock.settings import PlatformSetting, positive_int
from instancemock.settings import instances as instances_setting

OPERATIONS: dict[str, Handler] = {
    "authenticate": login,
    "ssoAuthenticate": sso_login,
    "listApps": instances.list_apps,
    "getApp": instances.get_app,
    "startApp": instances.start_app,
    "listAppInstances": instances.list_app_instances,
    "listInstances": instances.list_instances,
    "getInstance": instances.get_instance,
    "sendInstanceMessage": instances.send_message,
    "deleteInstance": instances.delete_instance,
    "listInstanceObjects": instances.list_instance_objects,
    "createInstanceObject": instances.create_instance_object,
    "getInstanceObject": instances.get_instance_object,
    "listInstanceTasks": instances.list_instance_tasks,
    "getInstanceTask": instances.get_instance_task,
    "getInstanceImage": image.get_instance_image,
    "listTasks": tasks.list_tasks,
    "getTask": tasks.get_task,
    "completeTask": tasks.complete_task,
    "listTaskObjects": tasks.list_task_objects,
    "getTaskObject": tasks.get_task_object,
    "getTaskObjectFields": tasks.get_task_object_fields,
    "updateTaskObjectFields": tasks.update_task_object_fields,
    "getObject": tasks.get_object,
    "getObjectFields": tasks.get_object_fields,
    "getObjectFile": files.get_object_file,
    "getInstanceObjectFile": files.get_instance_object_file,
    "attachToDataForm": files.attach_to_form,
    "listLists": lists.list_lists,
    "getList": lists.get_list,
    "getListData": lists.get_list_data,
    "updateObjectFields": tasks.update_object_fields,
}


def dashboard_summary(doc: dict[str, Any]) -> dict[str, Any]:
    """Where a Barium instance stands: its milestone, else the step of its app's model it is at."""
    position = doc.get("Milestone") or (f"step {doc['Step'] + 1}" if isinstance(doc.get("Step"), int) else None)
    title = " - ".join(str(part) for part in (doc.get("Name"), doc.get("Description")) if part)
    return {"id": doc["Id"], "title": title, "status": doc.get("Status"), "position": position}


PLUGIN = Plugin(
    name="barium",
    position=2,
    instances=InstanceView(dashboard_summary),
    apis=(
        ApiPlugin(
            name="barium",
            spec=declare_representations(read_spec(SPEC_DIR / "barium.yaml")),
            errors=errors.SHAPE,
            operations=OPERATIONS,
            authenticate=authenticate,
            credentials=credentials,
            present=present,
            settings={"instances": instances_setting(DEFAULT_SIZE)},
            recorder=record.record,
        ),
    ),
    seeder=seed_barium,
    indexes=(("instances", InstanceOrder),),  # the instance list's newest-first order (order.py)
    simulate=barium_simulate.advance,
    fixture=FIXTURE,
    settings={
        "barium_ticket_minutes": PlatformSetting(
            50, positive_int, "minutes a Barium ticket lives unused", {"type": "integer", "minimum": 1}
        )
    },
)
