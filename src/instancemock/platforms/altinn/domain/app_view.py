"""The App API's wire form of an instance (System.Text.Json, camelCase).

Unlike Storage (`serialize.py`) every model property is written, absent ones as `null`, and
`status.readStatus` is a number, because app-lib's serializer ignores Storage's Newtonsoft
attributes. `selfLinks.apps` points at this server's App mount.
"""

from __future__ import annotations

from typing import Any

from instancemock.platforms.altinn.domain.instances import READ_STATUSES, guid_of, is_hard_deleted_element, party_of
from instancemock.platforms.altinn.domain.serialize import platform_link
from instancemock.platforms.altinn.domain.world import Party
from instancemock.world.store import Document

APP_PATH = "/altinn/{org}/{app}/instances"
PARTY_TYPES = {"person": 1, "organisation": 2, "selfIdentified": 3}  # Register's PartyType numbers

INSTANCE_FIELDS = (
    "id", "instanceOwner", "appId", "org", "selfLinks", "dueBefore", "visibleAfter", "process", "status",
    "completeConfirmations", "data", "presentationTexts", "dataValues",
    "created", "createdBy", "lastChanged", "lastChangedBy",
)  # fmt: skip
OWNER_FIELDS = ("partyId", "personNumber", "organisationNumber", "username")
STATUS_FIELDS = (
    "isArchived", "archived", "isSoftDeleted", "softDeleted", "isHardDeleted", "hardDeleted", "readStatus",
    "substatus",
)  # fmt: skip
PROCESS_FIELDS = ("started", "startEvent", "currentTask", "ended", "endEvent")
TASK_FIELDS = ("flow", "started", "elementId", "name", "altinnTaskType", "ended", "validated", "flowType")
DATA_FIELDS = (
    "id", "instanceGuid", "dataType", "filename", "contentType", "blobStoragePath", "selfLinks", "size",
    "contentHash", "locked", "refs", "isRead", "tags", "userDefinedMetadata", "metadata", "deleteStatus",
    "fileScanResult", "references", "created", "createdBy", "lastChanged", "lastChangedBy",
)  # fmt: skip
DATA_DEFAULTS: dict[str, Any] = {"size": 0, "locked": False, "isRead": True, "fileScanResult": "NotApplicable"}


def app_link(origin: str, app_id: str, party_id: str | int, guid: str) -> str:
    org, app = app_id.split("/", 1)
    return origin + APP_PATH.format(org=org, app=app) + f"/{party_id}/{guid}"


def _all(
    source: dict[str, Any] | None, names: tuple[str, ...], defaults: dict[str, Any] | None = None
) -> dict[str, Any]:
    get = (source or _NOTHING).get
    if defaults is None:
        return {name: get(name) for name in names}
    return {name: get(name, defaults.get(name)) for name in names}


_NOTHING: dict[str, Any] = {}
# Each field with its default, so a view is one dict comprehension (an App create or GET writes
# every field of the instance and of each data element: these views were a tenth of a create).
_DATA_PAIRS = tuple((name, DATA_DEFAULTS.get(name)) for name in DATA_FIELDS)
_STATUS_DEFAULTS = {"isArchived": False, "isSoftDeleted": False, "isHardDeleted": False}
_STATUS_PAIRS = tuple((name, _STATUS_DEFAULTS.get(name)) for name in STATUS_FIELDS)
_READ_NUMBERS = {name: number for number, name in enumerate(READ_STATUSES)}


def process_view(process: dict[str, Any] | None) -> dict[str, Any] | None:
    if not process:
        return None
    view = _all(process, PROCESS_FIELDS)
    if isinstance(view["currentTask"], dict):
        view["currentTask"] = _all(view["currentTask"], TASK_FIELDS)
    return view


def _status(status: dict[str, Any] | None) -> dict[str, Any]:
    get = (status or _NOTHING).get
    view = {name: get(name, default) for name, default in _STATUS_PAIRS}
    name = view["readStatus"] or "Unread"
    view["readStatus"] = _READ_NUMBERS.get(name, 0) if isinstance(name, str) else 0
    if isinstance(view["substatus"], dict):
        view["substatus"] = _all(view["substatus"], ("label", "description"))
    return view


def data_element_view(element: Document, link: str) -> dict[str, Any]:
    """A data element of the instance at `link` (its App self link), nulls written."""
    get = element.get
    view = {name: get(name, default) for name, default in _DATA_PAIRS}
    view["selfLinks"] = {"apps": f"{link}/data/{element['id']}", "platform": None}
    if view["tags"] is None:
        view["tags"] = []
    return view


def instance_view(doc: Document, origin: str, *, owner_org: bool = True) -> dict[str, Any]:
    """The plain `Instance` (DELETE, substatus, complete).

    `owner_org`: False drops hard-deleted data elements, as Storage does for callers other than
    the app owner.
    """
    view = _view(doc, origin, owner_org)
    view["instanceOwner"] = _all(doc.get("instanceOwner"), OWNER_FIELDS) | {
        "externalIdentifier": (doc.get("instanceOwner") or {}).get("externalIdentifier")
    }
    return view


def _view(doc: Document, origin: str, owner_org: bool) -> dict[str, Any]:
    """`instance_view` but for `instanceOwner`, which the two answers write differently."""
    party, guid = party_of(doc), guid_of(doc)
    link = app_link(origin, str(doc["appId"]), party, guid)
    view = _all(doc, INSTANCE_FIELDS)
    view["selfLinks"] = {"apps": link, "platform": platform_link(origin, party, guid)}
    view["process"] = process_view(doc.get("process"))
    view["status"] = _status(doc.get("status"))
    elements = [e for e in doc.get("data") or [] if owner_org or not is_hard_deleted_element(e)]
    view["data"] = [data_element_view(e, link) for e in elements]
    return view


def instance_response(doc: Document, origin: str, party: Party | None, *, owner_org: bool = True) -> dict[str, Any]:
    """`InstanceResponse` (GET, create): the instance with the owner's register party."""
    view = _view(doc, origin, owner_org)
    owner = _all(doc.get("instanceOwner"), OWNER_FIELDS)
    owner["party"] = party_view(party, int(party_of(doc))) if party else None
    view["instanceOwner"] = owner
    return view


def party_view(party: Party, party_id: int) -> dict[str, Any]:
    return {
        "partyId": party_id,
        "partyUuid": party.party_uuid,
        "partyTypeName": PARTY_TYPES.get(party.type, 1),
        "ssn": party.person_number or None,
        "orgNumber": party.organisation_number or None,
        "unitType": party.unit_type or None,
        "name": party.name or None,
        "isDeleted": False,
    }


def simple_instance(doc: Document, changed_by: str | None) -> dict[str, Any]:
    """`SimpleInstance` of `/active`: `lastChangedBy` is a display name."""
    return {
        "id": doc["id"],
        "presentationTexts": doc.get("presentationTexts"),
        "dueBefore": doc.get("dueBefore"),
        "lastChanged": doc.get("lastChanged"),
        "lastChangedBy": changed_by,
    }
