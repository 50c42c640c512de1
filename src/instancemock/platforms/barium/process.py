"""Barium's process engine and documents: apps, instances, tasks and objects, and how they move.

The seeder and the handlers build documents with the same functions, so a seeded instance and one
started through `POST /Apps/{Id}` look alike. An instance stands at one step of its app's model
(`Step`, 0-based); entering a task step opens a `ready` task, entering a message step makes the
instance `ready` (waiting for that message), and moving past the last step completes it.

Stored documents hold the public fields (PascalCase, as the API answers them) plus a few of the
mock's own (`Step`, `FormId`, `Role`, `Fields`, ...); the `*_view` functions pick the public ones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from instancemock.platforms.barium.catalog import INSTANCE_COLUMNS, Catalog, User
from instancemock.world.clock import iso
from instancemock.world.store import Document

TASK = "task"
MESSAGE = "message"
FINISHED = frozenset({"completed", "cancelled", "aborted"})
APPROVE = "APPROVE"  # a boundary message every user-task step accepts: it completes the open task
FORM_CLASS = "dataforms.dataform"

NewId = Callable[[], str]


# --- apps ---------------------------------------------------------------------------------------


def app_doc(app: dict[str, Any], space: str) -> Document:
    """An app as the store keeps it: the fixture's process model travels with it."""
    return {
        "Id": str(app["id"]),
        "Name": str(app["name"]),
        "Description": str(app.get("description", "")),
        "Status": "Published",
        "ProcessId": str(app.get("process_id") or "") or None,
        "DomainObjectId": space or None,
        "Template": str(app["template"]),
        "TemplateName": str(app.get("template_name") or app["template"]),
        "Prefix": str(app["prefix"]),
        "Messages": [str(m).upper() for m in app.get("messages", ["START"])],
        "Describe": str(app.get("describe", "")),
        "Fields": [
            {
                "Name": str(f["name"]),
                "Type": str(f["type"]),
                "Required": bool(f.get("required", False)),
                "Options": [str(o) for o in f.get("options", [])],
                "Fake": f.get("fake"),  # seeding hints: a Faker provider, or values to choose from
                "Choices": [str(o) for o in f.get("choices", [])],
            }
            for f in app["fields"]
        ],
        "Steps": [
            {
                "Kind": str(s["kind"]),
                "Name": str(s["name"]),
                "Milestone": s.get("milestone"),
                "Role": str(s.get("role", "")),
                "Message": str(s.get("message", "")).upper(),
                "Editable": [str(e) for e in s.get("editable", [])],
            }
            for s in app["steps"]
        ],
        "NextNumber": 1,
    }


def app_view(app: Document, instances_count: int) -> dict[str, Any]:
    return {
        "Id": app["Id"],
        "Name": app["Name"],
        "Description": app["Description"],
        "Status": app["Status"],
        "InstancesCount": instances_count,
        "ProcessId": app["ProcessId"],
        "DomainObjectId": app["DomainObjectId"],
    }


def form_name(app: Document) -> str:
    """The start form's name: its template's, the same in every instance of the app."""
    return str(app.get("TemplateName") or app["Template"])


def instance_name(app: Document, number: int, at: datetime) -> str:
    return f"{app['Prefix']}-{at.year}-{number:04d}"


def describe(app: Document, values: dict[str, str | None]) -> str:
    """The instance description from the app's pattern, e.g. `Kontorsmöbler från Nordvik AB`."""
    try:
        text = app["Describe"].format_map(_Blank({k: v or "" for k, v in values.items()}))
    except (ValueError, IndexError, AttributeError):
        return ""
    return " ".join(text.split())


class _Blank(dict[str, str]):
    """Values the start form did not fill in read as empty text."""

    def __missing__(self, key: str) -> str:
        return ""


# --- instances ----------------------------------------------------------------------------------


def new_instance(
    app: Document,
    *,
    id: str,
    name: str,
    description: str,
    started_by: str,
    started_by_id: str,
    at: datetime,
    form_id: str,
    priority: str = "Normal",
    deadline: datetime | None = None,
) -> Document:
    """A just-started instance, before it enters its first step."""
    return {
        "Id": id,
        "Name": name,
        "Description": description,
        "Status": "active",
        "Milestone": None,
        "StartDate": iso(at),
        "StartedBy": started_by,
        "StartedByUserId": started_by_id,
        "CompletedDate": None,
        "Priority": priority,
        "PlannedDate": None,
        "DeadlineDate": iso(deadline) if deadline else None,
        "ApplicationId": app["Id"],
        "ApplicationName": app["Name"],
        "ParentInstanceName": None,
        "ParentInstanceId": None,
        "Step": -1,
        "FormId": form_id,
        "UpdatedDate": iso(at),
    }


INSTANCE_SUMMARY = (
    "Id", "Name", "Description", "Status", "Milestone", "StartDate", "StartedBy", "CompletedDate",
    "ApplicationName",
)  # fmt: skip
INSTANCE = INSTANCE_COLUMNS  # what GET /Instances/{Id} answers; lists may show any of it
APP_INSTANCE_SUMMARY = ("Id", "Name", "Description", "Status", "StartDate", "StartedBy")


def pick(doc: Document, keys: Sequence[str]) -> dict[str, Any]:
    return {key: doc.get(key) for key in keys}


def enter(
    app: Document, instance: Document, step: int, at: datetime, new_id: NewId, catalog: Catalog
) -> tuple[Document, Document | None]:
    """The instance moves to `step`; a user-task step opens a new task, which is returned."""
    moved = {**instance, "Step": step, "UpdatedDate": iso(at)}
    steps = app["Steps"]
    if step >= len(steps):
        moved.update(Status="completed", CompletedDate=iso(at), Milestone=None)
        return moved, None
    current = steps[step]
    moved["Milestone"] = current["Milestone"]
    if current["Kind"] == MESSAGE:
        moved["Status"] = "ready"
        return moved, None
    moved["Status"] = "active"
    return moved, new_task(app, moved, step, at, new_id(), catalog)


def current_step(app: Document, instance: Document) -> dict[str, Any] | None:
    step = int(instance.get("Step", -1))
    return app["Steps"][step] if 0 <= step < len(app["Steps"]) else None


def awaited_messages(app: Document, instance: Document) -> list[str]:
    """Messages the instance can catch now: its message step's, or APPROVE on a user task."""
    if instance["Status"] in FINISHED:
        return []
    step = current_step(app, instance)
    if step is None:
        return []
    return [step["Message"]] if step["Kind"] == MESSAGE else [APPROVE]


def finish(instance: Document, status: str, at: datetime) -> Document:
    """Cancel or abort: the instance stops where it stands."""
    return {**instance, "Status": status, "UpdatedDate": iso(at)}


# --- tasks --------------------------------------------------------------------------------------


def new_task(app: Document, instance: Document, step: int, at: datetime, id: str, catalog: Catalog) -> Document:
    definition = app["Steps"][step]
    return {
        "Id": id,
        "Name": definition["Name"],
        "Description": instance["Description"],
        "Status": "ready",
        "CreatedDate": iso(at),
        "CompletedDate": None,
        "CompletedBy": None,
        "CompletedByUserId": None,
        "InstanceName": instance["Name"],
        "InstanceId": instance["Id"],
        "ApplicationName": app["Name"],
        "ApplicationId": app["Id"],
        "Participants": ", ".join(catalog.holders(definition["Role"])) or None,
        "Locked": False,
        "Step": step,
        "Role": definition["Role"],
    }


def completed(task: Document, at: datetime, by: str, by_id: str) -> Document:
    return {**task, "Status": "completed", "CompletedDate": iso(at), "CompletedBy": by, "CompletedByUserId": by_id}


TASK_SUMMARY = (
    "Id", "Name", "Description", "Status", "CreatedDate", "CompletedDate", "CompletedBy", "InstanceName",
    "ApplicationName", "Participants", "Locked",
)  # fmt: skip


def may_perform(task: Document, user: User) -> bool:
    return task["Role"] in user.roles


def task_summary(task: Document, user: User) -> dict[str, Any]:
    return {**pick(task, TASK_SUMMARY), "PerformPermission": may_perform(task, user)}


def task_view(task: Document, user: User) -> dict[str, Any]:
    keys = (*TASK_SUMMARY, "CompletedByUserId", "InstanceId", "ApplicationId")
    return {**pick(task, keys), "PerformPermission": may_perform(task, user)}


# --- objects ------------------------------------------------------------------------------------


def form_fields(definitions: list[dict[str, Any]], values: dict[str, str | None], new_id: NewId) -> list[Document]:
    return [
        {
            "Id": new_id(),
            "Name": d["Name"],
            "Type": d["Type"],
            "Value": values.get(d["Name"]),
            "Required": bool(d.get("Required", False)),
            "Options": list(d.get("Options", [])),
        }
        for d in definitions
    ]


def new_object(
    instance: Document,
    *,
    id: str,
    data_id: str,
    kind: str,
    name: str,
    at: datetime,
    sort_index: int,
    description: str = "",
    template_id: str | None = None,
    fields: list[Document] | None = None,
    file_type: str | None = None,
    content: str | None = None,
    size: int | None = None,
    content_type: str | None = None,
    parent_id: str | None = None,
) -> Document:
    """A form, file or folder in the instance's root folder (or attached to `parent_id`'s form).

    `Content` (base64) and `ContentType` hold an uploaded file; a seeded file has neither and is
    downloaded as a small file made from its fields (files.py).
    """
    object_class = {"form": FORM_CLASS, "file": "file", "folder": "folder"}[kind]
    return {
        "Id": id,
        "InstanceId": instance["Id"],
        "ParentId": parent_id or instance["Id"],
        "Name": name,
        "Description": description,
        "ObjectClass": object_class,
        "Container": kind == "folder",
        "FileType": file_type,
        "ReferenceId": template_id,
        "Type": kind,
        "ReadOnly": False,
        "TypeNamespace": "dataforms" if kind == "form" else None,
        "TemplateId": template_id,
        "SortIndex": sort_index,
        "State": "saved" if kind == "form" else None,
        "CreatedDate": iso(at),
        "UpdatedDate": iso(at),
        "DataId": data_id if kind != "folder" else None,
        "Fields": fields if kind == "form" else None,
        "Content": content,
        "Size": size,
        "ContentType": content_type,
    }


OBJECT_SUMMARY = (
    "Id", "Name", "Description", "ObjectClass", "Container", "FileType", "ReferenceId", "Type", "ReadOnly",
    "TypeNamespace", "TemplateId", "SortIndex", "State", "CreatedDate", "UpdatedDate", "DataId",
)  # fmt: skip
TASK_OBJECT = (
    "Id", "ParentId", "ReferenceId", "Name", "Description", "Type", "ObjectClass", "Container", "ReadOnly",
    "TypeNamespace", "TemplateId", "FileType",
)  # fmt: skip


def object_view(obj: Document, read_only: bool = False) -> dict[str, Any]:
    return {**pick(obj, OBJECT_SUMMARY), "ReadOnly": read_only}


def renditions(obj: Document) -> list[str]:
    if obj["Type"] == "form":
        return ["pdf"]
    if obj["Type"] == "file" and obj.get("FileType") in ("pdf", "png", "jpg", "jpeg", "docx", "xlsx"):
        return ["pdf", "png"]
    return []


def task_object_summary(obj: Document) -> dict[str, Any]:
    return {
        **pick(obj, ("Id", "Name", "Description", "Type", "Container")),
        "Renditions": renditions(obj),
    }


def task_object_view(obj: Document, read_only: bool) -> dict[str, Any]:
    return {**pick(obj, TASK_OBJECT), "ReadOnly": read_only}


def field_view(field: Document, read_only: bool) -> dict[str, Any]:
    return {
        "Id": field["Id"],
        "Name": field["Name"],
        "Type": field["Type"],
        "Value": field["Value"],
        "ReadOnly": read_only,
        "Required": field["Required"],
    }
